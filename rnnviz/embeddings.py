"""Word vectors learned here from unlabeled training text: PPMI + truncated SVD (Levy et al. 2015).

No word vectors can be downloaded, so the training CLI can learn its own from the training text
(IMDB train reviews, SST train sentences) and start the model's embedding from them. Counting
co-occurrences and one randomized SVD takes about a minute on two cores, where word2vec's
per-pair updates would take an hour in PyTorch here; Levy, Goldberg and Dagan (TACL 2015) show
the two give vectors of similar quality.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Sequence

import numpy as np
import torch


def pretrain_vectors(
    corpus: Sequence[Sequence[str]],
    dim: int,
    window: int = 5,
    min_count: int = 3,
    max_words: int = 60_000,
    context_smoothing: float = 0.75,
    seed: int = 13,
) -> tuple[list[str], np.ndarray]:
    """Vectors for the ``max_words`` most frequent words seen at least ``min_count`` times.

    Co-occurrences within ``window`` words (weighted 1/distance, never across texts) become
    positive pointwise mutual information with a smoothed context distribution; the word vectors
    are U * sqrt(S) of its rank-``dim`` SVD. Returns (words, (V, dim) float32 array).
    """
    counts = Counter(token for text in corpus for token in text)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))[:max_words]
    index = {w: i for i, w in enumerate(words)}
    size = len(words)
    if size <= dim:
        raise ValueError(f"the corpus has only {size} frequent words; need more than {dim} for {dim}-d vectors")
    stream, text_of = _id_stream(corpus, index)

    keys, weights = [], []
    for distance in range(1, window + 1):
        left, right = stream[:-distance], stream[distance:]
        same_text = text_of[:-distance] == text_of[distance:]
        keys.append(left[same_text] * size + right[same_text])
        weights.append(np.full(int(same_text.sum()), 1.0 / distance, dtype=np.float32))
    pairs, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    pair_weight = np.bincount(inverse, weights=np.concatenate(weights)).astype(np.float64)
    rows, cols = pairs // size, pairs % size
    # Symmetric window: count each pair both ways.
    rows, cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    pair_weight = np.concatenate([pair_weight, pair_weight])

    row_total = np.bincount(rows, weights=pair_weight, minlength=size)
    context_total = np.bincount(cols, weights=pair_weight, minlength=size) ** context_smoothing
    pmi = np.log(pair_weight * context_total.sum() / (row_total[rows] * context_total[cols]))
    positive = pmi > 0
    matrix = torch.sparse_coo_tensor(
        np.stack([rows[positive], cols[positive]]), torch.from_numpy(pmi[positive].astype(np.float32)), (size, size),
        check_invariants=True,
    ).coalesce()
    print(f"PPMI matrix: {size} words, {int(positive.sum())} positive entries; SVD to {dim} dimensions",
          file=sys.stderr)
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(matrix, q=dim, niter=6)
    return words, (u * s.sqrt()).numpy().astype(np.float32)


def _id_stream(corpus: Sequence[Sequence[str]], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every known token's id in reading order, and which text each came from."""
    ids: list[int] = []
    text_of: list[int] = []
    for number, text in enumerate(corpus):
        known = [index[t] for t in text if t in index]
        ids.extend(known)
        text_of.extend([number] * len(known))
    return np.asarray(ids, dtype=np.int64), np.asarray(text_of, dtype=np.int64)


def initial_embedding(vocab_tokens: Sequence[str], words: Sequence[str], vectors: np.ndarray,
                      scale: float, seed: int) -> tuple[torch.Tensor, int]:
    """An embedding matrix for ``vocab_tokens``: pretrained rows where known, small random rows elsewhere.

    Pretrained vectors are rescaled so their entries have standard deviation ``scale``. Returns the
    matrix and how many vocabulary tokens had a pretrained vector.
    """
    generator = torch.Generator().manual_seed(seed)
    found = {w: i for i, w in enumerate(words)}
    matrix = torch.randn(len(vocab_tokens), vectors.shape[1], generator=generator) * scale
    pretrained = torch.from_numpy(vectors)
    pretrained = pretrained / pretrained.std() * scale
    hits = 0
    for row, token in enumerate(vocab_tokens):
        if token in found:
            matrix[row] = pretrained[found[token]]
            hits += 1
    matrix[0] = 0.0  # padding
    return matrix, hits
