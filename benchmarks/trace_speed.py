"""How much slower is the instrumented trace than what a user runs? Ratios measured in one run.

    python benchmarks/trace_speed.py [--repeats 15] [--threads 1] [--models lstm-imdb gru-imdb] [--plain-allocator]

For T = 50, 230 and 2,596 tokens and each model, under the server's policy (rnnviz.model.use_serving_policy: its
thread count unless --threads says otherwise, and freed blocks reused unless --plain-allocator), it times,
interleaved round by round:
  default  model.rnn(model.embedding(ids)) under no_grad with PyTorch's defaults (oneDNN for the LSTM),
           what a user runs: the headline baseline,
  native   the same call on PyTorch's native CPU kernels,
  trace    rnnviz.trace(model, text), tokenization of the text included,
and prints the medians and the ratios trace / default (headline) and trace / native.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz.model import RNN_BACKEND, rnn_backend, use_serving_policy  # noqa: E402

LONGEST = (ROOT / "tests" / "data" / "imdb_review_longest.txt").read_text(encoding="utf-8")
LENGTHS = (50, 230, 2596)


def text_of_length(model: rnnviz.SentimentModel, length: int) -> str:
    """The shortest opening of the longest IMDB test review (2,596 tokens) that reads as ``length`` tokens or more."""
    words = LONGEST.split()
    low, high = 1, len(words)
    while low < high:
        middle = (low + high) // 2
        if len(model.tokenize(" ".join(words[:middle]))) >= length:
            high = middle
        else:
            low = middle + 1
    return " ".join(words[:low])


def interleaved_medians(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, calling them in turn each round (so drift hits all alike)."""
    for function in functions.values():
        function()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--models", nargs="+", default=["lstm-imdb", "gru-imdb"])
    parser.add_argument("--threads", type=int, default=rnnviz.model.TRACE_THREADS)
    parser.add_argument("--plain-allocator", action="store_true",
                        help="leave glibc's allocator as it starts instead of the server's "
                             "(rnnviz.model.use_serving_policy)")
    args = parser.parse_args()
    reuse = False if args.plain_allocator else use_serving_policy()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} intra-op thread(s), trace on the {RNN_BACKEND} backend, "
          f"freed blocks {'reused' if reuse else 'returned'} (glibc), "
          f"median of {args.repeats} interleaved runs after a warm-up\n")
    print("| model | tokens | default forward | native forward | trace | trace / default | trace / native |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        model = rnnviz.load(name)
        for length in LENGTHS:
            text = text_of_length(model, length)
            ids = torch.tensor([model.encode(model.tokenize(text))])
            length = ids.shape[1]

            def default() -> None:
                with torch.no_grad():
                    model.rnn(model.embedding(ids))

            def native() -> None:
                with rnn_backend("native"):
                    default()

            medians = interleaved_medians({"default": default, "native": native,
                                           "trace": lambda: rnnviz.trace(model, text)}, args.repeats)
            ms = {key: value * 1e3 for key, value in medians.items()}
            print(f"| {name} | {length:,} | {ms['default']:.2f} ms | {ms['native']:.2f} ms | {ms['trace']:.2f} ms | "
                  f"{ms['trace'] / ms['default']:.2f}x | {ms['trace'] / ms['native']:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
