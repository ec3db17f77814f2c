"""The dashboard through streamlit.testing's AppTest: every view and control runs without exception."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import rnnviz
from conftest import random_model

APP = str(Path(__file__).resolve().parent.parent / "app.py")
VIEWS = ["Reading", "Gate heatmaps", "Step through", "LSTM vs GRU", "Minimal pairs", "What if", "Saturation",
         "Units in a corpus",
         "Export", "About the equations"]
SHIPPED = rnnviz.available_models()


def run_app(**query) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def shown(markdown: str) -> str:
    """What a reader sees of escaped Markdown: no backslash escapes, no zero-width spaces."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_app()


def test_the_default_page_traces_the_example_and_shows_the_prediction(app):
    assert_clean(app)
    assert app.text_area(key="text").value
    labels = [m.label for m in app.metric]
    assert "Prediction" in labels and "Tokens read" in labels
    assert app.get("plotly_chart"), "the prediction line is drawn"
    assert any("rnnviz-running-text" in h.proto.body for h in app.get("html")), "the tinted running text is shown"


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_runs_for_every_shipped_model(view):
    for name in SHIPPED:
        app = run_app(model=name, view=view)
        assert_clean(app)
        assert app.session_state["view"] == view


@pytest.mark.parametrize("name", SHIPPED)
def test_heatmaps_default_to_the_two_gates_that_decide_what_is_kept_and_offer_the_rest(name):
    app = run_app(model=name, view="Gate heatmaps")
    assert_clean(app)
    cell = rnnviz.load(name).cell
    [chart] = app.get("plotly_chart")
    titles = [a["text"] for a in json.loads(chart.proto.spec)["layout"]["annotations"]]
    expected = ("Input gate", "Forget gate") if cell == "lstm" else ("Reset gate", "Update gate")
    assert len(titles) == 2 and all(any(t.startswith(e) for t in titles) for e in expected)
    every = 7 if cell == "lstm" else 5  # gates, cell state (LSTM), hidden, keep
    assert len(app.multiselect(key=f"panels_{cell}").options) == every


def test_the_heatmaps_can_show_a_single_chosen_panel():
    app = run_app(model="gru-sst2", view="Gate heatmaps")
    app.multiselect(key="panels_gru").set_value(["update"]).run()
    assert_clean(app)
    [chart] = app.get("plotly_chart")
    assert len(json.loads(chart.proto.spec)["data"]) == 1
    app.multiselect(key="panels_gru").set_value([]).run()
    assert_clean(app)
    assert any("at least one panel" in i.value for i in app.info) and not app.get("plotly_chart")


def test_a_share_link_prefills_model_text_units_and_view():
    app = run_app(model=SHIPPED[-1], text="a quietly devastating film", rank="typed list", units="1, 3-4",
                  view="Gate heatmaps")
    assert_clean(app)
    assert app.selectbox(key="model").value == SHIPPED[-1]
    assert app.text_area(key="text").value == "a quietly devastating film"
    assert app.text_input(key="units").value == "1, 3-4"
    assert app.metric[1].value == "4"  # tokens read


def test_a_broken_share_link_falls_back_to_defaults():
    app = run_app(model="no-such-model", view="nonsense", k="-5")
    assert_clean(app)
    assert app.selectbox(key="model").value == "lstm-sst2"  # the default model


def test_picking_an_example_replaces_the_text():
    app = run_app()
    app.selectbox(key="example").select("Negation").run()
    assert_clean(app)
    assert app.text_area(key="text").value == "The movie was not bad at all."


def test_the_examples_picker_names_the_example_a_share_link_holds():
    app = run_app(text="The movie was not bad at all.")
    assert_clean(app)
    assert app.selectbox(key="example").value == "Negation"


def test_the_examples_picker_says_custom_for_other_text_and_an_edited_example_can_be_restored():
    app = run_app()
    app.selectbox(key="example").select("Negation").run()
    app.text_area(key="text").input("The movie was not bad at all, really.").run()
    assert app.selectbox(key="example").value == "(your own text)"
    app.selectbox(key="example").select("Negation").run()
    assert_clean(app)
    assert app.text_area(key="text").value == "The movie was not bad at all."
    assert app.selectbox(key="example").value == "Negation"


def test_a_curated_example_says_whether_the_model_agrees_with_a_human_reader():
    app = run_app(model="lstm-sst2")
    app.selectbox(key="example").select("Negation").run()
    verdict = "agrees." if app.metric[0].value == "positive" else "does not."
    assert any("A human reader calls this example positive; the model " + verdict in c.value for c in app.caption)


def test_empty_text_shows_a_notice_not_an_error():
    app = run_app()
    app.text_area(key="text").input("   ").run()
    assert_clean(app)
    [notice] = [i.value for i in app.info if "Nothing to show yet" in i.value]
    assert notice.count(":") <= 1, notice  # one sentence, not "yet: the text is empty: type ..."


def test_units_can_be_ranked_every_way_and_typed():
    app = run_app(view="Gate heatmaps")
    for rank in ("variance", "keep score", "effect"):
        app.radio(key="rank").set_value(rank).run()
        assert_clean(app)
    app.radio(key="rank").set_value("typed list").run()
    app.text_input(key="units").input("2, 5-7").run()
    assert_clean(app)
    app.text_input(key="units").input("9999").run()
    assert_clean(app)
    assert any("does not exist" in shown(e.value) for e in app.error)


def test_step_through_moves_with_the_buttons_and_explains_the_step():
    app = run_app(view="Step through")
    app.button[1].click().run()  # Next
    assert_clean(app)
    assert app.slider(key="step").value == 1
    assert app.get("latex"), "the equations are shown with numbers"
    assert any("unit" in m.value and "position 1" in m.value for m in app.markdown)


def test_minimal_pairs_report_the_change_in_prediction_and_only_the_pair_predictions():
    app = run_app(view="Minimal pairs")
    assert_clean(app)
    assert any("moves by" in m.value for m in app.markdown)
    assert [m.label for m in app.metric] == ["Text A", "Text B"], "the main text's prediction is not shown here"
    app.text_input(key="pair_b").input("").run()
    assert_clean(app)


def test_minimal_pairs_come_from_the_share_link_and_typed_text_survives_a_rerun():
    app = run_app(view="Minimal pairs", pair_a="a dull film", pair_b="a not dull film")
    assert_clean(app)
    assert (app.text_input(key="pair_a").value, app.text_input(key="pair_b").value) == ("a dull film", "a not dull film")
    assert app.selectbox(key="pair_preset").value == "(your own pair)"
    app.selectbox(key="pair_quantity").select("update" if "update" in app.selectbox(key="pair_quantity").options
                                               else "forget").run()
    assert app.text_input(key="pair_a").value == "a dull film"
    app.selectbox(key="pair_preset").select("Intensifier").run()
    assert app.text_input(key="pair_b").value == "a very good film"


def test_minimal_pairs_rank_the_units_the_pair_moves_most():
    from rnnviz import analysis
    app = run_app(view="Minimal pairs", model="gru-sst2", k="5")
    assert_clean(app)
    heatmap = json.loads(app.get("plotly_chart")[-1].proto.spec)["data"][0]
    model = rnnviz.load("gru-sst2")
    first, second = (rnnviz.trace(model, t) for t in (app.text_input(key="pair_a").value, app.text_input(key="pair_b").value))
    slots = analysis.align_tokens(first.tokens, second.tokens)
    expected = analysis.units_moved_by_pair(first, second, slots, "hidden")[:5]
    assert heatmap["y"] == [str(u) for u in expected]


def test_long_text_is_paged_and_a_cut_is_announced():
    long_text = "a long and winding but ultimately rewarding story . " * 1200  # > 5,000 tokens
    app = run_app(view="Gate heatmaps")
    app.text_area(key="text").input(long_text).run()
    assert_clean(app)
    assert any("read the first 5,000" in shown(w.value) for w in app.warning)
    last_window = app.select_slider(key="page").value
    assert last_window == 5000 - 32, "long texts open on the last full window, where the kept memory is"


def _upload(app: AppTest, files: dict[str, bytes]) -> AppTest:
    """Feed files to the sidebar uploader the way the browser would."""
    uploader = app.sidebar.file_uploader[0]
    return uploader.set_value([(name, data, "application/octet-stream") for name, data in files.items()]).run()


def test_uploading_a_valid_model_traces_with_it(tmp_path):
    rnnviz.save(random_model("gru", layers=2, hidden=8), tmp_path / "mine")
    app = run_app(model="Upload your own…")
    app = _upload(app, {p.name: p.read_bytes() for p in tmp_path.iterdir()})
    assert_clean(app)
    assert any("Model: mine," in shown(c.value) for c in app.caption)


@pytest.mark.parametrize("files, message", [
    ({"model.pt": b"\x80\x04junk"}, "only .safetensors"),
    ({"mine.safetensors": b"\x80\x04junk", "mine.json": b"{}"}, "format"),
    ({"mine.safetensors": b"not tensors"}, "exactly two files"),
])
def test_uploading_a_broken_model_shows_why(files, message):
    app = run_app(model="Upload your own…")
    app = _upload(app, files)
    assert_clean(app)
    assert any(message in shown(e.value) for e in app.sidebar.error)


HOSTILE = {
    "html and script": "<script>alert(1)</script><img src=x onerror=alert(1)> <b>bold</b>",
    "markdown and latex": "# Heading **bold** [link](javascript:alert(1)) ![x](http://x/y.png) $x^2$ \\href{x}{y}",
    "control characters": "nul\x00 escape\x1b[31m bell\x07 done",
    "zero-width only": "\u200b\u200d\ufeff",
    "emoji and scripts": "👍🏽 映画 الفيلم סרט Zalgo t̸̡̛e̵͇̔x̴̱̆t̶̰̾",
    "one character": "x",
    "a 10,000-character word": "w" * 10_000,
    "500 short lines": "\n".join(f"line {i}." for i in range(500)),
}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("view", ["Reading", "Gate heatmaps", "Step through", "Export"])
def test_any_text_gives_a_view_or_a_notice_never_an_exception(name, view):
    app = run_app(view=view)
    app.text_area(key="text").input(HOSTILE[name]).run()
    assert_clean(app)
    assert app.get("plotly_chart") or app.get("latex") or app.get("download_button") or any(
        "Nothing to show yet" in i.value for i in app.info)
    for block in app.markdown:
        assert "<script" not in block.value and "](javascript" not in block.value


def test_an_upload_stays_in_its_own_session(tmp_path):
    rnnviz.save(random_model("gru", hidden=8), tmp_path / "private")
    first = _upload(run_app(model="Upload your own…"), {p.name: p.read_bytes() for p in tmp_path.iterdir()})
    assert any("Model: private," in shown(c.value) for c in first.caption)
    second = run_app(model="Upload your own…")
    assert_clean(second)
    assert not second.metric, "another session must not see the uploaded model"
    assert any("Upload both files" in i.value for i in second.sidebar.info)


@pytest.mark.parametrize("tint", ["kept", "kept where read", "decided", "occlusion", "integrated gradients"])
def test_the_reading_view_tints_the_text_by_every_score_and_keeps_the_choice_in_the_link(tint):
    app = run_app(model="gru-sst2", tint=tint, text="not bad at all , really")
    assert_clean(app)
    assert app.selectbox(key="tint").value == tint
    [paragraph] = [h.proto.body for h in app.get("html") if "rnnviz-running-text" in h.proto.body]
    assert paragraph.count('class="rnnviz-token') == 6
    titles = re.findall(r'title="([^"]*)"', paragraph)
    assert all("position" in title for title in titles) and len(set(titles)) == 6


def test_step_through_says_in_words_what_the_library_computes_for_that_unit_and_step():
    from rnnviz import analysis
    app = run_app(view="Step through", model="gru-sst2", text="a dull and lifeless film")
    app.button[1].click().run()
    app.button[1].click().run()
    assert_clean(app)
    unit = app.selectbox(key="step_unit").value
    model = rnnviz.load("gru-sst2")
    tr = rnnviz.trace(model, "a dull and lifeless film")
    detail = analysis.step_detail(model, tr, 0, 2)
    sentence = analysis.describe_step("gru", detail, unit)
    assert any(f"(position 2), unit {unit} {sentence}" in shown(m.value) for m in app.markdown)
    assert not any("-0.00" in m.value for m in app.markdown)


@pytest.mark.parametrize("name", ["lstm-sst2", "gru-sst2"])
def test_what_if_states_how_far_holding_a_gate_moves_the_prediction(name):
    app = run_app(model=name, view="What if", text="not bad at all , a fine film")
    assert_clean(app)
    experiments = app.selectbox(key="what_if").options
    app.selectbox(key="what_if").select(experiments[0]).run()
    app.checkbox(key="what_if_all").check().run()
    assert_clean(app)
    [sentence] = [m.value for m in app.markdown if "moves from" in m.value]
    model = rnnviz.load(name)
    quantity, value = ("forget", 1.0) if model.cell == "lstm" else ("update", 1.0)
    changed = rnnviz.trace(model, "not bad at all , a fine film", interventions=[rnnviz.Clamp(quantity, value)])
    assert f"to **{changed.probs[-1, 1]:.3f}**" in sentence
    assert len(app.get("plotly_chart")) == 2
