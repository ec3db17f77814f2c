"""Many users at once: concurrent browser sessions against one locally started server.

    python benchmarks/load_test.py [--sessions 20] [--timeout 60]

Starts `streamlit run app.py` on 127.0.0.1 and opens --sessions headless Chromium pages at once
(one browser context each, so no shared cookies or storage), each with its own share link: a
different text, alternating models and views that draw heatmaps. Reports how many sessions were
answered (all expected heatmaps drawn, the page showing that session's own text and token count),
the median and worst time to render, the server's peak memory (VmHWM), and whether the server log
holds any error or traceback. Bounded: loopback only, a fixed number of pages, a timeout per page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.serving import CHROMIUM, CHROMIUM_ARGS, heatmap_count_script, running_app  # noqa: E402

PLANS = [("lstm-imdb", "Gate heatmaps", 7), ("gru-sst2", "Gate heatmaps", 5), ("lstm-sst2", "Reading strip", 1),
         ("gru-imdb", "Gate heatmaps", 5)]
WORDS = "brilliant dull moving clumsy gorgeous tedious witty bland tense hollow".split()


def session_text(k: int) -> str:
    return (f"Session {k} says: the plot was {WORDS[k % len(WORDS)]} and the acting {WORDS[(3 * k + 1) % len(WORDS)]}, "
            f"but the score was {WORDS[(7 * k + 2) % len(WORDS)]}. " * (1 + k % 4))


async def one_session(browser, base: str, k: int, timeout: float) -> tuple[bool, float, str]:
    model, view, heatmaps = PLANS[k % len(PLANS)]
    text = session_text(k)
    expected_tokens = len(rnnviz.load(model).tokenize(text))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    started = time.perf_counter()
    try:
        await page.goto(f"{base}/?" + urllib.parse.urlencode({"model": model, "text": text, "view": view}))
        await page.wait_for_function(f"{heatmap_count_script()} >= {heatmaps}", timeout=timeout * 1000)
        elapsed = time.perf_counter() - started
        shown_text = await page.get_by_label("Text", exact=True).input_value()
        body = await page.inner_text("body")
        own = shown_text == text and f"{expected_tokens:,}" in body
        return own, elapsed, "" if own else "page showed another session's text or count"
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        return False, time.perf_counter() - started, f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        await context.close()


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(sessions: int, timeout: float, log: Path) -> int:
    from playwright.async_api import async_playwright

    with running_app(log) as (base, server):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            warm = await one_session(browser, base, 0, timeout)  # models loaded once, as on a warm server
            started = time.perf_counter()
            results = await asyncio.gather(*(one_session(browser, base, k, timeout) for k in range(1, sessions + 1)))
            wall = time.perf_counter() - started
            await browser.close()
        memory = peak_memory_mib(server.pid)
    answered = [elapsed for ok, elapsed, _ in results if ok]
    log_text = log.read_text()
    errors = [line for line in log_text.splitlines() if "Traceback" in line or "Error" in line or "Exception" in line]
    print(f"warm-up session: {'ok' if warm[0] else warm[2]} in {warm[1]:.2f} s")
    print(f"{len(answered)} of {sessions} concurrent sessions answered with their own text in {wall:.1f} s wall time")
    if answered:
        print(f"time to render: median {statistics.median(answered):.2f} s, worst {max(answered):.2f} s")
    for k, (ok, elapsed, problem) in enumerate(results, 1):
        if not ok:
            print(f"  session {k}: {problem} after {elapsed:.1f} s")
    print(f"server peak memory (VmHWM): {memory:.0f} MiB")
    print(f"server log: {len(errors)} error lines" + ("" if not errors else ":\n  " + "\n  ".join(errors[:10])))
    return 0 if len(answered) == sessions and not errors else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each page may take")
    parser.add_argument("--log", type=Path, default=Path("/tmp/rnnviz-load-test.log"))
    args = parser.parse_args()
    if not 1 <= args.sessions <= 50:
        parser.error("--sessions must be between 1 and 50")
    return asyncio.run(run(args.sessions, args.timeout, args.log))


if __name__ == "__main__":
    raise SystemExit(main())
