"""Reading labeled sentiment files: SST-2 style TSV and IMDB style CSV (optionally .xz)."""

from __future__ import annotations

import csv
import hashlib
import lzma
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass
class LabeledTexts:
    """Texts with integer labels, and where they came from."""

    texts: list[str]
    labels: list[int]
    source: str = ""
    targets: list[float] | None = None
    """P(positive) to train towards, where it is not simply the label (SST's neutral phrases: 0.5)."""

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> "LabeledTexts":
        targets = [self.targets[i] for i in indices] if self.targets is not None else None
        return LabeledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices], self.source, targets)

    def target(self, index: int) -> float:
        """The training target of text ``index``: its soft target, or its label."""
        return self.targets[index] if self.targets is not None else float(self.labels[index])

    def __add__(self, other: "LabeledTexts") -> "LabeledTexts":
        targets = None
        if self.targets is not None or other.targets is not None:
            targets = [self.target(i) for i in range(len(self))] + [other.target(i) for i in range(len(other))]
        return LabeledTexts(self.texts + other.texts, self.labels + other.labels,
                            " + ".join(s for s in (self.source, other.source) if s), targets)


_TEXT_COLUMNS = ("sentence", "text", "review")


def read_labeled(path: str | Path) -> LabeledTexts:
    """Read a TSV (SST-2: ``sentence``/``label``) or CSV (IMDB: ``text``/``label``), .xz allowed, or SST trees.

    TSV is read without quoting, as SST-2's SOURCE.md asks; CSV with standard quoting. A ``.txt`` file of SST
    trees gives every labelled phrase, with soft targets (rnnviz.sst.SOFT_TARGET).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
    if path.suffix == ".txt":
        return read_tree_phrases(path)
    suffixes = [s for s in path.suffixes if s != ".xz"]
    delimiter = "\t" if suffixes and suffixes[-1] == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
        header = next(reader)
        text_column = next((header.index(c) for c in _TEXT_COLUMNS if c in header), None)
        if text_column is None or "label" not in header:
            raise ValueError(f"{path} needs a 'label' column and one of {_TEXT_COLUMNS}; its header is {header}")
        label_column = header.index("label")
        texts, labels = [], []
        for row in reader:
            texts.append(row[text_column].strip())
            labels.append(int(row[label_column]))
    return LabeledTexts(texts, labels, str(path))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dedupe_key(text: str) -> str:
    """Texts equal up to case and spacing count as the same text."""
    return " ".join(text.lower().split())


def read_tree_phrases(path: str | Path) -> LabeledTexts:
    """Every distinct labelled phrase of an SST trees file; label = the closer pole, target = P(positive)."""
    from .sst import SOFT_TARGET, labelled_phrases, read_trees

    phrases = labelled_phrases(read_trees(path))
    targets = [SOFT_TARGET[label] for label in phrases.values()]
    return LabeledTexts(list(phrases), [int(t >= 0.5) for t in targets], str(path), targets)


def read_corpus(paths: Sequence[str | Path], sample: int = 0, seed: int = 13) -> list[str]:
    """The texts of labelled files (labels unused) or plain-text files (one text per line), optionally a seeded
    random sample of ``sample`` of them in their original order."""
    texts: list[str] = []
    for path in paths:
        path = Path(path)
        if path.suffix in (".tsv", ".csv") or path.suffixes[-2:-1] in ([".tsv"], [".csv"]):
            texts.extend(read_labeled(path).texts)
        else:
            with open(path, encoding="utf-8") as handle:
                texts.extend(line.strip() for line in handle if line.strip())
    if sample and sample < len(texts):
        chosen = sorted(random.Random(seed).sample(range(len(texts)), sample))
        texts = [texts[i] for i in chosen]
    return texts
