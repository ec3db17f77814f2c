"""rnnviz.trace(..., interventions=[Clamp(...)]): a re-read with gates or states held, by the stated rules."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz import Clamp
from conftest import random_model, random_text

TEXT = random_text(25, seed=3)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_clamp_on_nothing_changes_nothing(cell, layers):
    model = random_model(cell, layers=layers)
    plain = rnnviz.trace(model, TEXT)
    held = rnnviz.trace(model, TEXT, interventions=[Clamp("hidden", 0.0, layer=0, units=[], steps=None)])
    for name, values in plain.quantities().items():
        np.testing.assert_allclose(held.quantities()[name], values, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(held.probs, plain.probs, atol=1e-6)


@pytest.mark.parametrize("layers", [1, 2])
def test_forget_held_at_zero_leaves_only_this_steps_write(layers):
    model = random_model("lstm", layers=layers)
    tr = rnnviz.trace(model, TEXT, interventions=[Clamp("forget", 0.0, layer=-1)])
    top = -1
    np.testing.assert_allclose(tr.gates["forget"][top], 0.0)
    np.testing.assert_allclose(tr.cell_state[top], tr.gates["input"][top] * tr.gates["candidate"][top], atol=1e-6)


def test_a_silenced_hidden_unit_is_zero_where_held_and_the_next_gates_read_the_zeroed_state():
    model = random_model("lstm", layers=2)
    steps, unit = [3, 4, 5], 2
    tr = rnnviz.trace(model, TEXT, interventions=[Clamp("hidden", 0.0, layer=0, units=[unit], steps=steps)])
    assert np.all(tr.hidden[0, steps, unit] == 0.0)
    assert tr.hidden[0, 6, unit] != 0.0, "held only where asked"
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in (model.rnn.weight_ih_l0, model.rnn.weight_hh_l0,
                                                          model.rnn.bias_ih_l0, model.rnn.bias_hh_l0))
    x = model.embedding.weight.detach().numpy()[tr.token_ids[6]]
    pre = w_ih @ x + b_ih + w_hh @ tr.hidden[0, 5] + b_hh  # step 6 reads the zeroed state of step 5
    np.testing.assert_allclose(tr.gates["input"][0, 6], 1 / (1 + np.exp(-pre[:8])), atol=1e-5)
    np.testing.assert_allclose(tr.hidden[1], rnnviz.trace_rnn(_layer(model, 1), _as_tensor(tr.hidden[0])).hidden[0, 0],
                               atol=1e-5, err_msg="the layer above reads the held states")


def test_a_gru_update_gate_held_at_one_keeps_the_state_unchanged():
    model = random_model("gru", layers=2)
    tr = rnnviz.trace(model, TEXT, interventions=[Clamp("update", 1.0, layer=1, steps=range(5, 25))])
    for t in range(5, 25):
        np.testing.assert_allclose(tr.hidden[1, t], tr.hidden[1, 4], atol=1e-7)
    assert not np.allclose(tr.hidden[0, 5], tr.hidden[0, 4]), "the layer below is not held"


def test_every_view_can_show_an_intervened_trace():
    model = random_model("lstm")
    tr = rnnviz.trace(model, TEXT, interventions=[Clamp("cell_state", 0.5, units=[0, 1])])
    assert isinstance(tr, rnnviz.Trace) and tr.probs.shape == (25, 2) and np.all(tr.cell_state[0, :, :2] == 0.5)


@pytest.mark.parametrize("clamp, message", [
    (Clamp("forget", 1.0), "cannot be clamped"),
    (Clamp("hidden", 0.0, layer=3), "layer 3"),
    (Clamp("hidden", 0.0, units=[99]), "units"),
])
def test_a_clamp_the_model_cannot_take_says_why(clamp, message):
    with pytest.raises(ValueError, match=message):
        rnnviz.trace(random_model("gru"), TEXT, interventions=[clamp])


def _layer(model, layer):
    import torch
    single = torch.nn.LSTM(model.rnn.hidden_size, model.rnn.hidden_size)
    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(single, f"{kind}_l0").data = getattr(model.rnn, f"{kind}_l{layer}").data
    return single.eval()


def _as_tensor(array):
    import torch
    return torch.from_numpy(np.ascontiguousarray(array))
