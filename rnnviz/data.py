"""Reading labeled sentiment files: SST-2 style TSV and IMDB style CSV (optionally .xz)."""

from __future__ import annotations

import csv
import hashlib
import lzma
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LabeledTexts:
    """Texts with integer labels, and where they came from."""

    texts: list[str]
    labels: list[int]
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> "LabeledTexts":
        return LabeledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices], self.source)


_TEXT_COLUMNS = ("sentence", "text", "review")


def read_labeled(path: str | Path) -> LabeledTexts:
    """Read a TSV (SST-2: ``sentence``/``label``) or CSV (IMDB: ``text``/``label``), .xz allowed.

    TSV is read without quoting, as SST-2's SOURCE.md asks; CSV with standard quoting.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
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
