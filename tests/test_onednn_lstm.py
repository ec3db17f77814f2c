"""An LSTM layer read in one pass from oneDNN's training workspace equals the module and the gate recompute."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnviz
from rnnviz import model as rnn_model
from rnnviz import onednn_lstm, rnn_trace
from rnnviz.model import rnn_backend
from rnnviz.rnn_trace import direction_states, direction_weights, trace_rnn
from tests.conftest import random_model

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this PyTorch has no oneDNN")

# hidden 64 makes 4H = 256, which oneDNN pads to 272 floats a row; 4 and 7 leave rows unpadded or rounded up
SHAPES = [(5, 7), (3, 4), (100, 64), (16, 90)]  # (input size, hidden size): inputs narrower and wider than H


def recomputed(x, weights, h0, c0):
    """The portable path: hidden states from the native kernel, gates recomputed from them."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        return direction_states("LSTM", x, weights, h0, c0)
    finally:
        torch.backends.mkldnn.enabled = previous


@needs_onednn
@pytest.mark.parametrize("input_size, hidden_size", SHAPES)
@pytest.mark.parametrize("steps", [1, 2, 7, 300])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_the_workspace_holds_every_gate_and_cell_state_of_the_module(input_size, hidden_size, steps, batch, bias):
    torch.manual_seed(steps + batch)
    lstm = nn.LSTM(input_size, hidden_size, bias=bias, batch_first=True)
    x = torch.randn(batch, steps, input_size)
    h0, c0 = torch.randn(batch, hidden_size), torch.randn(batch, hidden_size)
    weights = direction_weights(lstm, 0, 0)
    with torch.no_grad():
        read = onednn_lstm.lstm_states(x, weights, h0, c0)
        expected = recomputed(x, weights, h0, c0)
        output, (_, final_cell) = lstm(x, (h0[None], c0[None]))
    assert read is not None, "the workspace was not read: the trace fell back to the two-pass recompute"
    assert set(read) == set(expected)
    for name, values in expected.items():
        assert read[name].shape == (batch, steps, hidden_size)
        torch.testing.assert_close(read[name], values, atol=1e-5, rtol=1e-5, msg=name)
    torch.testing.assert_close(read["hidden"], output, atol=1e-6, rtol=0)
    torch.testing.assert_close(read["cell_state"][:, -1], final_cell[0], atol=1e-6, rtol=0)


@needs_onednn
def test_an_lstm_trace_is_one_pass_of_the_kernel_per_layer_and_direction(monkeypatch):
    """No second pass: the portable path (run_direction and the gate recompute) is never called."""
    lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True).eval()
    x = torch.randn(11, 5)
    expected, _ = lstm(x)

    def second_pass(*args, **kwargs):
        raise AssertionError("the trace ran the kernel a second time")

    monkeypatch.setattr(rnn_trace, "run_direction", second_pass)
    tr = trace_rnn(lstm, x)
    torch.testing.assert_close(torch.from_numpy(tr.output), expected.detach(), atol=1e-5, rtol=0)


@needs_onednn
def test_a_workspace_laid_out_otherwise_is_refused_and_the_trace_recomputes(monkeypatch):
    """If oneDNN moved its cell states (a new version), the equations' checks fail and the portable path runs."""
    lstm = nn.LSTM(5, 7).eval()
    x = torch.randn(13, 5)
    weights = direction_weights(lstm, 0, 0)
    shifted = onednn_lstm._cell_state_offset
    monkeypatch.setattr(onednn_lstm, "_cell_state_offset", lambda *shape: shifted(*shape) + 7)
    with torch.no_grad():
        assert onednn_lstm.lstm_states(x[None], weights, torch.zeros(1, 7), torch.zeros(1, 7)) is None
        expected, _ = lstm(x)
    tr = trace_rnn(lstm, x)
    torch.testing.assert_close(torch.from_numpy(tr.output), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.from_numpy(tr.hidden[0, 0]), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("why", ["projection", "float64", "oneDNN off"])
def test_layers_onednn_cannot_run_are_left_to_the_portable_path(why):
    lstm = nn.LSTM(5, 7, proj_size=3 if why == "projection" else 0)
    x = torch.randn(1, 4, 5, dtype=torch.float64 if why == "float64" else torch.float32)
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = why != "oneDNN off"
    try:
        assert not onednn_lstm.available(x, direction_weights(lstm, 0, 0))
    finally:
        torch.backends.mkldnn.enabled = previous


def test_a_chaotic_lstm_traced_without_the_single_pass_is_the_modules_run_bit_for_bit(monkeypatch):
    """Random weights of +-0.8 at 512 units amplify any rounding difference between kernels over hundreds of steps;
    SINGLE_PASS = False traces on the very kernel the module runs."""
    torch.manual_seed(0)
    lstm = nn.LSTM(64, 512).eval()
    with torch.no_grad():
        for parameter in lstm.parameters():
            parameter.uniform_(-0.8, 0.8)
        x = torch.randn(300, 64)
        expected, _ = lstm(x)
    monkeypatch.setattr(onednn_lstm, "SINGLE_PASS", False)
    tr = trace_rnn(lstm, x)
    torch.testing.assert_close(torch.from_numpy(tr.output), expected, atol=0, rtol=0)


def test_a_layer_the_kernel_cannot_run_falls_back_instead_of_failing():
    lstm = nn.LSTM(5, 7)
    weights = direction_weights(lstm, 0, 0)
    assert onednn_lstm.lstm_states(torch.randn(1, 0, 5), weights, torch.zeros(1, 7), torch.zeros(1, 7)) is None


@pytest.mark.parametrize("backend, single_pass", [("native", False), ("onednn", True)])
def test_a_trace_runs_on_the_backend_an_enclosing_block_chose(monkeypatch, backend, single_pass):
    """rnnviz.trace opens its own rnn_backend() block; it keeps the enclosing choice instead of RNN_BACKEND."""
    flags = []
    read = onednn_lstm.lstm_states
    monkeypatch.setattr(onednn_lstm, "lstm_states", lambda *args: flags.append(torch.backends.mkldnn.enabled)
                        or read(*args))
    with rnn_backend(backend):
        rnnviz.trace(random_model("lstm"), "not bad at all")
    assert flags == [single_pass]
    assert torch.backends.mkldnn.enabled and rnn_model._chosen_backend is None  # both restored after the block
