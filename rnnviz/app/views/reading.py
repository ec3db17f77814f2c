"""Reading: the whole text as a paragraph tinted by a per-token score, and the prediction after each token."""

from __future__ import annotations

import streamlit as st

from rnnviz import analysis, figures
from rnnviz.running_text import legend_html, tinted_html

from ..context import ViewContext
from ..scores import TINT_HELP, TINTS, available_tints
from ..widgets import how_to_read, show

SCROLLED_TEXT_TOKENS = 250
"""Longer texts are tinted in a box of SCROLLED_TEXT_PX that scrolls, so the prediction line stays on the first screens
(a 2,596-token review fills about 4,000 px at 1024 px wide)."""
SCROLLED_TEXT_PX = 360


def render(ctx: ViewContext) -> None:
    tr = ctx.trace
    picker, legend = st.columns([2, 3], vertical_alignment="bottom")
    choice = picker.selectbox("Tint words by", available_tints(tr), key="tint", bind="query-params", help=TINT_HELP)
    tint = TINTS[choice](ctx)
    legend.html(legend_html(tint.scale))
    positive = len(tr.labels) - 1
    hover = [f"position {t} · {tint.name} {float(score):+.3g} · p({tr.labels[positive]}) after it "
             f"{tr.probs[t, positive]:.3f}" + (" · unknown word" if tr.unknown[t] else "")
             for t, score in enumerate(tint.scores)]
    box = st.container(height=SCROLLED_TEXT_PX) if len(tr.tokens) > SCROLLED_TEXT_TOKENS else st.container()
    box.html(tinted_html(tr.tokens, tint.scores, tint.scale, hover, unknown=tr.unknown))
    st.caption(tint.meaning.capitalize() + ".")
    if ctx.model.predicts_next_token:
        st.caption("A language model: after each token, its five likeliest next tokens.")
        st.dataframe(analysis.next_tokens(tr), hide_index=True, height=min(420, 38 + 35 * len(tr.tokens)))
        return
    if tr.directions == 2:
        st.caption("A bidirectional model: at each token the head reads both directions, so the line at a token "
                   "has already seen the whole text. Keep scores are the forward direction's.")
    show(figures.prediction_line(tr), "prediction")
    how_to_read("Hover a word for its exact score. Dotted underline: a word the model does not know (read as "
                "<unk>). The line is the prediction after each token; the dotted line is 0.5.")
