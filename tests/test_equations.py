"""The step-through equations show the numbers PyTorch computed, and those numbers satisfy the equations."""

from __future__ import annotations

import re

import numpy as np
import pytest

import rnnviz
from rnnviz import analysis, equations
from conftest import random_model, random_text


def numbers_after_the_symbols(line: str) -> list[float]:
    """The numbers on the second (numeric) line of a two-line step equation, in order."""
    numeric = line.split(r"\\", 1)[1]
    return [float(x) for x in re.findall(r"-?\d+\.\d+", numeric)]


@pytest.mark.parametrize("step", [0, 5])
def test_lstm_step_numbers_satisfy_the_cell_update(step):
    model = random_model("lstm", layers=2)
    tr = rnnviz.trace(model, random_text(8))
    detail = analysis.step_detail(model, tr, layer=1, step=step)
    v = {name: float(values[3]) for name, values in detail.items()}
    lines = equations.step_equations("lstm", v)
    assert len(lines) == 6
    f, c_prev, i, g, c = numbers_after_the_symbols(lines[4])
    assert (f, c_prev, i, g, c) == pytest.approx([v["f"], v["c_prev"], v["i"], v["g"], v["c"]], abs=5e-4)
    assert f * c_prev + i * g == pytest.approx(c, abs=2e-3)
    o, c_again, h = numbers_after_the_symbols(lines[5])
    assert o * np.tanh(c_again) == pytest.approx(h, abs=2e-3)


def test_gru_step_numbers_satisfy_the_state_update():
    model = random_model("gru")
    tr = rnnviz.trace(model, random_text(6))
    detail = analysis.step_detail(model, tr, layer=0, step=4)
    v = {name: float(values[2]) for name, values in detail.items()}
    lines = equations.step_equations("gru", v)
    in_n, r, hn, n = numbers_after_the_symbols(lines[2])
    assert np.tanh(in_n + r * hn) == pytest.approx(n, abs=2e-3)
    keep_new, n_again, z, h_prev, h = numbers_after_the_symbols(lines[3])
    assert keep_new == pytest.approx(1 - z, abs=1e-3) and keep_new * n_again + z * h_prev == pytest.approx(h, abs=2e-3)


def test_negative_numbers_are_bracketed_so_products_read_right():
    assert equations.factor(-0.2) == "(-0.200)" and equations.factor(0.25) == "0.250"
    line = equations.step_equations("gru", dict(pre_r=0, r=0.5, pre_z=0, z=0.5, in_n=-1, hn=-2, n=-0.9, h_prev=-0.5, h=-0.7))[3]
    assert r"\times (-0.900)" in line and r"\times (-0.500)" in line and line.endswith(r"= -0.700 \end{aligned}")
