"""rnnviz dashboard: paste a review, pick an LSTM or GRU, see every gate at every word.

Wiring only: page config, sidebar, text input and the view switch. The views live in
``rnnviz/app/views/`` (one module each, a function of an explicit ViewContext); every number comes
from the rnnviz library, so each one can be reproduced in Python. Widgets bound to query params
mirror their value in the URL: the address bar is a share link.
"""

from __future__ import annotations

import streamlit as st

from rnnviz.app import controls, models
from rnnviz.app.context import ViewContext
from rnnviz.app.upload import uploaded_model
from rnnviz.app.views import (compare, equations, explorer, export, heatmaps, lesson, pairs, playground, reading,
                              saturation, step, what_if)
from rnnviz.app.widgets import EXPLORER_VIEW, literal, prediction_metric, token_window
from rnnviz.examples import reader_label

VIEWS = {"Reading": reading, "Gate heatmaps": heatmaps, "Step through": step, "LSTM vs GRU": compare,
         "Minimal pairs": pairs, "What if": what_if, "Saturation": saturation,
         EXPLORER_VIEW: explorer, "Export": export,
         "About the equations": equations, "Lessons": lesson, "Playground": playground}
OWN_MODELS = {"Lessons", "Playground"}
"""Views that bring their own models (the toy models, a one-unit cell): render() takes no ViewContext."""
OWN_TEXTS = {"Minimal pairs", "About the equations"}
"""Views that do not show the main text: it waits, folded, for the other views."""
WINDOWED = {"Gate heatmaps", "LSTM vs GRU", "What if", "Export"}
"""Views whose charts label every token: long texts are shown a full window at a time."""
WINDOW = 32
"""Tokens per window: at 1024 px wide every (vertical) token label stays readable, none overlapping."""
COMPACT = ("<style>[data-testid='stMainBlockContainer']{padding:3.9rem 1.5rem 2rem 1.5rem;max-width:none}"
           "h1{font-size:1.5rem !important;padding:0 0 0.3rem 0 !important}"
           "[data-testid='stMetricValue']{font-size:1.5rem}</style>")
"""Our own fixed CSS (no user text): a projector at 1024x768 shows the text and a chart on its first screen."""

st.set_page_config(page_title="rnnviz: inside LSTM and GRU", page_icon="🔬", layout="wide")
st.html(COMPACT)

# ---------------------------------------------------------------- sidebar: view, model, layer, units
st.sidebar.title("rnnviz")
if "lesson" in st.query_params and "view" not in st.query_params:  # ?lesson=counting&step=3 opens the lesson
    st.session_state.setdefault("view", "Lessons")
view = st.sidebar.radio("View", list(VIEWS), key="view", bind="query-params")
if view in OWN_MODELS:
    VIEWS[view].render()
    st.stop()
shipped_models, served = models.shipped_models(), models.served_model()  # served: `python -m rnnviz serve`
choice = controls.model_picker(shipped_models.names, served.name if served else None)
for name, problem in shipped_models.broken.items():
    st.sidebar.warning(f"{name} is hidden: its files could not be loaded ({literal(problem)}).")
shipped = choice in shipped_models.names
model = models.shipped_model(choice) if shipped else served if served and choice == served.name else uploaded_model()
st.title("rnnviz: what does the RNN remember?")
if model is None:
    st.info("Choose a shipped model, or upload NAME.safetensors with NAME.json, in the sidebar.")
    st.stop()
controls.model_caption(model)
layer = controls.layer_picker(model)
unit_choice = controls.unit_picker(model)

# ---------------------------------------------------------------- the text, its prediction, the view
if view in OWN_TEXTS:
    with st.expander("The main text (read by the other views)"):
        text = controls.text_with_examples()
else:
    text = controls.text_with_examples()


def trace_text(other: str):
    return models.shipped_trace(model.name, other) if shipped else models.session_trace(model, other)


try:
    tr = trace_text(text)
except ValueError as error:
    st.info(f"Nothing to show yet. {literal(str(error)).capitalize()}.")
    st.stop()

if view not in OWN_TEXTS:
    label, confidence = tr.prediction
    columns = st.columns([2, 2, 3, 4])
    prediction_metric(columns[0], "Prediction", label, confidence)
    columns[1].metric("Tokens read", f"{len(tr.tokens):,}")
    columns[2].metric("Unknown words", int(tr.unknown.sum()), help="Not in the vocabulary; read as <unk>.")
    columns[3].caption(f"Model: {literal(tr.model_name or 'uploaded')}, {model.cell.upper()}.")
    expected = reader_label(text)
    if expected in tr.labels:
        columns[3].caption(f"A human reader calls this example {expected}; the model "
                           + ("agrees." if label == expected else "does not. A good text to step through and see why."))
    if tr.truncated:
        st.warning(f"This text has {tr.n_tokens_total:,} tokens; the model read the first {len(tr.tokens):,}, "
                   f"since {literal(tr.cut_reason)}. Everything below is about those.")
    if tr.nonfinite:
        st.error("This model computed infinite or undefined (NaN) values for this text, in: "
                 f"{', '.join(tr.nonfinite)}. Its numbers are not shown; check the model's weights.")
        st.stop()

ctx = ViewContext(
    model=model, trace=tr, text=text, layer=layer, units=controls.chosen_units(tr, model, layer, unit_choice),
    window=token_window(len(tr.tokens), WINDOW) if view in WINDOWED else range(len(tr.tokens)),
    shipped=shipped, load_code=models.load_code(model, shipped), shipped_names=shipped_models.names,
    trace_text=trace_text, trace_shipped=models.shipped_trace, load_shipped=models.shipped_model,
)
if len(ctx.window) < len(tr.tokens):
    st.caption(f"Showing tokens {ctx.window.start}–{ctx.window.stop - 1} of {len(tr.tokens):,}; "
               "move the window with “Tokens shown” in the sidebar.")
VIEWS[view].render(ctx)
