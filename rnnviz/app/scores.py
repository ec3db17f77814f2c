"""Per-token scores the page can tint words by: what the model kept, and what decided its prediction.

Attributions by occlusion and integrated gradients cost a re-read per token or fifty gradient passes, so
each is computed only when asked for and cached: shared by sessions for shipped models, per session
for an upload. Every score is also in the Export view's per-token CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import streamlit as st

import rnnviz
from rnnviz.running_text import TintScale, keep_scale, signed_scale

from .context import ViewContext

ATTRIBUTION_METHODS = {"decided": "decomposition", "occlusion": "occlusion", "integrated gradients": "integrated_gradients"}


@st.cache_resource(max_entries=64, ttl="1h", show_spinner=False)
def shipped_attribution(name: str, text: str, method: str) -> rnnviz.Attribution:
    from .models import shipped_model, shipped_trace
    return rnnviz.attribute(shipped_model(name), text, method=method, trace=shipped_trace(name, text))


def attribution(ctx: ViewContext, method: str) -> rnnviz.Attribution:
    """``rnnviz.attribute`` for the page's model and text, cached."""
    if ctx.shipped:
        return shipped_attribution(ctx.trace.model_name, ctx.text, method)
    memo = st.session_state.setdefault("upload_attributions", {})
    key = (id(ctx.model), ctx.text, method)
    if key not in memo:
        if len(memo) >= 8:
            memo.pop(next(iter(memo)))
        memo[key] = rnnviz.attribute(ctx.model, ctx.text, method=method, trace=ctx.trace)
    return memo[key]


@dataclass(frozen=True)
class Tint:
    """Scores for each token, their colour scale, the name the hover gives them and what the colours mean."""

    scores: np.ndarray
    scale: TintScale
    name: str
    meaning: str


def _kept(ctx: ViewContext) -> Tint:
    scores = ctx.trace.keep
    return Tint(scores, keep_scale(scores), "keep", "bright: much of what the word wrote is still in memory at the "
                "end; dark: let go (mean over all units, weighted by the size of the write)")


def _kept_where_read(ctx: ViewContext) -> Tint:
    scores = ctx.trace.keep_read
    return Tint(scores, keep_scale(scores), "keep where read", "bright: still in memory at the end, in the units "
                "the prediction reads; dark: let go")


def _attributed(name: str, method: str) -> Callable[[ViewContext], Tint]:
    def tint(ctx: ViewContext) -> Tint:
        with st.spinner(f"Computing {method.replace('_', ' ')}…"):
            att = attribution(ctx, method)
        label = ctx.trace.labels[att.target]
        note = (f"blue: pushed towards {label}; red: against it. Scores sum to the margin "
                f"{att.margin:+.2f} (logit of {label} minus the others' mean)"
                + (f", with {att.rest:+.2f} from no word" if method != "occlusion" else ""))
        if method == "occlusion" and att.window > 1:
            note += f"; windows of {att.window} tokens deleted at a time"
        if att.delta is not None:
            note += f"; integration error {att.delta:+.3f}"
        return Tint(att.scores, signed_scale(att.scores, f"part of the {label} margin"), name, note)
    return tint


TINTS: dict[str, Callable[[ViewContext], Tint]] = {
    "kept": _kept, "kept where read": _kept_where_read,
    **{name: _attributed(name, method) for name, method in ATTRIBUTION_METHODS.items()},
}
def available_tints(trace: rnnviz.Trace) -> list[str]:
    """The tints a trace can take: all but "decided" for a plain RNN, whose memory no gate splits by token, and for a
    bidirectional model, whose head also reads the backward direction."""
    decided = bool(trace.gates) and trace.directions == 1
    return [name for name in TINTS if decided or name != "decided"]


TINT_HELP = ("kept: each word's keep score (the share of its write still in memory at the end, averaged over "
             "units). kept where read: the same, weighted by how much the prediction reads each unit. decided: the "
             "exact split of the prediction's margin over the words (from the gates). occlusion: how much the "
             "margin drops when the word is deleted. integrated gradients: Captum, from a blank text.")
