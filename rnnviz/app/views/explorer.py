"""Units across a corpus: what one unit does over thousands of texts, and where a pattern of units recurs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import rnnviz
from rnnviz import corpus, corpus_figures, figures, patterns
from rnnviz.corpus import CorpusIndex
from rnnviz.running_text import TintScale, legend_html, tinted_html

from ..context import ViewContext
from ..widgets import how_to_read, literal, show

CONTEXTS = 10
"""Top positions shown with their context."""
RADIUS = 6
"""Tokens of context on either side of a top position."""


@st.cache_resource(max_entries=8, show_spinner="Opening the corpus index…")
def open_index(folder: str) -> CorpusIndex:
    """An index loaded once per server process (they are read-only)."""
    return corpus.load(folder)


def tint_scale(quantity: str, index: CorpusIndex, unit: int, layer: int) -> TintScale:
    """The heatmaps' colours for this kind of value (the cell state: symmetric at the unit's largest |value|)."""
    q = index.quantities.index(quantity)
    bound = float(max(abs(index.minimum[layer, q, unit]), abs(index.maximum[layer, q, unit]), 1e-6))
    scale = figures.colour_scale(quantity, np.array([bound]))
    return TintScale(scale.colorscale, scale.zmin, scale.zmax, signed=scale.zmin < 0, legend=scale.legend)


def render(ctx: ViewContext) -> None:
    if refusal := corpus.unreadable(ctx.model):
        st.info(f"No corpus explorer for this model: {refusal}.")
        return
    indexes = corpus.available_indexes(ctx.model)
    if not indexes:
        st.info("There is no corpus index for this model. Build one with `python -m rnnviz index --model NAME "
                "--data FILE --out DIR/NAME-corpus` and start the dashboard with `RNNVIZ_INDEX_DIR=DIR` "
                "(see the README's section on the corpus explorer).")
        return
    top = st.columns([3, 1, 2])
    name = top[0].selectbox("Corpus", list(indexes), key="explorer_corpus")
    index = open_index(str(indexes[name]))
    layer = ctx.layer
    if not 0 <= st.session_state.get("explorer_unit", -1) < index.hidden_size:
        st.session_state["explorer_unit"] = ctx.units[0] if ctx.units else 0
    unit = int(top[1].number_input("Unit", 0, index.hidden_size - 1, key="explorer_unit"))
    default = index.quantities.index("hidden")
    quantity = top[2].selectbox("Value", index.quantities, index=default, key="explorer_quantity",
                                format_func=figures.QUANTITY_NAMES.get)
    q = index.quantities.index(quantity)
    summary = (f"{literal(index.corpus or Path(indexes[name]).name)}: {len(index.texts):,} texts, "
               f"{index.n_tokens:,} tokens. Layer {layer}, unit {unit}: mean {index.mean[layer, q, unit]:+.3f}, "
               f"std {index.std[layer, q, unit]:.3f}, range {index.minimum[layer, q, unit]:+.3f} to "
               f"{index.maximum[layer, q, unit]:+.3f}")
    if quantity in corpus.GATE_QUANTITIES:
        summary += (f"; shut (< 0.1) at {index.shut[layer, q, unit]:.0%} of positions, open (> 0.9) at "
                    f"{index.open[layer, q, unit]:.0%}")
    st.caption(summary + ".")
    top_contexts(ctx, index, unit, layer, quantity)
    left, right = st.columns(2)
    with left:
        show(corpus_figures.unit_histogram(index, unit, layer, quantity), f"corpus-histogram-unit{unit}")
    with right:
        show(corpus_figures.top_words_bars(index, unit, layer, quantity), f"corpus-top-words-unit{unit}")
    if any(name in corpus.GATE_QUANTITIES for name in index.quantities):
        with st.expander("Saturation of every unit's gates over the corpus"):
            show(figures.saturation_scatter(index.saturation(layer), index.cell), f"corpus-saturation-layer{layer}")
            how_to_read("Karpathy et al. (2015), computed over the whole corpus rather than one text.")
    pattern_search(ctx, index, str(indexes[name]))


def top_contexts(ctx: ViewContext, index: CorpusIndex, unit: int, layer: int, quantity: str) -> None:
    """The unit's highest positions, each with a few tokens either side tinted by the unit's value."""
    rows = index.top(unit, k=index.top_positions.shape[-1], layer=layer, quantity=quantity)
    rows = rows.drop_duplicates("text_id").head(CONTEXTS)  # one line per text: neighbouring positions say the same
    scale = tint_scale(quantity, index, unit, layer)
    st.html(legend_html(scale, f"unit {unit}'s highest positions, one per text, the position in capitals"))
    for row in rows.itertuples():
        tr = ctx.trace_text(index.texts[row.text_id])
        values = tr.quantities()[quantity][layer, :, unit]
        first, last = max(0, row.position - RADIUS), min(len(tr.tokens), row.position + RADIUS + 1)
        tokens = list(tr.tokens[first:last])
        hover = [f"text {row.text_id}, position {t} · {float(values[t]):+.3f}" for t in range(first, last)]
        tokens[row.position - first] = tokens[row.position - first].upper()
        st.html(tinted_html(tokens, values[first:last], scale, hover, font_px=15))
    how_to_read("Each line is one of the unit's highest positions in the corpus (its token in capitals; one line per "
                "text), with the tokens around it tinted by the unit's value there. The same from Python: "
                "rnnviz.corpus.load(folder).top(unit, k=10, layer, quantity).")


@st.cache_data(max_entries=64, show_spinner=False)
def cached_search(folder: str, fingerprint: str, units: tuple[int, ...], length: int, threshold: float, mode: str,
                  _model: rnnviz.SentimentModel) -> tuple[pd.DataFrame, int]:
    """patterns.search, remembered per index, model (by fingerprint) and pattern: reruns do not search again."""
    return patterns.search(open_index(folder), list(units), length, threshold, mode=mode, model=_model)


def pattern_search(ctx: ViewContext, index: CorpusIndex, folder: str) -> None:
    """LSTMVis's match: the units on over a span of the current text (and off before it), found across the corpus."""
    st.subheader("Find a pattern across the corpus")
    tr = ctx.trace
    last = len(tr.tokens) - 1
    cols = st.columns([4, 2, 2])
    start, end = 0, 0
    if last:
        start, end = cols[0].select_slider("Span of the text above", options=list(range(last + 1)),
                                           value=(max(0, last - 1), last), key="pattern_span",
                                           format_func=lambda t: f"{t}: {tr.tokens[t]}")
    threshold = cols[1].slider("On at or above", -0.9, 0.95, 0.7, 0.05, key="pattern_threshold")
    modes = ["fast (stored states)", "exact (re-read the corpus)"] if index.states is not None else ["exact (re-read the corpus)"]
    mode = cols[2].radio("Mode", modes, key="pattern_mode")
    hidden = tr.hidden[-1]
    units = patterns.pattern_units(hidden, start, end, threshold)
    span_text = " ".join(tr.tokens[start : end + 1])
    if not units:
        st.info(f"No top-layer unit is on (≥ {threshold:g}) over \u201c{literal(span_text)}\u201d and off just before "
                "it. Try a lower threshold or another span.")
        return
    units = st.multiselect(f"{len(units)} top-layer unit(s) are on over \u201c{literal(span_text)}\u201d and off before "
                           "it; drop any to loosen the pattern", units, default=units,
                           key=f"pattern_units_{'_'.join(map(str, units))}")  # a new pattern starts whole
    if not units:
        st.info("Keep at least one unit in the pattern.")
        return
    fast = mode.startswith("fast")
    if not fast and not st.button("Search the corpus", key="pattern_search_exact",
                                  help="Exact mode re-reads every text of the corpus with the model."):
        st.caption("Exact mode re-reads every text of the corpus: press the button to search.")
        return
    with st.spinner("Searching the corpus…"):
        matches, count = cached_search(folder, corpus.fingerprint(ctx.model), tuple(units), end - start + 1,
                                       float(threshold), "fast" if fast else "exact", ctx.model)
    st.markdown(f"**{count:,}** span(s) in the corpus where the same units do the same"
                + (f"; the best {len(matches)} by the units' mean value:" if count else "."))
    if count:
        st.dataframe(matches, hide_index=True, height=min(400, 38 + 35 * len(matches)))
    how_to_read("A pattern is the set of top-layer units at or above the threshold at every token of the span and "
                "below it just before (LSTMVis's match). Fast mode scans the hidden states the index stores (int8, "
                "within 0.004); exact mode re-reads every text with the model. From Python: "
                "rnnviz.patterns.search(index, units, length, threshold).")
