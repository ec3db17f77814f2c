"""Which RNN backend and how many intra-op threads a shared server should trace with: worst-case latency.

    python benchmarks/thread_policy.py [--rounds 3] [--models lstm-imdb gru-imdb]

A Streamlit server runs every session in a thread of one process, so several traces run at once and
share PyTorch's intra-op thread pool. For each backend (PyTorch's native CPU kernels; oneDNN, PyTorch's
default for the LSTM), each intra-op thread count (1, 2), 1, 4 and 8 traces started at once, of 230 and
2,596 tokens (real IMDB reviews, each trace a few tokens shorter than the last), on an idle machine and beside a busy one (a separate process training an
LSTM on two threads, stopped when the measurement ends), it prints the worst latency of any one trace over
--rounds rounds, and the median. Pick the policy by the worst case.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz.model import rnn_backend, use_serving_policy  # noqa: E402
from rnnviz.trace import trace_ids  # noqa: E402

REVIEWS = {230: (ROOT / "tests" / "data" / "imdb_review_230.txt").read_text(encoding="utf-8"),
           2596: (ROOT / "tests" / "data" / "imdb_review_longest.txt").read_text(encoding="utf-8")}
TRAINER = """
import time, torch
torch.set_num_threads(2)
rnn, head = torch.nn.LSTM(128, 256, batch_first=True), torch.nn.Linear(256, 2)
optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()])
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    x, y = torch.randn(32, 200, 128), torch.randint(0, 2, (32,))
    loss = torch.nn.functional.cross_entropy(head(rnn(x)[0][:, -1]), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""


@contextlib.contextmanager
def busy_machine(busy: bool, seconds: float) -> Iterator[None]:
    """A bounded training process on two threads beside the measurement, or nothing."""
    if not busy:
        yield
        return
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER.format(seconds=seconds)])
    time.sleep(2.0)  # let it reach its training loop
    try:
        yield
    finally:
        trainer.terminate()
        trainer.wait(timeout=30)


_lengths = iter(range(10**9))


def concurrent_latencies(model: rnnviz.SentimentModel, tokens: list[str], count: int) -> list[float]:
    """Start ``count`` traces at once (one thread each, as Streamlit sessions are); each one's seconds.

    Every trace reads a length not read before (a few tokens shorter each time), as every paste is: oneDNN
    builds a new primitive for each new length, and that is part of what a user waits for.
    """
    latencies: list[float] = []
    start = threading.Barrier(count)
    cuts = [len(tokens) - next(_lengths) % 200 for _ in range(count)]

    def one(cut: int) -> None:
        start.wait()
        began = time.perf_counter()
        trace_ids(model, tokens[:cut], model.encode(tokens[:cut]))
        latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=one, args=(cut,)) for cut in cuts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["lstm-imdb", "gru-imdb"])
    parser.add_argument("--backends", nargs="+", default=["onednn", "native"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    reuse = use_serving_policy()  # the server's allocator setting; the thread count is set per row below
    models = {name: rnnviz.load(name) for name in args.models}
    print(f"torch {torch.__version__}; freed blocks {'reused' if reuse else 'returned'} (glibc); worst and median "
          f"latency of one trace, over {args.rounds} rounds\n")
    print("| model | load | backend | threads | tokens | 1 at once | 4 at once | 8 at once |")
    print("|---|---|---|---|---|---|---|---|")
    for busy in (False, True):
        with busy_machine(busy, seconds=3600):
            for name, model in models.items():
                backends = args.backends if model.cell == "lstm" else ["native"]  # the GRU has no oneDNN kernel
                for backend in backends:
                    for threads in args.threads:
                        torch.set_num_threads(threads)
                        with rnn_backend(backend):
                            for length, text in REVIEWS.items():
                                tokens = model.tokenize(text)
                                rnnviz.trace(model, text)  # warm-up
                                cells = []
                                for count in (1, 4, 8):
                                    times = [t for _ in range(args.rounds)
                                             for t in concurrent_latencies(model, tokens, count)]
                                    cells.append(f"{max(times) * 1e3:,.0f} ms ({statistics.median(times) * 1e3:,.0f})")
                                print(f"| {name} | {'busy' if busy else 'idle'} | {backend} | {threads} | "
                                      f"{length:,} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
