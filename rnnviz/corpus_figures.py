"""Plotly figures of one unit across a corpus index: its value histogram and the words that switch it on."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .corpus import CorpusIndex
from .figures import QUANTITY_NAMES, safe_label


def unit_histogram(index: CorpusIndex, unit: int, layer: int, quantity: str, height: int = 260) -> go.Figure:
    """How often the unit takes each value over the corpus (log count axis: saturated units pile up at an end)."""
    edges, counts = index.histogram_of(unit, layer, quantity)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure(go.Bar(x=centres, y=counts, width=np.diff(edges), marker_color="#0072B2",
                              hovertemplate="%{x:.2f}: %{y:,} positions<extra></extra>"))
    figure.update_layout(
        height=height, margin=dict(l=60, r=10, t=30, b=50), bargap=0.05,
        title=dict(text=f"{QUANTITY_NAMES.get(quantity, quantity)}, unit {unit}: values at "
                        f"{index.n_tokens:,} positions", font=dict(size=14)),
        xaxis=dict(title="value"), yaxis=dict(title="positions", type="log", dtick="D2"))  # 1, 2, 5 per decade
    return figure


def top_words_bars(index: CorpusIndex, unit: int, layer: int, quantity: str, height: int = 260) -> go.Figure:
    """The words after which the unit is highest on average (NeuroX's top words), as horizontal bars."""
    words = index.top_words(unit, layer, quantity)
    labels = [safe_label(word) for word in words["word"]][::-1]
    figure = go.Figure(go.Bar(x=words["mean"][::-1], y=labels, orientation="h", marker_color="#E69F00",
                              customdata=words["count"][::-1],
                              hovertemplate="%{y}: mean %{x:.3f} over %{customdata:,} readings<extra></extra>"))
    figure.update_layout(height=max(height, 80 + 15 * len(labels)), margin=dict(l=110, r=10, t=30, b=40),
                         title=dict(text="words that switch it on (mean value after the word)", font=dict(size=14)),
                         xaxis=dict(title="mean value"),
                         yaxis=dict(automargin=True, type="category", dtick=1, tickfont=dict(size=12)))  # every word
    return figure
