"""Calibrated confidence: temperature scaling fitted on dev data (Guo et al. 2017), and how to measure it.

The temperature is folded into the head's weights (logits / T = (W / T) h + b / T), so the shipped model, the
trace's prediction line and ``predict_proba`` all show the calibrated probability with no extra field.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import SentimentModel, evaluating, length_sorted_batches


@torch.no_grad()
def final_logits(model: SentimentModel, encoded: list[list[int]], batch_size: int = 128) -> np.ndarray:
    """The head's logits after each text's last token, (N, n_classes)."""
    out = np.zeros((len(encoded), model.config.num_classes), dtype=np.float64)
    with evaluating(model):
        for batch, ids, lengths in length_sorted_batches(model, encoded, batch_size):
            out[batch] = model(ids, lengths).double().numpy()
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(logits / T), by a bounded 1-D search."""
    logits_t = torch.as_tensor(logits, dtype=torch.float64)
    labels_t = torch.as_tensor(labels, dtype=torch.long)

    def nll(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(logits_t / np.exp(log_t), labels_t))

    low, high = np.log(0.05), np.log(20.0)
    for _ in range(80):  # golden-section search on log T: the NLL is unimodal in T
        a = high - (high - low) / 1.618033988749895
        b = low + (high - low) / 1.618033988749895
        if nll(a) < nll(b):
            high = b
        else:
            low = a
    return float(np.exp((low + high) / 2))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over equal-width confidence bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def confident_errors(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.99) -> float:
    """The share of wrong predictions made with at least ``threshold`` confidence."""
    wrong = probs.argmax(axis=1) != labels
    return float((probs.max(axis=1)[wrong] >= threshold).mean()) if wrong.any() else 0.0


def fold_temperature(model: SentimentModel, temperature: float) -> None:
    """Divide the head's weights and bias by ``temperature``: the model then outputs calibrated logits."""
    with torch.no_grad():
        model.head.weight /= temperature
        model.head.bias /= temperature


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
