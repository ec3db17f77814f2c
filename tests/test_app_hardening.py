"""The dashboard against hostile input (issue 9): uploads, share links and text that must not hurt the server."""

from __future__ import annotations

import json
import re
import time

import pytest
import torch

import rnnviz
from conftest import random_model
from test_app import assert_clean, run_app, shown

UPLOAD = "Upload your own…"


def checkpoint_files(tmp_path, model=None, edit=None) -> dict[str, bytes]:
    """The two files of a small checkpoint, the JSON optionally edited."""
    rnnviz.save(model or random_model("gru", hidden=8), tmp_path / "mine")
    config = json.loads((tmp_path / "mine.json").read_text())
    if edit:
        edit(config)
    return {"mine.safetensors": (tmp_path / "mine.safetensors").read_bytes(),
            "mine.json": json.dumps(config).encode()}


def upload(app, files: dict[str, bytes]):
    uploader = app.sidebar.file_uploader[0]
    return uploader.set_value([(name, data, "application/octet-stream") for name, data in files.items()]).run()


def no_live_link(markdown: str) -> bool:
    """True when Markdown cannot make a link of this: no unescaped ](, no intact autolink."""
    return not re.search(r"(?<!\\)\]\(", markdown) and not re.search(r"(https?:(?!\u200b)|www\.(?!\u200b))", markdown)


def test_a_lone_surrogate_in_the_text_gives_a_page_not_an_exception():
    from streamlit.testing.v1 import AppTest
    from test_app import APP
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state["text"] = "\ud800 a fine film \udfff"  # a browser cannot send one; the library path must cope
    app.run()
    assert_clean(app)
    assert app.metric[0].value in ("positive", "negative")


def test_a_markdown_link_in_the_units_link_is_shown_as_text():
    app = run_app(rank="typed list", units="[open the answers](https://example.com/phish)")
    assert_clean(app)
    [error] = app.sidebar.error
    assert "open the answers" in shown(error.value) and no_live_link(error.value)


def test_the_costly_units_link_is_refused_at_once_with_a_plain_message():
    started = time.perf_counter()
    # 360 KB: Streamlit itself ignores query strings over 524,288 characters, so this is the most that arrives
    app = run_app(rank="typed list", units="0-255," * 60_000, view="Gate heatmaps")
    assert time.perf_counter() - started < 20  # was about 80 s of server CPU
    assert_clean(app)
    assert app.sidebar.error and app.get("plotly_chart"), "a reason, and the page still draws the default units"


def test_a_5000_digit_unit_number_gets_a_plain_message():
    app = run_app(rank="typed list", units="9" * 5000)
    assert_clean(app)
    [error] = app.sidebar.error
    assert "digit" not in error.value.lower() or "limit" not in error.value.lower()
    assert "sys.set_int_max_str_digits" not in error.value


def test_the_units_box_limits_its_length():
    from rnnviz import analysis
    app = run_app(rank="typed list")
    assert app.text_input(key="units").max_chars == analysis.MAX_UNITS_CHARS


def test_more_than_the_two_files_of_one_checkpoint_are_refused(tmp_path):
    files = checkpoint_files(tmp_path)
    files["other.safetensors"] = files["mine.safetensors"]
    app = upload(run_app(model=UPLOAD), files)
    assert_clean(app)
    assert any("exactly the two files" in shown(e.value) for e in app.sidebar.error)
    assert "upload_model" not in app.session_state


def test_removing_the_upload_releases_the_model_and_its_traces(tmp_path):
    app = upload(run_app(model=UPLOAD), checkpoint_files(tmp_path))
    assert app.session_state["upload_model"] is not None and app.session_state["upload_traces"]
    app = app.sidebar.file_uploader[0].set_value([]).run()
    assert_clean(app)
    assert "upload_model" not in app.session_state and "upload_traces" not in app.session_state


def test_markdown_in_an_uploaded_models_labels_and_name_is_shown_as_text(tmp_path):
    def edit(config):
        config["labels"] = ["[bad](https://evil.example)", "www.evil.example"]
        config["name"] = "$\\color{red}{x}$"
    model = random_model("gru", hidden=8)
    app = upload(run_app(model=UPLOAD), checkpoint_files(tmp_path, model, edit))
    assert_clean(app)
    for text in [m.value for m in app.metric] + [c.value for c in app.caption]:
        assert no_live_link(text), text


def test_an_upload_whose_numbers_would_overflow_is_refused_with_a_reason_never_shown_as_nan(tmp_path):
    model = random_model("lstm", hidden=8)
    with torch.no_grad():
        model.rnn.weight_ih_l0.fill_(3e38)
        model.head.weight.fill_(3e38)
    app = upload(run_app(model=UPLOAD), checkpoint_files(tmp_path, model))
    assert_clean(app)
    assert any("overflow" in shown(e.value) for e in app.sidebar.error)
    assert not app.metric, "no prediction is drawn from such weights"


def test_an_upload_too_slow_to_trace_whole_is_cut_with_a_notice(tmp_path):
    model = random_model("lstm", hidden=512, embedding=512)  # about 2 M multiply-adds a token
    app = upload(run_app(model=UPLOAD), checkpoint_files(tmp_path, model))
    app.text_area(key="text").input("the movie was not bad at all " * 400).run()
    assert_clean(app)
    read = app.session_state["upload_model"].max_tokens
    assert read < 2800
    [warning] = [w.value for w in app.warning if "read the first" in w.value]
    assert "compute budget for uploaded models" in shown(warning)
    assert app.metric[1].value == f"{read:,}"


@pytest.fixture
def pretrained_with_a_broken_model(tmp_path, monkeypatch):
    """A pretrained/ folder where lstm-sst2's weights are cut in half and the other models are intact."""
    from rnnviz import checkpoint
    from rnnviz.app import models
    source = checkpoint.PRETRAINED_DIR
    folder = tmp_path / "pretrained"
    folder.mkdir()
    for path in source.iterdir():
        if path.suffix in (".safetensors", ".json"):
            (folder / path.name).symlink_to(path)
    (folder / "lstm-sst2.safetensors").unlink()
    data = (source / "lstm-sst2.safetensors").read_bytes()
    (folder / "lstm-sst2.safetensors").write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(checkpoint, "PRETRAINED_DIR", folder)
    for cache in (models.shipped_models, models.shipped_model, models.shipped_trace):
        cache.clear()
    yield folder
    for cache in (models.shipped_models, models.shipped_model, models.shipped_trace):
        cache.clear()


def test_a_broken_shipped_model_is_hidden_with_a_notice_and_the_rest_keep_serving(pretrained_with_a_broken_model):
    app = run_app()
    assert_clean(app)
    [notice] = [w.value for w in app.sidebar.warning]
    assert "lstm-sst2" in shown(notice) and str(pretrained_with_a_broken_model) not in notice
    assert "lstm-sst2" not in app.selectbox(key="model").options
    assert app.metric[0].value in ("positive", "negative"), "another model serves the landing page"
    compare = run_app(view="LSTM vs GRU")
    assert_clean(compare)
    assert compare.get("plotly_chart")


@pytest.mark.parametrize("tint", ["decided", "occlusion", "integrated gradients"])
def test_an_uploaded_model_gets_every_attribution_on_the_page(tmp_path, tint):
    app = upload(run_app(model=UPLOAD, tint=tint), checkpoint_files(tmp_path, random_model("lstm", layers=2)))
    assert_clean(app)
    assert any("rnnviz-running-text" in h.proto.body for h in app.get("html"))
    assert any("margin" in c.value for c in app.caption)
