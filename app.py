"""rnnviz dashboard: paste a review, pick an LSTM or GRU, see every gate at every word.

This file only arranges widgets, caches and lays out; every number comes from the rnnviz library
(``rnnviz.trace``, ``rnnviz.analysis``, ``rnnviz.figures``), so each one can be reproduced in Python.
Widgets with ``bind="query-params"`` mirror their value in the URL: the address bar is a share link.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

import rnnviz
from rnnviz import analysis, equations, export, figures
from rnnviz.checkpoint import CheckpointError, available_models, load_upload
from rnnviz.examples import DEFAULT_EXAMPLE, EXAMPLES, MINIMAL_PAIRS, reader_label
from rnnviz.text import markdown_literal, tokens_in_context

PAGE = 60  # tokens per page: every label stays readable, and 7 heatmaps draw in about a second
MAX_CHARS = 200_000
UPLOAD = "Upload your own…"
DEFAULT_MODEL = "lstm-sst2"
VIEWS = ["Reading strip", "Gate heatmaps", "Step through", "LSTM vs GRU", "Minimal pairs", "Saturation",
         "Export", "About the equations"]
# Unit ranking labels (shown, and written in share links) -> rnnviz.analysis ranking names.
RANKINGS = {"variance": "variance", "keep score": "keep", "effect": "effect", "typed list": "list"}
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}

st.set_page_config(page_title="rnnviz: inside LSTM and GRU", page_icon="🔬", layout="wide")


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def shipped_model(name: str) -> rnnviz.SentimentModel:
    return rnnviz.load(name)


@st.cache_resource(max_entries=32, ttl="1h", show_spinner=False)
def shipped_trace(name: str, text: str) -> rnnviz.Trace:
    """Traces of shipped models, shared by all sessions: the key is the model's name and the exact text.

    At most 32 kept (a 5,000-token LSTM trace is about 40 MB; a typical review's, under 2 MB).
    """
    return rnnviz.trace(shipped_model(name), text)


def trace_of(model: rnnviz.SentimentModel, shipped: bool, text: str) -> rnnviz.Trace:
    """Shipped models use the shared cache; an uploaded model's traces stay in this session only."""
    if shipped:
        return shipped_trace(model.name, text)
    memo = st.session_state.setdefault("upload_traces", {})
    if text not in memo:
        if len(memo) >= 8:
            memo.pop(next(iter(memo)))
        memo[text] = rnnviz.trace(model, text)
    return memo[text]


def show(figure, name: str, **kwargs):
    config = {**PLOT_CONFIG, "toImageButtonOptions": {**PLOT_CONFIG["toImageButtonOptions"], "filename": f"rnnviz-{name}"}}
    return st.plotly_chart(figure, config=config, **kwargs)


def how_to_read(text: str) -> None:
    st.caption(f"**How to read this.** {text}")


def uploaded_model() -> rnnviz.SentimentModel | None:
    """The session's uploaded model, validated; None (with a notice) until two valid files are given."""
    # No type= filter: rnnviz checks the names itself, so a dropped .pt gets a reason, not a silent refusal.
    files = st.sidebar.file_uploader(
        "Model files: NAME.safetensors and NAME.json", accept_multiple_files=True, key="upload",
        help="Weights as safetensors plus the JSON config (see README). Pickles are never loaded.",
    )
    if not files:
        st.sidebar.info("Upload both files of a checkpoint to inspect your own model.")
        return None
    contents = {f.name: f.getvalue() for f in files}
    digest = hashlib.sha256(b"".join(name.encode() + data for name, data in sorted(contents.items()))).hexdigest()
    if st.session_state.get("upload_digest") != digest:
        st.session_state.pop("upload_traces", None)
        try:
            st.session_state["upload_model"] = load_upload(contents)
            st.session_state["upload_error"] = None
        except CheckpointError as error:
            st.session_state["upload_model"] = None
            st.session_state["upload_error"] = str(error)
        st.session_state["upload_digest"] = digest
    if st.session_state.get("upload_error"):
        st.sidebar.error(f"Cannot load this model: {st.session_state['upload_error']}")
    return st.session_state.get("upload_model")


def use_example() -> None:
    st.session_state["text"] = EXAMPLES[st.session_state["example"]]


def open_selected_units() -> None:
    """Saturation plot selection: open the picked units in the heatmaps."""
    selection = st.session_state.get("saturation_chart")
    points = selection.selection.points if selection else []
    units = sorted({int(p["customdata"]) for p in points if p.get("customdata") is not None})
    if units:
        st.session_state["rank"] = "typed list"
        # Also written to the URL directly: the units box is not on the page yet (the ranking was not "typed
        # list"), and Streamlit only mirrors a bound widget's value into the URL once the widget exists.
        st.session_state["units"] = st.query_params["units"] = analysis.format_units(units)
        st.session_state["view"] = "Gate heatmaps"


def step_to(delta: int, last: int) -> None:
    st.session_state["step"] = int(np.clip(st.session_state.get("step", 0) + delta, 0, last))


# ---------------------------------------------------------------- sidebar: model and units
names = available_models()
st.sidebar.title("rnnviz")
choice = st.sidebar.selectbox("Model", [*names, UPLOAD], index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0,
                              key="model", bind="query-params",
                              help="Shipped sentiment models (see pretrained/README.md) or your own.")
model = uploaded_model() if choice == UPLOAD else shipped_model(choice)
if model is None:
    st.title("rnnviz: what does the RNN remember?")
    st.info("Choose a shipped model, or upload NAME.safetensors with NAME.json, in the sidebar.")
    st.stop()
shipped = choice != UPLOAD
metrics = model.info.metrics
st.sidebar.caption(
    f"{model.cell.upper()}, {model.config.num_layers} layer(s) × {model.config.hidden_size} units, "
    f"{model.config.vocab_size:,} words" + (f"; test accuracy {metrics['test_accuracy']:.1%}"
                                             if "test_accuracy" in metrics else "")
)
layer = 0
if model.config.num_layers > 1:
    layer = st.sidebar.selectbox("Layer", list(range(model.config.num_layers)), index=model.config.num_layers - 1,
                                 key="layer", bind="query-params", help="0 reads the words; the last feeds the prediction.")
layer = min(layer, model.config.num_layers - 1)
rank = RANKINGS[st.sidebar.radio(
    "Units to show", list(RANKINGS), key="rank", bind="query-params", horizontal=True,
    help="Big models have hundreds of units; show the most interesting first. variance: the hidden state moves "
         "most; keep score: holds on to what it wrote; effect: pushes the final prediction most; or type a list.")]
count = typed = None
if rank == "list":
    typed = st.sidebar.text_input("Units (e.g. 3, 17, 40-45)", "0-9", key="units", bind="query-params")
else:
    count = st.sidebar.number_input("How many units", 1, model.config.hidden_size,
                                    min(48, model.config.hidden_size), key="k", bind="query-params")

# ---------------------------------------------------------------- text input
st.title("rnnviz: what does the RNN remember?")
st.caption("Paste a review. The model reads it one token at a time; every gate and state it computed is shown below.")
st.selectbox("Examples", list(EXAMPLES), index=list(EXAMPLES).index(DEFAULT_EXAMPLE), key="example",
             on_change=use_example, help="Curated texts that test what memory has to get right.")
text = st.text_area("Text", EXAMPLES[DEFAULT_EXAMPLE], height=110, max_chars=MAX_CHARS, key="text",
                    bind="query-params", help="Press Ctrl+Enter (⌘+Enter) to trace.")
try:
    tr = trace_of(model, shipped, text or "")
except ValueError as error:
    st.info(f"Nothing to show yet: {error}.")
    st.stop()

label, confidence = tr.prediction
columns = st.columns(4)
columns[0].metric("Prediction", label, f"{confidence:.1%} confident", delta_color="off", delta_arrow="off")
columns[1].metric("Tokens read", f"{len(tr.tokens):,}")
columns[2].metric("Unknown words", int(tr.unknown.sum()), help="Not in the vocabulary; read as <unk>.")
columns[3].metric("Model", tr.model_name or "uploaded")
expected = reader_label(text)
if expected in tr.labels:
    st.caption(f"A human reader calls this example {expected}; the model "
               + ("agrees." if label == expected else "does not. A good text to step through and see why."))
if tr.truncated:
    st.warning(f"This text has {tr.n_tokens_total:,} tokens; the model read the first {len(tr.tokens):,} "
               f"(rnnviz's limit of {model.max_tokens:,}). Everything below is about those.")

try:
    units = analysis.select_units(tr, layer, rank, int(count or 1), model=model, typed=typed or "")
except ValueError as error:
    st.sidebar.error(str(error))
    units = analysis.rank_units(tr, layer, "variance")[:48].tolist()

start, stop = 0, len(tr.tokens)
if len(tr.tokens) > PAGE:
    starts = list(range(0, len(tr.tokens), PAGE))
    if st.session_state.get("page") not in starts:
        st.session_state["page"] = 0
    start = st.select_slider("Tokens shown", starts, key="page",
                             format_func=lambda s: f"{s}–{min(s + PAGE, len(tr.tokens)) - 1}")
    stop = min(start + PAGE, len(tr.tokens))
    st.caption(f"Long text: the charts show {PAGE} tokens at a time, so every word stays readable. "
               "Pick another stretch above; hover or zoom inside any chart.")

view = st.segmented_control("View", VIEWS, default="Reading strip", key="view", bind="query-params") or VIEWS[0]
st.divider()


# ---------------------------------------------------------------- views
def reading_strip_view() -> None:
    how_to_read("Each token's colour is its keep score: how much of what it wrote is still in memory at the end "
                "(bright = kept, dark = let go, on a log scale: each step of the legend is ten times more kept; "
                "'?' marks unknown words). The line is the prediction after each token.")
    show(figures.reading_strip(tr, start, stop), "reading-strip")


def heatmaps_view() -> None:
    how_to_read("One panel per gate and state, rows are units, columns are tokens; hover for exact values, drag to "
                "zoom all panels at once. Gates run 0 (closed) to 1 (open); states are blue below 0 and red above. "
                "For GRU, z = 1 keeps the old state (PyTorch's convention).")
    available = figures.heatmap_panels(tr)
    panels = st.multiselect("Panels", available, default=available, key=f"panels_{tr.cell}", bind="query-params",
                            format_func=figures.QUANTITY_NAMES.get,
                            help="Show fewer panels to make one gate large, e.g. the forget gate alone in class.")
    if not panels:
        st.info("Choose at least one panel to draw.")
        return
    show(figures.gate_heatmaps(tr, layer, units, start, stop, panels=panels), f"gates-layer{layer}")


def step_view() -> None:
    how_to_read("Move through the text one token at a time. For the chosen unit the equations show the live "
                "numbers PyTorch computed; the bars show every gate and state of that unit at that step.")
    last = len(tr.tokens) - 1
    st.session_state["step"] = min(st.session_state.get("step", 0), last)
    if st.session_state.get("step_unit") not in units:
        st.session_state["step_unit"] = units[0]
    left, middle, right = st.columns([1.3, 7, 1.3])
    left.button("◀ Prev", on_click=step_to, args=(-1, last), width="stretch")
    right.button("Next ▶", on_click=step_to, args=(1, last), width="stretch")
    step = middle.slider("Token", 0, max(last, 1), key="step", format="position %d", disabled=last == 0)
    step = min(step, last)
    st.markdown(tokens_in_context(tr.tokens, step))
    unit = st.selectbox("Unit", units, key="step_unit")
    detail = analysis.step_detail(model, tr, layer, step)
    st.markdown(f"At token **{markdown_literal(tr.tokens[step])}** (position {step}), unit {unit} "
                f"{analysis.describe_step(tr.cell, detail, unit, first=step == 0)}.")
    maths, bars = st.columns([3, 2])
    v = {name: float(values[unit]) for name, values in detail.items()}
    with maths:
        for line in equations.step_equations(tr.cell, v):
            st.latex(line)
        if tr.cell == "lstm":
            bar_values, gates = {k: v[k] for k in ("i", "f", "g", "o", "c", "h")}, {"i", "f", "o"}
        else:
            st.caption("PyTorch's convention: z = 1 keeps the old state. Some textbooks swap z and 1 − z.")
            bar_values, gates = {k: v[k] for k in ("r", "z", "n", "h")}, {"r", "z"}
    with bars:
        show(figures.step_bars(bar_values, gates, f"unit {unit} at position {step}"), f"step-{step}-unit-{unit}")


def partner_name() -> str | None:
    """The shipped model of the other cell trained on the same data (lstm-imdb <-> gru-imdb)."""
    other = {"lstm": "gru", "gru": "lstm"}[model.cell]
    candidate = f"{other}-{tr.model_name.split('-', 1)[-1]}" if "-" in tr.model_name else None
    return candidate if candidate in names else None


def compare_view() -> None:
    how_to_read("The same text through an LSTM and a GRU. Both 'keep' gates mean 'carry old memory over' "
                "(LSTM forget f, GRU update z with PyTorch's convention), so high lines mean remembering in both.")
    lstm_names = [n for n in names if shipped_model(n).cell == "lstm"]
    gru_names = [n for n in names if shipped_model(n).cell == "gru"]
    if not lstm_names or not gru_names:
        st.info("This view needs one shipped LSTM and one shipped GRU.")
        return
    pair = {model.cell: tr.model_name, ("gru" if model.cell == "lstm" else "lstm"): partner_name()}
    left, right = st.columns(2)
    lstm_name = left.selectbox("LSTM", lstm_names, index=lstm_names.index(pair["lstm"]) if pair["lstm"] in lstm_names else 0)
    gru_name = right.selectbox("GRU", gru_names, index=gru_names.index(pair["gru"]) if pair["gru"] in gru_names else 0)
    lstm_trace, gru_trace = shipped_trace(lstm_name, text), shipped_trace(gru_name, text)
    if lstm_trace.tokens != gru_trace.tokens:
        st.warning("The two models split this text differently, so tokens are not aligned one to one.")
        return
    for column, other in ((left, lstm_trace), (right, gru_trace)):
        other_label, other_confidence = other.prediction
        column.metric(other.model_name, other_label, f"{other_confidence:.1%} confident", delta_color="off",
                      delta_arrow="off")
    show(figures.lstm_gru_comparison(lstm_trace, gru_trace, start, stop), "lstm-vs-gru")


def minimal_pairs_view() -> None:
    how_to_read("Two texts that differ in a word or two. The line shows both predictions on aligned tokens; the "
                "heatmap shows text B minus text A for one quantity (blank where a token has no partner).")
    preset = st.selectbox("Pair", list(MINIMAL_PAIRS), key="pair_preset")
    left, right = st.columns(2)
    first_text = left.text_input("Text A", MINIMAL_PAIRS[preset][0], key=f"pair_a_{preset}", max_chars=1000)
    second_text = right.text_input("Text B", MINIMAL_PAIRS[preset][1], key=f"pair_b_{preset}", max_chars=1000)
    try:
        first, second = trace_of(model, shipped, first_text), trace_of(model, shipped, second_text)
    except ValueError as error:
        st.info(f"Both texts need words: {error}.")
        return
    for column, name, pair_trace in ((left, "A", first), (right, "B", second)):
        pair_label, pair_confidence = pair_trace.prediction
        column.metric(f"Text {name}", pair_label, f"{pair_confidence:.1%} confident", delta_color="off", delta_arrow="off")
    positive = len(first.labels) - 1
    change = float(second.probs[-1, positive] - first.probs[-1, positive])
    st.markdown(f"p({markdown_literal(first.labels[positive])}) moves by **{change:+.3f}** from A to B.")
    slots = analysis.align_tokens(first.tokens, second.tokens)
    show(figures.pair_predictions(first, second, slots), "pair-predictions")
    quantity = st.selectbox("Quantity", list(first.quantities()), index=len(first.quantities()) - 1, key="pair_quantity")
    show(figures.pair_difference(first, second, slots, quantity, layer, [u for u in units if u < first.hidden_size]),
         f"pair-{quantity}")


def saturation_view() -> None:
    how_to_read("Karpathy et al. (2015): each dot is one unit's gate. Far right: almost always closed (< 0.1); "
                "top: almost always open (> 0.9). Select dots (click, box or lasso) to open those units in the heatmaps.")
    show(figures.saturation_scatter(analysis.saturation(tr, layer), tr.cell), f"saturation-layer{layer}",
         key="saturation_chart", on_select=open_selected_units, selection_mode=("points", "box", "lasso"))


def export_view() -> None:
    how_to_read("Every number on screen, for scripts and notebooks. The long CSV has one row per step, layer, unit "
                "and quantity; the JSON holds the same arrays. Each chart's camera icon saves it as PNG.")
    stem = f"rnnviz-{tr.model_name or 'model'}"
    st.download_button("Trace as CSV (long table)", lambda: export.trace_csv(tr), f"{stem}-trace.csv", "text/csv")
    st.download_button("Per-token CSV (keep score, prediction)", lambda: export.steps_csv(tr), f"{stem}-tokens.csv",
                       "text/csv")
    st.download_button("Trace as JSON", lambda: export.trace_json(tr), f"{stem}-trace.json", "application/json")
    st.download_button(
        "Charts as HTML (reading strip and heatmaps, this page of tokens)",
        lambda: figures.to_html([figures.reading_strip(tr, start, stop),
                                 figures.gate_heatmaps(tr, layer, units, start, stop)]),
        f"{stem}-charts.html", "text/html")
    st.code(f'import rnnviz\nmodel = rnnviz.load("{tr.model_name}")\ntr = rnnviz.trace(model, text)\n'
            "tr.to_frame()  # the same numbers", language="python")


def equations_view() -> None:
    how_to_read("The equations exactly as PyTorch computes them (σ is the logistic sigmoid, ⊙ elementwise "
                "product), and how other texts write the same thing.")
    for column, title, lines, note in zip(st.columns(2), ("LSTM (torch.nn.LSTM)", "GRU (torch.nn.GRU)"),
                                          (equations.LSTM, equations.GRU), (equations.LSTM_NOTE, equations.GRU_NOTE)):
        with column:
            st.subheader(title)
            for line in lines:
                st.latex(line)
            st.markdown(note)
    st.subheader("Keep score")
    st.latex(equations.KEEP_SCORE)
    st.markdown("The share of token t's write to unit u still in the final memory (top layer). The reading strip's "
                "per-token keep is the mean over units weighted by |candidate|, the size of what the token "
                "proposed to write. The contributions $k_{t,u} \\cdot g_{t,u}$ (GRU: $\\cdot n_{t,u}$) sum over "
                "tokens exactly to the final memory.")


{
    "Reading strip": reading_strip_view, "Gate heatmaps": heatmaps_view, "Step through": step_view,
    "LSTM vs GRU": compare_view, "Minimal pairs": minimal_pairs_view, "Saturation": saturation_view,
    "Export": export_view, "About the equations": equations_view,
}[view]()
