"""Pattern search (LSTMVis's "match"): which units switch on over a span, and where else in a corpus they do.

A pattern is a set of top-layer hidden units that are on (at or above a threshold) at every step of a span and
off (below it) just before the span, or the span starts its text. A match is a corpus span of the same length
where all those units do the same. Fast mode scans the int8 hidden states an index stores (``store_states``);
exact mode re-reads the index's texts (its stored token ids) with the model, a plain batched forward.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .corpus import STATE_SCALE, CorpusIndex, layer_states
from .model import SentimentModel, evaluating, length_sorted_batches, rnn_backend

CONTEXT = 4
"""Tokens shown on either side of a matched span."""
BATCH_SIZE = 64
"""Texts per batch when exact mode re-reads the corpus."""


def pattern_units(hidden: np.ndarray, start: int, end: int, threshold: float) -> list[int]:
    """The units of ``hidden`` (T, H) on at every step start..end (inclusive) and off at start - 1."""
    if not 0 <= start <= end < len(hidden):
        raise ValueError(f"the span {start}..{end} is outside the text's {len(hidden)} tokens")
    on = (hidden[start : end + 1] >= threshold).all(axis=0)
    if start > 0:
        on &= hidden[start - 1] < threshold
    return [int(u) for u in np.flatnonzero(on)]


def match_spans(values: np.ndarray, offsets: np.ndarray, length: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (corpus-wide) where every column of ``values`` (N, U) is on for ``length`` steps after
    being off (or at a text's start), and each match's mean value; ranked by that mean, highest first."""
    on = (values >= threshold).all(axis=1)
    off = (values < threshold).all(axis=1)
    runs = np.concatenate([[0], np.cumsum(on)])
    starts = np.arange(len(on) - length + 1)
    full = runs[starts + length] - runs[starts] == length
    text_of_start = np.searchsorted(offsets, starts, side="right") - 1
    within_text = starts + length <= offsets[text_of_start + 1]
    at_text_start = starts == offsets[text_of_start]
    before_off = at_text_start | off[np.maximum(starts - 1, 0)]
    found = starts[full & within_text & before_off]
    sums = np.concatenate([[0.0], np.cumsum(values.mean(axis=1, dtype=np.float64))])
    scores = (sums[found + length] - sums[found]) / length
    order = np.argsort(-scores, kind="stable")
    return found[order], scores[order]


@torch.no_grad()
def top_layer_hidden(model: SentimentModel, index: CorpusIndex, units: Sequence[int]) -> np.ndarray:
    """The exact top-layer hidden state of ``units`` at every corpus position, (N, U) float32 (one forward pass).

    For an LSTM with proj_size the units are the cell's, h_t = o_t * tanh(c_t), as in the index and the trace."""
    values = np.zeros((index.n_tokens, len(units)), dtype=np.float32)
    texts = [index.token_ids[index.offsets[i] : index.offsets[i + 1]].tolist() for i in range(len(index.texts))]
    with evaluating(model), rnn_backend():
        for batch, ids, lengths in length_sorted_batches(model, texts, BATCH_SIZE):
            if model.output_size == model.config.hidden_size:
                hidden, _ = model.recur(model.embedding(ids))
            else:
                hidden = layer_states(model, ids)[-1]["hidden"]
            for row, i in enumerate(batch):
                values[index.offsets[i] : index.offsets[i + 1]] = hidden[row, : lengths[row], units].numpy()
    return values


def search(index: CorpusIndex, units: Sequence[int], length: int, threshold: float = 0.5, mode: str = "fast",
           model: SentimentModel | None = None, limit: int = 50) -> tuple[pd.DataFrame, int]:
    """Corpus spans where ``units`` are on for ``length`` tokens after being off: (the best ``limit`` matches,
    how many there are). Columns: text_id, start, end, before, span, after, score (the units' mean value)."""
    units = [int(u) for u in units]
    if not units:
        raise ValueError("a pattern needs at least one unit")
    if length < 1:
        raise ValueError("a pattern spans at least one token")
    if mode == "fast":
        if index.states is None:
            raise ValueError("this index keeps no hidden states; build it with store_states=True or use mode='exact'")
        values = index.states[:, units].astype(np.float32) / STATE_SCALE
    elif mode == "exact":
        if model is None:
            raise ValueError("exact mode re-reads the corpus: pass the index's model")
        values = top_layer_hidden(model, index, units)
    else:
        raise ValueError(f"mode must be 'fast' or 'exact', not {mode!r}")
    starts, scores = match_spans(values, index.offsets, length, threshold)
    rows = []
    for start, score in zip(starts[:limit], scores[:limit]):
        text_id, position = (int(v[0]) for v in index.locate(np.array([start])))
        tokens = index.tokens_of(text_id)
        end = position + length - 1
        rows.append({"text_id": text_id, "start": position, "end": end,
                     "before": " ".join(tokens[max(0, position - CONTEXT) : position]),
                     "span": " ".join(tokens[position : end + 1]),
                     "after": " ".join(tokens[end + 1 : end + 1 + CONTEXT]), "score": float(score)})
    columns = ["text_id", "start", "end", "before", "span", "after", "score"]
    return pd.DataFrame(rows, columns=columns), int(len(starts))
