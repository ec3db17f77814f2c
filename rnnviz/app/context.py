"""What a view is given: everything it may read, passed explicitly (views read no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import rnnviz


@dataclass(frozen=True)
class ViewContext:
    """The model, its trace of the current text, and the user's choices of layer, units and tokens."""

    model: rnnviz.SentimentModel
    trace: rnnviz.Trace
    text: str
    layer: int
    units: list[int]
    window: range
    """The tokens charts show (a full window of a long text)."""
    shipped: bool
    """The model is one of the shipped ones (not an upload)."""
    load_code: str
    """Python that sets ``model`` to this model outside the dashboard (rnnviz.load, or the served factory)."""
    shipped_names: list[str]
    """Shipped models that loaded, for views that compare models."""
    trace_text: Callable[[str], rnnviz.Trace]
    """The same model on another text (cached like the main trace)."""
    trace_shipped: Callable[[str, str], rnnviz.Trace]
    """A shipped model, by name, on a text (shared cache)."""
    load_shipped: Callable[[str], rnnviz.SentimentModel]
