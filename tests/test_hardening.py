"""Hostile and broken checkpoints (issue 9): every failure is a CheckpointError with a message, found before
memory is spent; uploaded models trace within a compute budget; the library says what it expected."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import rnnviz
from rnnviz import CheckpointError
from rnnviz.checkpoint import (MAX_CONFIG_VALUES, MAX_HEADER_BYTES, MAX_PARAMETERS, load_from_bytes, load_upload,
                               parse_config)
from rnnviz.model import (MAX_TOKENS, TRACE_BUDGET, ModelConfig, SentimentModel, multiply_adds_per_token,
                          parameter_count, parameter_shapes)
from conftest import random_model, random_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path) -> tuple[bytes, dict]:
    """A small valid checkpoint: its weights' bytes and its config as a dict to edit."""
    rnnviz.save(random_model("lstm", layers=2), tmp_path / "tiny")
    return (tmp_path / "tiny.safetensors").read_bytes(), json.loads((tmp_path / "tiny.json").read_text())


def hostile_config(vocab_size: int = 2, embedding_dim: int = 4096, hidden_size: int = 4096,
                   num_layers: int = 8) -> bytes:
    """A config inside the byte limits that describes a huge model (the issue's is 237 bytes)."""
    return json.dumps({
        "format": "rnnviz-checkpoint", "format_version": 1, "labels": ["neg", "pos"],
        "config": {"cell": "lstm", "vocab_size": vocab_size, "embedding_dim": embedding_dim,
                   "hidden_size": hidden_size, "num_layers": num_layers},
        "vocab": ["<pad>", "<unk>", *(f"w{k}" for k in range(vocab_size - 2))],
    }).encode()


def safetensors_bytes(header: dict | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


# --- 1. Memory bombs: refused before any weight is allocated -------------------------------------------------

_MEASURE = """
import re, sys
from pathlib import Path
import rnnviz
from rnnviz.checkpoint import load_upload

def megabytes(field):
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

weights, config = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]).read_bytes()
before = megabytes("VmRSS")
try:
    load_upload({"bomb.safetensors": weights, "bomb.json": config})
    outcome = "loaded"
except rnnviz.CheckpointError as error:
    outcome = "CheckpointError: " + str(error)
except BaseException as error:
    outcome = type(error).__name__ + ": " + str(error)
print(outcome)
print(megabytes("VmHWM") - before)
"""
"""Runs in a fresh process; prints the outcome and the peak memory growth in MB. The peak is VmHWM, this
process's own high-water mark: ru_maxrss would start at the parent's size, inherited across fork and exec."""

BOMBS = {
    "237-byte config, 4096 wide and 8 layers deep, 16-byte weights": (hostile_config(), b"\0" * 16),
    "a million words of 4,096 dimensions": (hostile_config(vocab_size=1_000_000, num_layers=1), b"\0" * 16),
    "200,000 words of 4,096 dimensions (within the vocabulary limit)": (
        hostile_config(vocab_size=200_000, num_layers=1), b"\0" * 16),
    "just under the parameter cap, with a 16-byte weights file": (
        hostile_config(embedding_dim=1024, hidden_size=1024, num_layers=5), b"\0" * 16),
    "just under the parameter cap, with a header that lies about its data": (
        hostile_config(embedding_dim=1024, hidden_size=1024, num_layers=5),
        safetensors_bytes({"embedding.weight": {"dtype": "F32", "shape": [2, 1024], "data_offsets": [0, 8192]}})),
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_hostile_checkpoint_is_refused_without_the_process_growing(tmp_path, name):
    """The issue's 237-byte config made the server allocate 4.7 GB before refusing; now nothing is allocated."""
    config, weights = BOMBS[name]
    (tmp_path / "w").write_bytes(weights)
    (tmp_path / "c").write_bytes(config)
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path / "w"), str(tmp_path / "c")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    outcome, growth = result.stdout.strip().rsplit("\n", 1)
    assert outcome.startswith("CheckpointError: "), result.stdout + result.stderr
    assert float(growth) < 50, f"the process grew by {float(growth):.0f} MB"


def test_the_parameter_cap_is_checked_from_the_config_alone():
    with pytest.raises(CheckpointError, match=f"at most {MAX_PARAMETERS:,}"):
        parse_config(hostile_config())


def test_shapes_and_counts_computed_from_the_config_match_the_built_model(cell):
    for layers in (1, 3):
        model = random_model(cell, layers=layers, hidden=6, embedding=5, classes=3)
        built = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
        assert parameter_shapes(model.config) == built
        assert parameter_count(model.config) == sum(p.numel() for p in model.parameters())


def test_the_shipped_models_are_far_below_the_parameter_cap():
    for name in rnnviz.available_models():
        assert parameter_count(rnnviz.load(name).config) < MAX_PARAMETERS / 10


def test_a_config_with_too_many_values_is_refused_before_it_is_parsed():
    config = b'{"vocab": [' + b",".join([b"[]"] * MAX_CONFIG_VALUES) + b"]}"
    with pytest.raises(CheckpointError, match="more than"):
        parse_config(config)


def test_an_oversized_safetensors_header_is_refused(files):
    weights, config = files
    huge = safetensors_bytes(b" " * (MAX_HEADER_BYTES + 1))
    with pytest.raises(CheckpointError, match="header"):
        load_from_bytes(huge, json.dumps(config))


# --- 2. Compute budget for uploads ----------------------------------------------------------------------------

def _upload(model: SentimentModel, tmp_path: Path) -> SentimentModel:
    rnnviz.save(model, tmp_path / "up")
    return load_upload({"up.safetensors": (tmp_path / "up.safetensors").read_bytes(),
                        "up.json": (tmp_path / "up.json").read_bytes()})


def test_an_uploaded_model_reads_only_the_tokens_its_compute_budget_pays_for(tmp_path):
    wide = random_model("lstm", hidden=512, embedding=512)
    with torch.no_grad():  # at +-0.8 a 512-unit LSTM is chaotic: the trace's training kernel and predict's
        for parameter in wide.rnn.parameters():  # inference kernel would drift apart by rounding alone
            parameter.mul_(0.1)  # (rnnviz.onednn_lstm); a trained model's scale
    uploaded = _upload(wide, tmp_path)
    affordable = TRACE_BUDGET // multiply_adds_per_token(wide.config)
    assert uploaded.max_tokens == affordable < MAX_TOKENS
    tr = rnnviz.trace(uploaded, random_text(affordable + 10))
    assert tr.truncated and len(tr.tokens) == affordable and tr.n_tokens_total == affordable + 10
    assert "compute budget for uploaded models" in tr.cut_reason and f"{affordable:,} tokens" in tr.cut_reason
    np.testing.assert_allclose(uploaded.predict_proba(random_text(affordable + 10))[0], tr.probs[-1], atol=1e-5)


def test_the_same_checkpoint_loaded_by_path_is_not_limited(tmp_path):
    rnnviz.save(random_model("lstm", hidden=512, embedding=512), tmp_path / "up")
    assert rnnviz.load(tmp_path / "up.safetensors").max_tokens == MAX_TOKENS


def test_a_small_upload_reads_as_much_as_a_shipped_model(tmp_path):
    uploaded = _upload(random_model("gru"), tmp_path)
    assert uploaded.max_tokens == MAX_TOKENS
    tr = rnnviz.trace(uploaded, random_text(20))
    assert not tr.truncated and tr.cut_reason == ""


def test_the_budget_pays_for_a_shipped_models_whole_text_and_cuts_the_issues_wide_model():
    shipped = rnnviz.load("lstm-sst2").config
    assert multiply_adds_per_token(shipped) * MAX_TOKENS <= TRACE_BUDGET
    wide = ModelConfig("lstm", vocab_size=2, embedding_dim=8, hidden_size=2896)  # the issue's 64 MB fp16 upload
    assert TRACE_BUDGET // multiply_adds_per_token(wide) == 74


def test_a_text_cut_at_max_tokens_says_why():
    model = random_model("gru")
    model.max_tokens = 5
    tr = rnnviz.trace(model, random_text(8))
    assert tr.truncated and tr.cut_reason == model.limit_reason and "5,000" in tr.cut_reason


# --- 4 and 11. Every field type-checked; every failure a CheckpointError --------------------------------------

def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


CONFIG_EDITS = {
    "JSON nested 100,000 deep": (lambda d: None, lambda text: text[:-1] + ', "training": ' + _deep(100_000) + "}",
                                 "deeply"),
    "a 5,000-digit integer": (lambda d: None,
                              lambda text: text.replace('"hidden_size": 8', '"hidden_size": ' + "9" * 5000),
                              "number too long"),
    "a 4,000-digit integer": (lambda d: d["config"].update(hidden_size=10**3999), None, "over the limit"),
    'dropout "0.5"': (lambda d: d["config"].update(dropout="0.5"), None, "dropout must be a number"),
    "dropout NaN": (lambda d: d["config"].update(dropout=float("nan")), None, "dropout must be a number"),
    "cell as a list": (lambda d: d["config"].update(cell=["lstm"]), None, "cell must be one of"),
    "hidden_size true": (lambda d: d["config"].update(hidden_size=True), None, "positive integer"),
    "hidden_size 8.0": (lambda d: d["config"].update(hidden_size=8.0), None, "positive integer"),
    'metrics.test_accuracy "ninety"': (lambda d: d["metrics"].update(test_accuracy="ninety"), None, "test_accuracy"),
    "metrics.test_accuracy 90": (lambda d: d["metrics"].update(test_accuracy=90), None, "from 0 to 1"),
    "metrics.dev_accuracy true": (lambda d: d["metrics"].update(dev_accuracy=True), None, "dev_accuracy"),
    "a metric holding a list": (lambda d: d["metrics"].update(history=[1, 2]), None, "number or text"),
    "metrics as a list": (lambda d: d.update(metrics=[0.9]), None, "'metrics' must be an object"),
    "training as text": (lambda d: d.update(training="yes"), None, "'training' must be an object"),
    "training.parameters as text": (lambda d: d["training"].update(parameters="many"), None, "training.parameters"),
    'tokenizer.lowercase "false"': (lambda d: d["tokenizer"].update(lowercase="false"), None, "true or false"),
    "tokenizer.lowercase 0": (lambda d: d["tokenizer"].update(lowercase=0), None, "true or false"),
    "tokenizer as a list": (lambda d: d.update(tokenizer=["ptb"]), None, "'tokenizer' must be an object"),
    "an unknown tokenizer scheme": (lambda d: d["tokenizer"].update(scheme="bpe"), None, "not supported"),
    "name as a number": (lambda d: d.update(name=7), None, "name"),
    "a 10,000-character name": (lambda d: d.update(name="n" * 10_000), None, "name"),
    "a label as a number": (lambda d: d.update(labels=["neg", 1]), None, "labels"),
    "an empty label": (lambda d: d.update(labels=["neg", " "]), None, "labels"),
    "the same label twice": (lambda d: d.update(labels=["pos", "pos"]), None, "twice"),
    "a 1,000-character label": (lambda d: d.update(labels=["neg", "p" * 1000]), None, "labels"),
    "labels with lone surrogates": (lambda d: d.update(labels=["neg\ud800", "pos\udfff"]), None, "UTF-8"),
    "a vocabulary entry with a lone surrogate": (lambda d: d["vocab"].__setitem__(5, "bad\ud800"), None, "UTF-8"),
    "a name with a lone surrogate": (lambda d: d.update(name="x\udfff"), None, "UTF-8"),
    "a vocabulary entry as a number": (lambda d: d["vocab"].__setitem__(5, 5), None, "vocabulary entry"),
    "format_version true": (lambda d: d.update(format_version=True), None, "format_version"),
    "an unknown top-level field": (lambda d: d.update(surprise=1), None, "unknown fields"),
}


@pytest.mark.parametrize("name", CONFIG_EDITS)
def test_a_config_field_of_the_wrong_type_or_size_is_a_checkpoint_error(files, name):
    weights, config = files
    edit, rewrite, message = CONFIG_EDITS[name]
    edit(config)
    text = json.dumps(config)  # lone surrogates become \ud800 escapes, as a hostile upload would write them
    if rewrite:
        text = rewrite(text)
    with pytest.raises(CheckpointError, match=message):
        load_from_bytes(weights, text.encode())


def test_lowercase_false_in_the_config_is_read_as_false(files):
    weights, config = files
    config["tokenizer"]["lowercase"] = False
    model = load_from_bytes(weights, json.dumps(config))
    assert model.info.lowercase is False and model.tokenize("Good Film") == ["Good", "Film"]


HEADER_ENTRIES = {
    "JSON nested 100,000 deep": (_deep(100_000).encode(), "deeply"),
    "a 5,000-digit offset": (b'{"x": {"data_offsets": [0, ' + b"9" * 5000 + b"]}}", "number too long"),
    "a dtype as a list": ({"dtype": ["F32"]}, "dtype"),
    "a shape as a number": ({"shape": 5}, "shape"),
    "offsets as text": ({"data_offsets": ["0", "4"]}, "truncated"),
    "an entry that is not an object": ("F32", "not an object"),
}


@pytest.mark.parametrize("name", HEADER_ENTRIES)
def test_a_malformed_safetensors_header_is_a_checkpoint_error(files, name):
    weights, config = files
    change, message = HEADER_ENTRIES[name]
    (size,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + size])
    if isinstance(change, bytes):
        raw = change
    else:
        header["head.bias"] = {**header["head.bias"], **change} if isinstance(change, dict) else change
        raw = json.dumps(header).encode()
    with pytest.raises(CheckpointError, match=message):
        load_from_bytes(safetensors_bytes(raw, weights[8 + size:]), json.dumps(config))


@pytest.mark.parametrize("size", [0x0380, 0x0480, 0x0580, 0x10280])
def test_a_safetensors_header_whose_size_looks_like_a_pickle_mark_still_loads(files, size):
    """A header of 896 bytes starts the file with 80 03, a protocol-3 pickle's first bytes."""
    weights, config = files
    (old_size,) = struct.unpack("<Q", weights[:8])
    header = weights[8 : 8 + old_size].rstrip()
    marked = safetensors_bytes(header + b" " * (size - len(header)), weights[8 + old_size:])
    assert marked[:1] == b"\x80" and marked[1:2] in b"\x02\x03\x04\x05"
    assert load_from_bytes(marked, json.dumps(config)).cell == "lstm"


def test_a_tensor_name_with_a_lone_surrogate_is_a_checkpoint_error(files):
    weights, config = files
    (size,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + size])
    header["head.bias\ud800"] = header.pop("head.bias")
    with pytest.raises(CheckpointError, match="lacks tensors"):
        load_from_bytes(safetensors_bytes(header, weights[8 + size:]), json.dumps(config))


# --- 5. Non-finite numbers -------------------------------------------------------------------------------------

def test_weights_too_large_for_float32_products_are_refused(tmp_path, cell):
    model = random_model(cell)
    state = model.state_dict()
    state["rnn.weight_ih_l0"][0, 0] = 3e38
    rnnviz.save(model, tmp_path / "big")
    save_file(state, str(tmp_path / "big.safetensors"))
    with pytest.raises(CheckpointError, match="overflow"):
        rnnviz.load(tmp_path / "big.safetensors")


def test_a_trace_that_overflows_names_its_non_finite_quantities(cell):
    model = random_model(cell)
    with torch.no_grad():  # NaN inputs: every backend's kernel gives NaN states (3e38 weights saturate on oneDNN)
        model.embedding.weight.fill_(float("nan"))
    tr = rnnviz.trace(model, "the movie was not bad at all")
    assert "probs" in tr.nonfinite and "hidden" in tr.nonfinite
    assert set(tr.nonfinite) <= {*tr.quantities(), "probs"}


def test_a_finite_trace_reports_nothing(cell):
    assert rnnviz.trace(random_model(cell, layers=2), random_text(30)).nonfinite == []


def test_nbytes_counts_every_array_of_the_trace(cell):
    tr = rnnviz.trace(random_model(cell, layers=2, hidden=8), random_text(30))
    arrays = [value for value in vars(tr).values() if isinstance(value, np.ndarray) and value.dtype.kind == "f"]
    assert tr.nbytes == sum(a.nbytes for a in [*arrays, *tr.gates.values()])
    assert tr.nbytes > 4 * 2 * 30 * 8 * len(tr.quantities())  # float32, 2 layers, 30 tokens, 8 units


# --- 9. The library contract -----------------------------------------------------------------------------------

@pytest.mark.parametrize("argument", [None, 123, b"lstm-sst2", 4.5, ["lstm-sst2"], "", "a\0b", "x" * 5000])
def test_load_refuses_what_is_not_a_name_or_a_path_with_a_checkpoint_error(argument):
    with pytest.raises(CheckpointError):
        rnnviz.load(argument)


def test_a_directory_named_like_a_checkpoint_is_a_checkpoint_error(tmp_path):
    (tmp_path / "x.safetensors").mkdir()
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CheckpointError, match="not a regular file"):
        rnnviz.load(tmp_path / "x.safetensors")


def test_a_fifo_named_like_a_checkpoint_is_refused_at_once(tmp_path):
    """Opening a FIFO blocks until someone writes to it; it is refused from its stat."""
    script = ("import os, sys, rnnviz\n"
              "os.mkfifo(sys.argv[1] + '/x.safetensors'); open(sys.argv[1] + '/x.json', 'w').close()\n"
              "try:\n    rnnviz.load(sys.argv[1] + '/x.safetensors')\n"
              "except rnnviz.CheckpointError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert "not a regular file" in result.stdout, result.stderr


@pytest.mark.parametrize("weights", [None, "text", 42])
def test_load_from_bytes_refuses_weights_that_are_not_bytes_with_a_checkpoint_error(files, weights):
    with pytest.raises(CheckpointError, match="weights must be bytes"):
        load_from_bytes(weights, json.dumps(files[1]))


@pytest.mark.parametrize("config", [None, 42, ["format"]])
def test_load_from_bytes_refuses_a_config_that_is_not_text_with_a_checkpoint_error(files, config):
    with pytest.raises(CheckpointError, match="config must be bytes or text"):
        load_from_bytes(files[0], config)


@pytest.mark.parametrize("files", [None, ["a.json"], {1: b""}])
def test_load_upload_refuses_what_is_not_a_mapping_of_names_with_a_checkpoint_error(files):
    with pytest.raises(CheckpointError, match="mapping"):
        load_upload(files)


@pytest.mark.parametrize("model", [None, "lstm-sst2", torch.nn.LSTM(4, 4)])
def test_trace_says_it_expected_a_model(model):
    with pytest.raises(TypeError, match="rnnviz.load"):
        rnnviz.trace(model, "text")
