"""A plain nn.RNN (tanh) as a model cell: the trace equals the module and the tanh equation, its keep scores
and contributions are defined (no NaN), and it saves, loads and shows its equation like the gated cells."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from conftest import random_model, random_text
from rnnviz import analysis, equations
from rnnviz.model import multiply_adds_per_token, parameter_shapes

TOLERANCE = 1e-5


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 2, 37, 500])
def test_the_plain_rnn_trace_equals_nn_rnn(layers, length):
    model = random_model("rnn", layers=layers, seed=length + layers)
    assert isinstance(model.rnn, torch.nn.RNN) and model.rnn.nonlinearity == "tanh"
    tr = rnnviz.trace(model, random_text(length, seed=length))
    with torch.no_grad():
        output, final = model.rnn(model.embedding(torch.tensor([tr.token_ids])))
    np.testing.assert_allclose(tr.hidden[-1], output[0].numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(tr.hidden[:, -1], final[:, 0].numpy(), atol=TOLERANCE, rtol=0)
    assert tr.gates == {} and tr.cell_state is None and tr.hidden.dtype == np.float32


def test_every_hidden_state_is_the_tanh_equation_step_by_step():
    model = random_model("rnn", layers=2, seed=3)
    tr = rnnviz.trace(model, random_text(40, seed=3))
    x = model.embedding(torch.tensor(tr.token_ids)).detach().double().numpy()
    for layer in range(2):
        weights = rnnviz.rnn_trace.direction_weights(model.rnn, layer, 0)
        w_ih, w_hh, b_ih, b_hh = (weights[role].detach().double().numpy() for role in ("w_ih", "w_hh", "b_ih", "b_hh"))
        h = np.zeros(w_hh.shape[0])
        expected = []
        for x_t in x:
            h = np.tanh(w_ih @ x_t + b_ih + w_hh @ h + b_hh)
            expected.append(h)
        np.testing.assert_allclose(tr.hidden[layer], np.array(expected), atol=TOLERANCE, rtol=0)
        x = np.array(expected)


def test_a_plain_rnn_keeps_only_its_last_write_and_its_contributions_sum_to_the_final_state():
    tr = rnnviz.trace(random_model("rnn", layers=2), random_text(30))
    for values in (tr.keep_units, tr.keep, tr.keep_read, tr.contributions, tr.keep_matrix(0)):
        assert np.isfinite(values).all()
    expected_keep = np.zeros_like(tr.keep_units)
    expected_keep[-1] = 1.0
    np.testing.assert_array_equal(tr.keep_units, expected_keep)
    np.testing.assert_array_equal(tr.keep_matrix(0), expected_keep)
    np.testing.assert_allclose(tr.contributions.sum(axis=0), tr.hidden[-1, -1], atol=1e-6)
    assert tr.nonfinite == [] and set(tr.to_frame()["quantity"].unique()) == {"hidden", "keep", "contribution"}


def test_the_step_detail_and_equation_of_a_plain_rnn_hold_the_live_numbers():
    model = random_model("rnn", layers=2, seed=5)
    tr = rnnviz.trace(model, random_text(12, seed=5))
    for layer, step in ((0, 0), (1, 7)):
        detail = analysis.step_detail(model, tr, layer, step)
        np.testing.assert_allclose(np.tanh(detail["pre_h"]), detail["h"], atol=TOLERANCE)
        v = {name: float(values[2]) for name, values in detail.items()}
        [line] = equations.step_equations("rnn", v)
        assert rf"\tanh({v['pre_h']:.3f}) = {v['h']:.3f}" in line


def test_a_plain_rnn_checkpoint_saves_loads_and_is_sized_like_its_module(tmp_path):
    model = random_model("rnn", layers=2, hidden=8, embedding=6)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == parameter_shapes(model.config)
    assert multiply_adds_per_token(model.config) == 8 * (6 + 8) + 8 * (8 + 8)
    rnnviz.save(model, tmp_path / "plain")
    loaded = rnnviz.load(tmp_path / "plain.safetensors")
    assert loaded.cell == "rnn"
    text = random_text(20)
    np.testing.assert_array_equal(loaded.predict_proba(text), model.predict_proba(text))


def test_ranking_units_by_effect_runs_through_the_plain_rnn_layers_above():
    model = random_model("rnn", layers=2)
    tr = rnnviz.trace(model, random_text(15))
    assert sorted(analysis.rank_units(tr, 0, "effect", model).tolist()) == list(range(8))
