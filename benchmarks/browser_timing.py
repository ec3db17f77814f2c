"""Time until a page is drawn, in headless Chromium, against a warm local server.

    python benchmarks/browser_timing.py [--repeats 5] [--screenshot docs/screenshot.png]

Starts `streamlit run app.py` on 127.0.0.1 and warms it (models loaded, one page drawn). Then, for a
typical IMDB test review (230 tokens) and the longest one (2,596 tokens), both in tests/data, with model
lstm-imdb, for the Reading view and the Gate heatmaps view, it times two things until the page's figures
are drawn (Reading: the tinted running text holds the review's last word and the prediction line is
drawn; Gate heatmaps: both default panels are drawn with the last word among the token labels):
  page load  opening a share link (?model=...&text=...&view=...) in a tab: the whole page,
             Streamlit's own start-up and Plotly's included;
  new text   pasting the review into the open page and pressing Ctrl+Enter, as a user does.
Each is measured on the browser's own clock (from the navigation's start, or from the key press, to the
first animation frame in which the figures are on the page, i.e. what the user sees) and on this
script's clock (until Playwright's polling notices). Every timed text ends in a word new to the server
(nothing cached). Prints the median and worst of --repeats runs. With --screenshot it also saves a PNG
of the dashboard at projector size (1024x768) for the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.serving import CHROMIUM, CHROMIUM_ARGS, ROOT, heatmap_count_script, running_app  # noqa: E402

MODEL = "lstm-imdb"
HEATMAPS = 2  # the default panels: LSTM input and forget gates
REVIEWS = {"typical review (230 tokens)": ROOT / "tests" / "data" / "imdb_review_230.txt",
           "longest review (2,596 tokens)": ROOT / "tests" / "data" / "imdb_review_longest.txt"}
VIEWS = ("Reading", "Gate heatmaps")


def share_link(base: str, text: str, view: str = "Gate heatmaps", model: str = MODEL) -> str:
    return f"{base}/?" + urllib.parse.urlencode({"model": model, "text": text, "view": view})


def drawn(marker_js: str) -> str:
    """JavaScript: are the current view's figures drawn, showing the word ``marker_js`` (a JavaScript string)?"""
    reading = (f"[...document.querySelectorAll('.rnnviz-token')].some(t => t.textContent === {marker_js}) && "
               "document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length > 0")
    heatmaps = (f"{heatmap_count_script()} >= {HEATMAPS} && "
                f"[...document.querySelectorAll('.js-plotly-plot .xaxislayer-above text')]"
                f".some(t => t.textContent.startsWith({marker_js}))")
    return f"(new URLSearchParams(location.search).get('view') === 'Gate heatmaps' ? ({heatmaps}) : ({reading}))"


# In every page: from the first frame on, check once per animation frame whether the heatmaps for
# window.__marker are drawn, and note that frame's time in window.__drawnAt (ms since navigation start).
FRAME_WATCH = """
window.__drawnAt = null;
window.__marker = new URLSearchParams(location.search).get('text')?.trim().split(' ').pop() ?? null;
window.addEventListener('keydown', e => { if (e.key === 'Enter' && e.ctrlKey) window.__pressedAt = performance.now(); }, true);
const __watch = () => {
  if (window.__drawnAt === null && window.__marker !== null && (CONDITION)) window.__drawnAt = performance.now();
  requestAnimationFrame(__watch);
};
requestAnimationFrame(__watch);
"""


def watch_frames(page) -> None:
    page.add_init_script(FRAME_WATCH.replace("CONDITION", drawn("window.__marker")))


def until_drawn(page, marker: str, started: float) -> float:
    """Wait until the heatmaps for ``marker`` are drawn and the frame watch has noted it; seconds since ``started``."""
    page.wait_for_function(drawn(repr(marker)), timeout=120_000, polling=20)
    elapsed = time.perf_counter() - started
    page.wait_for_function("window.__drawnAt !== null", timeout=10_000)
    return elapsed


def page_load(page, url: str, marker: str) -> tuple[float, float]:
    """(browser clock, script clock) in seconds from opening ``url`` to the heatmaps drawn."""
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    elapsed = until_drawn(page, marker, started)
    return page.evaluate("window.__drawnAt") / 1000, elapsed


def new_text(page, text: str, marker: str) -> tuple[float, float]:
    """(browser clock, script clock) in seconds from Ctrl+Enter on ``text`` to its heatmaps drawn."""
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    page.evaluate(f"window.__drawnAt = null; window.__marker = {marker!r}")
    started = time.perf_counter()
    box.press("Control+Enter")
    elapsed = until_drawn(page, marker, started)
    return page.evaluate("window.__drawnAt - window.__pressedAt") / 1000, elapsed


def summary(times: list[tuple[float, float]]) -> str:
    browser, script = zip(*times)
    return (f"{statistics.median(browser):.2f} s ({max(browser):.2f}) in the browser, "
            f"{statistics.median(script):.2f} s ({max(script):.2f}) to the script")


def save_screenshot(page, base: str, path: Path) -> None:
    """The README's picture at projector size: a whole review tinted by what decided the prediction."""
    page.set_viewport_size({"width": 1024, "height": 768})
    review = REVIEWS["typical review (230 tokens)"].read_text(encoding="utf-8").strip()
    page.goto(share_link(base, review, view="Reading") + "&tint=decided")
    page.wait_for_function(drawn(repr(review.split()[-1].lower().strip("!"))), timeout=60_000)
    page.wait_for_timeout(1500)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), type="png")
    print(f"screenshot saved to {path} ({path.stat().st_size // 1024} KB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the dashboard here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with running_app() as (base, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        loader = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch_frames(loader)
        pages = {}
        for view in VIEWS:
            page_load(loader, share_link(base, "a warm-up review, not timed warmup", view=view), "warmup")
            pages[view] = browser.new_page(viewport={"width": 1400, "height": 1000})
            watch_frames(pages[view])
            page_load(pages[view], share_link(base, "the page new texts are pasted into warmup2", view=view), "warmup2")
        print(f"headless Chromium, warm server, model {MODEL}; median (worst) of {args.repeats}")
        for index, (name, path) in enumerate(REVIEWS.items()):
            review = path.read_text(encoding="utf-8").strip()
            for view in VIEWS:
                loads, pastes = [], []
                for k in range(args.repeats):
                    marker = f"load{index}n{k}x"  # a new last word: a text the server has not traced yet
                    loads.append(page_load(loader, share_link(base, f"{review} {marker}", view=view), marker))
                    marker = f"paste{index}n{k}x"
                    pastes.append(new_text(pages[view], f"{review} {marker}", marker))
                print(f"{name}, {view}\n  page load  {summary(loads)}\n  new text   {summary(pastes)}", flush=True)
        if args.screenshot:
            save_screenshot(loader, base, args.screenshot)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
