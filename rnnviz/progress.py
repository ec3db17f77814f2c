"""Progress bars that stay readable in logs: frequent redraws on a terminal, a line every 30 s elsewhere."""

from __future__ import annotations

import sys
from typing import Any, Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], **options: Any) -> "tqdm[T]":
    """tqdm on stderr; redrawn at most every 30 s when stderr is not a terminal (CI, log files)."""
    options.setdefault("file", sys.stderr)
    options.setdefault("mininterval", 0.2 if sys.stderr.isatty() else 30.0)
    return tqdm(iterable, **options)
