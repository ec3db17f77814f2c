"""Exports hold exactly the trace's numbers; the command line traces, summarizes and writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rnnviz
from rnnviz import export
from rnnviz.__main__ import main
from conftest import random_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def trace(cell):
    return rnnviz.trace(random_model(cell, layers=2, hidden=5), "the movie was not bad at all zebra")


def test_the_long_frame_holds_every_number_of_every_quantity(trace):
    frame = trace.to_frame()
    assert list(frame.columns) == ["step", "token", "layer", "unit", "quantity", "value"]
    for name, values in trace.quantities().items():
        part = frame[frame["quantity"] == name].sort_values(["layer", "step", "unit"])
        np.testing.assert_array_equal(part["value"].to_numpy().reshape(values.shape), values)
    keep = frame[frame["quantity"] == "keep"].sort_values(["step", "unit"])
    np.testing.assert_array_equal(keep["value"].to_numpy().reshape(trace.keep_units.shape), trace.keep_units)
    assert set(keep["layer"]) == {trace.num_layers - 1}
    assert frame.loc[frame["step"] == 3, "token"].unique().tolist() == [trace.tokens[3]]


def test_the_csv_round_trips_to_the_same_values(trace):
    frame = pd.read_csv(StringIO(export.trace_csv(trace).decode()))
    hidden = frame[frame["quantity"] == "hidden"].sort_values(["layer", "step", "unit"])
    np.testing.assert_array_equal(hidden["value"].to_numpy(dtype=np.float32).reshape(trace.hidden.shape), trace.hidden)


def test_the_json_holds_the_same_numbers_as_the_arrays(trace):
    document = json.loads(export.trace_json(trace))
    assert document["tokens"] == trace.tokens and document["cell"] == trace.cell
    for name, values in trace.gates.items():
        np.testing.assert_array_equal(np.asarray(document["gates"][name], dtype=np.float32), values)
    np.testing.assert_array_equal(np.asarray(document["hidden"], dtype=np.float32), trace.hidden)
    np.testing.assert_array_equal(np.asarray(document["probs"], dtype=np.float32), trace.probs)
    np.testing.assert_array_equal(np.asarray(document["keep"], dtype=np.float32), trace.keep)
    assert document["unknown"] == trace.unknown.tolist()


def test_the_per_token_table_has_both_keep_scores_and_each_label(trace):
    frame = trace.steps_frame()
    assert list(frame.columns) == ["step", "token", "token_id", "unknown", "keep", "keep_read", "p_negative",
                                   "p_positive"]
    assert frame["unknown"].tolist() == trace.unknown.tolist()


def test_the_scores_table_has_a_column_per_attribution_equal_to_its_scores(trace, cell):
    model = random_model(cell, layers=2, hidden=10)
    tr = rnnviz.trace(model, trace.text)
    attributions = {m: rnnviz.attribute(model, trace.text, method=m, trace=tr) for m in ("decomposition", "occlusion")}
    frame = rnnviz.export.scores_frame(tr, attributions)
    np.testing.assert_array_equal(frame["score_occlusion"], attributions["occlusion"].scores)
    np.testing.assert_array_equal(frame["keep_read"], tr.keep_read)
    assert b"score_decomposition" in rnnviz.export.scores_csv(tr, attributions)


@pytest.fixture
def saved_model(tmp_path):
    rnnviz.save(random_model("lstm"), tmp_path / "tiny")
    return tmp_path / "tiny.safetensors"


def test_the_cli_prints_a_summary_and_writes_csv_and_json(saved_model, tmp_path, capsys):
    for suffix in (".csv", ".json"):
        out = tmp_path / f"trace{suffix}"
        assert main(["trace", "--model", str(saved_model), "not bad at all", "--out", str(out)]) == 0
        assert out.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "prediction:" in printed and "not" in printed and "keep" in printed


def test_the_cli_reports_errors_plainly(saved_model, tmp_path, capsys):
    assert main(["trace", "--model", str(saved_model), "   "]) == 2
    assert main(["trace", "--model", "no-such-model", "text"]) == 2
    assert main(["trace", "--model", str(saved_model), "ok", "--out", str(tmp_path / "x.txt")]) == 2
    errors = capsys.readouterr().err
    assert "empty" in errors and "no shipped model" in errors and ".csv or .json" in errors


def test_the_cli_runs_as_a_module_and_reads_standard_input(saved_model):
    result = subprocess.run([sys.executable, "-m", "rnnviz", "trace", "--model", str(saved_model), "-"],
                            input="a great film", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "great" in result.stdout
