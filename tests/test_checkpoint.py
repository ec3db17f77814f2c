"""Checkpoints load by name or path, round-trip exactly, never unpickle, and every broken file says why."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import rnnviz
from rnnviz import CheckpointError
from rnnviz import checkpoint
from rnnviz.checkpoint import load_from_bytes, load_upload
from conftest import random_model


@pytest.fixture
def saved(tmp_path, cell):
    model = random_model(cell, layers=2)
    rnnviz.save(model, tmp_path / "tiny")
    return model, tmp_path / "tiny"


def test_a_saved_model_loads_back_with_identical_behaviour(saved):
    model, stem = saved
    loaded = rnnviz.load(stem.with_suffix(".safetensors"))
    assert loaded.cell == model.cell and loaded.labels == model.labels and loaded.name == "tiny"
    assert isinstance(loaded.rnn, (torch.nn.LSTM, torch.nn.GRU)) and loaded.rnn.batch_first
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)
    text = "the movie was not bad at all"
    np.testing.assert_array_equal(loaded.predict_proba(text), model.predict_proba(text))


def test_the_json_path_loads_the_same_model_as_the_weights_path(saved):
    model, stem = saved
    loaded = rnnviz.load(stem.with_suffix(".json"))
    assert (loaded.cell, loaded.name, loaded.labels) == (model.cell, "tiny", model.labels)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)


def test_an_unknown_name_lists_the_shipped_models():
    with pytest.raises(CheckpointError, match="shipped models"):
        rnnviz.load("no-such-model")


def test_missing_weights_file(tmp_path):
    with pytest.raises(CheckpointError, match="no weights file"):
        rnnviz.load(tmp_path / "absent.safetensors")


def test_missing_config_beside_the_weights(saved):
    _, stem = saved
    stem.with_suffix(".json").unlink()
    with pytest.raises(CheckpointError, match="needs its config"):
        rnnviz.load(stem.with_suffix(".safetensors"))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"format": "something-else"}', "format"),
])
def test_invalid_json_is_refused_with_a_reason(saved, content, message):
    _, stem = saved
    stem.with_suffix(".json").write_text(content)
    with pytest.raises(CheckpointError, match=message):
        rnnviz.load(stem)


def _edit_config(stem, edit):
    path = stem.with_suffix(".json")
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["config"].update(cell="transformer"), "cell must be one of"),
    (lambda d: d["config"].update(hidden_size=-3), "positive integer"),
    (lambda d: d["config"].update(hidden_size=10**9), "over the limit"),
    (lambda d: d["config"].update(surprise=1), "unknown config fields"),
    (lambda d: d.update(vocab=d["vocab"][:-1]), "vocabulary has"),
    (lambda d: d.update(vocab=["<unk>", "<pad>"] + d["vocab"][2:]), "must start with"),
    (lambda d: d.update(labels=["only one"]), "labels"),
    (lambda d: d.pop("vocab"), "needs a 'vocab'"),
])
def test_configs_that_do_not_describe_a_valid_model_are_refused(saved, edit, message):
    _, stem = saved
    _edit_config(stem, edit)
    with pytest.raises(CheckpointError, match=message):
        rnnviz.load(stem)


def test_weights_that_do_not_match_the_config_are_refused(saved):
    _, stem = saved
    _edit_config(stem, lambda d: d["config"].update(hidden_size=d["config"]["hidden_size"] + 1))
    with pytest.raises(CheckpointError, match="shape"):
        rnnviz.load(stem)


def test_a_truncated_weights_file_is_refused(saved):
    _, stem = saved
    weights = stem.with_suffix(".safetensors")
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated"):
        rnnviz.load(stem)


@pytest.mark.parametrize("garbage", [b"", b"abc", b"\x00" * 64, b"hello world, this is not a tensor file"])
def test_arbitrary_bytes_are_refused(saved, garbage):
    _, stem = saved
    stem.with_suffix(".safetensors").write_bytes(garbage)
    with pytest.raises(CheckpointError):
        rnnviz.load(stem)


def test_nan_weights_are_refused(saved, tmp_path):
    model, stem = saved
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["head.weight"][0, 0] = float("nan")
    save_file(state, str(stem.with_suffix(".safetensors")))
    with pytest.raises(CheckpointError, match="NaN"):
        rnnviz.load(stem)


class _Bomb:
    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled!')",))


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_a_pickle_renamed_safetensors_is_refused_without_being_unpickled(saved, how, monkeypatch):
    model, stem = saved
    weights = stem.with_suffix(".safetensors")
    if how == "pickle":
        weights.write_bytes(pickle.dumps({"state": _Bomb()}))
    else:
        torch.save({"bomb": _Bomb(), **model.state_dict()}, weights)

    def refuse(*args, **kwargs):
        raise AssertionError("rnnviz tried to unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(CheckpointError, match="pickle"):
        rnnviz.load(stem)


def test_loading_from_uploaded_bytes_validates_the_same_way(saved):
    _, stem = saved
    weights, config = stem.with_suffix(".safetensors").read_bytes(), stem.with_suffix(".json").read_bytes()
    assert load_from_bytes(weights, config).cell in ("lstm", "gru")
    with pytest.raises(CheckpointError, match="not UTF-8"):
        load_from_bytes(weights, weights)
    with pytest.raises(CheckpointError):
        load_from_bytes(config, config)


def test_a_copied_checkpoint_loads_by_path_from_anywhere(saved, tmp_path):
    _, stem = saved
    other = tmp_path / "elsewhere"
    other.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(stem.with_suffix(suffix), other / f"mine{suffix}")
    assert rnnviz.load(str(other / "mine.safetensors")).name == "mine"


def _resave(model, stem, change) -> None:
    """Write ``model``'s weights to STEM.safetensors after ``change`` edits the state dict."""
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    change(state)
    save_file(state, str(stem.with_suffix(".safetensors")))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_weights_that_are_not_floats_are_refused(saved, dtype):
    model, stem = saved
    _resave(model, stem, lambda state: state.update({"head.bias": state["head.bias"].to(dtype)}))
    with pytest.raises(CheckpointError, match="dtype"):
        rnnviz.load(stem)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_weights_in_any_float_type_load_as_float32(saved, dtype):
    model, stem = saved
    _resave(model, stem, lambda state: state.update({k: v.to(dtype) for k, v in state.items()}))
    loaded = rnnviz.load(stem)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    torch.testing.assert_close(loaded.head.weight, model.head.weight.to(dtype).float(), rtol=0, atol=0)


def test_a_tensor_the_config_does_not_describe_is_refused(saved):
    model, stem = saved
    _resave(model, stem, lambda state: state.update(surprise=torch.zeros(3)))
    with pytest.raises(CheckpointError, match="does not describe"):
        rnnviz.load(stem)


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(saved, monkeypatch):
    _, stem = saved
    files = {"tiny.safetensors": stem.with_suffix(".safetensors").read_bytes(),
             "tiny.json": stem.with_suffix(".json").read_bytes()}
    assert load_upload(files).name == "tiny"
    monkeypatch.setattr(checkpoint, "MAX_UPLOAD_BYTES", len(files["tiny.safetensors"]) - 1)
    with pytest.raises(CheckpointError, match="upload limit"):
        load_upload(files)


@pytest.mark.parametrize("limit, suffix", [("MAX_WEIGHTS_BYTES", ".safetensors"), ("MAX_CONFIG_BYTES", ".json")])
def test_a_file_over_the_size_limit_is_refused_by_path_before_it_is_opened(saved, monkeypatch, limit, suffix):
    _, stem = saved
    too_large = stem.with_suffix(suffix)
    monkeypatch.setattr(checkpoint, limit, too_large.stat().st_size - 1)
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda path, *args, **kw: opened.append(path) or real_open(path, *args, **kw))
    with pytest.raises(CheckpointError, match="larger than"):
        rnnviz.load(stem)
    assert too_large not in opened


@pytest.mark.parametrize("lowercase, tokens", [(True, ["good", "film"]), (False, ["Good", "Film"])])
def test_the_lowercase_flag_survives_saving_and_decides_the_tokens(tmp_path, lowercase, tokens):
    model = random_model("gru")
    model.info.lowercase = lowercase
    rnnviz.save(model, tmp_path / "cased")
    loaded = rnnviz.load(tmp_path / "cased.safetensors")
    assert loaded.info.lowercase is lowercase
    assert loaded.tokenize("Good Film") == tokens and rnnviz.trace(loaded, "Good Film").tokens == tokens


@pytest.mark.parametrize("scheme, tokens", [("ptb", ["it", "was", "``", "great.", "''", "ok"]),
                                            ("ptb2", ["it", "was", "``", "great", ".", "''", "ok"])])
def test_a_model_reads_text_with_the_tokenizer_scheme_it_was_trained_with(tmp_path, scheme, tokens):
    """Shipped models name "ptb", the first release's tokenizer they were trained with; newer ones "ptb2"."""
    model = random_model("gru")
    model.info.tokenizer_scheme = scheme
    rnnviz.save(model, tmp_path / "model")
    assert json.loads((tmp_path / "model.json").read_text())["tokenizer"]["scheme"] == scheme
    loaded = rnnviz.load(tmp_path / "model.safetensors")
    assert loaded.info.tokenizer_scheme == scheme and loaded.tokenize('It was "great." OK') == tokens


def test_a_checkpoint_without_a_scheme_reads_with_the_first_release_tokenizer(tmp_path):
    rnnviz.save(random_model("gru"), tmp_path / "model")
    document = json.loads((tmp_path / "model.json").read_text())
    del document["tokenizer"]["scheme"]
    (tmp_path / "model.json").write_text(json.dumps(document))
    assert rnnviz.load(tmp_path / "model.safetensors").info.tokenizer_scheme == "ptb"
