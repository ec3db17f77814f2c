"""Time until the heatmaps are drawn, in headless Chromium, against a warm local server.

    python benchmarks/browser_timing.py [--imdb ../shared/data/imdb/test.csv.xz] [--screenshot docs/screenshot.png]

Starts `streamlit run app.py` on 127.0.0.1 and warms it (model loaded, one page drawn). Then, for a
typical IMDB test review (the one closest to 230 tokens) and the longest one, with model lstm-imdb
and the Gate heatmaps view, it times two things until every heatmap of the first page of tokens is
drawn (``.js-plotly-plot g.hm image``, with the review's first word in the token labels):
  page load  opening a share link (?model=...&text=...&view=...) in a tab: the whole page,
             Streamlit's own start-up and Plotly's included;
  new text   pasting the review into the open page and pressing Ctrl+Enter, as a user does.
Each is measured twice: on the browser's own clock (from the navigation's start, or from the key
press, to the first animation frame in which the heatmaps are on the page, i.e. what the user
sees) and on this script's clock (until Playwright's polling notices; this also waits out any work
the page does after that frame, such as the second pass Streamlit makes over every Plotly chart).
Every timed text is new to the server (nothing cached). Prints the median and worst of --repeats
runs. With --screenshot it also saves a PNG of the dashboard for the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.data import read_labeled  # noqa: E402
from rnnviz.serving import CHROMIUM, CHROMIUM_ARGS, ROOT, heatmap_count_script, running_app  # noqa: E402

MODEL = "lstm-imdb"
HEATMAPS = 7  # LSTM: input, forget, output, candidate, cell state, hidden state, keep


def pick_reviews(path: Path) -> dict[str, str]:
    model = rnnviz.load(MODEL)
    texts = read_labeled(path).texts
    lengths = [len(model.tokenize(t)) for t in texts]
    typical = min(range(len(texts)), key=lambda i: abs(lengths[i] - 230))
    longest = max(range(len(texts)), key=lambda i: lengths[i])
    return {f"typical ({lengths[typical]} tokens)": texts[typical], f"longest ({lengths[longest]} tokens)": texts[longest]}


def share_link(base: str, text: str, view: str = "Gate heatmaps", model: str = MODEL) -> str:
    return f"{base}/?" + urllib.parse.urlencode({"model": model, "text": text, "view": view})


def drawn(marker_js: str) -> str:
    """JavaScript: are all heatmaps drawn, with the JavaScript string ``marker_js`` starting a token label?"""
    return (f"{heatmap_count_script()} >= {HEATMAPS} && [...document.querySelectorAll('.js-plotly-plot .xtick text')]"
            f".some(t => t.textContent.startsWith({marker_js}))")


# In every page: from the first frame on, check once per animation frame whether the heatmaps for
# window.__marker are drawn, and note that frame's time in window.__drawnAt (ms since navigation start).
FRAME_WATCH = """
window.__drawnAt = null;
window.__marker = new URLSearchParams(location.search).get('text')?.split(' ')[0] ?? null;
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


SCREENSHOT_TEXT = ("The first half is slow and the dialogue is clumsy, but the ending is brilliant and "
                   "genuinely moving.")


def save_screenshot(page, base: str, path: Path) -> None:
    """The README's picture: the prediction, the views and the first gate heatmaps for a contrast sentence."""
    page.set_viewport_size({"width": 1280, "height": 1250})
    page.goto(share_link(base, SCREENSHOT_TEXT, model="lstm-sst2") + "&k=12")
    page.wait_for_function(f"{heatmap_count_script()} >= {HEATMAPS}", timeout=60_000)
    page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"] [data-testid=\"stSelectbox\"]').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), type="png")
    print(f"screenshot saved to {path} ({path.stat().st_size // 1024} KB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--imdb", type=Path, default=ROOT.parent / "shared" / "data" / "imdb" / "test.csv.xz")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the dashboard here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    reviews = pick_reviews(args.imdb)
    with running_app() as (base, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        loader = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch_frames(loader)
        page_load(loader, share_link(base, "warmup a warm-up review, not timed"), "warmup")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch_frames(page)
        page_load(page, share_link(base, "warmup2 the page that new texts are pasted into"), "warmup2")
        print(f"headless Chromium, warm server, model {MODEL}, view Gate heatmaps; median (worst) of {args.repeats}")
        for index, (name, review) in enumerate(reviews.items()):
            loads, pastes = [], []
            for k in range(args.repeats):
                marker = f"load{index}n{k}x"  # a new first word: a text the server has not traced yet
                loads.append(page_load(loader, share_link(base, f"{marker} {review}"), marker))
                marker = f"paste{index}n{k}x"
                pastes.append(new_text(page, f"{marker} {review}", marker))
            print(f"{name}\n  page load  {summary(loads)}\n  new text   {summary(pastes)}")
        if args.screenshot:
            save_screenshot(page, base, args.screenshot)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
