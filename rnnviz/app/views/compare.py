"""LSTM vs GRU: the same text through a shipped LSTM and a shipped GRU, on one token axis."""

from __future__ import annotations

import streamlit as st

from rnnviz import figures

from ..context import ViewContext
from ..widgets import how_to_read, literal, prediction_metric, show


def _partner(ctx: ViewContext, cell: str) -> str | None:
    """The shipped model of ``cell`` trained on the same data as the current one (lstm-imdb <-> gru-imdb)."""
    name = ctx.trace.model_name
    candidate = f"{cell}-{name.split('-', 1)[-1]}" if ctx.shipped and "-" in name else None
    return candidate if candidate in ctx.shipped_names else None


def render(ctx: ViewContext) -> None:
    how_to_read("The same text through an LSTM and a GRU. Both 'keep' gates mean 'carry old memory over' "
                "(LSTM forget f, GRU update z with PyTorch's convention), so high lines mean remembering in both.")
    by_cell = {cell: [n for n in ctx.shipped_names if ctx.load_shipped(n).cell == cell] for cell in ("lstm", "gru")}
    if not by_cell["lstm"] or not by_cell["gru"]:
        st.info("This view needs one shipped LSTM and one shipped GRU that load.")
        return
    if not ctx.shipped:
        st.info("This view compares two shipped models on your text; your uploaded model is not one of them. "
                "Its own gates are in the other views.")
    left, right = st.columns(2)
    chosen = {}
    for column, cell in ((left, "lstm"), (right, "gru")):
        options = by_cell[cell]
        own = ctx.trace.model_name if ctx.shipped and ctx.model.cell == cell else _partner(ctx, cell)
        chosen[cell] = column.selectbox(cell.upper(), options, index=options.index(own) if own in options else 0,
                                        key=f"compare_{cell}")
    lstm_trace, gru_trace = (ctx.trace_shipped(chosen[cell], ctx.text) for cell in ("lstm", "gru"))
    if lstm_trace.tokens != gru_trace.tokens:
        st.warning("The two models split this text differently, so tokens are not aligned one to one.")
        return
    for column, other in ((left, lstm_trace), (right, gru_trace)):
        prediction_metric(column, other.model_name, *other.prediction)
    st.caption(f"Blue: {literal(lstm_trace.model_name)} (LSTM); orange: {literal(gru_trace.model_name)} (GRU). "
               "Solid lines: p(positive) after each token; dotted: the mean keep gate.")  # the key, before the chart
    show(figures.lstm_gru_comparison(lstm_trace, gru_trace, ctx.window.start, ctx.window.stop), "lstm-vs-gru")
