"""The shipped models load, carry what the app needs, and get unambiguous sentences right."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import rnnviz
from rnnviz.checkpoint import PRETRAINED_DIR
from rnnviz.model import parameter_count
from rnnviz.negation import read_probe

SHIPPED = rnnviz.available_models()
CLEAR = [
    ("This is a wonderful, moving film with brilliant performances.", "positive"),
    ("A beautiful and thoroughly enjoyable movie; I loved it.", "positive"),
    ("An excellent film, one of the best of the year.", "positive"),
    ("This was a boring, stupid and awful movie.", "negative"),
    ("The worst film I have ever seen: dull, lifeless and badly acted.", "negative"),
    ("A terrible waste of time.", "negative"),
]


DOCUMENTED = ["gru-imdb", "gru-sst2", "lstm-imdb", "lstm-sst2"]
"""The models pretrained/README.md describes; the app opens on lstm-sst2."""


def test_the_documented_models_are_shipped_as_whole_file_pairs():
    assert SHIPPED == DOCUMENTED
    readme = (PRETRAINED_DIR / "README.md").read_text()
    for name in DOCUMENTED:
        assert f"| `{name}` |" in readme
        weights, config = PRETRAINED_DIR / f"{name}.safetensors", PRETRAINED_DIR / f"{name}.json"
        assert weights.is_file() and config.is_file()
        model = rnnviz.load(name)
        assert weights.stat().st_size >= 4 * parameter_count(model.config)  # float32: not truncated


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_has_what_the_app_needs(name):
    model = rnnviz.load(name)
    assert model.cell == name.split("-")[0]
    assert isinstance(model.rnn, torch.nn.LSTM if model.cell == "lstm" else torch.nn.GRU)
    assert model.rnn.batch_first and not model.rnn.bidirectional
    assert isinstance(model.embedding, torch.nn.Embedding)
    assert model.labels == ["negative", "positive"]
    metrics, training = model.info.metrics, model.info.training
    assert 0.5 < metrics["test_accuracy"] <= 1 and 0.5 < metrics["dev_accuracy"] <= 1
    assert training["command"].startswith("python -m rnnviz.train") and training["train_seconds"] > 0
    assert (PRETRAINED_DIR / f"{name}.safetensors").stat().st_size < 20 * 2**20


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_gets_unambiguous_sentences_right(name):
    model = rnnviz.load(name)
    predicted = model.predict_proba([text for text, _ in CLEAR]).argmax(axis=1)
    assert [model.labels[k] for k in predicted] == [label for _, label in CLEAR]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_trace_of_a_shipped_model_is_the_modules_run_over_the_longest_review(name):
    """Every hidden state within 1e-5 of the module's forward over 2,596 tokens, and the same prediction."""
    model = rnnviz.load(name)
    text = (Path(__file__).parent / "data" / "imdb_review_longest.txt").read_text(encoding="utf-8")
    tr = rnnviz.trace(model, text)
    with torch.no_grad():
        output, _ = model.rnn(model.embedding(torch.tensor([tr.token_ids])))
    torch.testing.assert_close(torch.from_numpy(tr.hidden[-1]), output[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.from_numpy(tr.probs[-1]), torch.from_numpy(model.predict_proba(text)[0]),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reads_the_probe_sets_plain_controls_and_records_its_probe_score(name):
    model = rnnviz.load(name)
    probe, kinds = read_probe()
    plain = [i for i, kind in enumerate(kinds) if kind.startswith("plain")]
    predicted = model.predict_proba([probe.texts[i] for i in plain]).argmax(axis=1)
    assert (predicted == [probe.labels[i] for i in plain]).mean() >= 0.8
    assert 0.5 <= model.info.metrics["negation_probe_accuracy"] <= 1


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.endswith("sst2")])
def test_the_sst_models_read_not_bad_at_all_as_positive_and_start_their_line_near_one_half(name):
    model = rnnviz.load(name)
    tr = rnnviz.trace(model, "The movie was not bad at all.")
    assert tr.prediction[0] == "positive"
    assert abs(float(tr.probs[0, 1]) - 0.5) < 0.15  # after "the", nothing is said yet
    assert model.info.metrics["temperature"] > 0 and model.info.metrics["test_ece"] < 0.05
