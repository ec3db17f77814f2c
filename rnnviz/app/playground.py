"""The one-unit cell to play with, as widgets: a preset, a slider per weight and bias (in the sidebar), the
sequence, the step.

Used by the Playground view and by the playground lesson, each with its own widget keys (``key``), so a
lesson step opens on its preset while the free playground keeps what the teacher set.
"""

from __future__ import annotations

import streamlit as st

from rnnviz import equations, lesson_figures, playground
from rnnviz.figures import QUANTITY_NAMES

from .widgets import literal, show

GATE_GROUPS = {"lstm": {"input gate i": "i", "forget gate f": "f", "candidate g": "g", "output gate o": "o"},
               "gru": {"reset gate r": "r", "update gate z": "z", "candidate n": "n"}}
"""Slider columns: one per gate, holding the parameters whose name ends in its letter."""


def _apply_preset(cell: str, key: str) -> None:
    name = st.session_state[f"{key}_preset"]
    for parameter, value in playground.preset(cell, name).items():
        st.session_state[f"{key}_{parameter}"] = value
    st.session_state[f"{key}_inputs"] = playground.PRESET_INPUTS[name]
    st.session_state[f"{key}_at"] = 0


def _sliders(cell: str, key: str) -> dict[str, float]:
    """The sliders, in the sidebar (so the chart stays in view while they move), grouped by gate."""
    st.sidebar.markdown(f"**Weights and biases of the one-unit {cell.upper()}** (PyTorch's names; one bias per gate)")
    weights = {}
    for title, letter in GATE_GROUPS[cell].items():
        st.sidebar.caption(title)
        for parameter in [p for p in playground.PARAMETERS[cell] if p.endswith(letter)]:
            weights[parameter] = st.sidebar.slider(parameter, -playground.LIMIT, playground.LIMIT, step=0.1,
                                                   key=f"{key}_{parameter}", format="%.1f")
    return weights


def cell_playground(cell: str, preset: str, key: str) -> None:
    """The whole playground for ``cell``, opening on ``preset``; ``key`` prefixes every widget key."""
    if f"{key}_preset" not in st.session_state:
        st.session_state[f"{key}_preset"] = preset
        _apply_preset(cell, key)
    top = st.columns([2, 3])
    top[0].selectbox("Preset", list(playground.PRESETS[cell]), key=f"{key}_preset", on_change=_apply_preset,
                     args=(cell, key), help="Sets every slider and a sequence that shows what the preset does.")
    typed = top[1].text_input("Inputs x, one number per step", key=f"{key}_inputs", max_chars=400)
    weights = _sliders(cell, key)
    try:
        steps = playground.run(cell, weights, playground.parse_inputs(typed))
    except ValueError as error:
        st.info(literal(str(error)).capitalize() + ".")
        return
    show(lesson_figures.playground_figure(cell, steps), f"playground-{cell}")
    at = min(st.session_state.get(f"{key}_at", 0), len(steps) - 1)
    st.session_state[f"{key}_at"] = at
    if len(steps) > 1:
        at = st.slider("Equations at step", 0, len(steps) - 1, key=f"{key}_at")
    step = steps[at]
    st.markdown(f"Step {at}: input x = {step['x']:g}; "
                + ", ".join(f"{QUANTITY_NAMES.get(name, name)} = {step[letter]:.3f}" for name, letter in
                            (("input", "i"), ("forget", "f"), ("output", "o"), ("reset", "r"), ("update", "z"))
                            if letter in step))
    columns = st.columns(2)
    for k, line in enumerate(equations.step_equations(cell, step)):
        columns[k % 2].latex(line)
