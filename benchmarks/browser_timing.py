"""Time from a page request to drawn heatmaps, in headless Chromium, against a warm local server.

    python benchmarks/browser_timing.py [--imdb ../shared/data/imdb/test.csv.xz] [--screenshot docs/screenshot.png]

Starts `streamlit run app.py` on 127.0.0.1, warms it (model loaded, one page drawn), then for a
typical IMDB test review (the one closest to 230 tokens) and the longest one, opens a share link
(?model=lstm-imdb&text=...&view=Gate heatmaps) and measures how long until every heatmap of the
first page of tokens is drawn (``.js-plotly-plot g.hm image``). Each review is timed on a fresh
trace (first visit) and again with the trace cached (second visit). Prints the medians of --repeats
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


def time_to_heatmaps(page, url: str, expected: int) -> float:
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(f"{heatmap_count_script()} >= {expected}", timeout=120_000, polling=20)
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
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        time_to_heatmaps(page, share_link(base, "a warm-up review, not timed"), HEATMAPS)
        print(f"headless Chromium, warm server, model {MODEL}; median of {args.repeats} page loads")
        for name, review in reviews.items():
            fresh, cached = [], []
            for k in range(args.repeats):
                unique = f"{review} (visit {k})"  # a text the server has not traced yet
                fresh.append(time_to_heatmaps(page, share_link(base, unique), HEATMAPS))
                cached.append(time_to_heatmaps(page, share_link(base, unique), HEATMAPS))
            print(f"{name:<24} new text: median {statistics.median(fresh):.2f} s, worst {max(fresh):.2f} s; "
                  f"same text again: median {statistics.median(cached):.2f} s")
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
