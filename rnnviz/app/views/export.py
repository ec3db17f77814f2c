"""Export: every number on screen as CSV, JSON and HTML, and the Python that reproduces it."""

from __future__ import annotations

import streamlit as st

from rnnviz import export, figures

from ..context import ViewContext
from ..scores import ATTRIBUTION_METHODS, attribution
from ..widgets import how_to_read

SNIPPET_TEXT_CHARS = 300
"""Texts up to this long are written into the snippet; longer ones are read from a file."""


def snippet(ctx: ViewContext) -> str:
    """Python that recomputes this page's trace."""
    text = (repr(ctx.text) if len(ctx.text) <= SNIPPET_TEXT_CHARS
            else 'open("review.txt", encoding="utf-8").read()  # the text you traced')
    return (f"import rnnviz\n{ctx.load_code}\ntext = {text}\ntr = rnnviz.trace(model, text)\n"
            "tr.to_frame()  # the same numbers, one row per step, layer, unit and quantity")


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    how_to_read("Every number on screen, for scripts and notebooks. The long CSV has one row per step, layer, unit "
                "and quantity; the JSON holds the same arrays. Each chart's camera icon saves it as PNG.")
    stem = f"rnnviz-{tr.model_name or 'model'}"
    label, confidence = tr.prediction
    about = [f"Model: {tr.model_name or 'uploaded'} ({tr.cell.upper()}, {tr.layer_names[ctx.layer]})",
             f"Prediction: {label} ({confidence:.1%})", f"Text: {tr.text}"]
    st.download_button("Trace as CSV (long table)", lambda: export.trace_csv(tr), f"{stem}-trace.csv", "text/csv")
    st.download_button(
        "Per-token CSV (keep scores, every attribution, prediction)",
        lambda: export.scores_csv(tr, {method: attribution(ctx, method) for method in ATTRIBUTION_METHODS.values()}),
        f"{stem}-tokens.csv", "text/csv", help="Computing occlusion and integrated gradients takes a few seconds.")
    st.download_button("Trace as JSON", lambda: export.trace_json(tr), f"{stem}-trace.json", "application/json")
    st.download_button(
        "Charts as HTML (prediction line and heatmaps of the tokens shown)",
        lambda: figures.to_html([figures.prediction_line(tr), figures.gate_heatmaps(
            tr, ctx.layer, ctx.units, ctx.window.start, ctx.window.stop)], title=f"rnnviz: {stem}", about=about),
        f"{stem}-charts.html", "text/html")
    st.code(snippet(ctx), language="python")
