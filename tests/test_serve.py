"""`python -m rnnviz serve FILE.py:FUNCTION`: the dashboard on a practitioner's own wrapped model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.__main__ import main
from rnnviz.factory import FACTORY_ENV, build_model, parse_spec
from test_app import APP, VIEWS, assert_clean

FACTORY = '''
import torch
from torch import nn
import rnnviz

WORDS = "<pad> <unk> the film was not good bad at all".split()


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 8, padding_idx=0)
        self.gru = nn.GRU(8, 6, num_layers=2, batch_first=True)
        self.out = nn.Linear(6, 2)

    def forward(self, ids):
        return self.out(self.gru(self.embed(ids))[0][:, -1])


def build():
    torch.manual_seed(0)
    return rnnviz.wrap(Classifier(), {w: i for i, w in enumerate(WORDS)}, labels=["negative", "positive"],
                       name="my-gru")


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 6, num_layers=2, bidirectional=True)
        self.tags = nn.Linear(12, 3)

    def forward(self, ids):
        return self.tags(self.lstm(self.embed(ids.T))[0])


def build_tagger():
    torch.manual_seed(0)
    return rnnviz.wrap(Tagger(), {w: i for i, w in enumerate(WORDS)}, labels=["O", "B", "I"], name="my-tagger")


class Projected(nn.Module):
    def __init__(self, bidirectional=False):
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 6, num_layers=2, proj_size=3, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(6 if bidirectional else 3, 2)


def build_projected():
    torch.manual_seed(0)
    return rnnviz.wrap(Projected(), {w: i for i, w in enumerate(WORDS)}, name="my-projected-lstm")


def build_projected_bidirectional():
    torch.manual_seed(0)
    return rnnviz.wrap(Projected(bidirectional=True), {w: i for i, w in enumerate(WORDS)}, name="my-projected-bilstm")


class Relu(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 8, padding_idx=0)
        self.rnn = nn.RNN(8, 6, nonlinearity="relu", batch_first=True)
        self.out = nn.Linear(6, 2)


def build_relu():
    torch.manual_seed(0)
    return rnnviz.wrap(Relu(), {w: i for i, w in enumerate(WORDS)}, name="my-relu-rnn")


def not_a_model():
    return 42
'''


@pytest.fixture
def factory(tmp_path: Path) -> Path:
    path = tmp_path / "my_model.py"
    path.write_text(FACTORY)
    return path


def test_a_factory_spec_names_a_file_and_a_function(factory):
    assert parse_spec(f"{factory}:build") == (factory.resolve(), "build")
    for bad in ("no-colon", f"{factory}:", f"{factory}:not an identifier", "missing.py:build"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_the_factory_must_return_a_wrapped_model(factory):
    assert build_model(f"{factory}:build").name == "my-gru"
    with pytest.raises(TypeError, match="rnnviz.wrap"):
        build_model(f"{factory}:not_a_model")
    with pytest.raises(ValueError, match="no function"):
        build_model(f"{factory}:absent")


@pytest.mark.parametrize("view", [v for v in VIEWS if v not in ("LSTM vs GRU",)])
def test_the_dashboard_opens_on_the_served_model_in_every_view(factory, monkeypatch, view):
    monkeypatch.setenv(FACTORY_ENV, f"{factory}:build")
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["view"] = view
    app.run()
    assert_clean(app)
    assert app.selectbox(key="model").options[0] == "my-gru" and app.selectbox(key="model").value == "my-gru"


@pytest.mark.parametrize("view", [v for v in VIEWS if v not in ("LSTM vs GRU",)])
def test_a_bidirectional_model_opens_in_every_view_with_a_direction_picker(factory, monkeypatch, view):
    monkeypatch.setenv(FACTORY_ENV, f"{factory}:build_tagger")
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["view"] = view
    app.run()
    assert_clean(app)
    direction = app.radio(key="direction")
    assert direction.options == ["forward →", "backward ←"]
    direction.set_value("backward ←").run()
    assert_clean(app)


@pytest.mark.parametrize("view", [v for v in VIEWS if v not in ("LSTM vs GRU",)])
@pytest.mark.parametrize("factory_function", ["build_projected", "build_projected_bidirectional", "build_relu"])
def test_an_lstm_with_a_projection_and_a_relu_rnn_open_in_every_view(factory, monkeypatch, view, factory_function):
    monkeypatch.setenv(FACTORY_ENV, f"{factory}:{factory_function}")
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["view"] = view
    app.run()
    assert_clean(app)


def test_serve_starts_streamlit_on_the_app_with_the_factory(factory, monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, cwd, env: calls.append((command, env)) or 0)
    assert main(["serve", f"{factory}:build", "--port", "8600"]) == 0
    [(command, env)] = calls
    assert command == [sys.executable, "-m", "streamlit", "run", str(Path(APP).resolve()), "--server.port", "8600"]
    assert env[FACTORY_ENV] == f"{factory.resolve()}:build"


def test_serve_refuses_a_bad_factory_with_a_message(factory, capsys):
    assert main(["serve", f"{factory}:not_a_model"]) == 2
    assert "rnnviz.wrap" in capsys.readouterr().err


LANGUAGE_MODEL = '''
import torch
from torch import nn
import rnnviz

WORDS = "<pad> <unk> the cat sat on mat dog ran".split()


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.next_token = nn.Linear(6, len(WORDS))

    def forward(self, ids):
        return self.next_token(self.lstm(self.embed(ids))[0])


def build():
    torch.manual_seed(0)
    return rnnviz.wrap(LanguageModel(), {w: i for i, w in enumerate(WORDS)}, labels=WORDS, name="tiny-lm")
'''


def test_a_language_model_reads_as_its_five_likeliest_next_tokens(tmp_path, monkeypatch):
    import numpy as np
    import rnnviz
    from rnnviz import analysis
    path = tmp_path / "lm.py"
    path.write_text(LANGUAGE_MODEL)
    model = build_model(f"{path}:build")
    assert model.predicts_next_token
    tr = rnnviz.trace(model, "the cat sat on the mat")
    table = analysis.next_tokens(tr)
    best = int(np.argmax(tr.probs[2]))
    assert table.loc[2, "next 1"] == f"{tr.labels[best]} ({tr.probs[2, best]:.2f})" and len(table.columns) == 7
    monkeypatch.setenv(FACTORY_ENV, f"{path}:build")
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["text"] = "the cat sat on the mat"
    app.run()
    assert_clean(app)
    [frame] = app.dataframe
    assert list(frame.value.columns)[:3] == ["step", "token", "next 1"] and not app.get("plotly_chart")


def test_the_export_snippet_of_a_served_model_rebuilds_it_and_reproduces_the_trace(factory, monkeypatch):
    monkeypatch.setenv(FACTORY_ENV, f"{factory}:build")
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["view"] = "Export"
    app.query_params["text"] = "the film was not good at all"
    app.run()
    assert_clean(app)
    [code] = [element.value for element in app.main if element.type == "code"]
    assert f"build_model('{factory}:build')" in code
    namespace: dict = {}
    exec(code.replace("tr.to_frame()", "frame = tr.to_frame()"), namespace)
    assert namespace["tr"].model_name == "my-gru" and namespace["tr"].tokens[-1] == "all"
