"""A one-unit LSTM or GRU whose every weight is a number you choose, run over a sequence of numbers you type.

For the classroom: set the forget bias high and watch the memory stay; zero it and watch it go. The cell is a
real ``torch.nn.LSTM(1, 1)`` / ``torch.nn.GRU(1, 1)`` traced by ``rnnviz.trace_rnn``, so every number is
PyTorch's; each step also carries the pre-activations, so ``rnnviz.equations.step_equations`` can write the
equations with them. One bias per gate: PyTorch's two biases add up, so the second is kept at 0 (except the
GRU's b_hn, which the reset gate scales and so is a parameter of its own).
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import torch
from torch import nn

from .rnn_trace import trace_rnn

PARAMETERS = {
    "lstm": ("w_ii", "w_hi", "b_i", "w_if", "w_hf", "b_f", "w_ig", "w_hg", "b_g", "w_io", "w_ho", "b_o"),
    "gru": ("w_ir", "w_hr", "b_r", "w_iz", "w_hz", "b_z", "w_in", "b_in", "w_hn", "b_hn"),
}
"""Every weight and bias of a one-unit cell: for each gate, its input weight, recurrent weight and bias."""
LIMIT = 10.0
"""Sliders run from -LIMIT to LIMIT: sigmoid(10) is 0.99995, as shut or open as a gate gets."""
MAX_INPUTS = 60
"""Most numbers a typed sequence may hold (one projector screen of steps)."""

PRESETS: dict[str, dict[str, dict[str, float]]] = {
    "lstm": {
        "remember by default": {"w_ii": 10.0, "b_i": -5.0, "w_ig": 2.0, "b_f": 5.0, "b_o": 5.0},
        "copy the input": {"b_i": 5.0, "w_ig": 2.0, "b_f": -5.0, "b_o": 5.0},
        "counter": {"b_i": 10.0, "w_ig": 1.0, "b_f": 10.0, "b_o": 10.0},
    },
    "gru": {
        "remember by default": {"w_iz": -10.0, "b_z": 5.0, "w_in": 2.0, "b_r": 5.0},
        "copy the input": {"b_z": -5.0, "w_in": 2.0},
        "counter": {"b_z": -10.0, "b_r": 10.0, "w_in": 0.2, "w_hn": 1.0},
    },
}
"""Named settings (parameters not named are 0). remember: a 1 opens the write, then the keeping gate holds it
(LSTM f = sigmoid(5), GRU z = sigmoid(5), both 0.993 a step). copy: nothing is kept, the state is the input.
counter: the LSTM cell adds tanh(x) = 0.76 per 1 and never forgets; the GRU's tanh(h + 0.2 x) counts while
small and saturates near 1, as a bounded state must."""
PRESET_INPUTS = {"remember by default": "1 0 0 0 0 0 0 0 0 0", "copy the input": "1 0 -1 0.5 0 1",
                 "counter": "1 1 1 1 -1 -1 -1 -1"}
"""A sequence that shows what each preset does."""


def preset(cell: str, name: str) -> dict[str, float]:
    """Every parameter of ``cell`` under preset ``name`` (those the preset does not name are 0)."""
    return {parameter: PRESETS[cell][name].get(parameter, 0.0) for parameter in PARAMETERS[cell]}


def parse_inputs(text: str) -> list[float]:
    """Typed numbers ("1 0 -1, 0.5") as floats; ValueError, with a plain message, for anything else."""
    parts = [part for part in re.split(r"[\s,;]+", text.strip()) if part]
    if not parts:
        raise ValueError("type a sequence of numbers, for example 1 0 0 -1")
    if len(parts) > MAX_INPUTS:
        raise ValueError(f"at most {MAX_INPUTS} numbers, one per step")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part[:20]!r} is not a number; type numbers such as 1, 0, -1 or 0.5") from None
        if not math.isfinite(value) or abs(value) > LIMIT:
            raise ValueError(f"inputs run from {-LIMIT:g} to {LIMIT:g}, not {part[:20]}")
        values.append(value)
    return values


def build(cell: str, weights: Mapping[str, float]) -> nn.LSTM | nn.GRU:
    """The one-unit ``nn.LSTM(1, 1)`` or ``nn.GRU(1, 1)`` with these weights (rows in PyTorch's order)."""
    if cell not in PARAMETERS:
        raise ValueError(f"the playground has an LSTM and a GRU, not {cell!r}")
    if missing := [p for p in PARAMETERS[cell] if p not in weights]:
        raise ValueError(f"missing parameters: {', '.join(missing)}")
    w = {name: float(weights[name]) for name in PARAMETERS[cell]}
    gates = "ifgo" if cell == "lstm" else "rz"
    module = nn.LSTM(1, 1) if cell == "lstm" else nn.GRU(1, 1)
    input_weights = [w[f"w_i{g}"] for g in gates] + ([] if cell == "lstm" else [w["w_in"]])
    hidden_weights = [w[f"w_h{g}"] for g in gates] + ([] if cell == "lstm" else [w["w_hn"]])
    input_biases = [w[f"b_{g}"] for g in gates] + ([] if cell == "lstm" else [w["b_in"]])
    hidden_biases = [0.0] * len(gates) + ([] if cell == "lstm" else [w["b_hn"]])
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(input_weights)[:, None])
        module.weight_hh_l0.copy_(torch.tensor(hidden_weights)[:, None])
        module.bias_ih_l0.copy_(torch.tensor(input_biases))
        module.bias_hh_l0.copy_(torch.tensor(hidden_biases))
    return module


def run(cell: str, weights: Mapping[str, float], inputs: Sequence[float]) -> list[dict[str, float]]:
    """Every step of the one-unit cell over ``inputs``, from a zero state: x, the pre-activations, gates and states.

    Keys per step are those ``rnnviz.equations.step_equations(cell, step)`` reads (LSTM: pre_i..pre_o, i, f,
    g, o, c_prev, c, h_prev, h; GRU: pre_r, pre_z, in_n, hn, r, z, n, h_prev, h), plus x.
    """
    if not inputs:
        raise ValueError("type a sequence of numbers, for example 1 0 0 -1")
    module = build(cell, weights)
    x = torch.tensor(inputs, dtype=torch.float32)[:, None]
    traced = trace_rnn(module, x)
    hidden = traced.hidden[0, 0, :, 0]
    w_ih, w_hh = module.weight_ih_l0[:, 0].detach(), module.weight_hh_l0[:, 0].detach()
    b_ih, b_hh = module.bias_ih_l0.detach(), module.bias_hh_l0.detach()
    steps, h_prev, c_prev = [], 0.0, 0.0
    for t, value in enumerate(inputs):
        from_input = (w_ih * value + b_ih).tolist()
        from_hidden = (w_hh * h_prev + b_hh).tolist()
        step = {"x": float(value), "h_prev": h_prev, "h": float(hidden[t])}
        if cell == "lstm":
            gates = {name: float(traced.gates[full][0, 0, t, 0]) for name, full in
                     (("i", "input"), ("f", "forget"), ("g", "candidate"), ("o", "output"))}
            step |= {f"pre_{name}": a + b for name, a, b in zip("ifgo", from_input, from_hidden)}
            step |= gates | {"c_prev": c_prev, "c": float(traced.cell_state[0, 0, t, 0])}
            c_prev = step["c"]
        else:
            step |= {"pre_r": from_input[0] + from_hidden[0], "pre_z": from_input[1] + from_hidden[1],
                     "in_n": from_input[2], "hn": from_hidden[2],
                     "r": float(traced.gates["reset"][0, 0, t, 0]), "z": float(traced.gates["update"][0, 0, t, 0]),
                     "n": float(traced.gates["candidate"][0, 0, t, 0])}
        h_prev = step["h"]
        steps.append(step)
    return steps
