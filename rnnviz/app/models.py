"""Models and traces for the dashboard: shared caches for shipped models, per-session memory for uploads.

Shipped models are checked once per server process: a broken file is hidden with a notice naming it,
and every other model keeps serving. Traces of shipped models are shared by all sessions (keyed by
model name and exact text); an uploaded model's traces stay in its session, bounded by bytes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

import rnnviz
from rnnviz import checkpoint
from rnnviz.checkpoint import CheckpointError, available_models, available_toys
from rnnviz.factory import FACTORY_ENV, build_model
from rnnviz.model import use_serving_policy

use_serving_policy()  # once per server process: one intra-op thread per trace, freed trace buffers reused

SESSION_TRACE_BYTES = 64 * 2**20
"""An uploaded model's traces kept per session, in bytes; the oldest go first."""
TRACES_AT_ONCE = 2
"""Traces computed at the same time by the whole server (one per core): more only add memory, not speed."""
_running = threading.BoundedSemaphore(TRACES_AT_ONCE)


@dataclass(frozen=True)
class ShippedModels:
    """The shipped models that loaded, and for each one that did not, why (without server paths)."""

    names: list[str]
    broken: dict[str, str]


@st.cache_resource(show_spinner="Checking the shipped models…")
def shipped_models() -> ShippedModels:
    """Load every shipped sentiment model once at start; keep the ones that load, report the others."""
    return _loadable(available_models(checkpoint.PRETRAINED_DIR))


@st.cache_resource(show_spinner="Checking the toy models…")
def toy_models() -> ShippedModels:
    """The same check for the toy models the lessons use (``rnnviz.checkpoint.available_toys``)."""
    return _loadable(available_toys(checkpoint.PRETRAINED_DIR))


def _loadable(names_found: list[str]) -> ShippedModels:
    directory = checkpoint.PRETRAINED_DIR
    names, broken = [], {}
    for name in names_found:
        try:
            shipped_model(name)
            names.append(name)
        except (CheckpointError, OSError, ValueError) as error:
            broken[name] = str(error).replace(str(directory), "pretrained")
    return ShippedModels(names, broken)


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def shipped_model(name: str) -> rnnviz.SentimentModel:
    return rnnviz.load(name)


@st.cache_resource(show_spinner="Building your model…")
def local_model(spec: str) -> rnnviz.SentimentModel:
    """The model ``python -m rnnviz serve FILE.py:FUNCTION`` names (trusted local code, built once)."""
    return build_model(spec)


def load_code(model: rnnviz.SentimentModel, shipped: bool) -> str:
    """Python that sets ``model`` to this model outside the dashboard (the export view's snippet)."""
    if shipped:
        return f"model = rnnviz.load({model.name!r})"
    spec = os.environ.get(FACTORY_ENV)
    if spec and local_model(spec) is model:
        return f"from rnnviz.factory import build_model\nmodel = build_model({spec!r})  # the served FILE.py:FUNCTION"
    return 'model = rnnviz.load("path/to/NAME.safetensors")  # your uploaded checkpoint'


def served_model() -> rnnviz.SentimentModel | None:
    """The local model this server was started with, or None for a plain ``streamlit run app.py``."""
    spec = os.environ.get(FACTORY_ENV)
    return local_model(spec) if spec else None


def traced(model: rnnviz.SentimentModel, text: str) -> rnnviz.Trace:
    """``rnnviz.trace``, at most TRACES_AT_ONCE at a time across the server, so memory in flight is bounded."""
    with _running:
        return rnnviz.trace(model, text)


@st.cache_resource(max_entries=32, ttl="1h", show_spinner=False)
def shipped_trace(name: str, text: str) -> rnnviz.Trace:
    """Traces of shipped models, shared by all sessions (a typical review's trace is under 2 MB)."""
    return traced(shipped_model(name), text)


def session_trace(model: rnnviz.SentimentModel, text: str) -> rnnviz.Trace:
    """An uploaded or served model's trace, memoized in this session only, the oldest dropped past SESSION_TRACE_BYTES.

    Keyed by the model object as well as the text: a session can switch between its upload and a served model.
    """
    memo: OrderedDict[tuple[int, str], rnnviz.Trace] = st.session_state.setdefault("upload_traces", OrderedDict())
    key = (id(model), text)
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    result = traced(model, text)
    memo[key] = result
    while len(memo) > 1 and sum(tr.nbytes for tr in memo.values()) > SESSION_TRACE_BYTES:
        memo.popitem(last=False)
    return result
