"""Toy tasks whose solution is one visible mechanism: a counter, a depth, a remembered word.

Each task generates space-separated token sequences from a seed, labels them, and says, token by token,
what the unit that does the job should follow (the true counter or depth). Negative examples are hard on
purpose: counts that miss by one or two, brackets that balance in number but close too early, so a model
can only be right by actually counting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


LONGEST = 40
"""The longest counting and brackets sequence in training, in tokens."""


@dataclass(frozen=True)
class Task:
    """One toy task: its words, labels, training lengths, generator and the quantity its job tracks."""

    name: str
    title: str
    words: tuple[str, ...]
    labels: tuple[str, str]
    """Class 0, then class 1."""
    lengths: tuple[int, int]
    """Training lengths, inclusive: tokens for counting and brackets, filler words for first-word."""
    tracked: str
    """In words, what the unit that does the job follows (``track`` computes it)."""
    generate: Callable[[random.Random, int, int], list[str]]
    """One sequence of a length in [low, high] (same unit as ``lengths``)."""
    prefix_labels: Callable[[Sequence[str]], np.ndarray]
    """(T,) int: the label of every prefix tokens[:t + 1] (the last one is the sequence's label)."""
    track: Callable[[Sequence[str]], np.ndarray]
    """(T,) float: the true value of ``tracked`` after each token."""
    live: Callable[[Sequence[str]], np.ndarray]
    """(T,) bool: the steps where the tracked value decides the answer (see ``_completable``); the unit that does
    the job is found on these."""

    def label(self, tokens: Sequence[str]) -> int:
        return int(self.prefix_labels(tokens)[-1])


def _steps(tokens: Sequence[str], up: str, down: str) -> np.ndarray:
    """Running count: +1 for each ``up`` token, -1 for each ``down`` token."""
    return np.cumsum([1 if t == up else -1 if t == down else 0 for t in tokens]).astype(np.float64)


def _completable(counts: np.ndarray) -> np.ndarray:
    """Steps after which the sequence can still end equal or balanced within LONGEST tokens: the count never
    went below zero and the tokens left can still bring it back. There the count must be exact; after that,
    the answer is "no" whatever the model holds."""
    left = LONGEST - np.arange(1, len(counts) + 1)
    return (np.minimum.accumulate(counts) >= 0) & (counts <= left)


def _even_length(rng: random.Random, low: int, high: int) -> int:
    """An even length in [low, high] (at least 2)."""
    return 2 * rng.randint(max(1, (low + 1) // 2), max(1, high // 2))


# ---------------------------------------------------------------- counting: a^n b^m, 1 iff n == m

def _counting(rng: random.Random, low: int, high: int) -> list[str]:
    """Half a^n b^n; half a^n b^m with m != n, mostly missing by two (same parity: only counting tells)."""
    if rng.random() < 0.5:
        n = _even_length(rng, low, high) // 2
        return ["a"] * n + ["b"] * n
    length = rng.randint(low, high)
    if rng.random() < 0.75:
        miss = rng.choice((-2, 2) if length % 2 == 0 and length >= 2 else (-1, 1))
        n = (length + miss) // 2
    else:
        n = rng.choice([k for k in range(length + 1) if 2 * k != length])
    return ["a"] * n + ["b"] * (length - n)


def _counting_labels(tokens: Sequence[str]) -> np.ndarray:
    return (_steps(tokens, "a", "b") == 0).astype(np.int64)


# ---------------------------------------------------------------- brackets: 1 iff balanced

def _dyck(rng: random.Random, length: int) -> list[str]:
    """A balanced string of even ``length``; each opens with its own probability, so some nest deep."""
    p_open, depth, tokens = rng.uniform(0.3, 0.8), 0, []
    for position in range(length):
        remaining = length - position
        opens = depth == 0 or (depth < remaining and rng.random() < p_open)
        tokens.append("(" if opens else ")")
        depth += 1 if opens else -1
    return tokens


def _brackets(rng: random.Random, low: int, high: int) -> list[str]:
    """Half balanced; the rest equal in number but closing too early, or balanced but for one flipped bracket."""
    length = _even_length(rng, low, high)
    if rng.random() < 0.5:
        return _dyck(rng, length)
    if rng.random() < 0.5:
        while True:  # as many ( as ), shuffled until some ) comes too early
            tokens = ["("] * (length // 2) + [")"] * (length // 2)
            rng.shuffle(tokens)
            if _brackets_labels(tokens)[-1] == 0:
                return tokens
    tokens = _dyck(rng, length)
    flip = rng.randrange(length)
    tokens[flip] = "(" if tokens[flip] == ")" else ")"
    return tokens


def _brackets_labels(tokens: Sequence[str]) -> np.ndarray:
    depth = _steps(tokens, "(", ")")
    never_below = np.minimum.accumulate(depth) >= 0
    return ((depth == 0) & never_below).astype(np.int64)


# ---------------------------------------------------------------- first word: good/bad, then N fillers

def _first(rng: random.Random, low: int, high: int) -> list[str]:
    return [rng.choice(("good", "bad"))] + ["x"] * rng.randint(low, high)


def _first_labels(tokens: Sequence[str]) -> np.ndarray:
    return np.full(len(tokens), int(tokens[0] == "good"), dtype=np.int64)


def _first_track(tokens: Sequence[str]) -> np.ndarray:
    return np.full(len(tokens), 1.0 if tokens[0] == "good" else -1.0)


TASKS: dict[str, Task] = {
    "counting": Task("counting", "Counting a's and b's", ("a", "b"), ("unequal", "equal"), (2, LONGEST),
                     "a's minus b's so far", _counting, _counting_labels, lambda t: _steps(t, "a", "b"),
                     lambda t: _completable(_steps(t, "a", "b"))),
    "brackets": Task("brackets", "Balanced brackets", ("(", ")"), ("unbalanced", "balanced"), (2, LONGEST),
                     "bracket depth (open minus closed so far)", _brackets, _brackets_labels,
                     lambda t: _steps(t, "(", ")"), lambda t: _completable(_steps(t, "(", ")"))),
    "first": Task("first", "Remember the first word", ("good", "bad", "x"), ("bad", "good"), (0, 50),
                  "first word (+1 good, -1 bad)", _first, _first_labels, _first_track,
                  lambda t: np.ones(len(t), dtype=bool)),
}


def get_task(name: str) -> Task:
    """The task called ``name``; ValueError names the others."""
    if name not in TASKS:
        raise ValueError(f"unknown toy task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


def sample(name: str, count: int, seed: int, lengths: tuple[int, int] | None = None) -> list[list[str]]:
    """``count`` sequences of task ``name``, the same for the same seed (lengths default to the training ones)."""
    task = get_task(name)
    low, high = task.lengths if lengths is None else lengths
    rng = random.Random(f"{name}-{seed}")
    return [task.generate(rng, low, high) for _ in range(count)]


def as_text(tokens: Sequence[str]) -> str:
    """A sequence as the text the model reads: its tokens separated by spaces."""
    return " ".join(tokens)
