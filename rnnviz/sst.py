"""The Stanford Sentiment Treebank's trees: every labelled phrase, and where a negation word flips a phrase.

SST labels every node of every sentence's binarized parse (0 very negative .. 4 very positive). Training on
every node, not only whole sentences, is what teaches a recurrent model that "bad" is negative and "not bad"
is not (Socher et al. 2013). The trees are PTB-escaped; text is unescaped as in the dataset's derived files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

NEGATIONS = frozenset({"not", "n't", "never", "no", "nothing", "none", "nobody", "neither", "nor", "nowhere",
                       "cannot", "without", "hardly", "barely"})
"""Words whose phrase can turn its neighbour's sentiment round (compared lowercased)."""

_BRACKETS = {"-LRB-": "(", "-RRB-": ")"}
SOFT_TARGET = {0: 0.0, 1: 0.0, 2: 0.5, 3: 1.0, 4: 1.0}
"""P(positive) each 5-class label trains towards: the neutral phrases pull the prediction line to 0.5."""


@dataclass
class Node:
    """One labelled phrase of a tree: its label (0-4), its leaves, and its two children (none for a word)."""

    label: int
    words: list[str]
    children: list["Node"]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def polarity(self) -> int | None:
        """0 negative, 1 positive, None neutral."""
        return None if self.label == 2 else int(self.label > 2)

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()


def parse_tree(line: str) -> Node:
    """One PTB-style line, e.g. ``(3 (2 The) (4 (3 good) (2 film)))``, as a Node."""
    pieces = line.replace("(", " ( ").replace(")", " ) ").split(" ")
    tokens = [piece for piece in pieces if piece]  # split on spaces only: a leaf may hold U+00A0
    position = 0

    def node() -> Node:
        nonlocal position
        if tokens[position] != "(":
            raise ValueError(f"expected '(' at token {position} of a tree")
        label = int(tokens[position + 1])
        position += 2
        children: list[Node] = []
        words: list[str] = []
        while tokens[position] != ")":
            if tokens[position] == "(":
                child = node()
                children.append(child)
                words.extend(child.words)
            else:
                words.append(_unescape(tokens[position]))
                position += 1
        position += 1
        return Node(label, words, children)

    return node()


def _unescape(leaf: str) -> str:
    return _BRACKETS.get(leaf, leaf).replace("\\/", "/").replace("\\*", "*")


def read_trees(path: str | Path) -> list[Node]:
    with open(path, encoding="utf-8") as handle:
        return [parse_tree(line.strip()) for line in handle if line.strip()]


def starts_with_negation(node: Node) -> bool:
    return bool(node.words) and node.words[0].lower() in NEGATIONS


@dataclass(frozen=True)
class NegationNode:
    """A phrase made of a negation-led part and a polar part: does the negation flip the polar part's sentiment?"""

    text: str
    label: int
    negated_polarity: int  # polarity of the part the negation applies to

    @property
    def polarity(self) -> int:
        return int(self.label > 2)

    @property
    def flips(self) -> bool:
        return self.polarity != self.negated_polarity

    @property
    def kind(self) -> str:
        """"negative->positive" is the "not bad" kind; "positive->negative" the "not good" kind; or "kept"."""
        if not self.flips:
            return "kept"
        return "negative->positive" if self.negated_polarity == 0 else "positive->negative"


def negation_nodes(trees: list[Node]) -> list[NegationNode]:
    """Every polar node whose left child starts with a negation word and whose right child is polar, deduplicated.

    This is how the splits by "does the negation flip the label" are defined in the README and the model cards.
    """
    found: dict[str, NegationNode] = {}
    for tree in trees:
        for node in tree.walk():
            if node.polarity is None or len(node.children) != 2:
                continue
            left, right = node.children
            if starts_with_negation(left) and right.polarity is not None:
                found.setdefault(node.text.lower(), NegationNode(node.text, node.label, right.polarity))
    return list(found.values())


def labelled_phrases(trees: list[Node]) -> dict[str, int]:
    """Every distinct phrase (every node, words included) with its label; the first label wins on a clash."""
    phrases: dict[str, int] = {}
    for tree in trees:
        for node in tree.walk():
            phrases.setdefault(node.text, node.label)
    return phrases
