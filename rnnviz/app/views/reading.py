"""Reading: the whole text as a paragraph tinted by a per-token score, and the prediction after each token."""

from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from rnnviz import figures
from rnnviz.running_text import TintScale, keep_scale, legend_html, tinted_html

from ..context import ViewContext
from ..widgets import how_to_read, show

Tint = tuple[np.ndarray, TintScale, str, str]
"""(scores, colour scale, score name for the hover, what the colours mean)."""


def _kept(ctx: ViewContext) -> Tint:
    scores = ctx.trace.keep
    return (scores, keep_scale(scores), "keep",
            "bright = much of what the word wrote is still in memory at the end; dark = let go")


TINTS: dict[str, Callable[[ViewContext], Tint]] = {"kept": _kept}


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    picker, legend = st.columns([1, 4], vertical_alignment="bottom")
    choice = picker.segmented_control(
        "Tint words by", list(TINTS), default="kept", key="tint", bind="query-params",
        help="kept: each word's keep score, the share of what it wrote into memory that survives to the end "
             "(mean over units, weighted by the size of the write).") or "kept"
    scores, scale, score_name, meaning = TINTS[choice](ctx)
    legend.html(legend_html(scale, meaning))
    positive = len(tr.labels) - 1
    hover = [f"{token} · position {t} · {score_name} {float(score):.3g} · p({tr.labels[positive]}) after it "
             f"{tr.probs[t, positive]:.3f}" + (" · unknown word" if tr.unknown[t] else "")
             for t, (token, score) in enumerate(zip(tr.tokens, scores))]
    st.html(tinted_html(tr.tokens, scores, scale, hover, unknown=tr.unknown))
    show(figures.prediction_line(tr), "prediction")
    how_to_read("Hover a word for its exact score. Dotted underline: a word the model does not know (read as "
                "<unk>). The line is the prediction after each token; the dotted line is 0.5.")
