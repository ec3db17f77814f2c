"""What the gates mean, derived from a trace: keep scores, memory decomposition, saturation, unit ranking.

Conventions (DESIGN.md): for LSTM, token t writes i_t * g_t into the cell and every later step keeps
the share f_s of it; for GRU (PyTorch's convention, z = 1 keeps the old state), token t writes
(1 - z_t) * n_t and every later step keeps the share z_s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd
import torch

from .model import native_rnn_kernels

if TYPE_CHECKING:
    from .model import SentimentModel
    from .trace import Trace

SATURATION_LOW, SATURATION_HIGH = 0.1, 0.9
RANKINGS = ("variance", "keep", "effect")


def _write_and_retain(cell: str, gates: Mapping[str, np.ndarray], layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share written, content written, share retained by each step), each (T, H), for one layer."""
    if cell == "lstm":
        return gates["input"][layer], gates["candidate"][layer], gates["forget"][layer]
    update = gates["update"][layer]
    return 1.0 - update, gates["candidate"][layer], update


def _retained_after(retain: np.ndarray) -> np.ndarray:
    """R[t] = product of retain[s] for s > t (1 for the last step), in float64 so nothing overflows."""
    suffix = np.cumprod(retain[::-1].astype(np.float64), axis=0)[::-1]
    return np.concatenate([suffix[1:], np.ones((1, retain.shape[1]))])


def keep_matrix(cell: str, gates: Mapping[str, np.ndarray], layer: int = -1) -> np.ndarray:
    """(T, H) keep score: LSTM i[t,u] * prod_{s>t} f[s,u]; GRU (1 - z[t,u]) * prod_{s>t} z[s,u]."""
    share, _, retain = _write_and_retain(cell, gates, layer)
    return (share * _retained_after(retain)).astype(np.float32)


def reduce_keep(cell: str, gates: Mapping[str, np.ndarray], keep_units: np.ndarray, layer: int = -1) -> np.ndarray:
    """(T,) keep per token: keep_units averaged over units, weighted by |candidate| at that token.

    The candidate is what token t proposes to write into each unit, so the result reads "of all that
    token t proposed, this share was written and is still in memory at the end". A token whose
    candidate is zero everywhere gets the plain mean.
    """
    _, content, _ = _write_and_retain(cell, gates, layer)
    weight = np.abs(content.astype(np.float64))
    total = weight.sum(axis=1)
    weighted = (keep_units * weight).sum(axis=1) / np.where(total > 0, total, 1.0)
    return np.where(total > 0, weighted, keep_units.mean(axis=1)).astype(np.float32)


def final_memory_contributions(cell: str, gates: Mapping[str, np.ndarray], layer: int = -1) -> np.ndarray:
    """(T, H): token t's share of the final memory, summing over t to c_T (LSTM) or h_T (GRU).

    LSTM: i_t * g_t * prod_{s>t} f_s. GRU: (1 - z_t) * n_t * prod_{s>t} z_s. Exact, since the
    initial state is zero.
    """
    share, content, retain = _write_and_retain(cell, gates, layer)
    return (share * content * _retained_after(retain)).astype(np.float32)


def saturation(trace: "Trace", layer: int = -1) -> pd.DataFrame:
    """Karpathy et al. (2015): per sigmoid gate and unit, the share of steps below 0.1 and above 0.9."""
    rows = []
    for gate, values in trace.gates.items():
        if gate == "candidate":  # tanh, not a gate
            continue
        v = values[layer]
        low, high = (v < SATURATION_LOW).mean(axis=0), (v > SATURATION_HIGH).mean(axis=0)
        rows.append(pd.DataFrame({"gate": gate, "unit": np.arange(v.shape[1]), "low": low, "high": high}))
    return pd.concat(rows, ignore_index=True)


def unit_effects(model: "SentimentModel", trace: "Trace", layer: int = -1) -> np.ndarray:
    """(H,) effect of each unit of ``layer`` on the final prediction: gradient x activation, summed over steps.

    The score is the predicted class's logit minus the mean logit. For the top layer this is exactly
    h_T[u] * (w_pred[u] - mean_k w_k[u]); for lower layers the gradient flows through the layers above.
    """
    layer = layer % trace.num_layers
    hidden = torch.tensor(trace.hidden[layer], requires_grad=True)
    x = hidden
    with torch.enable_grad(), native_rnn_kernels():
        for above in range(layer + 1, trace.num_layers):
            weights = [getattr(model.rnn, f"{kind}_l{above}").detach()
                       for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            zeros = x.new_zeros(1, 1, trace.hidden_size)
            if trace.cell == "lstm":
                out, _, _ = torch.lstm(x[None], (zeros, zeros), weights, True, 1, 0.0, False, False, True)
            else:
                out, _ = torch.gru(x[None], zeros, weights, True, 1, 0.0, False, False, True)
            x = out[0]
        logits = torch.nn.functional.linear(x[-1], model.head.weight.detach(), model.head.bias.detach())
        predicted = int(logits.argmax())
        (logits[predicted] - logits.mean()).backward()
    assert hidden.grad is not None
    return (hidden.grad * hidden.detach()).sum(dim=0).numpy()


def rank_units(trace: "Trace", layer: int = -1, by: str = "variance", model: "SentimentModel | None" = None) -> np.ndarray:
    """All unit indices of ``layer``, most interesting first.

    variance: how much the hidden state moves over the text. keep: the mean keep score (what the
    unit holds on to). effect: |unit_effects|, how much the unit pushes the final prediction (needs model).
    """
    if by == "variance":
        score = trace.hidden[layer].var(axis=0)
    elif by == "keep":
        score = keep_matrix(trace.cell, trace.gates, layer).mean(axis=0)
    elif by == "effect":
        if model is None:
            raise ValueError("ranking by effect needs the model")
        score = np.abs(unit_effects(model, trace, layer))
    else:
        raise ValueError(f"unknown ranking {by!r}; choose one of {RANKINGS}")
    return np.argsort(-score, kind="stable")
