"""The page's shared controls, written once: model, layer and unit pickers, and the text with its examples."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import rnnviz
from rnnviz import analysis
from rnnviz.examples import DEFAULT_EXAMPLE, EXAMPLES, misread_examples, readable_examples

from .widgets import literal, sendable

UPLOAD = "Upload your own…"
DEFAULT_MODEL = "lstm-sst2"
CUSTOM_TEXT = "(your own text)"
MAX_CHARS = 200_000
RANKINGS = {"variance": "variance", "keep score": "keep", "effect": "effect", "typed list": "list"}
"""Unit ranking labels (shown, and written in share links) -> rnnviz.analysis ranking names."""
DEFAULT_UNITS = 24
"""Units drawn by default: every row labelled, two panels on one projector screen."""
MAX_UNITS_DRAWN = 512
"""Most unit rows a page draws (an uploaded model may have thousands): keeps every page's message a few MB."""


@dataclass(frozen=True)
class UnitChoice:
    by: str
    count: int
    typed: str


def model_picker(names: list[str], local: str | None = None) -> str:
    """The sidebar's model choice: the served local model (first, when there is one), a shipped model, or UPLOAD."""
    options = [*([local] if local else []), *names, UPLOAD]
    default = 0 if local or DEFAULT_MODEL not in names else options.index(DEFAULT_MODEL)
    return st.sidebar.selectbox("Model", options, index=default, key="model", bind="query-params",
                                help="Shipped sentiment models (see pretrained/README.md) or your own.")


def model_caption(model: rnnviz.SentimentModel) -> None:
    """The model's shape, its test accuracy and negation probe score (from its JSON), and the curated examples it
    misreads (computed here, so an upload is described as honestly as a shipped model)."""
    config, metrics = model.config, model.info.metrics
    accuracy, probe = metrics.get("test_accuracy"), metrics.get("negation_probe_accuracy")
    judged = bool(readable_examples(model)) and not model.predicts_next_token
    misread = misread_examples(model) if judged else []
    st.sidebar.caption(
        f"{model.cell.upper()}{' (relu)' if getattr(model.rnn, 'nonlinearity', '') == 'relu' else ''}"
        f"{', bidirectional' if model.directions == 2 else ''}, {config.num_layers} layer(s) × {config.hidden_size} units"
        f"{f' projected to {model.output_size}' if model.output_size != config.hidden_size else ''}, "
        f"{config.vocab_size:,} words"
        + (f"; test accuracy {accuracy:.1%}" if isinstance(accuracy, float) else "")
        + (f"; negation probe {probe:.0%}" if isinstance(probe, float) else "")
        + (f". Misreads the curated example(s): {', '.join(misread)}." if misread else
           ". Reads every curated example as a human would." if judged else ""))


DIRECTIONS = ["forward →", "backward ←"]


def layer_picker(model: rnnviz.SentimentModel) -> int:
    """The layer every view shows (the top one by default; 0 for one-layer models), and for a bidirectional model
    its direction: the index into the trace's first axis (layer * 2 + direction, see Trace.layer_names)."""
    layers = model.config.num_layers
    layer = 0
    if layers > 1:
        layer = st.sidebar.selectbox("Layer", list(range(layers)), index=layers - 1, key="layer", bind="query-params",
                                     help="0 reads the words; the last feeds the prediction.")
        layer = min(layer, layers - 1)
    if model.directions == 1:
        return layer
    direction = st.sidebar.radio("Direction", DIRECTIONS, key="direction", horizontal=True, bind="query-params",
                                 help="A bidirectional model reads the text both ways: forward from the first word, "
                                      "backward from the last. Each direction has its own gates and states.")
    return layer * 2 + DIRECTIONS.index(direction)


def unit_picker(model: rnnviz.SentimentModel) -> UnitChoice:
    """How to pick the units to draw: a ranking and a count, or a typed list."""
    by = RANKINGS[st.sidebar.radio(
        "Units to show", list(RANKINGS), key="rank", bind="query-params", horizontal=True,
        help="Big models have hundreds of units; show the most interesting first. variance: the hidden state moves "
             "most; keep score: holds on to what it wrote; effect: pushes the final prediction most; or type a list.")]
    if by == "list":
        st.session_state.setdefault("units", "0-9")  # not as the widget's value: the saturation plot writes it too
        typed = st.sidebar.text_input("Units (e.g. 3, 17, 40-45)", key="units", bind="query-params",
                                      max_chars=analysis.MAX_UNITS_CHARS)
        return UnitChoice(by, 0, typed)
    hidden = model.config.hidden_size
    count = st.sidebar.number_input("How many units", 1, min(hidden, MAX_UNITS_DRAWN), min(DEFAULT_UNITS, hidden), key="k",
                                    bind="query-params")
    return UnitChoice(by, int(count), "")


def chosen_units(trace: rnnviz.Trace, model: rnnviz.SentimentModel, layer: int, choice: UnitChoice) -> list[int]:
    """The units to draw; a typed list that cannot be read falls back to the top by variance, with the reason."""
    try:
        units = analysis.select_units(trace, layer, choice.by, max(choice.count, 1), model=model, typed=choice.typed)
        if len(units) > MAX_UNITS_DRAWN:
            st.sidebar.warning(f"{len(units):,} units typed; the charts draw the first {MAX_UNITS_DRAWN}.")
        return units[:MAX_UNITS_DRAWN]
    except ValueError as error:
        st.sidebar.error(literal(str(error)))
        return analysis.rank_units(trace, layer, "variance")[:DEFAULT_UNITS].tolist()


def _example_of(text: str | None) -> str:
    return next((name for name, example in EXAMPLES.items() if example == text), CUSTOM_TEXT)


def _load_example() -> None:
    name = st.session_state["example"]
    if name in EXAMPLES:
        st.session_state["text"] = EXAMPLES[name]


def text_with_examples() -> str:
    """The text area (in the share link) and the examples picker, which names the example the text is, or custom."""
    st.session_state["text"] = sendable(st.session_state.get("text", EXAMPLES[DEFAULT_EXAMPLE]))
    picker, box = st.columns([1, 3])
    with box:
        text = st.text_area("Text", key="text", height=76, max_chars=MAX_CHARS, bind="query-params",
                            help="Paste a review and press Ctrl+Enter (⌘+Enter) to trace it.")
    st.session_state["example"] = _example_of(text)
    picker.selectbox("Examples", [CUSTOM_TEXT, *EXAMPLES], key="example", on_change=_load_example,
                     help="Curated texts that test what memory has to get right. Editing one makes it your own.")
    return text or ""
