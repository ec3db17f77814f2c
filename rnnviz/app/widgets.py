"""Widgets and display helpers shared by every view: charts, captions, plain text, the token window."""

from __future__ import annotations

import re
from typing import Any

import plotly.graph_objects as go
import streamlit as st

import rnnviz
from rnnviz import corpus
from rnnviz.text import markdown_literal

PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
_AUTOLINK_TRIGGER = re.compile(r"([.:@])")
_SURROGATE = re.compile("[\ud800-\udfff]")


def sendable(text: str) -> str:
    """``text`` with lone surrogates (which no browser sends and protobuf cannot encode) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def literal(text: str) -> str:
    """User- or upload-supplied text for a Markdown element, shown exactly as typed.

    Markdown escaping is not enough on its own: GitHub-flavoured autolinks (www.x.y, http://, a@b.c)
    are found in the text after escaping, so a zero-width space after every '.', ':' and '@' breaks them.
    Lone surrogates, which cannot be sent to a browser, become U+FFFD.
    """
    return _AUTOLINK_TRIGGER.sub("\\1\u200b", markdown_literal(sendable(text)))


def show(figure: go.Figure, name: str, **kwargs: Any) -> Any:
    """Draw a Plotly figure; its camera button saves ``rnnviz-NAME.png``."""
    config = {**PLOT_CONFIG, "toImageButtonOptions": {**PLOT_CONFIG["toImageButtonOptions"], "filename": f"rnnviz-{name}"}}
    return st.plotly_chart(figure, config=config, **kwargs)


def how_to_read(text: str) -> None:
    st.caption(f"**How to read this.** {text}")


def prediction_metric(column: Any, title: str, label: str, confidence: float) -> None:
    """A metric with a predicted label (plain text) and its confidence."""
    column.metric(title, literal(label), f"{confidence:.1%} confident", delta_color="off", delta_arrow="off")


def window_starts(n_tokens: int, size: int) -> list[int]:
    """Starts of full windows of ``size`` tokens: every ``size`` tokens, and the last one ending at the text's end.

    Every window is full (the last overlaps the one before rather than being a stub), so the end of the
    text, where the kept memory is, always gets a whole page.
    """
    if n_tokens <= size:
        return [0]
    starts = list(range(0, n_tokens - size, size))
    return [*starts, n_tokens - size]


def token_window(n_tokens: int, size: int, key: str = "page") -> range:
    """A sidebar slider over full windows of ``size`` tokens (the last by default: it holds what the model kept)."""
    starts = window_starts(n_tokens, size)
    if len(starts) == 1:
        return range(0, n_tokens)
    if st.session_state.get(key) not in starts:
        st.session_state[key] = starts[-1]
    start = st.sidebar.select_slider(f"Tokens shown ({size} at a time)", starts, key=key,
                             format_func=lambda s: f"{s}–{s + size - 1}",
                             help="Long texts are shown a window at a time so every word label stays readable.")
    return range(start, start + size)


EXPLORER_VIEW = "Units in a corpus"


def open_in_explorer(model: "rnnviz.SentimentModel", units: list[int], key: str) -> None:
    """A unit picker and a button that opens that unit in the corpus explorer view (when the model has an index)."""
    if not units or not corpus.available_indexes(model):
        return
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    unit = left.selectbox("Unit", units, key=f"{key}_unit")
    right.button("Open in the corpus explorer", key=f"{key}_button", on_click=_open_explorer, args=(int(unit),),
                 help="What this unit does across thousands of texts, and where its patterns recur.")


def _open_explorer(unit: int) -> None:
    st.session_state["explorer_unit"] = unit
    st.session_state["view"] = EXPLORER_VIEW
