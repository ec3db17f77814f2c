"""Pasted text is split the way SST-2 was tokenized: lowercased Penn Treebank tokens."""

from __future__ import annotations

import time

import nltk.redos
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import TreebankWordTokenizer

from rnnviz.examples import EXAMPLES
from rnnviz.text import _TREEBANK, Vocabulary, _PTBTokenizer, normalize, tokenize, tokens_in_context


@pytest.mark.parametrize("text, tokens", [
    ("It doesn't work.", ["it", "does", "n't", "work", "."]),
    ("It's a charming film", ["it", "'s", "a", "charming", "film"]),
    ("I can't, won't, cannot", ["i", "ca", "n't", ",", "wo", "n't", ",", "can", "not"]),
    ('He said "great" twice', ["he", "said", "``", "great", "''", "twice"]),
    ("Bad. Really bad! Why?", ["bad", ".", "really", "bad", "!", "why", "?"]),
    ("Mr. Smith vs. the U.S. army", ["mr.", "smith", "vs.", "the", "u.s.", "army"]),
    ("wait... what (really)", ["wait", "...", "what", "(", "really", ")"]),
    ('It was "great." I laughed', ["it", "was", "``", "great", ".", "''", "i", "laughed"]),
    ("(See the film.) Then 'leave.' Now", ["(", "see", "the", "film", ".", ")", "then", "`", "leave", ".", "'", "now"]),
    ('"J. R. R." and "Mr." stay', ["``", "j.", "r.", "r.", "''", "and", "``", "mr.", "''", "stay"]),
])
def test_text_is_split_into_ptb_tokens(text, tokens):
    assert tokenize(text) == tokens


def test_the_first_release_scheme_keeps_a_period_before_a_closing_quote_and_others_are_refused():
    """Shipped models were trained with "ptb"; they read text as they were taught to."""
    assert tokenize('It was "great." I laughed', scheme="ptb") == ["it", "was", "``", "great.", "''", "i", "laughed"]
    assert tokenize("Bad. Really bad!", scheme="ptb") == tokenize("Bad. Really bad!")
    assert tokenize("see (a. b)", scheme="ptb") == ["see", "(", "a", ".", "b", ")"]  # ptb2 keeps the initial "a."
    with pytest.raises(ValueError, match="unknown tokenizer scheme"):
        tokenize("text", scheme="bpe")


def test_imdb_line_breaks_curly_quotes_and_dashes_become_ptb_tokens():
    text = "Great film.<br /><br />It\u2019s \u201cfun\u201d \u2014 really"
    assert tokenize(text) == ["great", "film", ".", "it", "'s", "``", "fun", "''", "--", "really"]


def test_sst_text_tokenizes_to_itself():
    sentence = "it 's a `` wild ride '' that does n't let up -- mr. hartley 's best ."
    assert tokenize(sentence) == sentence.split()


def test_lowercasing_can_be_turned_off():
    assert tokenize("Good Film", lowercase=False) == ["Good", "Film"]


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u200b\u200d\ufeff", "\x00\x1b\x07", "<br /><br />"])
def test_text_without_words_gives_no_tokens(text):
    assert tokenize(text) == []
    assert normalize(text).strip() == ""


def test_invisible_and_control_characters_are_dropped():
    assert tokenize("go\u200bod\x00 film\x1b") == ["good", "film"]


def test_any_script_and_emoji_survive_as_tokens():
    tokens = tokenize("映画 は 最高 🎬👍🏽 فيلم رائع")
    assert "映画" in tokens and "فيلم" in tokens and any("🎬" in t for t in tokens)


def test_vocabulary_maps_unknown_words_to_unk_and_never_to_padding():
    vocab = Vocabulary(("<pad>", "<unk>", "good", "bad"))
    assert vocab.encode(["good", "zebra", "<pad>", "bad"]) == [2, 1, 1, 3]


def test_vocabulary_is_built_from_the_most_frequent_tokens():
    vocab = Vocabulary.build([["a", "b", "a"], ["c", "a", "b"]], max_size=4)
    assert vocab.tokens == ("<pad>", "<unk>", "a", "b")


@pytest.mark.parametrize("tokens", [("<unk>", "<pad>"), ("<pad>",), ("<pad>", "<unk>", "x", "x")])
def test_malformed_vocabularies_are_refused(tokens):
    with pytest.raises(ValueError):
        Vocabulary(tokens)


def test_a_step_is_shown_in_bold_among_its_neighbours_with_everything_escaped():
    tokens = ["the", "*film*", "was", "[bad](x)", "at", "all"]
    assert tokens_in_context(tokens, 1, radius=1) == "the **\\*film\\*** was …"
    assert tokens_in_context(tokens, 5, radius=1) == "… at **all**"
    assert "](x)" not in tokens_in_context(tokens, 3, radius=5)


# --- Under load: no wall-clock limit, linear time, the same tokens as nltk's own engine -----------------------

_WORST_CASES = {
    "<br and a run of spaces (was quadratic)": lambda n: "<br" + " " * n + "x",
    "<br and a run of no-break spaces": lambda n: "<br" + "\u00a0" * n + "x",
    "commas": lambda n: "a, " * (n // 3),
    "contractions": lambda n: "don't it's we'll " * (n // 17),
    "quotes and brackets": lambda n: "'\"(a.) " * (n // 7),
    "a sentence period before closers and spaces": lambda n: "a." + ")'\"" * (n // 6) + " " * (n // 2) + "b",
    "one long word with periods": lambda n: "a." * (n // 2),
    "wanna and cannot": lambda n: "wanna cannot gimme " * (n // 19),
}


def _seconds(text: str) -> float:
    started = time.perf_counter()
    tokenize(text)
    return time.perf_counter() - started


@pytest.mark.parametrize("name", _WORST_CASES)
def test_the_slowest_inputs_found_tokenize_in_linear_time(name):
    """200,000 characters (the app's text limit) of each shape in well under a second; "<br" and 200,000
    spaces took about 80 s with the old quadratic line-break pattern."""
    make = _WORST_CASES[name]
    assert _seconds(make(200_000)) < 1.0
    small, large = min(_seconds(make(25_000)) for _ in range(3)), min(_seconds(make(100_000)) for _ in range(3))
    assert large < 12 * small + 0.02, f"4x the text took {large / small:.1f}x the time"


def test_tokenizing_never_trips_a_wall_clock_limit(monkeypatch):
    """nltk 3.10's patterns run on the regex engine under a 5 s wall-clock limit (nltk.redos), which a busy
    server passed; rnnviz's patterns run on the stdlib re engine, which has none: a limit of 1 ns changes nothing."""
    monkeypatch.setattr(nltk.redos, "DEFAULT_TIMEOUT", 1e-9)
    review = EXAMPLES["Long review (IMDB style)"] * 20
    assert tokenize(review)[:4] == ["i", "went", "into", "this"]


class _NltkEngine(TreebankWordTokenizer):
    """The rules exactly as nltk runs them (regex engine, the eight contraction rules one by one), with rnnviz's
    own starting-quote rules."""

    STARTING_QUOTES = [*TreebankWordTokenizer.STARTING_QUOTES[:2], *_PTBTokenizer.STARTING_QUOTES[2:]]


_PIECES = [*"abnt'\"`.,:;!?()[]{}<>-$%&@# \n\u00a0", "n't", "'s", "'ll", "can", "not", "wanna", "--", "<br />",
           # every part of nltk's contraction rules, which rnnviz runs in one pass instead of eight
           "d", "'ye", "gim", "me", "gon", "na", "got", "ta", "lem", "more", "'n", "wan", "'t", "is", "was",
           "CAN", "Na"]
_PUNCTUATED = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=_PUNCTUATED)
def test_the_stdlib_engine_splits_exactly_as_nltks_own(text):
    assert _TREEBANK.tokenize(text) == _NltkEngine().tokenize(text)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_curated_examples_split_exactly_as_with_nltks_own_engine(name):
    text = normalize(EXAMPLES[name]).lower()
    assert _TREEBANK.tokenize(text) == _NltkEngine().tokenize(text)


@pytest.mark.parametrize("text", [
    "cannot gimme gonna gotta lemme more'n d'ye wanna go", "CANNOT GonNa Wanna\tgo", "wanna. wannabe cannotgonna",
    "'tis cannot'tis ' twas", "(gonna) [cannot] \"gimme\" lemme, gotta; more'n! d'ye?",
])
def test_contractions_split_exactly_as_nltks_eight_rules(text):
    assert _TREEBANK.tokenize(text) == _NltkEngine().tokenize(text)
