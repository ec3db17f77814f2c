"""The one-unit playground cell: its numbers satisfy the LSTM and GRU equations, and its presets do what they say."""

from __future__ import annotations

import math
import random

import pytest

from rnnviz import equations, playground


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def textbook(cell: str, w: dict[str, float], inputs: list[float]) -> list[dict[str, float]]:
    """The equations written out in float64 from the slider values, independently of torch."""
    h, c, out = 0.0, 0.0, []
    for x in inputs:
        if cell == "lstm":
            i, f, o = (sigmoid(w[f"w_i{g}"] * x + w[f"w_h{g}"] * h + w[f"b_{g}"]) for g in "ifo")
            g = math.tanh(w["w_ig"] * x + w["w_hg"] * h + w["b_g"])
            c = f * c + i * g
            h = o * math.tanh(c)
            out.append(dict(i=i, f=f, g=g, o=o, c=c, h=h))
        else:
            r, z = (sigmoid(w[f"w_i{g}"] * x + w[f"w_h{g}"] * h + w[f"b_{g}"]) for g in "rz")
            n = math.tanh(w["w_in"] * x + w["b_in"] + r * (w["w_hn"] * h + w["b_hn"]))
            h = (1 - z) * n + z * h
            out.append(dict(r=r, z=z, n=n, h=h))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_the_playground_numbers_satisfy_the_equations(cell, seed):
    rng = random.Random(seed)
    weights = {name: rng.uniform(-3, 3) for name in playground.PARAMETERS[cell]}
    inputs = [rng.choice([-1.0, 0.0, 0.5, 1.0]) for _ in range(12)]
    steps = playground.run(cell, weights, inputs)
    for step, expected in zip(steps, textbook(cell, weights, inputs)):
        for name, value in expected.items():
            assert step[name] == pytest.approx(value, abs=1e-5), name
    for previous, step in zip([None, *steps], steps):
        assert step["h_prev"] == (previous["h"] if previous else 0.0)
        if cell == "lstm":
            assert step["i"] == pytest.approx(sigmoid(step["pre_i"]), abs=1e-6)
            assert step["c"] == pytest.approx(step["f"] * step["c_prev"] + step["i"] * step["g"], abs=1e-5)
        else:
            assert step["n"] == pytest.approx(math.tanh(step["in_n"] + step["r"] * step["hn"]), abs=1e-5)
        assert len(equations.step_equations(cell, step)) == (6 if cell == "lstm" else 4)


def test_presets_remember_copy_and_count():
    remember = playground.run("lstm", playground.preset("lstm", "remember by default"), [1] + [0] * 9)
    assert remember[-1]["c"] > 0.9 and all(step["f"] > 0.99 for step in remember)
    gru_remember = playground.run("gru", playground.preset("gru", "remember by default"), [1] + [0] * 9)
    assert gru_remember[-1]["h"] > 0.9
    for cell in ("lstm", "gru"):
        copied = playground.run(cell, playground.preset(cell, "copy the input"), [1, 0, -1, 1])
        assert [round(step["h"], 1) for step in copied][1] == 0.0
        assert [math.copysign(1, step["h"]) for step in copied[::2]] == [1, -1]
    counted = playground.run("lstm", playground.preset("lstm", "counter"), [1, 1, 1, -1, -1, -1])
    assert [round(step["c"] / math.tanh(1), 2) for step in counted] == [1, 2, 3, 2, 1, 0]


@pytest.mark.parametrize("typed, problem", [("", "type a sequence"), ("1 two 3", "not a number"),
                                            ("1 99", "inputs run from"), (" ".join(["1"] * 61), "at most 60"),
                                            ("nan", "inputs run from")])
def test_typed_inputs_that_are_not_numbers_get_a_plain_message(typed, problem):
    with pytest.raises(ValueError, match=problem):
        playground.parse_inputs(typed)


def test_typed_inputs_accept_spaces_commas_and_decimals():
    assert playground.parse_inputs(" 1, 0 -1;0.5 ") == [1.0, 0.0, -1.0, 0.5]
