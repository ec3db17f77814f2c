"""The Lessons and Playground views through streamlit.testing's AppTest, and the other views with a plain RNN."""

from __future__ import annotations

import html
import json

import pytest

import rnnviz
from conftest import random_model
from rnnviz import toys
from rnnviz.app.controls import UPLOAD
from rnnviz.app.lessons import LESSONS
from test_app import VIEWS, assert_clean, run_app, shown
from test_app_hardening import checkpoint_files, upload


def heading(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("#### "))


def test_a_lesson_link_opens_that_lesson_at_that_step_and_the_unit_shown_is_the_one_rnnviz_finds():
    app = run_app(lesson="counting", step="3")
    assert_clean(app)
    assert app.session_state["view"] == "Lessons"
    assert "3/5: The unit that counts" in heading(app)
    unit = toys.tracking_unit(rnnviz.load("toy-counting-lstm"), "counting")
    caption = next(shown(c.value) for c in app.caption if "tracking_unit" in c.value)
    assert f"{unit.steps:,} steps" in caption
    [chart] = app.get("plotly_chart")
    title = html.unescape(json.loads(chart.proto.spec)["layout"]["title"]["text"])
    assert title.endswith(f"unit {unit.unit} against the a's minus b's so far: r = {unit.r:+.3f}")
    assert app.get("plotly_chart") and any("Question for the class" in i.value for i in app.info)
    assert app.query_params["step"] == "3"


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_every_step_of_every_lesson_draws_its_figure_and_asks_its_question(lesson):
    app = run_app(lesson=lesson)
    count = len(LESSONS[lesson].steps)
    for number in range(1, count + 1):
        assert_clean(app)
        assert f"{number}/{count}: {LESSONS[lesson].steps[number - 1].title}" in heading(app)
        assert app.get("plotly_chart"), f"step {number} draws its figure"
        assert any(LESSONS[lesson].steps[number - 1].question in i.value for i in app.info)
        assert app.query_params["step"] == str(number)
        if number < count:
            app = app.button[1].click().run()  # Next
    assert app.button[1].disabled, "no Next after the last step"


def test_back_and_the_step_list_move_through_a_lesson_and_a_new_lesson_starts_at_step_one():
    app = run_app(lesson="brackets", step="4")
    app = app.button[0].click().run()
    assert "3/5" in heading(app)
    app = app.sidebar.radio(key="lesson_step").set_value(5).run()
    assert "5/5" in heading(app)
    app = app.sidebar.selectbox(key="lesson_name").set_value("first-word").run()
    assert_clean(app)
    assert "Remember the first word · 1/4" in heading(app)
    assert app.query_params["lesson"] == "first-word" and app.query_params["step"] == "1"


@pytest.mark.parametrize("lesson, step", [("counting", "0"), ("counting", "99"), ("counting", "two"),
                                          ("counting", "1" * 5000), ("no-such-lesson", "2"), ("<b>x</b>", "1")])
def test_a_link_to_a_step_or_lesson_that_does_not_exist_opens_a_real_one(lesson, step):
    app = run_app(lesson=lesson, step=step)
    assert_clean(app)
    assert "Counting" in heading(app)


def test_the_first_word_lesson_shows_the_accuracies_recorded_in_each_models_json():
    app = run_app(lesson="first-word", step="1")
    caption = next(c.value for c in app.caption if "Accuracy" in c.value)
    for name in ("toy-first-rnn", "toy-first-lstm", "toy-first-gru"):
        metrics = rnnviz.load(name).info.metrics
        assert f"{metrics['accuracy_at_200_fillers']:.1%} with 200 x's" in caption


def test_the_playground_presets_set_the_sliders_and_the_equations_follow_them():
    app = run_app(view="Playground")
    assert_clean(app)
    assert app.slider(key="playground_lstm_b_f").value == 5.0 and app.get("plotly_chart")
    assert len(app.latex) == 6
    app = app.selectbox(key="playground_lstm_preset").set_value("copy the input").run()
    assert app.slider(key="playground_lstm_b_f").value == -5.0
    assert app.text_input(key="playground_lstm_inputs").value == "1 0 -1 0.5 0 1"
    app = app.text_input(key="playground_lstm_inputs").set_value("1 banana").run()
    assert_clean(app)
    assert any("not a number" in i.value for i in app.info)
    app = app.sidebar.radio(key="playground_cell").set_value("gru").run()
    assert_clean(app)
    assert len(app.latex) == 4


@pytest.mark.parametrize("view", VIEWS)
def test_an_uploaded_plain_rnn_works_in_every_view(tmp_path, view):
    app = upload(run_app(model=UPLOAD, view=view), checkpoint_files(tmp_path, random_model("rnn", layers=2)))
    assert_clean(app)
