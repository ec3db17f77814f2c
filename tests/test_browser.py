"""A real browser: `streamlit run app.py` on a free local port, driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

import pytest

import rnnviz
from rnnviz.serving import CHROMIUM, CHROMIUM_ARGS, heatmap_count_script, running_app

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

REVIEW = ("I expected little from this film, but it was mesmerizing from start to finish. The acting is superb, "
          "the script is sharp, and the ending is not what you think. Highly recommended!")
HOSTILE = ("<img src=x onerror=\"window.__pwned = 1\"><script>window.__pwned = 2</script> **bold** [link](javascript:1) "
           "www.evil.example http://evil.example/x mail@evil.example")


REVIEW_230 = (Path(__file__).parent / "data" / "imdb_review_230.txt").read_text(encoding="utf-8")
SIZES = {"projector": (1024, 768), "desktop": (1400, 1000)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_app(log) as (url, _):
        yield url
    written = log.read_text()
    assert "Traceback" not in written, written[-3000:]
    assert "was created with a default value but also had its value set" not in written, "no widget state warnings"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser, server: str, size: tuple[int, int], query: str = "") -> Page:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{server}/{query}")
    page.base_url = server  # type: ignore[attr-defined]
    page.dialogs = dialogs  # type: ignore[attr-defined]
    return page


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server, SIZES["desktop"])
    yield page
    page.close()


def link(**query: str) -> str:
    return "?" + urllib.parse.urlencode(query)


def paste(page: Page, text: str) -> None:
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")


def test_the_first_page_draws_the_running_text_and_the_prediction_line(page):
    page.locator(".rnnviz-running-text").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot .scatterlayer").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_pasted_review_renders_the_default_gate_heatmaps(page):
    paste(page, REVIEW)
    page.get_by_text("mesmerizing", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Gate heatmaps", exact=True).click()
    # LSTM by default: input and forget gates. Waiting for exactly 2 (not ">= 2, then count") lets a redraw
    # in flight finish instead of being caught half-drawn.
    page.wait_for_function(f"{heatmap_count_script()} === 2", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_typed_html_and_markdown_are_never_rendered(page):
    page.get_by_text("Reading", exact=True).click()
    paste(page, HOSTILE)
    page.locator(".rnnviz-token", has_text="onerror").first.wait_for(timeout=60_000)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("a[href^='javascript']").count() == 0
    assert not page.dialogs
    page.get_by_text("Step through", exact=True).click()
    page.get_by_text("Next ▶").click()
    page.locator(".rnnviz-context").wait_for(timeout=60_000)
    for step in range(12):  # walk over the link-like tokens: none becomes a live link
        page.get_by_text("Next ▶").click()
        page.wait_for_timeout(150)
    assert page.locator("a[href*='evil']").count() == 0


def test_a_share_link_opens_the_requested_view(page):
    page.goto(f"{page.base_url}/?model=gru-sst2&text=a+dull+and+lifeless+film&view=Gate+heatmaps")
    # GRU by default: reset and update gates
    page.wait_for_function(f"{heatmap_count_script()} === 2", timeout=90_000)
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
    page.wait_for_function(f"{heatmap_count_script()} === 2", timeout=60_000)
    typed = page.get_by_label("Units (e.g. 3, 17, 40-45)", exact=True)
    expect(typed).not_to_have_value("", timeout=10_000)  # the sidebar input appears a moment after the charts
    assert re.fullmatch(r"\d+(-\d+)?(, \d+(-\d+)?)*", typed.input_value())
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query["view"] == ["Gate heatmaps"] and query["units"] == [typed.input_value()], "the share link has them"


def test_picking_examples_loads_them_and_the_picker_follows_the_text(page):
    page.goto(f"{page.base_url}/?text=The+movie+was+not+bad+at+all.")
    picker = page.get_by_role("combobox", name="Examples")
    expect(picker).to_have_value("Negation", timeout=90_000)
    picker.click()
    page.get_by_role("option", name="Sarcasm").click()
    expect(page.get_by_label("Text", exact=True)).to_have_value(re.compile("^Oh great"), timeout=30_000)
    expect(picker).to_have_value("Sarcasm")


def test_the_reading_view_tints_by_what_decided_with_a_legend_and_exact_hover(page):
    page.goto(f"{page.base_url}/?model=gru-sst2&tint=decided&text=not+bad+at+all%2C+a+fine+film")
    page.locator(".rnnviz-legend").wait_for(timeout=90_000)
    assert "part of the" in page.locator(".rnnviz-legend").inner_text()
    titles = page.locator(".rnnviz-token").evaluate_all("spans => spans.map(s => s.title)")
    assert len(titles) == 8 and all(re.search(r"position \d+ · decided [+-]\d", t) for t in titles), titles


def first_screen_bottom(page: Page) -> float:
    return page.viewport_size["height"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["Reading", "Gate heatmaps"])
def test_the_first_screen_shows_a_chart(browser, server, size, view):
    page = open_page(browser, server, SIZES[size], link(view=view))
    try:
        chart = page.locator(".js-plotly-plot .main-svg").first
        chart.wait_for(timeout=90_000)
        page.wait_for_timeout(500)
        box = chart.bounding_box()
        assert box and box["y"] + 100 < first_screen_bottom(page), f"the chart starts at {box}"
    finally:
        page.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_whole_230_token_review_is_readable_on_one_screen(browser, server, size):
    page = open_page(browser, server, SIZES[size], link(text=REVIEW_230))
    try:
        text = page.locator(".rnnviz-running-text")
        text.wait_for(timeout=90_000)
        assert page.locator(".rnnviz-token").count() == 232
        box = text.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= first_screen_bottom(page), box
        font = page.locator(".rnnviz-token").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert font >= 15, "readable from the back of a classroom"
    finally:
        page.close()


def test_no_two_token_labels_overlap_at_projector_width(browser, server):
    page = open_page(browser, server, SIZES["projector"], link(text=REVIEW_230, view="Gate heatmaps"))
    try:
        page.wait_for_function(f"{heatmap_count_script()} === 2", timeout=90_000)
        labels = page.locator(".js-plotly-plot .xaxislayer-above text")  # xtick, x2tick, ...
        boxes = [labels.nth(k).bounding_box() for k in range(labels.count())]
        assert len(boxes) == 2 * 32, "every panel labels every token of a full window"
        for panel in (boxes[:32], boxes[32:]):
            ordered = sorted(panel, key=lambda b: b["x"])
            for left, right in zip(ordered, ordered[1:]):
                assert left["x"] + left["width"] <= right["x"] + 0.5, (left, right)
    finally:
        page.close()


def test_heatmap_hover_names_the_token_its_position_and_the_unit(browser, server):
    page = open_page(browser, server, SIZES["desktop"], link(text="not bad at all", view="Gate heatmaps"))
    try:
        page.wait_for_function(f"{heatmap_count_script()} === 2", timeout=90_000)
        cells = page.locator(".js-plotly-plot .nsewdrag").first
        box = cells.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 5)
        hover = page.locator(".hoverlayer .hovertext").first
        hover.wait_for(timeout=10_000)
        assert re.search(r"token \S+ \(position \d+\)", hover.text_content()), hover.text_content()
        assert "unit" in hover.text_content()
    finally:
        page.close()


def test_a_lesson_link_shows_the_counting_unit_and_its_r_on_the_first_projector_screen(browser, server):
    page = open_page(browser, server, SIZES["projector"], link(lesson="counting", step="3"))
    try:
        title = page.locator(".js-plotly-plot .gtitle").first
        title.wait_for(timeout=90_000)
        assert re.search(r"unit \d+ against the a's minus b's so far: r = [+-]\d\.\d{3}", title.text_content())
        box = page.locator(".js-plotly-plot .main-svg").first.bounding_box()
        assert box and box["y"] + box["height"] < first_screen_bottom(page), f"the whole chart is on screen: {box}"
        page.get_by_text("Next ▶").click()
        expect(page.get_by_label("A sequence of 'a', 'b', separated by spaces")).to_be_visible(timeout=30_000)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
        assert query["lesson"] == ["counting"] and query["step"] == ["4"], "the share link follows the step"
    finally:
        page.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_corpus_explorer_shows_a_units_contexts_charts_and_pattern_matches(browser, server, size):
    query = link(model="gru-sst2", view="Units in a corpus", text="This is not a bad movie at all.", units="10",
                 rank="typed list")
    page = open_page(browser, server, SIZES[size], query)
    try:
        index = rnnviz.corpus.load(next(iter(rnnviz.corpus.available_indexes(rnnviz.load("gru-sst2")).values())))
        texts = index.top(10, k=50)["text_id"].drop_duplicates().head(10)  # one context per text
        page.locator(".rnnviz-running-text").nth(len(texts) - 1).wait_for(timeout=90_000)
        first = page.locator(".rnnviz-running-text").first.bounding_box()
        assert first["y"] < first_screen_bottom(page), "the unit's top context is on the first screen"
        page.locator(".js-plotly-plot .main-svg").nth(1).wait_for(timeout=60_000)  # histogram and top words
        page.get_by_text("span(s) in the corpus").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()
