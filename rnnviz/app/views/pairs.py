"""Minimal pairs: two texts that differ in a word or two, their predictions and what the change moved inside."""

from __future__ import annotations

import streamlit as st

from rnnviz import analysis, figures
from rnnviz.examples import MINIMAL_PAIRS

from ..context import ViewContext
from ..widgets import how_to_read, literal, prediction_metric, show

CUSTOM = "(your own pair)"


def _matching_preset() -> str:
    texts = (st.session_state.get("pair_a"), st.session_state.get("pair_b"))
    return next((name for name, pair in MINIMAL_PAIRS.items() if pair == texts), CUSTOM)


def _load_preset() -> None:
    name = st.session_state["pair_preset"]
    if name in MINIMAL_PAIRS:
        st.session_state["pair_a"], st.session_state["pair_b"] = MINIMAL_PAIRS[name]


def render(ctx: ViewContext) -> None:
    how_to_read("Two texts that differ in a word or two. The line shows both predictions on aligned tokens; the "
                "heatmap shows text B minus text A for one quantity, the units the change moved most on top "
                "(grey where a token has no partner in the other text).")
    first_preset = next(iter(MINIMAL_PAIRS))
    st.session_state.setdefault("pair_a", MINIMAL_PAIRS[first_preset][0])
    st.session_state.setdefault("pair_b", MINIMAL_PAIRS[first_preset][1])
    left, right = st.columns(2)
    first_text = left.text_input("Text A", key="pair_a", max_chars=1000, bind="query-params")
    second_text = right.text_input("Text B", key="pair_b", max_chars=1000, bind="query-params")
    st.session_state["pair_preset"] = _matching_preset()
    st.selectbox("Pair", [CUSTOM, *MINIMAL_PAIRS], key="pair_preset", on_change=_load_preset,
                 help="Curated pairs; typing in either box makes your own.")
    try:
        first, second = ctx.trace_text(first_text), ctx.trace_text(second_text)
    except ValueError as error:
        st.info(f"Both texts need words. {literal(str(error)).capitalize()}.")
        return
    for column, name, pair_trace in ((left, "A", first), (right, "B", second)):
        prediction_metric(column, f"Text {name}", *pair_trace.prediction)
    positive = len(first.labels) - 1
    change = float(second.probs[-1, positive] - first.probs[-1, positive])
    st.markdown(f"p({literal(first.labels[positive])}) moves by **{change:+.3f}** from A to B.")
    slots = analysis.align_tokens(first.tokens, second.tokens)
    show(figures.pair_predictions(first, second, slots), "pair-predictions")
    names = list(first.quantities())
    quantity = st.selectbox("Quantity", names, index=len(names) - 1, key="pair_quantity",
                            format_func=figures.QUANTITY_NAMES.get)
    moved = analysis.units_moved_by_pair(first, second, slots, quantity, ctx.layer)[: len(ctx.units)]
    show(figures.pair_difference(first, second, slots, quantity, ctx.layer, moved.tolist()), f"pair-{quantity}")
