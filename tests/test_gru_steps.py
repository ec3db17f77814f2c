"""A batch through a GRU stepped from Python: the module's hidden states bit for bit, and gates that satisfy the
GRU equations of DESIGN.md."""

from __future__ import annotations

import pytest
import torch

from rnnviz import gru_steps
from rnnviz.rnn_trace import direction_states, direction_weights, recomputed_states


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch, steps", [(2, 1), (3, 7), (5, 40)])
def test_a_batch_stepped_from_python_is_the_module_bit_for_bit(batch, steps, bias):
    torch.manual_seed(batch * 100 + steps)
    gru = torch.nn.GRU(6, 9, bias=bias, batch_first=True)
    x, h0 = torch.randn(batch, steps, 6), torch.randn(batch, 9)
    with torch.no_grad():
        expected, _ = gru(x, h0[None])
        states = gru_steps.gru_states(x, direction_weights(gru, 0, 0), h0)
    torch.testing.assert_close(states["hidden"], expected, rtol=0, atol=0)


def test_the_gates_follow_the_gru_equations():
    torch.manual_seed(0)
    gru = torch.nn.GRU(4, 5, batch_first=True)
    x, h0 = torch.randn(3, 6, 4), torch.randn(3, 5)
    w = direction_weights(gru, 0, 0)
    with torch.no_grad():
        s = gru_steps.gru_states(x, w, h0)
    previous = torch.cat([h0[:, None], s["hidden"][:, :-1]], dim=1)
    i_r, i_z, i_n = (x @ w["w_ih"].t() + w["b_ih"]).chunk(3, dim=-1)
    h_r, h_z, h_n = (previous @ w["w_hh"].t() + w["b_hh"]).chunk(3, dim=-1)
    torch.testing.assert_close(s["reset"], torch.sigmoid(i_r + h_r))
    torch.testing.assert_close(s["update"], torch.sigmoid(i_z + h_z))
    torch.testing.assert_close(s["candidate"], torch.tanh(i_n + s["reset"] * h_n))
    torch.testing.assert_close(s["hidden"], (1 - s["update"]) * s["candidate"] + s["update"] * previous)


def test_stepping_and_the_recompute_agree_on_a_batch():
    torch.manual_seed(1)
    gru = torch.nn.GRU(4, 5, batch_first=True)
    x, h0, w = torch.randn(3, 8, 4), torch.randn(3, 5), direction_weights(gru, 0, 0)
    with torch.no_grad():
        stepped, recomputed = gru_steps.gru_states(x, w, h0), recomputed_states("GRU", x, w, h0, None)
    for name in ("reset", "update", "candidate", "hidden"):
        torch.testing.assert_close(stepped[name], recomputed[name])


def test_a_batch_is_stepped_and_a_single_sequence_recomputed(monkeypatch):
    gru = torch.nn.GRU(4, 5, batch_first=True)
    w, calls = direction_weights(gru, 0, 0), []
    stepped = gru_steps.gru_states
    monkeypatch.setattr(gru_steps, "gru_states", lambda *args: calls.append(args[0].shape[0]) or stepped(*args))
    with torch.no_grad():
        batched = direction_states("GRU", torch.ones(2, 3, 4), w, torch.zeros(2, 5), None)
        single = direction_states("GRU", torch.ones(1, 3, 4), w, torch.zeros(1, 5), None)
    assert calls == [2]
    for name in ("reset", "update", "candidate", "hidden"):
        torch.testing.assert_close(batched[name][:1], single[name])
