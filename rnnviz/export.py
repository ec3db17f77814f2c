"""Serializing a trace: the long CSV table, the per-token CSV and JSON, as bytes or files.

The app's download buttons and the CLI's --out use the same functions, so every number on
screen can be had outside the app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from .attribution import Attribution
from .trace import Trace


def trace_csv(tr: Trace) -> bytes:
    """The long table of ``Trace.to_frame()``: step, token, layer, unit, quantity, value."""
    return tr.to_frame().to_csv(index=False).encode("utf-8")


def steps_csv(tr: Trace) -> bytes:
    """One row per token: keep score and the prediction after it."""
    return tr.steps_frame().to_csv(index=False).encode("utf-8")


def scores_frame(tr: Trace, attributions: Mapping[str, Attribution]) -> pd.DataFrame:
    """One row per token: ``Trace.steps_frame()`` plus a ``score_METHOD`` column per attribution given."""
    frame = tr.steps_frame()
    for method, att in attributions.items():
        if att.tokens != tr.tokens:
            raise ValueError(f"the {method} attribution read other tokens than the trace")
        frame[f"score_{method}"] = att.scores
    return frame


def scores_csv(tr: Trace, attributions: Mapping[str, Attribution]) -> bytes:
    """``scores_frame`` as CSV: every per-token score the reading view can tint by."""
    return scores_frame(tr, attributions).to_csv(index=False).encode("utf-8")


def trace_json(tr: Trace) -> bytes:
    """Every number of the trace (``Trace.to_dict()``) as UTF-8 JSON."""
    return json.dumps(tr.to_dict(), ensure_ascii=False).encode("utf-8")


def write_trace(tr: Trace, path: str | Path) -> None:
    """Write the trace as .csv (long table) or .json, chosen by the file's suffix."""
    path = Path(path)
    writers = {".csv": trace_csv, ".json": trace_json}
    if path.suffix.lower() not in writers:
        raise ValueError(f"--out must end in .csv or .json, not {path.suffix or 'nothing'}")
    path.write_bytes(writers[path.suffix.lower()](tr))
