"""The trace is exact: it equals nn.LSTM / nn.GRU run the ordinary way, and DESIGN.md's equations
written out step by step here, on random weights, 1-3 layers and odd lengths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from conftest import random_model, random_text
from reference import textbook_gru, textbook_lstm

TOLERANCE = 1e-5
LENGTHS = [1, 2, 37, 500]
LAYERS = [1, 2, 3]


@pytest.mark.parametrize("layers", LAYERS)
@pytest.mark.parametrize("length", LENGTHS)
def test_hidden_states_equal_the_plain_torch_module(cell, layers, length):
    model = random_model(cell, layers=layers, seed=length + layers)
    tr = rnnviz.trace(model, random_text(length, seed=length))
    assert len(tr.tokens) == length
    ids = torch.tensor([tr.token_ids])
    with torch.no_grad():
        output, state = model.rnn(model.embedding(ids))
    np.testing.assert_allclose(tr.hidden[-1], output[0].numpy(), atol=TOLERANCE, rtol=0)
    final_hidden = state[0] if cell == "lstm" else state
    np.testing.assert_allclose(tr.hidden[:, -1], final_hidden[:, 0].numpy(), atol=TOLERANCE, rtol=0)
    if cell == "lstm":
        np.testing.assert_allclose(tr.cell_state[:, -1], state[1][:, 0].numpy(), atol=TOLERANCE, rtol=0)
    else:
        assert tr.cell_state is None


@pytest.mark.parametrize("layers", LAYERS)
@pytest.mark.parametrize("length", LENGTHS)
def test_every_gate_equals_the_equations_step_by_step(cell, layers, length):
    model = random_model(cell, layers=layers, seed=100 + length + layers)
    tr = rnnviz.trace(model, random_text(length, seed=length + 1))
    x = model.embedding(torch.tensor(tr.token_ids)).detach().double().numpy()
    reference = (textbook_lstm if cell == "lstm" else textbook_gru)(model, x)
    expected_gates = ("input", "forget", "output", "candidate") if cell == "lstm" else ("reset", "update", "candidate")
    assert set(tr.gates) == set(expected_gates)
    for layer, ref in enumerate(reference):
        for name in expected_gates:
            np.testing.assert_allclose(tr.gates[name][layer], ref[name], atol=TOLERANCE, rtol=0, err_msg=name)
        np.testing.assert_allclose(tr.hidden[layer], ref["hidden"], atol=TOLERANCE, rtol=0)
        if cell == "lstm":
            np.testing.assert_allclose(tr.cell_state[layer], ref["cell_state"], atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("length", LENGTHS)
def test_arrays_have_the_documented_shapes_and_dtypes(cell, length):
    model = random_model(cell, layers=2, hidden=8)
    tr = rnnviz.trace(model, random_text(length))
    shape = (2, length, 8)
    for values in (*tr.gates.values(), tr.hidden, *( [tr.cell_state] if cell == "lstm" else [])):
        assert values.shape == shape and values.dtype == np.float32
    assert tr.probs.shape == (length, 2)
    assert tr.keep.shape == (length,) and tr.keep_units.shape == (length, 8)
    assert tr.contributions.shape == (length, 8)
    assert len(tr.tokens) == len(tr.token_ids) == len(tr.unknown) == length


def test_prediction_after_each_token_is_the_head_on_that_prefix(cell):
    model = random_model(cell, layers=2)
    text = random_text(9, seed=3)
    tr = rnnviz.trace(model, text)
    for t in range(len(tr.tokens)):
        prefix = " ".join(tr.tokens[: t + 1])
        np.testing.assert_allclose(tr.probs[t], model.predict_proba(prefix)[0], atol=TOLERANCE)
    np.testing.assert_allclose(tr.probs.sum(axis=1), 1.0, atol=1e-6)


def test_gates_reproduce_the_states_they_claim(cell):
    """h = o * tanh(c) for LSTM; h = (1 - z) * n + z * h_prev for GRU, from the trace's own arrays."""
    model = random_model(cell, layers=2, seed=5)
    tr = rnnviz.trace(model, random_text(37, seed=5))
    if cell == "lstm":
        np.testing.assert_allclose(tr.hidden, tr.gates["output"] * np.tanh(tr.cell_state), atol=TOLERANCE)
    else:
        z, n = tr.gates["update"], tr.gates["candidate"]
        previous = np.concatenate([np.zeros_like(tr.hidden[:, :1]), tr.hidden[:, :-1]], axis=1)
        np.testing.assert_allclose(tr.hidden, (1 - z) * n + z * previous, atol=TOLERANCE)


def test_predict_proba_batched_equals_one_at_a_time(cell):
    model = random_model(cell, layers=2)
    texts = [random_text(n, seed=n) for n in (1, 5, 37, 2, 60)]
    together = model.predict_proba(texts, batch_size=2)
    alone = np.concatenate([model.predict_proba(t) for t in texts])
    np.testing.assert_allclose(together, alone, atol=TOLERANCE)
    for text, row in zip(texts, together):
        np.testing.assert_allclose(rnnviz.trace(model, text).probs[-1], row, atol=TOLERANCE)


def test_predictions_read_exactly_max_tokens_tokens(cell):
    """predict_ids cuts every text at max_tokens: not one token more or less, batched or alone, as the trace does."""
    model = random_model(cell, layers=2, seed=6)
    text = random_text(10, seed=6)
    ids = model.encode(model.tokenize(text))
    read = {n: model.predict_ids([ids[:n]])[0] for n in (5, 6, 10)}  # no cut yet: max_tokens is 5,000
    assert not np.allclose(read[6], read[5], atol=1e-4) and not np.allclose(read[6], read[10], atol=1e-4)
    model.max_tokens = 6
    np.testing.assert_allclose(model.predict_ids([ids])[0], read[6], atol=TOLERANCE)
    np.testing.assert_allclose(model.predict_ids([ids, ids[:3]], batch_size=2)[0], read[6], atol=TOLERANCE)
    np.testing.assert_allclose(model.predict_proba(text)[0], read[6], atol=TOLERANCE)
    np.testing.assert_allclose(rnnviz.trace(model, text).probs[-1], read[6], atol=TOLERANCE)
