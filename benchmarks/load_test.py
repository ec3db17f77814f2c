"""Many users at once: concurrent sessions against one locally started server, over Streamlit's websocket.

    python benchmarks/load_test.py [--sessions 20] [--burst 50] [--soak-seconds 180] [--soak-sessions 10]
                                   [--costly 2]

Starts `streamlit run app.py` on 127.0.0.1 and runs, against the one server:

1. quiet: --sessions sessions at once, each asking for its own share link (its own text, alternating the
   four shipped models and the views that draw charts);
2. burst: --burst sessions at once;
3. soak: --soak-sessions clients, each loading page after page for --soak-seconds, on long rotating texts
   (a real IMDB review repeated one to four times, 230 to 930 tokens, a new text each time);
4. costly links: the quiet round again while --costly clients keep sending the costly share link of issue 9
   (`units=0-255,` repeated 87,000 times, 522 KB); reports how much slower the others got.

A session counts as answered when its run finished without an exception element, with its charts, and
with its own text and token count on the page (no session sees another's). Reports answered / failed,
median and worst time until the whole page was sent, the server's peak memory (VmHWM) and any error in
the server's log. Bounded: loopback only, at most 50 sessions at once, a timeout per page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.serving import PageVisit, peak_memory_mib, running_app, visit  # noqa: E402

PLANS = [("lstm-imdb", "Gate heatmaps"), ("gru-sst2", "Gate heatmaps"), ("lstm-sst2", "Step through"),
         ("gru-imdb", "Reading")]
WORDS = "brilliant dull moving clumsy gorgeous tedious witty bland tense hollow".split()
REVIEW = (Path(__file__).resolve().parent.parent / "tests" / "data" / "imdb_review_230.txt").read_text(encoding="utf-8")
COSTLY_UNITS = "0-255," * 87_000
TOKENIZERS = {name: rnnviz.load(name) for name, _ in PLANS}


def session_text(k: int) -> str:
    sentence = (f"Session {k} says the plot was {WORDS[k % len(WORDS)]} and the acting "
                f"{WORDS[(3 * k + 1) % len(WORDS)]}, but the score was {WORDS[(7 * k + 2) % len(WORDS)]}. ")
    return sentence * (1 + k % 12)  # 20 to 250 tokens


def soak_text(client: int, round_: int) -> str:
    """A long review, different every time (so no cache answers it): 230 to 930 tokens."""
    return f"Visit {client}-{round_}. " + " ".join([REVIEW.strip()] * (1 + (client + round_) % 4))


async def one_session(url: str, k: int, timeout: float, text: str | None = None) -> tuple[bool, float, str]:
    """Load one page; (answered correctly, seconds, problem)."""
    model, view = PLANS[k % len(PLANS)]
    text = session_text(k) if text is None else text
    page: PageVisit = await visit(url, {"model": model, "text": text, "view": view}, timeout)
    if page.problem:
        return False, page.seconds, page.problem
    own_text = any(area.label == "Text" and (area.value == text or area.default == text) for area in page.values("text_area"))
    tokens = f"{len(TOKENIZERS[model].tokenize(text)):,}"
    own_count = any(m.label == "Tokens read" and m.body == tokens for m in page.values("metric"))
    drawn = bool(page.values("plotly_chart"))
    if not (own_text and own_count and drawn):
        return False, page.seconds, f"page incomplete (own text {own_text}, own count {own_count}, charts {drawn})"
    return True, page.seconds, ""


async def costly_client(url: str, stop: asyncio.Event, timeout: float) -> int:
    """Send the costly share link again and again until ``stop``; returns how many were answered."""
    answered = 0
    while not stop.is_set():
        page = await visit(url, {"rank": "typed list", "units": COSTLY_UNITS, "view": "Gate heatmaps"}, timeout)
        answered += page.finished
    return answered


def report(title: str, results: list[tuple[bool, float, str]], wall: float) -> tuple[float, float]:
    """Print one round's figures; returns (median, worst) of the answered pages."""
    answered = [seconds for ok, seconds, _ in results if ok]
    print(f"{title}: {len(answered)} answered, {len(results) - len(answered)} failed, in {wall:.1f} s wall time")
    median = statistics.median(answered) if answered else float("nan")
    worst = max(answered) if answered else float("nan")
    if answered:
        print(f"  time until the whole page was sent: median {median:.2f} s, worst {worst:.2f} s")
    for k, (ok, seconds, problem) in enumerate(results):
        if not ok:
            print(f"  page {k}: {problem} after {seconds:.1f} s")
    return median, worst


async def concurrent(url: str, count: int, timeout: float, first: int = 1) -> tuple[list, float]:
    started = time.perf_counter()
    results = await asyncio.gather(*(one_session(url, k, timeout) for k in range(first, first + count)))
    return results, time.perf_counter() - started


async def soak(url: str, clients: int, seconds: float, timeout: float) -> tuple[list, float]:
    deadline = time.perf_counter() + seconds

    async def client(c: int) -> list:
        results, round_ = [], 0
        while time.perf_counter() < deadline:
            results.append(await one_session(url, c, timeout, soak_text(c, round_)))
            round_ += 1
        return results

    started = time.perf_counter()
    rounds = await asyncio.gather(*(client(c) for c in range(clients)))
    return [r for per_client in rounds for r in per_client], time.perf_counter() - started


async def run(args: argparse.Namespace) -> int:
    ok = True
    with running_app(args.log) as (base, server):
        url = base.replace("http://", "ws://") + "/_stcore/stream"
        warm = await asyncio.gather(*(one_session(url, k, args.timeout) for k in range(len(PLANS))))
        print(f"warm-up: {sum(w[0] for w in warm)} of {len(PLANS)} sessions (one per model) answered")
        results, wall = await concurrent(url, args.sessions, args.timeout)
        _, quiet_worst = report(f"quiet, {args.sessions} concurrent sessions", results, wall)
        ok &= all(r[0] for r in results)
        if args.burst:
            results, wall = await concurrent(url, args.burst, args.timeout, first=100)
            report(f"burst, {args.burst} concurrent sessions", results, wall)
            ok &= all(r[0] for r in results)
        if args.soak_seconds:
            results, wall = await soak(url, args.soak_sessions, args.soak_seconds, args.timeout)
            report(f"soak, {args.soak_sessions} clients for {args.soak_seconds:.0f} s on 230-930-token reviews",
                   results, wall)
            ok &= all(r[0] for r in results)
        if args.costly:
            stop = asyncio.Event()
            attackers = [asyncio.create_task(costly_client(url, stop, args.timeout)) for _ in range(args.costly)]
            await asyncio.sleep(1.0)
            results, wall = await concurrent(url, args.sessions, args.timeout, first=200)
            stop.set()
            answered_costly = sum(await asyncio.gather(*attackers))
            _, worst = report(f"beside {args.costly} clients sending the 522 KB units link "
                              f"({answered_costly} of their pages answered)", results, wall)
            print(f"  worst page beside the costly links / quiet worst: {worst / quiet_worst:.2f}x (target < 2x)")
            ok &= all(r[0] for r in results)
        memory = peak_memory_mib(server.pid)
    errors = [line for line in args.log.read_text().splitlines()
              if "Traceback" in line or "Error" in line or "Exception" in line]
    print(f"server peak memory (VmHWM): {memory:.0f} MiB")
    print(f"server log: {len(errors)} error lines" + ("" if not errors else ":\n  " + "\n  ".join(errors[:10])))
    return 0 if ok and not errors else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="sessions at once in the quiet round")
    parser.add_argument("--burst", type=int, default=50, help="sessions at once in the burst (0 skips it)")
    parser.add_argument("--soak-seconds", type=float, default=180.0, help="length of the soak (0 skips it)")
    parser.add_argument("--soak-sessions", type=int, default=10)
    parser.add_argument("--costly", type=int, default=2, help="clients sending the costly link (0 skips it)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each page may take")
    parser.add_argument("--log", type=Path, default=Path("/tmp/rnnviz-load-test.log"))
    args = parser.parse_args()
    for name, low, high in (("sessions", 1, 50), ("burst", 0, 50), ("soak_sessions", 1, 50), ("costly", 0, 4)):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be between {low} and {high}")
    if not 0 <= args.soak_seconds <= 600:
        parser.error("--soak-seconds must be between 0 and 600")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
