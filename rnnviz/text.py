"""Turning pasted text into the tokens a model reads, and tokens into ids.

SST-2 is lowercased and Penn-Treebank tokenized (``does n't``, ``it 's``, ````` `` `````). Pasted text
(IMDB reviews with ``<br />``, curly quotes, emoji, any script) is first normalized, then split with
nltk's Treebank tokenizer, which needs no data download. Treebank only splits a period at the very
end of its input, so sentence-final periods inside a review are split off here first, except after
abbreviations SST keeps whole (``mr.``, ``vs.``, initials).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from nltk.tokenize import TreebankWordTokenizer

PAD = "<pad>"
UNK = "<unk>"


def _on_stdlib_re(rule: tuple[Any, str]) -> tuple[re.Pattern[str], str]:
    """One of nltk's Treebank rules with its pattern recompiled from source by Python's own ``re``.

    nltk 3.10 runs them on the third-party ``regex`` engine under a 5 s wall-clock limit, and that
    engine lets go of the GIL at every match and waits to take it back. On a busy server (50 sessions
    on two cores) each wait lasts a thread-switch interval or more, so a review with many commas or
    contractions ran past 5 s and the page failed, though the work itself takes milliseconds. ``re``
    keeps the GIL for the whole call and has no clock; every rule is linear in the text
    (tests/test_text.py), so the time depends on the text alone, not on how busy the server is.
    """
    pattern, substitution = rule
    return re.compile(pattern.pattern), substitution


class _PTBTokenizer(TreebankWordTokenizer):
    """Treebank on the stdlib ``re`` engine, and an already-closing ``''`` stays closing, so SST's own text
    tokenizes to itself."""

    STARTING_QUOTES = [
        *map(_on_stdlib_re, TreebankWordTokenizer.STARTING_QUOTES[:2]),
        (re.compile(r'([ \(\[{<])(")'), r"\1 `` "),
        # An opening single quote before a word is SST's "`" ("` red '"), except clitics ('s, 're) and elisions ('em).
        (re.compile(r"(^|[ (\[{<])'(?!(?:s|re|ve|ll|d|m|t|em|til|n|cause)\b)(?=[^\W\d_])", re.IGNORECASE), r"\1 ` "),
    ]
    PUNCTUATION = list(map(_on_stdlib_re, TreebankWordTokenizer.PUNCTUATION))
    PARENS_BRACKETS = _on_stdlib_re(TreebankWordTokenizer.PARENS_BRACKETS)
    DOUBLE_DASHES = _on_stdlib_re(TreebankWordTokenizer.DOUBLE_DASHES)
    ENDING_QUOTES = list(map(_on_stdlib_re, TreebankWordTokenizer.ENDING_QUOTES))
    # nltk's eight CONTRACTIONS2 rules ("cannot" -> "can not", "gonna" -> "gon na", ...) in one pass: each rule
    # scanned the whole text (8 scans, half the tokenizer's time on a review). The lookahead pairs every first part
    # with its own second part; no rule's output can start another's match, so one pass splits what eight did.
    CONTRACTIONS2 = [re.compile(r"\b(can(?=not\b)|d(?='ye\b)|gim(?=me\b)|gon(?=na\b)|got(?=ta\b)|lem(?=me\b)"
                                r"|more(?='n\b)|wan(?=na\s))(not|'ye|me|na|ta|'n)", re.IGNORECASE)]


_TREEBANK = _PTBTokenizer()

_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Unicode categories that carry no words: control, format (zero-width), surrogate, private use, unassigned."""
_HTML_BREAK = re.compile(r"<\s*br(?:\s*/)?\s*>", re.IGNORECASE)
"""``<br>``, ``<br/>``, ``< BR / >``. Not ``br\\s*/?\\s*>``: with the slash optional, the two runs of spaces can
split one long run between them in every way, so "<br" and 64,000 spaces without a ">" took 8 s (quadratic)."""
_WHITESPACE = re.compile(r"\s")  # str.isspace()'s characters, tab, newline, NBSP and U+2028 included
_CHARACTER_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2013": " -- ", "\u2014": " -- ", "\u2015": " -- ",
        "\u2026": "...",
    }
)
# Words that keep their period in SST ("mr. hartley", "us vs. them", "j. r. r. tolkien").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr vs etc prof gen sgt lt col capt rev mt ft no vol ca approx inc ltd co bros".split()
)
_SENTENCE_END = {
    "ptb": (re.compile(r"(?<!\S)(\S+?)\.(?=\s|$)"), ""),
    "ptb2": (re.compile(r"(?<!\S)(\S+?)\.(?=[\"')\]}]*(?:\s|$))"), "\"'`([{"),
}
"""By tokenizer scheme: a word ending a sentence, and the openers set aside when judging whether the word is an
initial or an abbreviation that keeps its period. "ptb", the first release's, which models trained then read: the
period comes before a space or the end. "ptb2": also before closing quotes or brackets ('it was "great." i' splits
"great" from its period, where "ptb" reads the unknown word "great."), judged without opening quotes or brackets.
Linear: a closer run is scanned once, from the one period before it."""
SCHEMES = tuple(_SENTENCE_END)
SCHEME = "ptb2"
"""The scheme new models are trained with and ``tokenize`` uses unless told; a checkpoint names its own."""


def normalize(text: str) -> str:
    """Clean pasted text: HTML line breaks, typographic quotes and dashes, invisible characters.

    Unicode NFKC folds compatibility forms (full-width letters, ligatures). Control, format
    (zero-width) and unpaired surrogate characters are dropped; they carry no words.
    """
    text = _WHITESPACE.sub(" ", _HTML_BREAK.sub("\n", text))
    if not text.isprintable():  # after the line above, only the _INVISIBLE categories make this false
        text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_CHARACTER_MAP)


def _split_sentence_periods(text: str, scheme: str) -> str:
    sentence_end, openers = _SENTENCE_END[scheme]

    def split(match: re.Match[str]) -> str:
        word = match.group(1)
        bare = word.lstrip(openers)
        if len(bare) <= 1 or "." in bare or bare.lower() in _ABBREVIATIONS:
            return match.group(0)
        return f"{word} ."

    return sentence_end.sub(split, text)


def tokenize(text: str, lowercase: bool = True, scheme: str = SCHEME) -> list[str]:
    """Split text into PTB tokens the way SST-2 was tokenized (lowercased by default), by ``scheme`` (``SCHEMES``)."""
    if scheme not in _SENTENCE_END:
        raise ValueError(f"unknown tokenizer scheme {scheme!r}; rnnviz has {', '.join(SCHEMES)}")
    text = normalize(text)
    if lowercase:
        text = text.lower()
    return _TREEBANK.tokenize(_split_sentence_periods(text, scheme))


@dataclass(frozen=True)
class Vocabulary:
    """Token <-> id mapping; id 0 is padding, id 1 stands for every unknown word."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.tokens) < 2 or self.tokens[0] != PAD or self.tokens[1] != UNK:
            raise ValueError(f"a vocabulary must start with {PAD!r} and {UNK!r}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the vocabulary lists a token twice")
        # Padding is never a word: a literal "<pad>" in text reads as unknown.
        object.__setattr__(self, "_index", {token: i for i, token in enumerate(self.tokens) if i != self.pad_id})

    pad_id = 0
    unk_id = 1

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        return [index.get(token, self.unk_id) for token in tokens]

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int, min_count: int = 1) -> "Vocabulary":
        """The most frequent tokens (ties broken alphabetically), at most max_size ids in all."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        ranked = sorted((t for t, c in counts.items() if c >= min_count and t not in (PAD, UNK)),
                        key=lambda t: (-counts[t], t))
        return cls((PAD, UNK, *ranked[: max(0, max_size - 2)]))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")


def markdown_literal(text: str) -> str:
    """``text`` escaped so Markdown shows it literally: no links, images, HTML, LaTeX or emphasis."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def tokens_in_context(tokens: Sequence[str], index: int, radius: int = 8) -> str:
    """Markdown: the tokens around ``index`` with that one in bold, every token escaped (for the step view)."""
    first, last = max(0, index - radius), min(len(tokens), index + radius + 1)
    words = [f"**{markdown_literal(t)}**" if k == index else markdown_literal(t)
             for k, t in enumerate(tokens[first:last], first)]
    return ("… " if first > 0 else "") + " ".join(words) + (" …" if last < len(tokens) else "")
