"""Saturation: Karpathy et al.'s plot of how often each unit's gates are nearly shut or nearly open."""

from __future__ import annotations

import streamlit as st

from rnnviz import analysis, figures

from ..context import ViewContext
from ..widgets import how_to_read, open_in_explorer, show


def open_selected_units() -> None:
    """A selection in the plot opens those units in the heatmaps (and in the share link)."""
    selection = st.session_state.get("saturation_chart")
    points = selection.selection.points if selection else []
    units = sorted({int(p["customdata"]) for p in points if p.get("customdata") is not None})
    if units:
        st.session_state["rank"] = "typed list"
        # Also written to the URL directly: the units box is not on the page yet (the ranking was not "typed
        # list"), and Streamlit only mirrors a bound widget's value into the URL once the widget exists.
        st.session_state["units"] = st.query_params["units"] = analysis.format_units(units)
        st.session_state["view"] = "Gate heatmaps"


def render(ctx: ViewContext) -> None:
    if not ctx.trace.gates:
        st.info("A plain RNN has no gates to saturate: every step rewrites its whole state through tanh.")
        return
    steps = len(ctx.trace.tokens)
    how_to_read(f"Karpathy et al. (2015), over the {steps} tokens of this one text: each mark is one unit's gate. "
                "Far right: almost always closed (< 0.1); top: almost always open (> 0.9). Select marks (click, "
                "box or lasso) to open those units in the heatmaps.")
    if steps < 50:
        st.caption(f"With {steps} tokens every fraction is a multiple of 1/{steps}, so marks pile onto a grid; "
                   "a longer text (a whole review) spreads them out.")
    show(figures.saturation_scatter(analysis.saturation(ctx.trace, ctx.layer), ctx.trace.cell),
         f"saturation-layer{ctx.layer}", key="saturation_chart", on_select=open_selected_units,
         selection_mode=("points", "box", "lasso"))
    open_in_explorer(ctx.model, ctx.units, "saturation_explorer")
