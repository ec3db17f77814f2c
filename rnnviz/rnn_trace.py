"""The instrumented pass of any ``torch.nn.LSTM``, ``torch.nn.GRU`` or ``torch.nn.RNN``, every option included.

``trace_rnn(rnn, x)`` runs each layer and direction once through PyTorch's fused kernel with that layer's own
weights (so the hidden states are the module's own). An LSTM on PyTorch's default CPU kernel (oneDNN) hands over
its gates and cell states too (rnnviz.onednn_lstm): one pass, on oneDNN's training kernel, whose rounding differs
a little from the inference kernel's (rnnviz.onednn_lstm says when that matters). A batch of sequences through a
GRU steps from Python with PyTorch's own ops, keeping its gates (rnnviz.gru_steps). Otherwise every gate of every
step is recomputed from the hidden states in batched matrix products, and the LSTM cell update c = f*c + i*g runs
over time as a chunked linear recurrence (rnnviz.scan) of cheap elementwise work.

Covered: 1 or more layers, ``bidirectional``, ``batch_first`` either way, ``bias=False``, LSTM ``proj_size``,
dropout (eval-mode semantics: no dropout), an initial state, CPU or CUDA. Arrays are laid out (layers, directions,
T, H); the backward direction is indexed by input position, not by reading order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import gru_steps, onednn_lstm
from .scan import linear_recurrence

LSTM_GATES = ("input", "forget", "output", "candidate")
GRU_GATES = ("reset", "update", "candidate")
_KERNELS = {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}


def activation_key(key: str | tuple) -> tuple[str, int, int]:
    """(name, layer, direction) of a cache-style key: "forget" (top layer, direction 0), ("forget", 0) or
    ("hidden", -1, 1)."""
    name, *where = key if isinstance(key, tuple) else (key,)
    if len(where) > 2 or not all(isinstance(k, (int, np.integer)) for k in where):
        raise KeyError(f"index a trace as tr[name], tr[name, layer] or tr[name, layer, direction], not {key!r}")
    layer, direction = (*where, 0)[:2] if where else (-1, 0)
    return name, int(layer), int(direction)


class StateArrays:
    """What every trace holds, layers first: ``gates`` by name, ``cell_state`` (LSTM, else None) and ``hidden``."""

    gates: dict[str, np.ndarray]
    cell_state: np.ndarray | None
    hidden: np.ndarray

    @property
    def num_layers(self) -> int:
        return int(self.hidden.shape[0])

    def quantities(self) -> dict[str, np.ndarray]:
        """Every per-unit quantity by name, each laid out like ``hidden``: gates, then cell and hidden state."""
        found = dict(self.gates)
        if self.cell_state is not None:
            found["cell_state"] = self.cell_state
        found["hidden"] = self.hidden
        return found


@dataclass
class RNNTrace(StateArrays):
    """Every gate and state of one run of a recurrent module over one sequence, as float32 numpy arrays."""

    cell: str
    """"lstm", "gru", "rnn_tanh" or "rnn_relu"."""
    gates: dict[str, np.ndarray]
    """Each (layers, directions, T, H). LSTM: input, forget, output, candidate; GRU: reset, update, candidate."""
    cell_state: np.ndarray | None
    """(layers, directions, T, H) for LSTM; None otherwise."""
    hidden: np.ndarray
    """(layers, directions, T, H_out): what each layer outputs at each step (the projection for proj_size > 0)."""
    output: np.ndarray
    """(T, directions * H_out): exactly what the module returns for this sequence."""

    @property
    def num_directions(self) -> int:
        return int(self.hidden.shape[1])

    def __getitem__(self, key: str | tuple) -> np.ndarray:
        """``tr["forget", 0]`` -> (T, H) of layer 0, direction 0; ``tr["hidden", -1, 1]``: top layer, backward.

        A bare name means the top layer, direction 0 (like TransformerLens's activation cache).
        """
        name, layer, direction = activation_key(key)
        quantities = self.quantities()
        if name not in quantities:
            raise KeyError(f"{name!r} is not in this trace; it has {', '.join(quantities)}")
        return quantities[name][layer, direction]

    def to_frame(self) -> pd.DataFrame:
        """Long table: step, layer, (direction, when there are two), unit, quantity, value."""
        blocks = []
        for name, values in self.quantities().items():
            layers, directions, steps, units = values.shape
            grid = np.meshgrid(np.arange(layers), np.arange(directions), np.arange(steps), np.arange(units), indexing="ij")
            columns = {"step": grid[2].ravel(), "layer": grid[0].ravel()}
            if self.num_directions > 1:
                columns["direction"] = grid[1].ravel()
            blocks.append(pd.DataFrame({**columns, "unit": grid[3].ravel(), "quantity": name, "value": values.ravel()}))
        frame = pd.concat(blocks, ignore_index=True)
        frame["quantity"] = frame["quantity"].astype("category")
        return frame


def kernel_kind(rnn: nn.RNNBase) -> str:
    """PyTorch's name for the module's kernel: "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"."""
    if isinstance(rnn, nn.LSTM):
        return "LSTM"
    if isinstance(rnn, nn.GRU):
        return "GRU"
    if isinstance(rnn, nn.RNN):
        return "RNN_TANH" if rnn.nonlinearity == "tanh" else "RNN_RELU"
    raise TypeError(f"trace_rnn reads torch.nn.LSTM, GRU or RNN modules, not {type(rnn).__name__}")


def output_size(rnn: nn.RNNBase) -> int:
    """Numbers each direction of a layer outputs: proj_size for an LSTM with a projection, else hidden_size."""
    return getattr(rnn, "proj_size", 0) or rnn.hidden_size


def direction_weights(rnn: nn.RNNBase, layer: int, direction: int) -> dict[str, torch.Tensor | None]:
    """One layer and direction's weights by role: w_ih, w_hh, b_ih, b_hh (None without bias), w_hr (None without proj)."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    return {role: getattr(rnn, f"{name}{suffix}", None) for role, name in
            (("w_ih", "weight_ih"), ("w_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh"), ("w_hr", "weight_hr"))}


def _initial_states(rnn: nn.RNNBase, kind: str, hx: Any, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(h0, c0) as (layers * directions, H_out) and (.., H) tensors; zeros where hx is None."""
    directions = 2 if rnn.bidirectional else 1
    out_size = output_size(rnn)
    zeros = reference.new_zeros
    if kind == "LSTM":
        h0, c0 = hx if hx is not None else (None, None)
        h0 = zeros(rnn.num_layers * directions, out_size) if h0 is None else h0.reshape(-1, out_size)
        c0 = zeros(rnn.num_layers * directions, rnn.hidden_size) if c0 is None else c0.reshape(-1, rnn.hidden_size)
        return h0, c0
    h0 = zeros(rnn.num_layers * directions, rnn.hidden_size) if hx is None else hx.reshape(-1, rnn.hidden_size)
    return h0, None


def run_direction(kind: str, x: torch.Tensor, w: dict[str, torch.Tensor | None], h0: torch.Tensor,
                   c0: torch.Tensor | None) -> torch.Tensor:
    """One layer and direction through the fused kernel, in reading order: (T, D) -> hidden states (T, H_out).

    Batched too: x (B, T, D), h0 (B, H_out), c0 (B, H) -> (B, T, H_out).
    """
    if x.dim() == 2:
        return run_direction(kind, x[None], w, h0[None], None if c0 is None else c0[None])[0]
    params = [w["w_ih"], w["w_hh"]] + ([w["b_ih"], w["b_hh"]] if w["b_ih"] is not None else [])
    if w["w_hr"] is not None:
        params.append(w["w_hr"])
    has_bias = w["b_ih"] is not None
    if kind == "LSTM":
        out, _, _ = torch.lstm(x, (h0[None], c0[None]), params, has_bias, 1, 0.0, False, False, True)
    else:
        out, _ = _KERNELS[kind](x, h0[None], params, has_bias, 1, 0.0, False, False, True)
    return out


def _affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.nn.functional.linear(x, weight, bias)


def direction_states(kind: str, x: torch.Tensor, w: dict[str, torch.Tensor | None], h0: torch.Tensor,
                      c0: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Gates and states of one layer and direction, in reading order, each (T, H) (the cell state on the CPU).

    For an LSTM with proj_size, "hidden" is h_t = o_t * tanh(c_t) (T, H) and "projection" what the module
    outputs, r_t = W_hr h_t (T, P); ``layer_output`` picks what the next layer reads.

    ``kind`` is ``kernel_kind(rnn)``; ``h0`` (H_out,) and ``c0`` (H,) the initial state (``c0`` None but for LSTM).
    Batched too: x (B, T, D), h0 (B, H_out), c0 (B, H) give (B, T, H) each (right padding is harmless: a step
    never reads a later one).
    """
    if x.dim() == 2:
        states = direction_states(kind, x[None], w, h0[None], None if c0 is None else c0[None])
        return {name: value[0] for name, value in states.items()}
    if kind == "LSTM":
        read = onednn_lstm.lstm_states(x, w, h0, c0)  # one pass, when PyTorch's default oneDNN kernel runs here
        if read is not None:
            return read
    if kind == "GRU" and x.shape[0] > 1:
        return gru_steps.gru_states(x, w, h0)  # a batch: stepping from Python beats forward plus recompute
    return recomputed_states(kind, x, w, h0, c0)


def recomputed_states(kind: str, x: torch.Tensor, w: dict[str, torch.Tensor | None], h0: torch.Tensor,
                      c0: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """``direction_states``'s portable path for a batch x (B, T, D): the fused kernel's hidden states, then every
    gate recomputed from them in batched matrix products (any kind, device, dtype and option)."""
    h = run_direction(kind, x, w, h0, c0)
    if kind in ("RNN_TANH", "RNN_RELU"):
        return {"hidden": h}
    h_prev = torch.cat([h0[:, None], h[:, :-1]], dim=1)
    if kind == "GRU":
        from_input, from_hidden = _affine(x, w["w_ih"], w["b_ih"]), _affine(h_prev, w["w_hh"], w["b_hh"])
        i_r, i_z, i_n = from_input.chunk(3, dim=-1)
        h_r, h_z, h_n = from_hidden.chunk(3, dim=-1)
        reset = torch.sigmoid(i_r + h_r)
        return {"reset": reset, "update": torch.sigmoid(i_z + h_z), "candidate": torch.tanh(i_n + reset * h_n),
                "hidden": h}
    pre = _affine(x, w["w_ih"], w["b_ih"])
    pre.view(-1, pre.shape[-1]).addmm_(h_prev.reshape(-1, h_prev.shape[-1]), w["w_hh"].t())  # one (B, T, 4H) buffer
    if w["b_hh"] is not None:
        pre += w["b_hh"]
    size = pre.shape[-1] // 4
    g = torch.tanh(pre[..., 2 * size : 3 * size])
    i, f, _, o = pre.sigmoid_().chunk(4, dim=-1)  # in place; the candidate's block was read above
    # c_t = f_t * c_{t-1} + i_t * g_t
    c = linear_recurrence(f.cpu().numpy(), (i * g).cpu().numpy(), c0.detach().cpu().numpy())
    states = {"input": i, "forget": f, "output": o, "candidate": g, "cell_state": torch.from_numpy(c), "hidden": h}
    if w["w_hr"] is not None:  # the kernel gave r_t = W_hr h_t; h_t itself is o_t * tanh(c_t)
        states.update(hidden=o * torch.tanh(states["cell_state"].to(o.device)), projection=h)
    return states


def layer_output(states: dict[str, Any]) -> Any:
    """What a layer and direction hands on (to the next layer, the head and its own next step): the projection
    r_t = W_hr h_t of an LSTM with proj_size, else the hidden state."""
    return states.get("projection", states["hidden"])


@torch.no_grad()
def trace_rnn(rnn: nn.RNNBase, x: torch.Tensor, hx: Any = None) -> RNNTrace:
    """Trace ``rnn`` over one sequence ``x`` of shape (T, input_size), from the initial state ``hx`` (zeros if None).

    ``hx`` is what the module takes for unbatched input: h0 of shape (layers * directions, H_out), or for an
    LSTM the pair (h0, c0). The result equals ``rnn(x, hx)`` to float32 rounding, computed with eval-mode
    semantics (no dropout between layers); a chaotic LSTM amplifies that rounding over many steps (see
    rnnviz.onednn_lstm.SINGLE_PASS).
    """
    kind = kernel_kind(rnn)
    if x.dim() != 2 or x.shape[1] != rnn.input_size:
        raise ValueError(f"x must be one sequence of shape (T, {rnn.input_size}), not {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError("x has no steps to trace")
    x = x.to(dtype=rnn.weight_ih_l0.dtype, device=rnn.weight_ih_l0.device)
    directions = 2 if rnn.bidirectional else 1
    h0, c0 = _initial_states(rnn, kind, hx, x)
    layers: list[list[dict[str, torch.Tensor]]] = []
    layer_input = x
    for layer in range(rnn.num_layers):
        per_direction = []
        for direction in range(directions):
            index = layer * directions + direction
            source = layer_input.flip(0) if direction else layer_input
            states = direction_states(kind, source, direction_weights(rnn, layer, direction), h0[index],
                                       None if c0 is None else c0[index])
            per_direction.append({name: value.flip(0) if direction else value for name, value in states.items()})
        layers.append(per_direction)
        layer_input = torch.cat([layer_output(d) for d in per_direction], dim=1)

    def stack(name: str) -> np.ndarray:
        return np.stack([np.stack([d[name].detach().cpu().numpy() for d in per_direction]) for per_direction in layers]
                        ).astype(np.float32, copy=False)

    gate_names = {"LSTM": LSTM_GATES, "GRU": GRU_GATES}.get(kind, ())
    return RNNTrace(
        cell=kind.lower(),
        gates={name: stack(name) for name in gate_names},
        cell_state=stack("cell_state") if kind == "LSTM" else None,
        hidden=stack("projection" if output_size(rnn) != rnn.hidden_size else "hidden"),
        output=layer_input.detach().cpu().numpy().astype(np.float32, copy=False),
    )
