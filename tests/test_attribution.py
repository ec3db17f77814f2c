"""Token attributions (rnnviz.attribute) and the read-weighted keep score (Trace.keep_read)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import attribution
from rnnviz.analysis import margin_readout
from rnnviz.model import multiply_adds_per_token

from conftest import random_model, random_text

METHODS = attribution.METHODS
SHIPPED = rnnviz.available_models()
REVIEW = ("I expected a dull film, and the first hour is slow and badly paced, but the ending is wonderful, "
          "moving and honest. " * 6).strip()


def margin_of(model: rnnviz.SentimentModel, ids: list[int], target: int) -> float:
    """The target margin of one id list read the ordinary way; an empty list reads as the zero initial state."""
    with torch.no_grad():
        if ids:
            logits = model(torch.tensor([ids]), torch.tensor([len(ids)]))[0]
        else:
            logits = model.head(torch.zeros(model.config.hidden_size))
    others = torch.cat([logits[:target], logits[target + 1:]])
    return float(logits[target] - others.mean())


def ids_of(model: rnnviz.SentimentModel, text: str) -> list[int]:
    return model.encode(model.tokenize(text))[: model.max_tokens]


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 9, 60])
def test_the_decomposition_sums_exactly_to_the_margin_of_random_models(cell, layers, length):
    model = random_model(cell, layers=layers, seed=layers + length)
    text = random_text(length, seed=length)
    tr = rnnviz.trace(model, text)
    for variant in (("gamma", "beta") if cell == "lstm" else (None,)):
        att = rnnviz.attribute(model, text, variant=variant, trace=tr)
        assert att.scores.shape == (length,) and att.scores.dtype == np.float64
        assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-5)
        assert att.margin == pytest.approx(margin_of(model, ids_of(model, text), att.target), abs=1e-5)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_decomposition_sums_exactly_to_the_margin_of_every_shipped_model(name):
    model = rnnviz.load(name)
    for text in ("not bad at all", REVIEW):
        att = rnnviz.attribute(model, text)
        assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-5)
        assert att.margin == pytest.approx(margin_of(model, ids_of(model, text), att.target), abs=1e-5)


def test_the_gru_decomposition_is_each_tokens_part_of_h_T_through_the_head():
    model = random_model("gru", seed=3)
    tr = rnnviz.trace(model, "the plot was dull but fun")
    att = rnnviz.attribute(model, "the plot was dull but fun", target=0, trace=tr)
    weight, bias = model.head.weight.detach().double().numpy(), model.head.bias.detach().double().numpy()
    np.testing.assert_allclose(att.scores, tr.contributions @ (weight[0] - weight[1]), atol=1e-6)
    assert att.rest == pytest.approx(bias[0] - bias[1])


def test_the_lstm_variants_split_the_same_margin_differently():
    model = random_model("lstm", seed=4)
    text = random_text(12, seed=4)
    gamma, beta = (rnnviz.attribute(model, text, variant=v) for v in ("gamma", "beta"))
    assert gamma.scores.sum() == pytest.approx(beta.scores.sum(), abs=1e-6)
    assert not np.allclose(gamma.scores, beta.scores)


def test_the_margin_of_a_chosen_class_is_its_logit_minus_the_mean_of_the_others():
    model = random_model("lstm", classes=3, seed=5)
    text = "the acting was great"
    for method in METHODS:
        att = rnnviz.attribute(model, text, method, target=2)
        assert att.target == 2
        assert att.margin == pytest.approx(margin_of(model, ids_of(model, text), 2), abs=1e-5)


def test_the_target_defaults_to_the_predicted_class():
    model = random_model("gru", classes=3, seed=6)
    text = random_text(15, seed=6)
    predicted = int(model.predict_proba(text)[0].argmax())
    assert {rnnviz.attribute(model, text, method).target for method in METHODS} == {predicted}


@pytest.mark.parametrize("layers", [1, 2])
def test_occlusion_is_the_margin_minus_the_margin_with_the_token_deleted(cell, layers):
    model = random_model(cell, layers=layers, seed=7)
    text = random_text(11, seed=7)
    att = rnnviz.attribute(model, text, "occlusion")
    ids = ids_of(model, text)
    by_hand = [att.margin - margin_of(model, ids[:t] + ids[t + 1:], att.target) for t in range(len(ids))]
    np.testing.assert_allclose(att.scores, by_hand, atol=1e-5)
    assert att.window == 1 and att.scores.sum() + att.rest == pytest.approx(att.margin)


def test_occlusion_of_a_long_text_deletes_windows_and_spreads_each_drop_over_its_tokens(monkeypatch, cell):
    model = random_model(cell, seed=8)
    per_token = multiply_adds_per_token(model.config)
    monkeypatch.setattr(attribution, "OCCLUSION_BUDGET", 20 * per_token)  # 10 tokens: ceil(100 / 40) = 3 per window
    text = random_text(10, seed=8)
    att = rnnviz.attribute(model, text, "occlusion")
    ids = ids_of(model, text)
    assert att.window == 3
    windows = [(0, 3), (3, 6), (6, 9), (9, 10)]
    by_hand = [(att.margin - margin_of(model, ids[:a] + ids[b:], att.target)) / (b - a) for a, b in windows]
    np.testing.assert_allclose(att.scores, np.repeat(by_hand, [3, 3, 3, 1]), atol=1e-5)


def test_integrated_gradients_is_complete_with_a_small_delta(cell):
    model = random_model(cell, layers=2, seed=9)
    text = random_text(8, seed=9)
    att = rnnviz.attribute(model, text, "integrated_gradients")
    baseline = margin_of(model, [model.vocab.pad_id] * 8, att.target)
    assert abs(att.delta) < 1e-3 * max(1.0, abs(att.margin))
    assert att.rest == pytest.approx(baseline + att.delta, abs=1e-5)
    assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_explains_a_text_of_one_token(cell, method):
    model = random_model(cell, seed=10)
    att = rnnviz.attribute(model, "great", method)
    assert att.tokens == ["great"] and att.method == method and att.scores.shape == (1,)
    assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-4)
    if method == "occlusion":  # deleting the only token leaves the empty state: the head bias
        assert att.scores[0] == pytest.approx(att.margin - margin_of(model, [], att.target), abs=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_the_tokens_are_the_traces_tokens_cut_at_max_tokens(method):
    model = random_model("lstm", seed=11)
    model.max_tokens = 6
    text = random_text(9, seed=11)
    att = rnnviz.attribute(model, text, method)
    assert att.tokens == rnnviz.trace(model, text).tokens and len(att.tokens) == 6


@pytest.mark.parametrize("name", SHIPPED)
def test_every_method_runs_on_every_shipped_model(name):
    model = rnnviz.load(name)
    for method in METHODS:
        att = rnnviz.attribute(model, "a dull plot, but the acting is great", method)
        assert len(att.scores) == len(att.tokens) == 9 and np.isfinite(att.scores).all()


@pytest.mark.parametrize("text", ["", "   \n", "\u200b"])
def test_a_text_without_tokens_is_a_value_error(text):
    with pytest.raises(ValueError):
        rnnviz.attribute(random_model("lstm"), text)


@pytest.mark.parametrize("arguments", [
    {"method": "saliency"},
    {"target": 2},
    {"target": -1},
    {"target": True},
    {"variant": "delta"},
    {"method": "occlusion", "variant": "beta"},
])
def test_wrong_arguments_are_value_errors(arguments):
    with pytest.raises(ValueError):
        rnnviz.attribute(random_model("lstm"), "not bad at all", **arguments)


def test_a_gru_has_no_decomposition_variants():
    with pytest.raises(ValueError, match="variant"):
        rnnviz.attribute(random_model("gru"), "not bad at all", variant="gamma")


def test_a_trace_of_another_text_is_refused():
    model = random_model("gru")
    with pytest.raises(ValueError, match="trace"):
        rnnviz.attribute(model, "not bad at all", trace=rnnviz.trace(model, "terrible"))


def test_the_decomposition_needs_a_linear_head_and_the_other_methods_do_not():
    model = random_model("lstm")
    model.head = torch.nn.Sequential(torch.nn.Linear(8, 2), torch.nn.Tanh())
    with pytest.raises(ValueError, match="linear head"):
        rnnviz.attribute(model, "not bad at all")
    for method in ("occlusion", "integrated_gradients"):
        att = rnnviz.attribute(model, "not bad at all", method)
        assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-4)


def test_attribution_leaves_a_training_model_in_training_mode():
    model = random_model("lstm").train()
    rnnviz.attribute(model, "not bad at all", "integrated_gradients")
    assert model.training


def test_the_readout_of_a_linear_head_is_each_units_term_in_the_margin():
    model = random_model("lstm", seed=12)
    hidden = rnnviz.trace(model, "great fun").hidden[-1, -1]
    weight = model.head.weight.detach().double().numpy()
    np.testing.assert_allclose(margin_readout(model.head, hidden, target=1), np.abs((weight[1] - weight[0]) * hidden),
                               rtol=1e-6)


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("target", [None, 0, 1])
def test_a_linear_heads_readout_without_autograd_equals_the_gradient_through_it(classes, target):
    model = random_model("gru", seed=15, classes=classes)
    hidden = rnnviz.trace(model, "not bad at all").hidden[-1, -1]
    through_autograd = margin_readout(lambda units: model.head(units), hidden, target=target)  # not an nn.Linear
    np.testing.assert_allclose(margin_readout(model.head, hidden, target=target), through_autograd,
                               rtol=1e-5, atol=1e-8)


def test_the_read_weighted_keep_is_a_share(cell):
    tr = rnnviz.trace(random_model(cell, layers=2, seed=13), random_text(50, seed=13))
    assert tr.keep_read.shape == tr.keep.shape and tr.keep_read.dtype == np.float32
    assert (tr.keep_read >= 0).all() and (tr.keep_read <= 1).all()


def long_memory_model() -> rnnviz.SentimentModel:
    """An LSTM whose unit 0 never forgets and alone feeds the head; every other unit forgets at once."""
    model = random_model("lstm", hidden=32, seed=14)
    hidden = model.config.hidden_size
    with torch.no_grad():
        model.rnn.bias_ih_l0[hidden:2 * hidden] = -20.0  # forget gates shut ...
        model.rnn.bias_ih_l0[hidden] = 20.0  # ... except unit 0's, wide open
        model.head.weight.zero_()
        model.head.weight[1, 0] = 1.0
    return model


def test_the_read_weighted_keep_follows_the_units_the_prediction_reads_and_does_not_collapse():
    model = long_memory_model()
    tr = rnnviz.trace(model, random_text(400, seed=14))
    np.testing.assert_allclose(tr.keep_read, tr.keep_units[:, 0], rtol=1e-5)
    assert tr.keep_read.min() > 0.01
    assert np.median(tr.keep_read) > 10 * np.median(tr.keep)  # the mean over all units is ruled by the forgetters
