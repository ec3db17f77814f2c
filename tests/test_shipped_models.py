"""The shipped models load, carry what the app needs, and get unambiguous sentences right."""

from __future__ import annotations

import pytest
import torch

import rnnviz
from rnnviz.checkpoint import PRETRAINED_DIR
from rnnviz.model import parameter_count

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
def test_the_trace_of_a_shipped_model_ends_at_its_prediction(name):
    model = rnnviz.load(name)
    text = CLEAR[0][0]
    tr = rnnviz.trace(model, text)
    torch.testing.assert_close(torch.from_numpy(tr.probs[-1]), torch.from_numpy(model.predict_proba(text)[0]),
                               atol=1e-5, rtol=0)
