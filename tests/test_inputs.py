"""Any text at all: trace returns a consistent trace with finite numbers, or a ValueError with a plain message."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz import export
from conftest import random_model

HOSTILE_TEXTS = {
    "single character": "a",
    "single punctuation": "!",
    "emoji with skin tones": "loved it 👍🏽👩🏾‍🎤🎬",
    "CJK": "この映画は最高でした 电影很好看 영화 좋아요",
    "Arabic and Hebrew": "الفيلم رائع جدا והסרט היה נהדר",
    "combining marks": "Zalgo t̸̡̛e̵͇̔x̴̱̆t̶̰̾ and cafe\u0301",
    "zero-width characters": "good\u200b\u200c\u200dmovie\ufeff",
    "control characters": "nul\x00 bell\x07 escape\x1b[31mred\x1b[0m tab\tend",
    "lone surrogates": "broken \ud800 pair \udfff text",
    "html and script": "<script>alert('x')</script><img src=x onerror=alert(1)><b>bold</b>",
    "markdown and latex": "# Title **bold** [link](javascript:alert(1)) ![img](http://x/y.png) $\\frac{1}{0}$ \\href{x}{y}",
    "a 10,000-character word": "a" * 10_000,
    "500 short lines": "\n".join(f"line {i} ok." for i in range(500)),
    "right-to-left override": "good \u202emovie\u202c bad",
    "only punctuation": "?!?! ... --- ,,,",
}
EMPTY_TEXTS = {"empty": "", "spaces": "   ", "newlines and tabs": "\n\t\r\n", "only zero-width": "\u200b\u200d\ufeff",
               "only control characters": "\x00\x01\x1b\x07", "only html line breaks": "<br /><br />"}


def assert_consistent(tr: rnnviz.Trace) -> None:
    T = len(tr.tokens)
    assert T >= 1 and len(tr.token_ids) == T and tr.unknown.shape == (T,)
    for values in (*tr.gates.values(), tr.hidden):
        assert values.shape[1] == T and np.isfinite(values).all()
    assert tr.probs.shape[0] == T and np.isfinite(tr.probs).all()
    assert tr.keep.shape == (T,) and np.isfinite(tr.keep).all() and ((tr.keep >= 0) & (tr.keep <= 1)).all()


@pytest.fixture(scope="module")
def models():
    return [random_model("lstm", layers=2, seed=1), random_model("gru", layers=1, seed=2)]


@pytest.mark.parametrize("name", HOSTILE_TEXTS)
def test_hostile_text_gives_a_consistent_trace(models, name):
    for model in models:
        tr = rnnviz.trace(model, HOSTILE_TEXTS[name])
        assert_consistent(tr)
        assert json.loads(export.trace_json(tr).decode("utf-8"))["tokens"] == tr.tokens
        assert export.trace_csv(tr).decode("utf-8").startswith("step,token,")


@pytest.mark.parametrize("name", EMPTY_TEXTS)
def test_text_without_words_raises_a_plain_value_error(models, name):
    with pytest.raises(ValueError, match="text"):
        rnnviz.trace(models[0], EMPTY_TEXTS[name])


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a", "list"]])
def test_a_non_string_raises_value_error(models, value):
    with pytest.raises(ValueError, match="string"):
        rnnviz.trace(models[0], value)


def test_html_in_text_stays_literal_tokens(models):
    tr = rnnviz.trace(models[0], "<b>bold</b>")
    assert "<" in tr.tokens and "b" in tr.tokens


def test_100000_characters_of_prose_finish_fast_and_say_they_were_cut():
    model = random_model("lstm", hidden=256, embedding=200, seed=3)
    prose = ("The film opens slowly, but the second half is gripping and the acting is superb. " * 1300)[:100_000]
    started = time.perf_counter()
    tr = rnnviz.trace(model, prose)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert tr.truncated and len(tr.tokens) == model.max_tokens == rnnviz.MAX_TOKENS
    assert tr.n_tokens_total > model.max_tokens
    assert_consistent(tr)


def _with_dropout(model):
    """``model`` with dropout 0.5 on the embedding, the head input and between layers, left in training mode."""
    model.dropout.p = 0.5
    model.rnn.dropout = 0.5
    return model.train()


def test_the_same_text_gives_the_same_numbers_every_time_even_in_training_mode():
    """Dropout never reaches a trace or a prediction: a model left in training mode reads like an evaluated one."""
    text = "The acting was not good, but the story was great."
    model = random_model("lstm", layers=2, seed=1)
    evaluated_trace, evaluated_probs = rnnviz.trace(model, text), model.predict_proba(text)
    _with_dropout(model)
    for _ in range(3):
        tr = rnnviz.trace(model, text)
        for name, values in evaluated_trace.quantities().items():
            np.testing.assert_array_equal(tr.quantities()[name], values, err_msg=name)
        np.testing.assert_array_equal(tr.probs, evaluated_trace.probs)
        np.testing.assert_array_equal(model.predict_proba(text), evaluated_probs)
    assert model.training, "predict_proba must give back the mode it found"


def test_a_loaded_model_computes_exactly_what_the_saved_one_did(tmp_path, cell):
    model = _with_dropout(random_model(cell, layers=2, seed=4))
    rnnviz.save(model, tmp_path / "m")
    expected = rnnviz.trace(model, "a fine film , not a dull one")
    for _ in range(2):
        loaded = rnnviz.load(tmp_path / "m.safetensors")
        assert not loaded.training and loaded.config == model.config
        tr = rnnviz.trace(loaded, "a fine film , not a dull one")
        for name, values in expected.quantities().items():
            np.testing.assert_array_equal(tr.quantities()[name], values, err_msg=name)
        np.testing.assert_array_equal(tr.probs, expected.probs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_any_string_traces_consistently_or_raises_value_error(models, text):
    for model in models:
        try:
            tr = rnnviz.trace(model, text)
        except ValueError:
            continue
        assert_consistent(tr)
