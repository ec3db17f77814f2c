"""Interventions: re-read a text step by step with some gates or states held at chosen values.

``rnnviz.trace(model, text, interventions=[Clamp("forget", 1.0, layer=0, units=[17])])`` returns an
ordinary trace of the changed run, so every view can show it. The rules: a clamped gate is the value the
cell update uses at that step; a clamped cell or hidden state is what the next step (and the next layer)
reads. The fused kernels cannot be told to hold a value, so an intervened run is a plain step loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .rnn_trace import GRU_GATES, LSTM_GATES

QUANTITIES = {"LSTM": (*LSTM_GATES, "cell_state", "hidden"), "GRU": (*GRU_GATES, "hidden"),
              "RNN_TANH": ("hidden",), "RNN_RELU": ("hidden",)}


@dataclass(frozen=True)
class Clamp:
    """Hold ``quantity`` at ``value`` in ``layer``, for ``units`` (None: all) at ``steps`` (None: all).

    For a bidirectional model ``layer`` indexes the trace's streams (layer * 2 + direction, Trace.layer_names) and
    ``steps`` are input positions in either direction."""

    quantity: str
    value: float
    layer: int = 0
    units: Sequence[int] | None = None
    steps: Sequence[int] | None = None


def check_clamps(clamps: Sequence[Clamp], kind: str, layers: int, hidden_size: int) -> None:
    """ValueError, saying what is wrong, for a clamp the model cannot take."""
    for clamp in clamps:
        if not isinstance(clamp, Clamp):
            raise ValueError(f"interventions are rnnviz.Clamp(...), not {type(clamp).__name__}")
        if clamp.quantity not in QUANTITIES[kind]:
            raise ValueError(f"{clamp.quantity!r} cannot be clamped in this model; choose one of {QUANTITIES[kind]}")
        if not -layers <= clamp.layer < layers:
            raise ValueError(f"layer {clamp.layer} does not exist: this model has {layers}")
        if clamp.units is not None and not all(0 <= int(u) < hidden_size for u in clamp.units):
            raise ValueError(f"units must be between 0 and {hidden_size - 1}")


def _hold(values: torch.Tensor, quantity: str, step: int, clamps: Sequence[Clamp]) -> torch.Tensor:
    """``values`` (H,) with every clamp on ``quantity`` that covers ``step`` applied, in order."""
    for clamp in clamps:
        if clamp.quantity == quantity and (clamp.steps is None or step in clamp.steps):
            values = values.clone()
            values[slice(None) if clamp.units is None else list(clamp.units)] = clamp.value
    return values


def clamped_states(kind: str, x: torch.Tensor, w: dict[str, torch.Tensor | None],
                   clamps: Sequence[Clamp]) -> dict[str, torch.Tensor]:
    """One unidirectional layer from a zero state, step by step, with ``clamps`` applied; each output (T, H).

    An LSTM with a projection (``w["w_hr"]``) also gives "projection", r_t = W_hr h_t (T, P), computed from the
    (possibly clamped) h_t: what the next step and the next layer read."""
    w_hh, b_hh, w_hr = w["w_hh"], w["b_hh"], w["w_hr"]
    size = w_hh.shape[1] if w_hr is None else w_hr.shape[1]
    from_input = x @ w["w_ih"].t() + (w["b_ih"] if w["b_ih"] is not None else 0)
    read, c = x.new_zeros(w_hh.shape[1]), x.new_zeros(size)  # what the next step reads (h_t, or r_t), the cell
    squash = torch.relu if kind == "RNN_RELU" else torch.tanh
    out: dict[str, list[torch.Tensor]] = {name: [] for name in QUANTITIES[kind]}
    if w_hr is not None:
        out["projection"] = []
    for t in range(len(x)):
        from_hidden = w_hh @ read + (b_hh if b_hh is not None else 0)
        if kind == "LSTM":
            i, f, g, o = (from_input[t] + from_hidden).chunk(4)
            i, f, o = (_hold(torch.sigmoid(v), name, t, clamps) for v, name in ((i, "input"), (f, "forget"), (o, "output")))
            g = _hold(torch.tanh(g), "candidate", t, clamps)
            c = _hold(f * c + i * g, "cell_state", t, clamps)
            h = _hold(o * torch.tanh(c), "hidden", t, clamps)
            step = {"input": i, "forget": f, "output": o, "candidate": g, "cell_state": c, "hidden": h}
            if w_hr is not None:
                step["projection"] = w_hr @ h
        elif kind == "GRU":
            i_r, i_z, i_n = from_input[t].chunk(3)
            h_r, h_z, h_n = from_hidden.chunk(3)
            r = _hold(torch.sigmoid(i_r + h_r), "reset", t, clamps)
            z = _hold(torch.sigmoid(i_z + h_z), "update", t, clamps)
            n = _hold(torch.tanh(i_n + r * h_n), "candidate", t, clamps)
            h = _hold((1 - z) * n + z * read, "hidden", t, clamps)
            step = {"reset": r, "update": z, "candidate": n, "hidden": h}
        else:
            h = _hold(squash(from_input[t] + from_hidden), "hidden", t, clamps)
            step = {"hidden": h}
        read = step.get("projection", h)
        for name, value in step.items():
            out[name].append(value)
    return {name: torch.stack(values) for name, values in out.items()}
