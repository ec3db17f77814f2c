"""Gate heatmaps: units x tokens for the chosen gates and states of one layer, on one shared token axis."""

from __future__ import annotations

import streamlit as st

from rnnviz import figures

from ..context import ViewContext
from ..widgets import how_to_read, open_in_explorer, show

DEFAULT_PANELS = {"lstm": ["forget", "input"], "gru": ["update", "reset"], "rnn": ["hidden"]}
"""The gates that decide what is kept: two panels fit a projector; the others are one click away. A plain RNN
has no gates: its hidden state."""


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    available = figures.heatmap_panels(tr)
    panels = st.multiselect("Panels", available, default=DEFAULT_PANELS[tr.cell], key=f"panels_{tr.cell}",
                            bind="query-params", format_func=figures.QUANTITY_NAMES.get,
                            help="Add the other gates and states (candidate, cell and hidden state, keep score).")
    if not panels:
        st.info("Choose at least one panel to draw.")
        return
    show(figures.gate_heatmaps(tr, ctx.layer, ctx.units, ctx.window.start, ctx.window.stop, panels=panels),
         f"gates-layer{ctx.layer}")
    how_to_read("Rows are units, columns are tokens; hover for exact values, drag to zoom all panels at once. "
                "Gates run 0 (closed) to 1 (open); states are blue below 0 and red above. "
                "For GRU, z = 1 keeps the old state (PyTorch's convention).")
    open_in_explorer(ctx.model, ctx.units, "heatmaps_explorer")
