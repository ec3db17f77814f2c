"""One LSTM layer in a single pass: its gates and cell states read from oneDNN's training workspace.

PyTorch's default CPU LSTM is oneDNN's. Asked to train (``torch.ops.aten.mkldnn_rnn_layer(..., train=True)``,
under grad mode), that kernel keeps what its backward pass needs in a workspace: every step's activated gates
(i, f, g, o) and cell state. Reading them there makes the trace one pass of the module's own kernel, instead of
a pass for the hidden states and a second pass of matrix products to recompute the gates (at 2,596 tokens of
``lstm-imdb`` the second pass cost as much as half the forward again).

The workspace's layout is oneDNN's (src/cpu/rnn/rnn_utils: ``set_offsets``, ``get_good_ld``), not a public
interface, so every read is checked against what the kernel returns (the final cell state, and the hidden
states, which must equal o * tanh(c) at the first and last steps). ``lstm_states`` returns None when the kernel
is not available or a check fails, and the caller recomputes the gates the portable way.

The training kernel rounds differently from the inference kernel a user's forward runs (by about 3e-6 at the first
step of a random 512-unit LSTM). A trained model forgets such differences: over the 2,596 tokens of the longest
IMDB test review the shipped LSTMs' traced hidden states are within 2.0e-6 (lstm-imdb) and 7.4e-6 (lstm-sst2) of
the module's (tests/test_shipped_models.py). A chaotic one (random weights of +-0.8 at 512 units) amplifies any
rounding difference over hundreds of steps, as it would between any two float32 kernels; set ``SINGLE_PASS`` to
False to trace such a model on the inference kernel itself (the hidden states bit for bit; at 2,596 tokens the
trace took 2.04x the default forward instead of 1.44x, ``benchmarks/trace_speed.py``'s setting).
"""

from __future__ import annotations

import numpy as np
import torch

_LSTM_MODE = 2  # the kernel's cell kind (cuDNN's enumeration: RNN_RELU, RNN_TANH, LSTM, GRU)
_PAGE_BYTES = 4096  # oneDNN starts each workspace region on a page
_FLOAT_BYTES = 4
_CHECK_TOLERANCE = 1e-4  # relative, float32 rounding of values recomputed from the workspace
SINGLE_PASS = True
"""Read LSTM gates from the training kernel's workspace (one pass); False: the inference kernel plus the recompute."""


def available(x: torch.Tensor, weights: dict[str, torch.Tensor | None]) -> bool:
    """Whether this layer can be read from the oneDNN workspace: float32 on the CPU, oneDNN enabled, no projection."""
    return (SINGLE_PASS and x.device.type == "cpu" and x.dtype == torch.float32 and weights["w_hr"] is None
            and weights["w_ih"].dtype == torch.float32
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _good_leading_dimension(floats: int) -> int:
    """oneDNN's get_good_ld for float32: a multiple of 16 floats (64 bytes), but never a multiple of 256."""
    rounded = _round_up(floats, 16)
    return rounded + 16 if rounded % 256 == 0 else rounded


def _cell_state_offset(steps: int, batch: int, input_size: int, hidden_size: int) -> int:
    """Float offset of the cell-state region: after the gates, the projection buffer and the layer states."""
    gates = steps * batch * _good_leading_dimension(4 * hidden_size)
    projection = steps * batch * _good_leading_dimension(hidden_size)
    layer_states = 2 * (steps + 1) * batch * _good_leading_dimension(max(input_size, hidden_size))
    offset = _round_up(gates * _FLOAT_BYTES, _PAGE_BYTES)
    offset = _round_up(offset + projection * _FLOAT_BYTES, _PAGE_BYTES)
    offset = _round_up(offset + layer_states * _FLOAT_BYTES, _PAGE_BYTES)
    return offset // _FLOAT_BYTES


def lstm_states(x: torch.Tensor, weights: dict[str, torch.Tensor | None], h0: torch.Tensor,
                c0: torch.Tensor) -> dict[str, torch.Tensor] | None:
    """Gates and states of one LSTM layer and direction over x (B, T, D) from h0, c0 (B, H), each (B, T, H): views
    of the kernel's time-major buffers (T, B, ...), copied nowhere (the corpus index reads them in place).

    None when the kernel cannot run here or its workspace is not laid out as expected.
    """
    if not available(x, weights):
        return None
    batch, steps, input_size = x.shape
    hidden_size = weights["w_hh"].shape[1]
    w_ih, w_hh = weights["w_ih"].detach().contiguous(), weights["w_hh"].detach().contiguous()
    b_ih, b_hh = (w_ih.new_zeros(4 * hidden_size) if b is None else b.detach()
                  for b in (weights["b_ih"], weights["b_hh"]))
    try:
        with torch.enable_grad():  # the kernel returns its workspace only in grad mode; nothing here requires grad
            output, _, final_cell, workspace = torch.ops.aten.mkldnn_rnn_layer(
                x.detach().transpose(0, 1).contiguous(), w_ih, w_hh, b_ih, b_hh,  # it misreads strided input
                h0.detach()[None].contiguous(), c0.detach()[None].contiguous(),
                False, [], _LSTM_MODE, hidden_size, 1, True, False, False, True)
    except RuntimeError:  # a shape or build oneDNN cannot run (no steps, say): the portable path can
        return None
    if workspace is None:
        return None
    floats = workspace.view(torch.float32)
    gates_width = _good_leading_dimension(4 * hidden_size)
    cell_offset = _cell_state_offset(steps, batch, input_size, hidden_size)
    cell_floats = 2 * (steps + 1) * batch * hidden_size
    if floats.numel() < max(steps * batch * gates_width, cell_offset + cell_floats):
        return None
    gates = floats[: steps * batch * gates_width].view(steps, batch, gates_width)[..., : 4 * hidden_size]
    i, f, g, o = (block.transpose(0, 1) for block in gates.chunk(4, dim=-1))  # views: the workspace is the result
    # the cell state of step t sits in slot t + 1 of the layer's row; the last step's goes out as final_cell only
    cell = final_cell.new_empty(steps, batch, hidden_size)
    cell[:-1] = floats[cell_offset : cell_offset + cell_floats].view(2, steps + 1, batch, hidden_size)[1, 1:steps]
    cell[-1] = final_cell[0]
    states = {"input": i, "forget": f, "output": o, "candidate": g, "cell_state": cell.transpose(0, 1),
              "hidden": output.transpose(0, 1)}
    return states if _consistent(states, c0) else None


def _consistent(states: dict[str, torch.Tensor], c0: torch.Tensor) -> bool:
    """The LSTM equations hold at the first and last steps: c = f*c_prev + i*g and h = o*tanh(c)."""
    i, f, g, o, c, h = (states[name].numpy() for name in ("input", "forget", "candidate", "output", "cell_state",
                                                             "hidden"))
    ends = [0, -1]
    initial = c0.detach().numpy()
    before = np.stack([initial, c[:, -2] if c.shape[1] > 1 else initial], axis=1)
    cell = f[:, ends] * before + i[:, ends] * g[:, ends]
    return bool((np.abs(cell - c[:, ends]) <= _CHECK_TOLERANCE * (1.0 + np.abs(cell))).all()
                and (np.abs(o[:, ends] * np.tanh(c[:, ends]) - h[:, ends]) <= _CHECK_TOLERANCE).all())
