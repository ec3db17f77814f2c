"""What if: re-read the text with a gate or state held for chosen units and tokens, beside the original run."""

from __future__ import annotations

import streamlit as st

import rnnviz
from rnnviz import figures

from ..context import ViewContext
from ..widgets import how_to_read, literal, show

EXPERIMENTS = {
    "lstm": {"hold the forget gate at 1 (keep everything)": ("forget", 1.0),
             "hold the forget gate at 0 (forget everything)": ("forget", 0.0),
             "hold the input gate at 0 (write nothing)": ("input", 0.0),
             "silence the units (hidden state 0)": ("hidden", 0.0)},
    "gru": {"hold the update gate at 1 (keep the old state)": ("update", 1.0),
            "hold the update gate at 0 (take the candidate)": ("update", 0.0),
            "silence the units (hidden state 0)": ("hidden", 0.0)},
    "rnn": {"silence the units (hidden state 0)": ("hidden", 0.0)},
}


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    experiments = EXPERIMENTS[tr.cell]
    left, right = st.columns(2)
    experiment = left.selectbox("Experiment", list(experiments), key="what_if")
    every_unit = right.checkbox("All units of the layer", key="what_if_all",
                                help="Otherwise the units below (from the sidebar's unit list).")
    units = None if every_unit else st.multiselect("Units", ctx.units, default=ctx.units[:1], key="what_if_units")
    last = len(tr.tokens) - 1
    first_step, last_step = st.slider("Tokens held", 0, max(last, 1), (0, last), key="what_if_steps",
                                      disabled=last == 0) if last > 0 else (0, 0)
    if units == []:
        st.info("Choose at least one unit, or all units of the layer.")
        return
    quantity, value = experiments[experiment]
    clamp = rnnviz.Clamp(quantity, value, layer=ctx.layer, units=units, steps=range(first_step, last_step + 1))
    changed = rnnviz.trace(ctx.model, ctx.text, interventions=[clamp])
    positive = len(tr.labels) - 1
    before, after = float(tr.probs[-1, positive]), float(changed.probs[-1, positive])
    change = round(after - before, 3) or 0.0  # never "-0.000"
    st.markdown(f"Holding {literal(quantity.replace('_', ' '))} at {value:g} for "
                f"{'every unit' if units is None else 'unit(s) ' + ', '.join(map(str, units))} of {tr.layer_names[ctx.layer]} on "
                f"tokens {first_step}-{last_step}: p({literal(tr.labels[positive])}) at the end moves from "
                f"**{before:.3f}** to **{after:.3f}** ({change:+.3f}); the prediction is "
                f"**{literal(changed.prediction[0])}** (was {literal(tr.prediction[0])}).")
    slots = [(t, t) for t in ctx.window]
    show(figures.pair_predictions(tr, changed, slots, names=("original", "what if")), "what-if-predictions")
    shown_units = list(range(tr.hidden_size)) if units is None and tr.hidden_size <= 48 else (units or ctx.units)
    show(figures.pair_difference(tr, changed, slots, "hidden", ctx.layer, shown_units, names=("original", "what if")),
         "what-if-hidden")
    how_to_read("The line compares the prediction after each token in the original run and the changed one. The "
                "heatmap is the changed run's hidden state minus the original's, per unit and token: where the "
                "intervention reaches, and how far downstream it travels. The same in Python: "
                "rnnviz.trace(model, text, interventions=[rnnviz.Clamp(...)]).")
