"""rnnviz.trace_rnn equals the module for every constructor option, and its gates satisfy the equations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.rnn_trace import trace_rnn

INPUT, HIDDEN = 5, 7
CASES = [
    (cell, layers, bidirectional, batch_first, bias, proj, initial)
    for cell, layers, bidirectional, batch_first, bias, proj, initial in itertools.product(
        ("lstm", "gru", "rnn_tanh", "rnn_relu"), (1, 2), (False, True), (False, True), (True, False), (0, 3),
        (False, True))
    if not (proj and cell != "lstm")
]


def build(cell: str, layers: int, bidirectional: bool, batch_first: bool, bias: bool, proj: int, seed: int = 0):
    torch.manual_seed(seed)
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
                   dropout=0.25 if layers > 1 else 0.0)
    if cell == "lstm":
        return nn.LSTM(INPUT, HIDDEN, proj_size=proj, **options).eval()
    if cell == "gru":
        return nn.GRU(INPUT, HIDDEN, **options).eval()
    return nn.RNN(INPUT, HIDDEN, nonlinearity=cell.split("_")[1], **options).eval()


def initial_state(rnn: nn.RNNBase, cell: str):
    directions = 2 if rnn.bidirectional else 1
    out = rnn.proj_size or HIDDEN if cell == "lstm" else HIDDEN
    h0 = torch.randn(rnn.num_layers * directions, out)
    return (h0, torch.randn(rnn.num_layers * directions, HIDDEN)) if cell == "lstm" else h0


def before_each_step(states: np.ndarray, initial: np.ndarray, backward: bool) -> np.ndarray:
    """The state each step read, in input positions: the one before it in reading order (initial for the first)."""
    if backward:
        return np.concatenate([states[1:], initial[None]])
    return np.concatenate([initial[None], states[:-1]])


def module_output(rnn: nn.RNNBase, x: torch.Tensor, hx) -> np.ndarray:
    with torch.no_grad():
        if rnn.batch_first:
            batched = hx if hx is None else (tuple(h[:, None] for h in hx) if isinstance(hx, tuple) else hx[:, None])
            return rnn(x[None], batched)[0][0].numpy()
        return rnn(x, hx)[0].numpy()


LONG_CASES = [case for case in CASES if case[3] and case[4] and case[6]]
"""300 steps: every cell, depth, direction and projection (batch_first, bias and initial state on)."""


@pytest.mark.parametrize("cell, layers, bidirectional, batch_first, bias, proj, initial, length",
                         [(*case, length) for case in CASES for length in (1, 2)] + [(*case, 300) for case in LONG_CASES])
def test_the_trace_equals_the_module_and_its_gates_rebuild_its_states(cell, layers, bidirectional, batch_first,
                                                                      bias, proj, initial, length):
    rnn = build(cell, layers, bidirectional, batch_first, bias, proj)
    x = torch.randn(length, INPUT)
    hx = initial_state(rnn, cell) if initial else None
    tr = trace_rnn(rnn, x, hx)
    np.testing.assert_allclose(tr.output, module_output(rnn, x, hx), atol=1e-5)
    directions = 2 if bidirectional else 1
    assert tr.hidden.shape == (layers, directions, length, proj or HIDDEN)
    top = np.concatenate(list(tr.hidden[-1]), axis=1)
    np.testing.assert_allclose(top, tr.output, atol=1e-6)
    if cell == "lstm":
        c0 = hx[1].numpy().reshape(layers, directions, HIDDEN) if initial else np.zeros((layers, directions, HIDDEN))
        for layer, direction in itertools.product(range(layers), range(directions)):
            i, f, g, o = (tr[name, layer, direction] for name in ("input", "forget", "candidate", "output"))
            c = tr["cell_state", layer, direction]
            previous = before_each_step(c, c0[layer, direction], backward=direction == 1)
            np.testing.assert_allclose(c, f * previous + i * g, atol=1e-5)  # c_t = f c_{t-1} + i g, in reading order
            projected = o * np.tanh(c)
            if proj:
                projected = projected @ getattr(rnn, f"weight_hr_l{layer}{'_reverse' if direction else ''}").detach().numpy().T
            np.testing.assert_allclose(projected, tr["hidden", layer, direction], atol=1e-5)
    elif cell == "gru":
        h0 = hx.numpy().reshape(layers, directions, HIDDEN) if initial else np.zeros((layers, directions, HIDDEN))
        for layer, direction in itertools.product(range(layers), range(directions)):
            z, n, h = tr["update", layer, direction], tr["candidate", layer, direction], tr["hidden", layer, direction]
            previous = before_each_step(h, h0[layer, direction], backward=direction == 1)
            np.testing.assert_allclose(h, (1 - z) * n + z * previous, atol=1e-5)  # h_t = (1 - z) n + z h_{t-1}
    else:
        assert tr.gates == {} and tr.cell_state is None


def test_a_bidirectional_lstm_follows_the_textbook_equations_written_out():
    """Both directions of a 2-layer bidirectional LSTM, step by step from the weights (PyTorch's i, f, g, o order)."""
    rnn = build("lstm", 2, True, True, True, 0, seed=3)
    x = torch.randn(6, INPUT)
    tr = trace_rnn(rnn, x)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    layer_input = x.numpy().astype(np.float64)
    for layer in range(2):
        outputs = []
        for direction in range(2):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh, b_ih, b_hh = (getattr(rnn, f"{n}{suffix}").detach().numpy().astype(np.float64)
                                      for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            h, c = np.zeros(HIDDEN), np.zeros(HIDDEN)
            hidden = np.zeros((len(x), HIDDEN))
            for t in (range(len(x)) if direction == 0 else range(len(x) - 1, -1, -1)):
                pre = w_ih @ layer_input[t] + b_ih + w_hh @ h + b_hh
                i, f, g, o = sigmoid(pre[:7]), sigmoid(pre[7:14]), np.tanh(pre[14:21]), sigmoid(pre[21:])
                c = f * c + i * g
                h = o * np.tanh(c)
                hidden[t] = h
                for name, value in (("input", i), ("forget", f), ("candidate", g), ("output", o)):
                    np.testing.assert_allclose(tr[name, layer, direction][t], value, atol=1e-5)
                np.testing.assert_allclose(tr["cell_state", layer, direction][t], c, atol=1e-5)
            np.testing.assert_allclose(tr["hidden", layer, direction], hidden, atol=1e-5)
            outputs.append(hidden)
        layer_input = np.concatenate(outputs, axis=1)


def test_a_trace_is_indexed_by_name_layer_and_direction_and_frames_a_direction_column():
    rnn = build("gru", 2, True, False, True, 0)
    tr = rnnviz.trace_rnn(rnn, torch.randn(4, INPUT))
    np.testing.assert_array_equal(tr["update", 0], tr.gates["update"][0, 0])
    np.testing.assert_array_equal(tr["hidden", -1, 1], tr.hidden[1, 1])
    np.testing.assert_array_equal(tr["hidden"], tr.hidden[-1, 0])
    frame = tr.to_frame()
    assert {"step", "layer", "direction", "unit", "quantity", "value"} <= set(frame.columns)
    assert len(frame) == sum(v.size for v in tr.quantities().values())
    one_way = rnnviz.trace_rnn(build("gru", 1, False, False, True, 0), torch.randn(4, INPUT)).to_frame()
    assert "direction" not in one_way.columns
    with pytest.raises(KeyError, match="forget"):
        tr["forget"]


def test_wrong_inputs_say_what_was_expected():
    rnn = build("lstm", 1, False, False, True, 0)
    with pytest.raises(ValueError, match=r"\(T, 5\)"):
        trace_rnn(rnn, torch.randn(2, 3, INPUT))
    with pytest.raises(ValueError, match="no steps"):
        trace_rnn(rnn, torch.zeros(0, INPUT))
    with pytest.raises(TypeError, match="LSTM, GRU or RNN"):
        trace_rnn(nn.Linear(3, 3), torch.randn(2, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_on_a_gpu_the_trace_equals_the_module(cell):
    rnn = build(cell, 2, True, False, True, 0).cuda()
    x = torch.randn(50, INPUT, device="cuda")
    tr = trace_rnn(rnn, x)
    with torch.no_grad():
        expected = rnn(x)[0].cpu().numpy()
    np.testing.assert_allclose(tr.output, expected, atol=1e-5)
