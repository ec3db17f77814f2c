"""Plotly figure builders: pure functions from a trace (and options) to a ``plotly.graph_objects.Figure``.

Usable in a notebook as in the app. Conventions kept everywhere:
- one colour scale per kind of quantity, all colour-blind safe, with fixed ranges: gates and keep
  scores 0..1 (Viridis / Cividis), candidate and hidden state -1..1 (diverging RdBu), cell state,
  an LSTM's projection and a relu RNN's state symmetric around 0 at their largest magnitude;
- every piece of user text (tokens) is HTML-escaped before Plotly sees it, since Plotly renders a
  subset of HTML tags in labels and hover text;
- x positions are token indices, so repeated words stay distinct and zoom works.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .trace import Trace

GATE_SCALE = "Viridis"
KEEP_SCALE = "Cividis"
SIGNED_SCALE = "RdBu_r"
LABEL_CHARS = 14
TOKEN_FONT_PX = 12
UNIT_FONT_PX = 12
ROW_PX = 16
"""Heatmap pixels per unit row: every unit is labelled in a 12 px font without overlap."""

QUANTITY_NAMES = {
    "input": "input gate i", "forget": "forget gate f", "output": "output gate o", "candidate": "candidate",
    "reset": "reset gate r", "update": "update gate z", "cell_state": "cell state c", "hidden": "hidden state h",
    "projection": "projection r", "keep": "keep score",
}
QUANTITY_TITLES = {
    "input": "Input gate i (how much new content is written)",
    "forget": "Forget gate f (how much old memory is kept)",
    "output": "Output gate o (how much memory is shown)",
    "candidate": "Candidate (the new content proposed)",
    "reset": "Reset gate r (how much old state feeds the candidate)",
    "update": "Update gate z (PyTorch: z = 1 keeps the old state)",
    "cell_state": "Cell state c (the memory)",
    "hidden": "Hidden state h (what the next layer and the head see)",
    "projection": "Projection r = W_hr h (what this LSTM hands on; its own units)",
    "keep": "Keep score (share of the token's write still there at the end)",
}


NO_PARTNER_GREY = "#b0b0b0"
KEEP_FLOOR = 1e-3
"""Keep scores are coloured on a log scale from 0.001 to 1. They span orders of magnitude (a word 20 tokens
before the end typically keeps 0.001 to 0.03 of its write), so on a linear scale every word but the last
few looked equally dark, and which words the model held on to could not be seen."""


@dataclass(frozen=True)
class ColourScale:
    colorscale: str
    zmin: float
    zmax: float
    legend: str
    log: bool = False
    """If true, zmin and zmax are powers of ten and colours follow log10 of the values."""

    def colour_values(self, values: np.ndarray) -> np.ndarray:
        """What Plotly gets as z: the values themselves, or on a log scale their log10, clipped to the range."""
        if not self.log:
            return values
        return np.log10(np.clip(values, 10.0 ** self.zmin, 10.0 ** self.zmax))

    def colorbar(self, **extra) -> dict:
        """The legend: the scale's name and range, with ticks at the powers of ten on a log scale."""
        bar = dict(title=dict(text=self.legend, side="right"), thickness=12, **extra)
        if self.log:
            exponents = list(range(int(self.zmin), int(self.zmax) + 1))
            bar.update(tickvals=exponents, ticktext=[f"{10.0 ** e:g}" for e in exponents])
        return bar


def colour_scale(quantity: str, values: np.ndarray | None = None, unbounded: bool = False) -> ColourScale:
    """The fixed colour scale for a kind of quantity; values with no fixed range (the cell state, a projection, or
    ``unbounded`` ones such as a relu RNN's state) are symmetric at their largest |value|."""
    if quantity in ("input", "forget", "output", "reset", "update"):
        return ColourScale(GATE_SCALE, 0.0, 1.0, "gate 0..1")
    if quantity == "keep":
        return ColourScale(KEEP_SCALE, float(np.log10(KEEP_FLOOR)), 0.0, "kept, log scale", log=True)
    if quantity in ("cell_state", "projection") or unbounded:
        bound = float(np.max(np.abs(values))) if values is not None and values.size else 1.0
        bound = max(bound, 1e-6)
        return ColourScale(SIGNED_SCALE, -bound, bound, f"±{bound:.2g} (symmetric)")
    return ColourScale(SIGNED_SCALE, -1.0, 1.0, "-1..1")


def safe_label(token: str, limit: int = LABEL_CHARS) -> str:
    """A token as Plotly text: shortened, and escaped so no tag in it is ever rendered."""
    short = token if len(token) <= limit else token[: limit - 1] + "…"
    return html.escape(short, quote=True)


def token_ticks(positions: Sequence[int], labels: Sequence[str]) -> dict:
    """An x-axis labelled with (escaped) tokens at integer positions.

    Margins are fixed rather than measured (automargin): measuring a few hundred angled labels took
    Plotly seconds per chart in the browser (benchmarks/browser_timing.py).
    """
    return dict(tickmode="array", tickvals=list(positions), ticktext=[safe_label(t) for t in labels],
                tickangle=-90, automargin=False, tickfont=dict(size=TOKEN_FONT_PX, color="#222"))


def _token_axis(tr: Trace, start: int, stop: int) -> dict:
    """Token ticks for positions start..stop-1 of a trace, unknown tokens with a trailing '?'."""
    positions = range(start, stop)
    labels = [tr.tokens[t] + ("?" if tr.unknown[t] else "") for t in positions]
    return {**token_ticks(positions, labels), "range": [start - 0.5, stop - 0.5]}


def _hover_tokens(tr: Trace, start: int, stop: int) -> list[str]:
    """Hover names for positions start..stop-1: the escaped token and its position, e.g. "bad (position 4)".

    Positions go into the hover text itself: on an axis labelled with words, Plotly's %{x} shows the word.
    """
    return [f"{safe_label(tr.tokens[t], 40)} (position {t})" for t in range(start, stop)]


@dataclass(frozen=True)
class _HeatmapPanel:
    """One heatmap's trace, axes and title as plain dicts, so several can share a figure cheaply."""

    trace: dict
    xaxis: dict
    yaxis: dict
    title: str


def _heatmap_panel(tr: Trace, quantity: str, layer: int, units: Sequence[int] | None, start: int,
                   stop: int | None) -> _HeatmapPanel:
    stop = len(tr.tokens) if stop is None else min(stop, len(tr.tokens))
    units = list(range(tr.hidden_size)) if units is None else list(units)
    if quantity == "projection":  # its own units, unrelated to the cell's: as many, those that move most
        full = tr.projection[layer]
        units = np.argsort(-full.var(axis=0), kind="stable")[: len(units)].tolist()
    else:
        full = tr.keep_matrix(layer) if quantity == "keep" else tr.quantities()[quantity][layer]
    scale = colour_scale(quantity, full, unbounded=quantity == "hidden" and tr.nonlinearity == "relu")
    where = _hover_tokens(tr, start, stop)
    values = full[start:stop][:, units].T
    trace = dict(
        type="heatmap", z=scale.colour_values(values), x=list(range(start, stop)), y=[str(u) for u in units],
        customdata=np.array([where] * len(units), dtype=object),
        colorscale=scale.colorscale, zmin=scale.zmin, zmax=scale.zmax, colorbar=scale.colorbar(),
        hovertemplate="token %{customdata}<br>unit %{y}<br>value "
                      + ("%{text}" if scale.log else "%{z:.3f}") + "<extra></extra>",
    )
    if scale.log:  # z holds log10 values; the hover shows the real ones
        trace["text"] = np.char.mod("%.3g", values.astype(np.float64))
    return _HeatmapPanel(
        trace=trace,
        xaxis=_token_axis(tr, start, stop),
        yaxis=dict(title=dict(text="unit"), type="category", autorange="reversed", automargin=False, dtick=1,
                   tickfont=dict(size=UNIT_FONT_PX, color="#222")),
        title=_panel_title(tr, quantity) + (f" · {tr.layer_names[layer % tr.num_layers]}" if tr.num_layers > 1 else ""),
    )


def _panel_title(tr: Trace, quantity: str) -> str:
    if quantity == "hidden" and tr.projection is not None:
        return "Hidden state h = o ⊙ tanh(c) (projected to r before anything reads it)"
    return QUANTITY_TITLES.get(quantity, quantity)


def heatmap(tr: Trace, quantity: str, layer: int = -1, units: Sequence[int] | None = None,
            start: int = 0, stop: int | None = None, height: int | None = None) -> go.Figure:
    """Units x tokens heatmap of one gate or state (``quantity`` in ``heatmap_panels(tr)``)."""
    panel = _heatmap_panel(tr, quantity, layer, units, start, stop)
    return go.Figure(dict(data=[panel.trace], layout=dict(
        title=dict(text=panel.title, font=dict(size=15)), xaxis=panel.xaxis, yaxis=panel.yaxis,
        height=height or max(260, min(900, 120 + 14 * len(panel.trace["y"]))),
        margin=dict(l=60, r=10, t=40, b=90),
    )))


def heatmap_panels(tr: Trace) -> list[str]:
    """The panels ``gate_heatmaps`` can draw for a trace, in order: its gates and states, the projection (an LSTM
    with proj_size: as many of its own units as the others show, those that vary most), then "keep"."""
    return [*tr.quantities(), *(["projection"] if tr.projection is not None else []), "keep"]


def gate_heatmaps(tr: Trace, layer: int = -1, units: Sequence[int] | None = None, start: int = 0,
                  stop: int | None = None, row_height: int | None = None,
                  panels: Sequence[str] | None = None) -> go.Figure:
    """Every gate and state of one layer and the keep score (or the chosen ``panels``) stacked on one token axis.

    One figure rather than one per quantity: zooming one panel zooms all, and the columns line up.
    Each panel is its title, then the words (so every panel reads on its own on a projector), then
    one labelled row per unit. Built from plain dicts and validated once, since Plotly's per-update
    validation cost more than the data.
    """
    chosen = heatmap_panels(tr) if panels is None else [name for name in panels if name in heatmap_panels(tr)]
    if not chosen:
        raise ValueError(f"no panel to draw: choose among {', '.join(heatmap_panels(tr))}")
    drawn = [_heatmap_panel(tr, quantity, layer, units, start, stop) for quantity in chosen]
    cells = row_height or max(120, ROW_PX * len(drawn[0].trace["y"]))
    title_room, labels_room, bottom = 40, 84, 20  # pixels: each panel's title (with air above it) and its token labels, below the last
    block = title_room + labels_room + cells
    plot_height = len(drawn) * block - title_room - labels_room
    data, layout, titles = [], {}, []
    for index, panel in enumerate(drawn):
        suffix = "" if index == 0 else str(index + 1)
        top = 1 - index * block / plot_height
        domain = [max(0.0, top - cells / plot_height), top]
        data.append({**panel.trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                     "colorbar": {**panel.trace["colorbar"], "y": sum(domain) / 2, "len": cells / plot_height,
                                  "yanchor": "middle"}})
        layout[f"xaxis{suffix}"] = {**panel.xaxis, "side": "top", "anchor": f"y{suffix}",
                                    **({} if index == 0 else {"matches": "x"})}
        layout[f"yaxis{suffix}"] = {**panel.yaxis, "domain": domain, "anchor": f"x{suffix}"}
        titles.append(dict(text=panel.title, x=0, y=top + labels_room / plot_height, xref="paper", yref="paper",
                           xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=15, color="#222")))
    top_margin = title_room + labels_room
    layout.update(annotations=titles, height=top_margin + plot_height + bottom,
                  margin=dict(l=60, r=10, t=top_margin, b=bottom))
    return go.Figure(dict(data=data, layout=layout))


def _keep_strip(keeps: Sequence[np.ndarray], positions: Sequence[int], tokens: Sequence[str], names: Sequence[str] | None = None, colorbar: dict | None = None) -> go.Heatmap:
    """Rows of per-token keep scores on the log keep scale; the words are on the token axis.

    One row per entry of ``keeps`` (named by ``names``, which the hover then shows); the hover gives
    each token's exact keep score, since the colours follow its log.
    """
    scale = colour_scale("keep")
    return go.Heatmap(
        z=[scale.colour_values(keep) for keep in keeps], x=list(positions), y=list(names) if names else [0],
        customdata=[[[token, f"{value:.3g}"] for token, value in zip(tokens, keep)] for keep in keeps],
        colorscale=scale.colorscale, zmin=scale.zmin, zmax=scale.zmax, colorbar=scale.colorbar(**(colorbar or {})),
        hovertemplate=("%{y}<br>" if names else "")
                      + "token %{customdata[0]}<br>keep %{customdata[1]}<extra></extra>",
    )


def reading_strip(tr: Trace, start: int = 0, stop: int | None = None) -> go.Figure:
    """Tokens coloured by keep score (top), and the prediction after each token (bottom), aligned."""
    stop = len(tr.tokens) if stop is None else min(stop, len(tr.tokens))
    positions = list(range(start, stop))
    positive = len(tr.labels) - 1
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.35, 0.65], vertical_spacing=0.04)
    tokens = _hover_tokens(tr, start, stop)
    figure.add_trace(_keep_strip([tr.keep[start:stop]], positions, tokens, colorbar=dict(len=0.35, y=0.85)),
                     row=1, col=1)
    figure.add_trace(go.Scatter(
        x=positions, y=tr.probs[start:stop, positive], mode="lines+markers", name=f"p({html.escape(tr.labels[positive])})",
        customdata=tokens, line=dict(color="#1f77b4"),
        hovertemplate=f"after %{{customdata}}<br>p({html.escape(tr.labels[positive])}) "
                      "%{y:.3f}<extra></extra>",
    ), row=2, col=1)
    figure.add_hline(y=0.5, line=dict(color="grey", dash="dot"), row=2, col=1)
    unknown = [t for t in positions if tr.unknown[t]]
    if unknown:
        figure.add_trace(go.Scatter(
            x=unknown, y=[tr.probs[t, positive] for t in unknown], mode="markers", name="unknown word",
            marker=dict(symbol="x", size=9, color="#d62728"), hoverinfo="skip",
        ), row=2, col=1)
    figure.update_yaxes(visible=False, row=1, col=1)
    figure.update_yaxes(title=f"p({html.escape(tr.labels[positive])})", range=[-0.02, 1.02], row=2, col=1)
    figure.update_xaxes(_token_axis(tr, start, stop), row=2, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_layout(height=360, margin=dict(l=60, r=10, t=10, b=90), showlegend=bool(unknown),
                         legend=dict(orientation="h", y=-0.45))
    return figure


def prediction_line(tr: Trace, height: int = 220) -> go.Figure:
    """The prediction after each token of the whole text, one point per token; hover names the token.

    Drawn under the running text of the reading view: no token labels on the axis (a whole review has
    hundreds), positions instead, and unknown words marked with a red x.
    """
    positive = len(tr.labels) - 1
    label = html.escape(tr.labels[positive])
    positions = np.arange(len(tr.tokens))
    tokens = _hover_tokens(tr, 0, len(tr.tokens))
    figure = go.Figure(go.Scatter(
        x=positions, y=tr.probs[:, positive], mode="lines+markers" if len(positions) <= 120 else "lines",
        name=f"p({label})", customdata=tokens, line=dict(color="#1f77b4", width=2),
        hovertemplate=f"after %{{customdata}}<br>p({label}) = %{{y:.3f}}<extra></extra>",
    ))
    unknown = np.flatnonzero(tr.unknown)
    if unknown.size:
        figure.add_trace(go.Scatter(x=unknown, y=tr.probs[unknown, positive], mode="markers", name="unknown word",
                                    marker=dict(symbol="x", size=8, color="#d62728"), hoverinfo="skip"))
    figure.add_hline(y=0.5, line=dict(color="grey", dash="dot"))
    figure.update_layout(
        height=height, margin=dict(l=60, r=10, t=10, b=40), showlegend=bool(unknown.size),
        legend=dict(orientation="h", y=1.1, x=1, xanchor="right"),
        xaxis=dict(title=dict(text="token position", font=dict(size=TOKEN_FONT_PX)), range=[-0.5, len(positions) - 0.5]),
        yaxis=dict(title=dict(text=f"p({label})", font=dict(size=TOKEN_FONT_PX)), range=[-0.02, 1.02]),
    )
    return figure


def step_bars(values: dict[str, float], gates: set[str], title: str) -> go.Figure:
    """A small bar chart of one unit's gates (purple, 0..1) and signed states (red above 0, blue below) at one step."""
    names = list(values)
    colours = ["#440154" if n in gates else "#b2182b" if values[n] >= 0 else "#2166ac" for n in names]
    figure = go.Figure(go.Bar(x=names, y=[values[n] for n in names], marker_color=colours,
                              text=[f"{values[n]:.2f}" for n in names], textposition="outside",
                              hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    low = min(-1.0, min(values.values()) * 1.15)
    high = max(1.0, max(values.values()) * 1.15)
    figure.update_layout(title=dict(text=html.escape(title), font=dict(size=14)), height=300,
                         yaxis=dict(range=[low, high], zeroline=True), margin=dict(l=40, r=10, t=40, b=40))
    return figure


def saturation_scatter(table, cell: str) -> go.Figure:
    """Karpathy et al. (2015): fraction of steps right-saturated (> 0.9) against left-saturated (< 0.1)."""
    figure = go.Figure()
    colours = {"input": "#0072B2", "forget": "#E69F00", "output": "#009E73", "reset": "#0072B2", "update": "#E69F00"}
    symbols = {"input": "circle", "forget": "diamond", "output": "x", "reset": "circle", "update": "diamond"}
    for gate, rows in table.groupby("gate", sort=False):
        figure.add_trace(go.Scatter(
            x=rows["low"], y=rows["high"], mode="markers", name=f"{gate} gate",
            customdata=rows["unit"], marker=dict(color=colours.get(gate), symbol=symbols.get(gate), size=9,
                                                 opacity=0.75),
            hovertemplate=f"{gate} gate, unit %{{customdata}}<br>below 0.1: %{{x:.0%}} of steps"
                          "<br>above 0.9: %{y:.0%} of steps<extra></extra>",
        ))
    figure.add_shape(type="line", x0=0, y0=1, x1=1, y1=0, line=dict(color="grey", dash="dot"))
    figure.update_layout(
        xaxis=dict(title="fraction of steps left-saturated (< 0.1)", range=[-0.03, 1.03]),
        yaxis=dict(title="fraction of steps right-saturated (> 0.9)", range=[-0.03, 1.03]),
        height=480, margin=dict(l=60, r=10, t=30, b=60), legend=dict(orientation="h", y=1.08),
        dragmode="select",
    )
    return figure


def slot_labels(first: Trace, second: Trace, slots: Sequence[tuple[int | None, int | None]]) -> list[str]:
    """Labels for aligned positions: the shared token, "a→b" where they differ, "+b" / "−a" where one is missing."""
    labels = []
    for i, j in slots:
        a = first.tokens[i] if i is not None else None
        b = second.tokens[j] if j is not None else None
        labels.append(a if a == b else f"{a}→{b}" if a and b else f"+{b}" if b else f"−{a}")
    return labels


def _slot_values(tr: Trace, index: Sequence[int | None], values: np.ndarray) -> np.ndarray:
    """values[t] at each slot's position in ``tr``, NaN where the slot has no token there."""
    out = np.full((len(index), *values.shape[1:]), np.nan, dtype=np.float64)
    for k, t in enumerate(index):
        if t is not None:
            out[k] = values[t]
    return out


def pair_predictions(first: Trace, second: Trace, slots: Sequence[tuple[int | None, int | None]],
                     names: Sequence[str] = ("text A", "text B")) -> go.Figure:
    """p(positive) after each token of two texts, on their aligned positions."""
    labels = slot_labels(first, second, slots)
    figure = go.Figure()
    for tr, index, name, colour in ((first, [s[0] for s in slots], names[0], "#0072B2"),
                                    (second, [s[1] for s in slots], names[1], "#D55E00")):
        positive = len(tr.labels) - 1
        figure.add_trace(go.Scatter(x=list(range(len(slots))), y=_slot_values(tr, index, tr.probs[:, positive]),
                                    mode="lines+markers", name=html.escape(name), connectgaps=True,
                                    line=dict(color=colour),
                                    hovertemplate="%{y:.3f}<extra>" + html.escape(name) + "</extra>"))
    figure.add_hline(y=0.5, line=dict(color="grey", dash="dot"))
    figure.update_layout(
        xaxis=token_ticks(range(len(slots)), labels),
        yaxis=dict(title="p(positive)", range=[-0.02, 1.02]), height=320, margin=dict(l=60, r=10, t=20, b=90),
        legend=dict(orientation="h", y=1.12),
    )
    return figure


def pair_difference(first: Trace, second: Trace, slots: Sequence[tuple[int | None, int | None]], quantity: str,
                    layer: int = -1, units: Sequence[int] | None = None,
                    names: Sequence[str] = ("text A", "text B")) -> go.Figure:
    """Heatmap of (second - first) for one quantity on aligned positions; blank where a token is unmatched.
    ``names`` name the two runs in the title and the colour bar."""
    units = list(range(first.hidden_size)) if units is None else list(units)
    a = _slot_values(first, [s[0] for s in slots], first.quantities()[quantity][layer][:, units])
    b = _slot_values(second, [s[1] for s in slots], second.quantities()[quantity][layer][:, units])
    difference = (b - a).T
    bound = float(np.nanmax(np.abs(difference))) if np.isfinite(difference).any() else 1.0
    bound = max(bound, 1e-6)
    labels = slot_labels(first, second, slots)
    figure = go.Figure(go.Heatmap(
        z=difference, x=list(range(len(slots))), y=[str(u) for u in units],
        colorscale=SIGNED_SCALE, zmin=-bound, zmax=bound,
        colorbar=dict(title=dict(text=f"difference, ±{bound:.2g}", side="right"), thickness=12),
        customdata=np.array([[safe_label(t, 40) for t in labels] for _ in units], dtype=object),
        hovertemplate="%{customdata}<br>unit %{y}<br>" + html.escape(f"{names[1]} − {names[0]}")
                      + " = %{z:.3f}<extra></extra>",
    ))
    figure.update_layout(
        title=dict(text=html.escape(f"{QUANTITY_TITLES.get(quantity, quantity)}: {names[1]} minus {names[0]}"),
                   font=dict(size=15)),
        xaxis=token_ticks(range(len(slots)), labels),
        yaxis=dict(title="unit", type="category", autorange="reversed", automargin=False, dtick=1,
                   tickfont=dict(size=UNIT_FONT_PX, color="#222")),
        height=max(260, min(900, 120 + 14 * len(units))), margin=dict(l=60, r=10, t=40, b=90),
        plot_bgcolor=NO_PARTNER_GREY,  # shows through the NaN cells: a token with no partner, unlike a zero difference
    )
    return figure


def lstm_gru_comparison(lstm: Trace, gru: Trace, start: int = 0, stop: int | None = None,
                        layer: int = -1) -> go.Figure:
    """The same text through an LSTM and a GRU, on one token axis so every column is the same token.

    Three rows: both keep-score strips; both predictions after each token; and the gate that keeps old
    memory, averaged over units: LSTM forget f against GRU update z. Both gates read "share of the old
    memory carried over", so high means remembering in both (PyTorch's GRU convention). Assumes both
    traces read the same tokens.
    """
    stop = len(lstm.tokens) if stop is None else min(stop, len(lstm.tokens))
    positions = list(range(start, stop))
    tokens = _hover_tokens(lstm, start, stop)
    names = [html.escape(tr.model_name or cell) for tr, cell in ((lstm, "LSTM"), (gru, "GRU"))]
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.2, 0.4, 0.4], vertical_spacing=0.07,
                           subplot_titles=["Keep score (log scale)", "Prediction after each token",
                                           "Keep gate, mean over units (1 = keep all old memory)"])
    figure.add_trace(_keep_strip([tr.keep[start:stop] for tr in (lstm, gru)], positions, tokens, names=names,
                                 colorbar=dict(len=0.2, y=0.9)), row=1, col=1)
    for tr, name, gate, gate_name, colour in ((lstm, names[0], "forget", "LSTM forget gate f", "#0072B2"),
                                              (gru, names[1], "update", "GRU update gate z", "#D55E00")):
        positive = len(tr.labels) - 1
        figure.add_trace(go.Scatter(
            x=positions, y=tr.probs[start:stop, positive], mode="lines+markers", name=f"{name}: p({html.escape(tr.labels[positive])})",
            line=dict(color=colour), customdata=tokens, legendgroup=name,
            hovertemplate=f"{name}<br>after %{{customdata}}: %{{y:.3f}}<extra></extra>",
        ), row=2, col=1)
        figure.add_trace(go.Scatter(
            x=positions, y=tr.gates[gate][layer][start:stop].mean(axis=1), mode="lines+markers", name=gate_name,
            line=dict(color=colour, dash="dot"), customdata=tokens, legendgroup=name,
            hovertemplate=f"{gate_name}<br>%{{customdata}}: mean %{{y:.3f}}<extra></extra>",
        ), row=3, col=1)
    figure.add_hline(y=0.5, line=dict(color="grey", dash="dot"), row=2, col=1)
    figure.update_yaxes(autorange="reversed", row=1, col=1)
    figure.update_yaxes(title="p(positive)", range=[-0.02, 1.02], row=2, col=1)
    figure.update_yaxes(title="mean gate", range=[-0.02, 1.02], row=3, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_xaxes(showticklabels=False, row=2, col=1)
    figure.update_xaxes(_token_axis(lstm, start, stop), row=3, col=1)
    figure.update_layout(height=720, margin=dict(l=60, r=10, t=40, b=90), legend=dict(orientation="h", y=-0.18))
    return figure


def to_html(figure_list: Sequence[go.Figure], title: str = "rnnviz charts", about: Sequence[str] = ()) -> bytes:
    """One self-contained HTML page with the figures (plotly.js embedded once, so it works offline).

    ``about`` lines (model, text, prediction) head the page as escaped paragraphs.
    """
    parts = [figure.to_html(full_html=False, include_plotlyjs=(k == 0)) for k, figure in enumerate(figure_list)]
    heading = "".join(f"<p>{html.escape(line)}</p>" for line in about)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{heading}{''.join(parts)}</body></html>")
    return page.encode("utf-8")
