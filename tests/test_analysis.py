"""Keep scores, the memory decomposition, saturation and unit ranking mean what DESIGN.md says."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.analysis import (MAX_UNIT_PARTS, MAX_UNITS_CHARS, format_units, keep_matrix, parse_units, rank_units,
                             saturation, unit_effects)
from conftest import random_model, random_text


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("length", [1, 2, 37, 500])
def test_token_contributions_sum_to_the_final_memory(cell, layers, length):
    model = random_model(cell, layers=layers, seed=length)
    tr = rnnviz.trace(model, random_text(length, seed=length))
    final_memory = tr.cell_state[-1, -1] if cell == "lstm" else tr.hidden[-1, -1]
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
