"""Time until the heatmaps are drawn, in headless Chromium, against a warm local server.

    python benchmarks/browser_timing.py [--imdb ../shared/data/imdb/test.csv.xz] [--screenshot docs/screenshot.png]

Starts `streamlit run app.py` on 127.0.0.1 and warms it (model loaded, one page drawn). Then, for a
typical IMDB test review (the one closest to 230 tokens) and the longest one, with model lstm-imdb
and the Gate heatmaps view, it times two things until every heatmap of the first page of tokens is
drawn (``.js-plotly-plot g.hm image``, with the review's first word in the token labels):
  page load  opening a share link (?model=...&text=...&view=...) in a tab: the whole page,
             Streamlit's own start-up and Plotly's included;
  new text   pasting the review into the open page and pressing Ctrl+Enter, as a user does.
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


def drawn(marker: str) -> str:
    """JavaScript: are all heatmaps drawn, with ``marker`` among the token labels?"""
    return (f"{heatmap_count_script()} >= {HEATMAPS} && [...document.querySelectorAll('.js-plotly-plot .xtick text')]"
            f".some(t => t.textContent.startsWith({marker!r}))")


def page_load(page, url: str, marker: str) -> float:
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(drawn(marker), timeout=120_000, polling=20)
    return time.perf_counter() - started


def new_text(page, text: str, marker: str) -> float:
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    started = time.perf_counter()
    box.press("Control+Enter")
    page.wait_for_function(drawn(marker), timeout=120_000, polling=20)
    return time.perf_counter() - started


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
        page_load(loader, share_link(base, "warmup a warm-up review, not timed"), "warmup")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page_load(page, share_link(base, "warmup2 the page that new texts are pasted into"), "warmup2")
        print(f"headless Chromium, warm server, model {MODEL}, view Gate heatmaps; median (worst) of {args.repeats}")
        for name, review in reviews.items():
            loads, pastes = [], []
            for k in range(args.repeats):
                marker = f"load{k}x"  # a new first word: a text the server has not traced yet
                loads.append(page_load(loader, share_link(base, f"{marker} {review}"), marker))
                marker = f"paste{k}x"
                pastes.append(new_text(page, f"{marker} {review}", marker))
            print(f"{name:<24} page load {statistics.median(loads):.2f} s ({max(loads):.2f}); "
                  f"new text {statistics.median(pastes):.2f} s ({max(pastes):.2f})")
        if args.screenshot:
            page.set_viewport_size({"width": 1280, "height": 860})
            page.goto(share_link(base, "The first half is slow and the dialogue is clumsy, but the ending is "
                                       "brilliant and genuinely moving.", "Reading strip", model="lstm-sst2"))
            page.wait_for_function(f"{heatmap_count_script()} >= 1", timeout=60_000)
            page.wait_for_timeout(1500)
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.screenshot), type="png")
            print(f"screenshot saved to {args.screenshot}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
