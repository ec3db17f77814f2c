"""A real browser: `streamlit run app.py` on a free local port, driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

import pytest

from rnnviz.serving import CHROMIUM, CHROMIUM_ARGS, heatmap_count_script, running_app

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

REVIEW = ("I expected little from this film, but it was mesmerizing from start to finish. The acting is superb, "
          "the script is sharp, and the ending is not what you think. Highly recommended!")
HOSTILE = "<img src=x onerror=\"window.__pwned = 1\"><script>window.__pwned = 2</script> **bold** [link](javascript:1)"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_app(log) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.base_url = url  # type: ignore[attr-defined]
        page.dialogs = dialogs  # type: ignore[attr-defined]
        yield page
        browser.close()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def paste(page: Page, text: str) -> None:
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")


def test_the_first_page_draws_the_reading_strip(page):
    page.wait_for_function(f"{heatmap_count_script()} >= 1", timeout=90_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_pasted_review_renders_every_gate_heatmap(page):
    paste(page, REVIEW)
    page.get_by_text("mesmerizing", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Gate heatmaps", exact=True).click()
    # LSTM: input, forget, output, candidate, cell state, hidden state, keep. Waiting for exactly 7 (not
    # ">= 7, then count") lets a redraw in flight finish instead of being caught half-drawn.
    page.wait_for_function(f"{heatmap_count_script()} === 7", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_typed_html_and_markdown_are_never_rendered(page):
    page.get_by_text("Reading strip", exact=True).click()
    paste(page, HOSTILE)
    page.get_by_text("onerror", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function(f"{heatmap_count_script()} >= 1", timeout=60_000)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("a[href^='javascript']").count() == 0
    assert not page.dialogs


def test_a_share_link_opens_the_requested_view(page):
    page.goto(f"{page.base_url}/?model=gru-sst2&text=a+dull+and+lifeless+film&view=Gate+heatmaps")
    # GRU: reset, update, candidate, hidden state, keep
    page.wait_for_function(f"{heatmap_count_script()} === 5", timeout=90_000)
    assert page.get_by_label("Text", exact=True).input_value() == "a dull and lifeless film"


def test_selecting_units_in_the_saturation_plot_opens_them_in_the_heatmaps(page):
    page.goto(f"{page.base_url}/?model=lstm-sst2&text=not+bad+at+all%2C+but+too+long&view=Saturation")
    drag_area = page.locator(".js-plotly-plot .nsewdrag").first
    drag_area.wait_for(timeout=90_000)
    box = drag_area.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=12)
    page.mouse.up()
    page.wait_for_function(f"{heatmap_count_script()} === 7", timeout=60_000)
    typed = page.get_by_label("Units (e.g. 3, 17, 40-45)", exact=True)
    expect(typed).not_to_have_value("", timeout=10_000)  # the sidebar input appears a moment after the charts
    assert re.fullmatch(r"\d+(-\d+)?(, \d+(-\d+)?)*", typed.input_value())
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query["view"] == ["Gate heatmaps"] and query["units"] == [typed.input_value()], "the share link has them"
