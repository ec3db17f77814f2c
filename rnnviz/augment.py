"""Extra training examples that teach negation, built only from training trees.

SST's training trees hold few phrases where a negation turns a negative phrase positive ("not bad"), and many
the other way, so a model learns "a negation word pushes towards negative". Two remedies, both from training
data only (the negation probe set in tests/data is never used here):

- oversampling the training nodes where a negation flips its neighbour's sentiment;
- counterfactual pairs (after Kaushik et al. 2020, built by rule rather than by hand): a short polar training
  phrase, negated, trains towards the other side, softened ("not bad" is mildly positive, "not good" negative).
"""

from __future__ import annotations

import random
from pathlib import Path

from .data import LabeledTexts
from .sst import negation_nodes, read_trees

NEGATED_TARGET = {0: 0.8, 1: 0.1}
"""P(positive) a negated phrase trains towards, by the polarity of the phrase negated."""
NEGATING_PREFIXES = ("not", "is not", "is n't", "was not", "was n't", "never", "not at all", "hardly",
                     "does n't feel", "are n't", "not really")


def flip_oversampling(trees_path: str | Path, times: int) -> LabeledTexts:
    """The training nodes where a negation flips the sentiment of the phrase it negates, ``times`` more copies."""
    flips = [node for node in negation_nodes(read_trees(trees_path)) if node.flips]
    texts = [node.text for node in flips] * times
    targets = [float(node.polarity) for node in flips] * times
    return LabeledTexts(texts, [int(t) for t in targets], f"{trees_path} (negation flips x{times})", targets)


def negated_phrases(trees_path: str | Path, count: int, seed: int, max_words: int = 3) -> LabeledTexts:
    """Up to ``count`` counterfactuals: a negating prefix before a short, clearly polar training phrase."""
    polar: dict[str, int] = {}
    for tree in read_trees(trees_path):
        for node in tree.walk():
            if node.label in (0, 1, 3, 4) and len(node.words) <= max_words and node.words[0].isalpha():
                polar.setdefault(node.text.lower(), node.polarity)
    rng = random.Random(seed)
    phrases = sorted(polar)
    rng.shuffle(phrases)
    texts, targets = [], []
    for phrase in phrases[:count]:
        texts.append(f"{rng.choice(NEGATING_PREFIXES)} {phrase}")
        targets.append(NEGATED_TARGET[polar[phrase]])
    return LabeledTexts(texts, [int(t >= 0.5) for t in targets], f"{trees_path} (negated phrases)", targets)
