"""How much slower is the instrumented trace than the plain fused forward? Ratios measured in one run.

    python benchmarks/trace_speed.py [--repeats 15] [--models lstm-imdb gru-imdb]

For T = 50, 230 and 2,500 tokens and each model it prints the median time of
  plain   model.rnn(model.embedding(ids)) under no_grad, on PyTorch's native CPU kernels (what trace uses),
  onednn  the same call on PyTorch's default backend (oneDNN): faster on an idle machine, far slower
          beside other PyTorch work (benchmarks/rnn_backends.py), which is why trace does not use it,
  trace   rnnviz.trace(model, text), tokenization of the text included,
and the ratios trace / plain and trace / onednn. The first call of each kind and length is a warm-up and not counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.model import native_rnn_kernels  # noqa: E402

LENGTHS = (50, 230, 2500)


def median_seconds(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def text_of_length(model: rnnviz.SentimentModel, length: int) -> str:
    """A text that tokenizes to exactly ``length`` tokens: plain known words, cycled."""
    words = [w for w in model.vocab.tokens[2:400] if w.isalpha()]
    text = " ".join(words[i % len(words)] for i in range(length))
    assert len(model.tokenize(text)) == length
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--models", nargs="+", default=["lstm-imdb", "gru-imdb"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats} runs after a warm-up")
    print(f"{'model':<10} {'T':>5} {'plain ms':>9} {'onednn ms':>10} {'trace ms':>9} {'trace/plain':>12} "
          f"{'trace/onednn':>13}")
    for name in args.models:
        model = rnnviz.load(name)
        for length in LENGTHS:
            text = text_of_length(model, length)
            ids = torch.tensor([model.encode(model.tokenize(text))])

            def plain() -> None:
                with torch.no_grad():
                    model.rnn(model.embedding(ids))

            def native_plain() -> None:
                with native_rnn_kernels():
                    plain()

            native = median_seconds(native_plain, args.repeats)
            default = median_seconds(plain, args.repeats)
            traced = median_seconds(lambda: rnnviz.trace(model, text), args.repeats)
            print(f"{name:<10} {length:>5} {native * 1e3:>9.2f} {default * 1e3:>10.2f} {traced * 1e3:>9.2f} "
                  f"{traced / native:>11.2f}x {traced / default:>12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
