"""Plotly figures for the lessons: one unit against the quantity it tracks, the memory of the first word across
models, and the one-unit playground cell step by step. Pure functions, like ``rnnviz.figures``, and sized for a
1024x768 projector (large fonts, few lines, every line named in its legend)."""

from __future__ import annotations

import html
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import QUANTITY_NAMES, safe_label, token_ticks
from .toys.probe import FirstWordMemory, TrackingUnit
from .trace import Trace

FONT = dict(size=15)
COLOURS = {"state": "#0072B2", "truth": "#D55E00", "input": "#009E73", "forget": "#E69F00", "output": "#CC79A7",
           "reset": "#009E73", "update": "#E69F00", "lstm": "#0072B2", "gru": "#E69F00", "rnn": "#D55E00",
           "c": "#0072B2", "h": "#D55E00", "x": "#999999"}
"""Okabe-Ito colours: told apart with any colour vision, and on a washed-out projector."""
DASHES = {"input": "solid", "forget": "dash", "output": "dot", "reset": "solid", "update": "dash",
          "rnn": "dash", "lstm": "solid", "gru": "dot"}
"""Gates (and models) often sit on the same value: a dash pattern each keeps every line in sight."""
SENSITIVITY_FLOOR = 1e-30
"""Sensitivities below this (exact zeros included: a saturated tanh) are drawn at it, on the log axis."""
CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "plain RNN"}


def _token_axis(tokens: Sequence[str]) -> dict:
    """Token labels for short sequences; positions every few steps for long ones."""
    if len(tokens) <= 60:
        return {**token_ticks(range(len(tokens)), tokens), "tickangle": 0, "tickfont": dict(size=16, color="#222")}
    return dict(title=dict(text="token position", font=FONT), tickfont=FONT)


def _aligned_range(state: np.ndarray, truth: np.ndarray, sign: float) -> tuple[list[float], list[float]]:
    """Ranges for the state's axis and the true value's axis such that state = a * truth + b (least squares
    over the points shown) draws both on the same line: where the unit counts, the two lines coincide.
    A negative a flips the true value's axis (the unit is a mirror image of the count); so does a negative
    ``sign`` (the unit's r) when the true value is constant here and no line can be fitted."""
    low, high = float(state.min()), float(state.max())
    pad = max(0.08 * (high - low), 0.05)
    primary = [low - pad, high + pad]
    if np.ptp(truth) == 0 or np.ptp(state) == 0:
        middle, half = float(truth.mean()), 1.5 if sign >= 0 else -1.5
        return primary, [middle - half, middle + half]
    a, b = np.polyfit(truth, state, 1)
    return primary, [(primary[0] - b) / a, (primary[1] - b) / a]


def tracking_figure(tr: Trace, truth: np.ndarray, unit: TrackingUnit, tracked: str) -> go.Figure:
    """Top: one unit's state (left axis) and the true quantity it tracks (right axis, scaled by the best linear
    fit so the two coincide where the unit does its job) after each token. Bottom: that unit's gates at each
    token (none for a plain RNN)."""
    state = (tr.cell_state if unit.quantity == "cell_state" else tr.hidden)[-1, :, unit.unit]
    gates = {name: values[-1, :, unit.unit] for name, values in tr.gates.items() if name != "candidate"}
    rows = 2 if gates else 1
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4][:rows],
                           specs=[[{"secondary_y": True}]] + [[{}]] * (rows - 1))
    positions = np.arange(len(tr.tokens))
    hover = [f"{safe_label(token, 20)} (position {t})" for t, token in enumerate(tr.tokens)]
    name = f"{QUANTITY_NAMES[unit.quantity]}, unit {unit.unit}"
    markers = len(positions) <= 60
    figure.add_trace(go.Scatter(x=positions, y=truth, name="true value", customdata=hover,
                                mode="lines+markers" if markers else "lines", marker=dict(size=7),
                                line=dict(color=COLOURS["truth"], width=3, dash="dash"),
                                hovertemplate=f"after %{{customdata}}<br>{html.escape(tracked)} = %{{y:g}}<extra></extra>"),
                     row=1, col=1, secondary_y=True)
    figure.add_trace(go.Scatter(x=positions, y=state, name=name, mode="lines+markers" if markers else "lines",
                                customdata=hover, line=dict(color=COLOURS["state"], width=4), marker=dict(size=8),
                                hovertemplate=f"after %{{customdata}}<br>{name} = %{{y:.3f}}<extra></extra>"),
                     row=1, col=1, secondary_y=False)
    for gate, values in gates.items():
        figure.add_trace(go.Scatter(x=positions, y=values, name=QUANTITY_NAMES[gate], customdata=hover,
                                    mode="lines+markers" if markers else "lines",
                                    line=dict(color=COLOURS[gate], width=3, dash=DASHES[gate]),
                                    hovertemplate=f"at %{{customdata}}<br>{QUANTITY_NAMES[gate]} = %{{y:.3f}}<extra></extra>"),
                         row=2, col=1)
    primary, secondary = _aligned_range(state.astype(np.float64), truth.astype(np.float64), unit.r)
    figure.update_yaxes(title=dict(text=QUANTITY_NAMES[unit.quantity], font=FONT), tickfont=FONT, range=primary,
                        row=1, col=1, secondary_y=False)
    flipped = secondary[0] > secondary[1]
    figure.update_yaxes(title=dict(text="true value" + (" (axis flipped)" if flipped else ""), font=FONT),
                        tickfont=FONT, range=secondary, showgrid=False, dtick=max(1, round(abs(secondary[1] - secondary[0]) / 5)),
                        row=1, col=1, secondary_y=True)
    if gates:
        figure.update_yaxes(title=dict(text="gate", font=FONT), range=[-0.05, 1.05], tickfont=FONT, row=2, col=1)
    figure.update_xaxes(_token_axis(tr.tokens), row=rows, col=1)
    figure.update_layout(height=440 if gates else 340, margin=dict(l=70, r=70, t=100, b=40), hovermode="x unified",
                         title=dict(text=f"{name} against the {html.escape(tracked)}: r = {unit.r:+.3f}",
                                    font=dict(size=18), x=0.5, xanchor="center", y=0.98, yanchor="top", yref="container"),
                         legend=dict(orientation="h", y=1.02, yanchor="bottom", font=FONT))
    return figure


def predictions_figure(traces: Mapping[str, Trace], title: str = "") -> go.Figure:
    """The probability of class 1 after each token, one line per model (all on the same sequence)."""
    figure = go.Figure()
    for name, tr in traces.items():
        label = html.escape(tr.labels[-1])
        figure.add_trace(go.Scatter(x=np.arange(len(tr.tokens)), y=tr.probs[:, -1], name=html.escape(name),
                                    mode="lines", line=dict(color=COLOURS.get(tr.cell), width=4, dash=DASHES.get(tr.cell)),
                                    hovertemplate=f"{html.escape(name)} after token %{{x}}: p({label}) = %{{y:.3f}}<extra></extra>"))
    first = next(iter(traces.values()))
    figure.add_hline(y=0.5, line=dict(color="grey", dash="dot"))
    figure.update_layout(height=330, margin=dict(l=70, r=20, t=50 if title else 20, b=50),
                         title=dict(text=html.escape(title), font=FONT), legend=dict(orientation="h", y=1.02, yanchor="bottom", font=FONT),
                         xaxis=_token_axis(first.tokens),
                         yaxis=dict(title=dict(text=f"p({html.escape(first.labels[-1])})", font=FONT), range=[-0.03, 1.03],
                                    tickfont=FONT))
    return figure


def memory_figure(memories: Mapping[str, tuple[str, FirstWordMemory]], quantity: str) -> go.Figure:
    """One line per model (name -> (cell, memory)) over ``good x x ... x``: the state gap ("gap", linear axis)
    or the sensitivity to the first word ("sensitivity", log axis, zeros drawn at SENSITIVITY_FLOOR)."""
    figure = go.Figure()
    for name, (cell, memory) in memories.items():
        values = memory.gap if quantity == "gap" else np.maximum(memory.sensitivity, SENSITIVITY_FLOOR)
        figure.add_trace(go.Scatter(x=np.arange(len(values)), y=values, name=html.escape(name), mode="lines",
                                    line=dict(color=COLOURS[cell], width=4, dash=DASHES[cell]),
                                    hovertemplate=f"{html.escape(name)} after token %{{x}}: %{{y:.3g}}<extra></extra>"))
    if quantity == "gap":
        axis = dict(title=dict(text="|h(good…) − h(bad…)|, largest unit", font=FONT), rangemode="tozero", tickfont=FONT)
    else:
        axis = dict(title=dict(text="‖∂h_t / ∂(first word)‖", font=FONT), type="log", tickfont=FONT,
                    range=[np.log10(SENSITIVITY_FLOOR) - 1, 1], exponentformat="power")
    figure.update_layout(height=360, margin=dict(l=80, r=20, t=20, b=50), legend=dict(orientation="h", y=1.02, yanchor="bottom", font=FONT),
                         xaxis=dict(title=dict(text="tokens read (the first word is token 0)", font=FONT), tickfont=FONT),
                         yaxis=axis)
    return figure


def playground_figure(cell: str, steps: Sequence[Mapping[str, float]]) -> go.Figure:
    """The one-unit cell over its inputs: gates on top (0..1), input, cell state and hidden state below."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.45, 0.55])
    positions = np.arange(len(steps))
    gates = {"i": "input", "f": "forget", "o": "output"} if cell == "lstm" else {"r": "reset", "z": "update"}
    for key, gate in gates.items():
        figure.add_trace(go.Scatter(x=positions, y=[s[key] for s in steps], name=QUANTITY_NAMES[gate],
                                    mode="lines+markers", line=dict(color=COLOURS[gate], width=3, dash=DASHES[gate]),
                                    marker=dict(size=9),
                                    hovertemplate=f"step %{{x}}: {key} = %{{y:.3f}}<extra></extra>"), row=1, col=1)
    states = {"x": "input x"} | ({"c": "cell state c"} if cell == "lstm" else {}) | {"h": "hidden state h"}
    for key, name in states.items():
        figure.add_trace(go.Scatter(x=positions, y=[s[key] for s in steps], name=name, mode="lines+markers",
                                    line=dict(color=COLOURS[key], width=2 if key == "x" else 4,
                                              dash="dot" if key == "x" else "solid"), marker=dict(size=9),
                                    hovertemplate=f"step %{{x}}: {key} = %{{y:.3f}}<extra></extra>"), row=2, col=1)
    figure.update_yaxes(title=dict(text="gate", font=FONT), range=[-0.05, 1.05], tickfont=FONT, row=1, col=1)
    figure.update_yaxes(title=dict(text="value", font=FONT), tickfont=FONT, zeroline=True, row=2, col=1)
    figure.update_xaxes(title=dict(text="step", font=FONT), tickfont=FONT, dtick=1, row=2, col=1)
    figure.update_layout(height=420, margin=dict(l=70, r=20, t=70, b=50), hovermode="x unified",
                         legend=dict(orientation="h", y=1.02, yanchor="bottom", font=FONT))
    return figure
