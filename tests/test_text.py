"""Pasted text is split the way SST-2 was tokenized: lowercased Penn Treebank tokens."""

from __future__ import annotations

import pytest

from rnnviz.text import Vocabulary, normalize, tokenize, tokens_in_context


@pytest.mark.parametrize("text, tokens", [
    ("It doesn't work.", ["it", "does", "n't", "work", "."]),
    ("It's a charming film", ["it", "'s", "a", "charming", "film"]),
    ("I can't, won't, cannot", ["i", "ca", "n't", ",", "wo", "n't", ",", "can", "not"]),
    ('He said "great" twice', ["he", "said", "``", "great", "''", "twice"]),
    ("Bad. Really bad! Why?", ["bad", ".", "really", "bad", "!", "why", "?"]),
    ("Mr. Smith vs. the U.S. army", ["mr.", "smith", "vs.", "the", "u.s.", "army"]),
    ("wait... what (really)", ["wait", "...", "what", "(", "really", ")"]),
])
def test_text_is_split_into_ptb_tokens(text, tokens):
    assert tokenize(text) == tokens


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
