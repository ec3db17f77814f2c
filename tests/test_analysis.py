"""Keep scores, the memory decomposition, saturation and unit ranking mean what DESIGN.md says."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.analysis import (MAX_UNIT_PARTS, MAX_UNITS_CHARS, describe_step, format_units, keep_matrix, parse_units,
                             rank_units, saturation, step_detail, unit_effects)
from conftest import random_model, random_text
from reference import keep_and_contributions, sigmoid, textbook, weights_of


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("length", [1, 2, 37, 300])
def test_token_contributions_match_a_step_by_step_computation_from_the_weights(cell, layers, length):
    """Against the textbook run (not the trace's own gates): i and f swapped anywhere would fail here."""
    model = random_model(cell, layers=layers, seed=length)
    tr = rnnviz.trace(model, random_text(length, seed=length))
    top = textbook(model, tr.token_ids)[-1]
    keep, contributions = keep_and_contributions(cell, top)
    np.testing.assert_allclose(tr.contributions, contributions, atol=1e-5)
    np.testing.assert_allclose(tr.keep_units, keep, atol=1e-5)
    final_memory = top["cell_state"][-1] if cell == "lstm" else top["hidden"][-1]
    np.testing.assert_allclose(tr.contributions.sum(axis=0), final_memory, atol=1e-5)


def test_keep_units_follow_the_design_formula_written_as_loops(cell):
    model = random_model(cell, layers=2, seed=1)
    tr = rnnviz.trace(model, random_text(23, seed=2))
    T, H = tr.keep_units.shape
    expected = np.zeros((T, H))
    for t in range(T):
        for u in range(H):
            if cell == "lstm":
                value = tr.gates["input"][-1, t, u] * np.prod(tr.gates["forget"][-1, t + 1:, u])
            else:
                z = tr.gates["update"][-1]
                value = (1 - z[t, u]) * np.prod(z[t + 1:, u])
            expected[t, u] = value
    np.testing.assert_allclose(tr.keep_units, expected, atol=1e-6)


def test_keep_is_the_candidate_weighted_mean_of_keep_units(cell):
    model = random_model(cell, seed=4)
    tr = rnnviz.trace(model, random_text(15, seed=4))
    weight = np.abs(tr.gates["candidate"][-1])
    np.testing.assert_allclose(tr.keep, (tr.keep_units * weight).sum(1) / weight.sum(1), atol=1e-6)
    assert np.all((tr.keep >= 0) & (tr.keep <= 1))


def _force_gate(model, gate_row_block: int, bias: float) -> None:
    """Push one gate's pre-activation far to one side through its input bias."""
    H = model.config.hidden_size
    with torch.no_grad():
        model.rnn.bias_ih_l0[gate_row_block * H:(gate_row_block + 1) * H] = bias


def test_an_lstm_that_never_forgets_keeps_all_it_wrote():
    model = random_model("lstm", seed=7)
    _force_gate(model, 1, 50.0)  # forget gate = 1
    tr = rnnviz.trace(model, random_text(12, seed=7))
    np.testing.assert_allclose(tr.keep_units, tr.gates["input"][-1], atol=1e-6)


def test_an_lstm_that_always_forgets_keeps_only_the_last_token():
    model = random_model("lstm", seed=8)
    _force_gate(model, 1, -50.0)  # forget gate = 0
    tr = rnnviz.trace(model, random_text(12, seed=8))
    assert np.all(tr.keep_units[:-1] < 1e-6)
    assert tr.keep[-1] > 0


def test_a_gru_whose_update_gate_is_one_keeps_nothing_new():
    """PyTorch convention: z = 1 keeps the old state, so no token gets written."""
    model = random_model("gru", seed=9)
    _force_gate(model, 1, 50.0)  # update gate z = 1
    tr = rnnviz.trace(model, random_text(12, seed=9))
    assert np.all(tr.keep_units < 1e-6) and np.all(np.abs(tr.hidden) < 1e-6)


def test_keep_matrix_is_available_for_every_layer(cell):
    model = random_model(cell, layers=3, seed=3)
    tr = rnnviz.trace(model, random_text(10))
    for layer in range(3):
        keep = keep_matrix(cell, tr.gates, layer)
        assert keep.shape == (10, 8) and np.all((keep >= 0) & (keep <= 1))
    np.testing.assert_array_equal(keep_matrix(cell, tr.gates, -1), tr.keep_units)


def test_saturation_lists_each_sigmoid_gate_and_unit_with_fractions(cell):
    model = random_model(cell, seed=2)
    tr = rnnviz.trace(model, random_text(40))
    table = saturation(tr)
    gates = {"input", "forget", "output"} if cell == "lstm" else {"reset", "update"}
    assert set(table["gate"]) == gates
    assert len(table) == len(gates) * 8
    assert table[["low", "high"]].stack().between(0, 1).all()
    assert ((table["low"] + table["high"]) <= 1).all()


def test_top_layer_effect_is_hidden_state_times_head_weight_margin(cell):
    model = random_model(cell, layers=2, seed=11)
    tr = rnnviz.trace(model, random_text(20, seed=11))
    w = model.head.weight.detach().numpy()
    predicted = int(np.argmax(tr.probs[-1]))
    expected = tr.hidden[-1, -1] * (w[predicted] - w.mean(axis=0))
    np.testing.assert_allclose(unit_effects(model, tr, layer=-1), expected, atol=1e-6)
    assert unit_effects(model, tr, layer=0).shape == (8,)


@pytest.mark.parametrize("by", ["variance", "keep", "effect"])
def test_rank_units_returns_every_unit_once(cell, by):
    model = random_model(cell, layers=2, seed=12)
    tr = rnnviz.trace(model, random_text(20, seed=12))
    for layer in (0, 1):
        order = rank_units(tr, layer=layer, by=by, model=model)
        assert sorted(order.tolist()) == list(range(8))
    variance_order = rank_units(tr, by="variance")
    assert tr.hidden[-1].var(0)[variance_order[0]] == tr.hidden[-1].var(0).max()


def test_typed_units_accept_lists_and_ranges_in_the_order_given():
    assert parse_units("3, 17, 40-42", hidden_size=64) == [3, 17, 40, 41, 42]
    assert parse_units(" 5;5, 4-6 ,", hidden_size=64) == [5, 4, 6]


@pytest.mark.parametrize("typed, reason", [
    ("", "at least one unit"), ("a", "not a unit number"), ("1-2-3", "not a unit number"),
    ("9-3", "runs backwards"), ("64", "does not exist"), ("-1", "not a unit number"), ("٣", "not a unit number"),
])
def test_typed_units_that_cannot_be_read_say_why(typed, reason):
    with pytest.raises(ValueError, match=reason):
        parse_units(typed, hidden_size=64)


def test_unit_lists_are_written_back_as_short_ranges_that_read_the_same():
    units = [7, 0, 1, 2, 9, 10, 30]
    assert format_units(units) == "0-2, 7, 9-10, 30"
    assert parse_units(format_units(units), hidden_size=64) == sorted(units)


def _seconds_to_refuse(typed: str, hidden_size: int) -> tuple[float, str]:
    started = time.perf_counter()
    with pytest.raises(ValueError) as refused:
        parse_units(typed, hidden_size)
    return time.perf_counter() - started, str(refused.value)


def test_the_costly_share_link_is_refused_at_once():
    """units=0-255, repeated 87,000 times (a 522 KB link) cost about 115 s of server CPU."""
    seconds, message = _seconds_to_refuse("0-255," * 87_000, hidden_size=256)
    assert seconds < 0.1 and f"{MAX_UNITS_CHARS:,} characters" in message


@pytest.mark.parametrize("digits", [5000, MAX_UNITS_CHARS - 3])
def test_a_huge_unit_number_gets_a_plain_message(digits):
    seconds, message = _seconds_to_refuse("9" * digits, hidden_size=256)
    assert "digit" not in message and "sys.set_int_max_str_digits" not in message
    assert len(message) < 200 and seconds < 0.1


def test_the_longest_list_allowed_is_still_fast():
    typed = ", ".join(["0-4095"] * (MAX_UNITS_CHARS // 8))
    started = time.perf_counter()
    assert parse_units(typed, hidden_size=4096) == list(range(4096))
    assert time.perf_counter() - started < 0.5


def test_too_many_parts_are_refused_with_a_reason():
    with pytest.raises(ValueError, match=f"more than {MAX_UNIT_PARTS}"):
        parse_units("1," * (MAX_UNIT_PARTS + 1), hidden_size=64)


def test_every_other_unit_of_a_512_unit_layer_fits_the_units_box():
    written = format_units(range(0, 512, 2))
    assert len(written) <= MAX_UNITS_CHARS and parse_units(written, hidden_size=512) == list(range(0, 512, 2))


# --- Each layer means that layer: keep scores, the keep ranking, the step equations ---------------------------

@pytest.fixture
def three_layers(cell):
    model = random_model(cell, layers=3, seed=21)
    tr = rnnviz.trace(model, random_text(12, seed=21))
    return model, tr, textbook(model, tr.token_ids)


def test_the_keep_matrix_of_each_layer_follows_that_layers_gates(cell, three_layers):
    _, tr, reference = three_layers
    for layer in range(3):
        keep, _ = keep_and_contributions(cell, reference[layer])
        np.testing.assert_allclose(tr.keep_matrix(layer), keep, atol=1e-5, err_msg=f"layer {layer}")
    np.testing.assert_array_equal(tr.keep_matrix(-1), tr.keep_matrix(2))


def test_the_keep_ranking_of_each_layer_follows_that_layers_keep_scores(cell, three_layers):
    _, tr, reference = three_layers
    orders = []
    for layer in range(3):
        keep, _ = keep_and_contributions(cell, reference[layer])
        orders.append(rank_units(tr, layer=layer, by="keep").tolist())
        means = keep.mean(axis=0)[orders[-1]]
        assert np.all(np.diff(means) <= 1e-6), f"layer {layer} is not ranked by its own mean keep score"
    assert len({tuple(order) for order in orders}) == 3  # the layers rank differently, so a mix-up shows


@pytest.mark.parametrize("layer", [0, 1, 2])
@pytest.mark.parametrize("step", [0, 1, 11])
def test_step_detail_holds_that_layers_pre_activations_in_the_equations_order(cell, three_layers, layer, step):
    """The numbers shown in class: recomputed here from the weights, the layer below's output and h_{t-1}."""
    model, tr, reference = three_layers
    detail = step_detail(model, tr, layer, step)
    x = (model.embedding.weight.detach().double().numpy()[tr.token_ids[step]] if layer == 0
         else reference[layer - 1]["hidden"][step])
    h_prev = reference[layer]["hidden"][step - 1] if step > 0 else np.zeros(tr.hidden_size)
    w_ih, w_hh, b_ih, b_hh = weights_of(model, layer)
    from_input, from_hidden = w_ih @ x + b_ih, w_hh @ h_prev + b_hh
    H, ref = tr.hidden_size, reference[layer]
    if cell == "lstm":
        pre = from_input + from_hidden
        expected = {"pre_i": pre[:H], "pre_f": pre[H:2 * H], "pre_g": pre[2 * H:3 * H], "pre_o": pre[3 * H:],
                    "i": ref["input"][step], "f": ref["forget"][step], "g": ref["candidate"][step],
                    "o": ref["output"][step], "c": ref["cell_state"][step],
                    "c_prev": ref["cell_state"][step - 1] if step > 0 else np.zeros(H)}
        np.testing.assert_allclose(sigmoid(detail["pre_f"]), detail["f"], atol=1e-5)
    else:
        expected = {"pre_r": from_input[:H] + from_hidden[:H], "pre_z": from_input[H:2 * H] + from_hidden[H:2 * H],
                    "in_n": from_input[2 * H:], "hn": from_hidden[2 * H:],
                    "r": ref["reset"][step], "z": ref["update"][step], "n": ref["candidate"][step]}
        np.testing.assert_allclose(np.tanh(detail["in_n"] + detail["r"] * detail["hn"]), detail["n"], atol=1e-5)
    expected |= {"h_prev": h_prev, "h": ref["hidden"][step]}
    assert set(detail) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(detail[name], value, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("z, sentence", [(0.9, "mostly kept its previous state"),
                                         (0.1, "mostly took the new candidate")])
def test_the_gru_step_sentence_follows_pytorchs_convention_that_z_one_keeps(z, sentence):
    detail = {"z": np.array([z])}
    assert describe_step("gru", detail, unit=0).startswith(sentence)
    assert f"took {1 - z:.2f} of the candidate" in describe_step("gru", detail, unit=0, first=True)


@pytest.mark.parametrize("f, i, sentence", [
    (0.9, 0.1, "mostly kept its memory"), (0.1, 0.9, "mostly replaced its memory"),
    (0.9, 0.9, "kept its memory and also wrote"), (0.1, 0.1, "mostly let its memory go"),
])
def test_the_lstm_step_sentence_reads_the_forget_and_input_gates(f, i, sentence):
    detail = {"f": np.array([f]), "i": np.array([i])}
    assert describe_step("lstm", detail, unit=0).startswith(sentence)


@pytest.mark.parametrize("cell, detail, sentence", [
    ("lstm", {"f": 0.5, "i": 0.1}, "kept about half its memory and wrote little"),
    ("lstm", {"f": 0.55, "i": 0.52}, "kept about half its memory and wrote about half"),
    ("gru", {"z": 0.5}, "mixed its previous state and the new candidate about equally"),
])
def test_a_gate_near_one_half_is_not_called_keeping_or_letting_go(cell, detail, sentence):
    assert describe_step(cell, {k: np.array([v]) for k, v in detail.items()}, unit=0).startswith(sentence)


def test_a_tiny_negative_write_is_not_printed_as_minus_zero():
    detail = {"c": np.array([-0.001]), "i": np.array([0.2])}
    assert "wrote +0.00 into it" in describe_step("lstm", detail, unit=0, first=True)


def test_saturation_counts_below_0_1_and_above_0_9_only():
    """Karpathy et al.'s thresholds: 0.15 and 0.85 are not saturated."""
    column = np.array([0.05, 0.15, 0.5, 0.85, 0.95], dtype=np.float32)
    gate = np.repeat(column[None, :, None], 2, axis=2)  # (layers=1, T=5, H=2)
    fake = SimpleNamespace(gates={"input": gate, "forget": gate, "output": gate, "candidate": gate})
    table = saturation(fake)
    assert set(table["gate"]) == {"input", "forget", "output"}
    np.testing.assert_allclose(table["low"], 0.2)
    np.testing.assert_allclose(table["high"], 0.2)
