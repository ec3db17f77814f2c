"""Find the unit that does a toy task's job, and measure how long a model's memory of the first word lasts.

Both read models through ``rnnviz.trace`` (or the model's own layers), so every number a lesson shows can be
recomputed in Python with the same call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacfwd

from ..model import SentimentModel, rnn_backend
from ..trace import Trace, trace
from .tasks import as_text, get_task, sample

PROBE_SEED = 2
"""Fresh sequences for probing and scoring: training draws from seeds 1000 and up, validation from seed 1."""
PROBE_COUNT = 300


@dataclass(frozen=True)
class TrackingUnit:
    """The unit whose state follows the task's tracked quantity best, over every step of fresh sequences."""

    quantity: str
    """"cell_state" (LSTM) or "hidden"."""
    unit: int
    r: float
    """Pearson correlation of that unit's state with the tracked quantity (sign included)."""
    steps: int
    """How many (sequence, token) steps the correlation is over."""


def state_quantities(tr: Trace) -> dict[str, np.ndarray]:
    """The states a unit can hold a count in, top layer, each (T, H): the LSTM's cell state, and the hidden state."""
    states = {"cell_state": tr.cell_state[-1]} if tr.cell_state is not None else {}
    return {**states, "hidden": tr.hidden[-1]}


def correlations(states: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(H,) Pearson r of each column of ``states`` (steps, H) with ``truth`` (steps,); 0 for a constant column."""
    centred, target = states - states.mean(axis=0), truth - truth.mean()
    scale = np.sqrt((centred ** 2).sum(axis=0) * (target ** 2).sum())
    return np.divide(centred.T @ target, scale, out=np.zeros(states.shape[1]), where=scale > 0)


def tracking_unit(model: SentimentModel, task_name: str, sequences: list[list[str]] | None = None) -> TrackingUnit:
    """The (quantity, unit) with the largest |r| against the task's tracked quantity on ``sequences`` (default:
    PROBE_COUNT fresh ones from PROBE_SEED), pooled over the steps where it decides the answer (``Task.live``)."""
    task = get_task(task_name)
    sequences = sample(task_name, PROBE_COUNT, PROBE_SEED) if sequences is None else sequences
    traces = [trace(model, as_text(tokens)) for tokens in sequences]
    live = np.concatenate([task.live(tokens) for tokens in sequences])
    truth = np.concatenate([task.track(tokens) for tokens in sequences])[live]
    best = TrackingUnit("hidden", 0, 0.0, len(truth))
    for quantity in state_quantities(traces[0]):
        states = np.concatenate([state_quantities(tr)[quantity] for tr in traces]).astype(np.float64)[live]
        r = correlations(states, truth)
        unit = int(np.argmax(np.abs(r)))
        if abs(r[unit]) > abs(best.r):
            best = TrackingUnit(quantity, unit, float(r[unit]), len(truth))
    return best


@dataclass(frozen=True)
class FirstWordMemory:
    """How the memory of the first word lasts over ``good x x ... x``, step by step (each (T,))."""

    tokens: list[str]
    gap: np.ndarray
    """Largest |h_t("good x...") - h_t("bad x...")| over units: what the state still says about the first word."""
    sensitivity: np.ndarray
    """||d h_t / d e_0||: how much a nudge to the first word's embedding still moves the state at step t, the
    path every gradient from step t back to the first word takes. It vanishes when the state saturates."""


def first_word_memory(model: SentimentModel, fillers: int = 200) -> FirstWordMemory:
    """Gap and sensitivity after ``good`` then ``fillers`` x's (the hidden state, top layer)."""
    tokens = ["good"] + ["x"] * fillers
    other = ["bad"] + tokens[1:]
    gap = np.abs(trace(model, as_text(tokens)).hidden[-1] - trace(model, as_text(other)).hidden[-1]).max(axis=1)
    with torch.no_grad():
        embedded = model.embedding(torch.tensor(model.encode(tokens)))

    def states(first: torch.Tensor) -> torch.Tensor:
        return model.rnn(torch.cat([first[None], embedded[1:]])[None])[0][0]

    with rnn_backend("native"):  # oneDNN's LSTM has no forward-mode derivative
        jacobian = jacfwd(states)(embedded[0])  # (T, H, E), forward mode: one pass per embedding dimension
    sensitivity = torch.linalg.matrix_norm(jacobian).detach().numpy()
    return FirstWordMemory(tokens, gap.astype(np.float64), sensitivity.astype(np.float64))
