"""The corpus explorer in the dashboard (AppTest): a unit's top contexts, histogram and top words from an index,
pattern search over the corpus, and "open in the corpus explorer" from the heatmaps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz import corpus

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MODEL = "gru-sst2"
TEXTS = ["The movie was not bad at all.", "A dull, boring mess.", "Great acting and a lovely story.",
         "I hated every minute of it.", "not bad , not bad at all", "It is a fine film ."] * 4


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("indexes")
    index = corpus.build(rnnviz.load(MODEL), TEXTS, progress=False, store_states=True, corpus="test corpus")
    corpus.save(index, folder / f"{MODEL}-test")
    return folder


def run_app(index_dir, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv(corpus.INDEX_DIR_ENV, str(index_dir))
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def test_the_explorer_shows_a_units_top_contexts_histogram_and_top_words(index_dir, monkeypatch):
    app = run_app(index_dir, monkeypatch, model=MODEL, view="Units in a corpus", text="not bad at all")
    app.selectbox(key="explorer_corpus").set_value("test corpus").run()
    assert not app.exception, [e.value for e in app.exception]
    app.number_input(key="explorer_unit").set_value(7).run()
    index = corpus.load(index_dir / f"{MODEL}-test")
    top = index.top(7, k=10)
    contexts = [h.proto.body for h in app.get("html") if "rnnviz-running-text" in h.proto.body]
    assert len(contexts) == len(top)
    assert top["token"].iloc[0].upper() in contexts[0]  # the top position, in capitals, starts the list
    titles = [c.proto.spec for c in app.get("plotly_chart")]
    assert any("values at" in spec for spec in titles) and any("words that switch it on" in spec for spec in titles)
    assert any("test corpus: 24 texts" in c.value for c in app.caption)


def test_pattern_search_reports_how_often_the_selected_pattern_recurs(index_dir, monkeypatch):
    app = run_app(index_dir, monkeypatch, model=MODEL, view="Units in a corpus", text="not bad at all")
    app.selectbox(key="explorer_corpus").set_value("test corpus").run()
    app.slider(key="pattern_threshold").set_value(0.0).run()
    for mode in app.radio(key="pattern_mode").options:
        app.radio(key="pattern_mode").set_value(mode).run()
        if mode.startswith("exact"):  # exact mode re-reads the corpus only when asked
            assert not any("span(s) in the corpus" in m.value for m in app.markdown)
            app.button(key="pattern_search_exact").click().run()
        assert not app.exception, [e.value for e in app.exception]
        said = " ".join(m.value for m in app.markdown) + " ".join(i.value for i in app.info)
        assert "span(s) in the corpus" in said or "No top-layer unit" in said


def test_a_unit_in_the_heatmaps_opens_in_the_explorer(index_dir, monkeypatch):
    app = run_app(index_dir, monkeypatch, model=MODEL, view="Gate heatmaps", units="5,9", rank="typed list")
    app.selectbox(key="heatmaps_explorer_unit").set_value(9).run()
    app.button(key="heatmaps_explorer_button").click().run()
    assert app.session_state["view"] == "Units in a corpus"
    assert app.number_input(key="explorer_unit").value == 9


def test_an_index_is_offered_only_for_the_very_model_it_was_built_from(index_dir, tmp_path):
    model = rnnviz.load(MODEL)
    assert list(corpus.available_indexes(model, folders=[index_dir])) == ["test corpus"]
    assert corpus.available_indexes(model, folders=[tmp_path]) == {}
    impostor = rnnviz.load(MODEL)  # same name and shape, other weights (an upload called gru-sst2, say)
    with torch.no_grad():
        impostor.head.bias += 1.0
    assert corpus.available_indexes(impostor, folders=[index_dir]) == {}
