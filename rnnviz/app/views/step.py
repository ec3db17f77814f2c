"""Step through: one token at a time, one unit's equations with PyTorch's live numbers, and its gates as bars."""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnnviz import analysis, equations, figures
from rnnviz.running_text import context_html

from ..context import ViewContext
from ..scores import attribution, available_tints
from ..widgets import how_to_read, literal, show


def _step_to(delta: int, last: int) -> None:
    st.session_state["step"] = int(np.clip(st.session_state.get("step", 0) + delta, 0, last))


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    last = len(tr.tokens) - 1
    st.session_state["step"] = min(st.session_state.get("step", 0), last)
    if st.session_state.get("step_unit") not in ctx.units:
        st.session_state["step_unit"] = ctx.units[0]
    left, middle, right = st.columns([1.3, 7, 1.3])
    left.button("◀ Prev", on_click=_step_to, args=(-1, last), width="stretch")
    right.button("Next ▶", on_click=_step_to, args=(1, last), width="stretch")
    step = middle.slider("Token", 0, max(last, 1), key="step", format="position %d", disabled=last == 0)
    step = min(step, last)
    words, unit_column = st.columns([5, 1], vertical_alignment="bottom")  # one row: the equations fit 768 px
    with words:
        st.html(context_html(tr.tokens, step))
    unit = unit_column.selectbox("Unit", ctx.units, key="step_unit")
    detail = analysis.step_detail(ctx.model, tr, ctx.layer, step)
    st.markdown(f"At token **{literal(tr.tokens[step])}** (position {step}), unit {unit} "
                f"{analysis.describe_step(tr.cell, detail, unit, first=step == (last if tr.is_backward(ctx.layer) else 0), nonlinearity=tr.nonlinearity)}.")
    scores = f"This token's scores: keep {tr.keep[step]:.3g} (all units), {tr.keep_read[step]:.3g} (units the prediction reads)"
    if "decided" in available_tints(tr):
        decided = attribution(ctx, "decomposition")
        share = decided.scores[step]
        scores += (f"; decided {share:+.3f} of the {literal(tr.labels[decided.target])} margin {decided.margin:+.2f} "
                   f"({'towards' if share >= 0 else 'against'} {literal(tr.labels[decided.target])})")
    st.caption(scores + ".")
    if tr.is_backward(ctx.layer):
        st.caption("Backward direction: it reads the text from the end, so the previous step in these equations "
                   "(t − 1) is the next token of the text.")
    maths, bars = st.columns([3, 2])
    v = {name: float(values[unit]) for name, values in detail.items()}
    with maths:
        for line in equations.step_equations(tr.cell, v, tr.nonlinearity, projected=tr.projection is not None):
            st.latex(line)
        if tr.projection is not None:
            st.caption(f"This LSTM projects its state: the next step, the next layer and the head read "
                       f"r_t = W_hr h_t, {tr.projection.shape[2]} numbers mixed from all {tr.hidden_size} units "
                       "(the projection heatmap shows them).")
        if tr.cell == "lstm":
            bar_values, gates = {k: v[k] for k in ("i", "f", "g", "o", "c", "h")}, {"i", "f", "o"}
        elif tr.cell == "rnn":
            bar_values, gates = {k: v[k] for k in ("h_prev", "pre_h", "h")}, set()
        else:
            st.caption("PyTorch's convention: z = 1 keeps the old state. Some textbooks swap z and 1 − z.")
            bar_values, gates = {k: v[k] for k in ("r", "z", "n", "h")}, {"r", "z"}
    with bars:
        show(figures.step_bars(bar_values, gates, f"unit {unit} at position {step}"), f"step-{step}-unit-{unit}")
    how_to_read("Move through the text one token at a time. For the chosen unit the equations show the live "
                "numbers PyTorch computed; the bars show every gate (purple, 0 to 1) and state (blue below 0, red "
                "above) of that unit at that step.")
