"""Does a model read negation? The probe set in tests/data, and SST phrases where a negation flips the label."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .data import LabeledTexts
from .model import SentimentModel
from .sst import negation_nodes, read_trees

PROBE_PATH = Path(__file__).resolve().parent.parent / "tests" / "data" / "negation_probe.tsv"


def read_probe(path: str | Path = PROBE_PATH) -> tuple[LabeledTexts, list[str]]:
    """The probe sentences with their labels, and each one's kind ("negated negative", "plain positive", ...)."""
    texts, labels, kinds = [], [], []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["sentence", "label", "kind"]:
            raise ValueError(f"{path}: expected the columns sentence, label, kind; got {header}")
        for line in handle:
            if line.strip():
                sentence, label, kind = line.rstrip("\n").split("\t")
                texts.append(sentence)
                labels.append(int(label))
                kinds.append(kind)
    return LabeledTexts(texts, labels, str(path)), kinds


def accuracy_by_group(predicted: np.ndarray, labels: list[int], groups: list[str]) -> dict[str, dict]:
    """Accuracy and count per group, and over the groups together under "all"."""
    correct: dict[str, list[bool]] = defaultdict(list)
    for guess, label, group in zip(predicted, labels, groups):
        correct[group].append(bool(guess == label))
        correct["all"].append(bool(guess == label))
    return {group: {"n": len(hits), "accuracy": round(float(np.mean(hits)), 4)} for group, hits in correct.items()}


def probe_report(model: SentimentModel, path: str | Path = PROBE_PATH) -> dict:
    """Accuracy on the probe set: all of it, the negated sentences only, and each kind."""
    probe, kinds = read_probe(path)
    predicted = model.predict_proba(probe.texts).argmax(axis=1)
    report = accuracy_by_group(predicted, probe.labels, kinds)
    negated = [i for i, kind in enumerate(kinds) if kind.startswith("negated")]
    report["negated"] = accuracy_by_group(predicted[negated], [probe.labels[i] for i in negated],
                                          ["negated"] * len(negated))["negated"]
    report["misread"] = [probe.texts[i] for i in range(len(kinds)) if predicted[i] != probe.labels[i]]
    return report


def sst_negation_report(model: SentimentModel, trees_path: str | Path) -> dict:
    """Accuracy on the polar phrases of an SST split made of a negation-led part and a polar part, by kind:
    "negative->positive" (the "not bad" kind), "positive->negative" ("not good"), and "kept"."""
    nodes = negation_nodes(read_trees(trees_path))
    predicted = model.predict_proba([node.text for node in nodes]).argmax(axis=1)
    return accuracy_by_group(predicted, [node.polarity for node in nodes], [node.kind for node in nodes])
