"""What it costs to get every gate of a batch, beside the plain forward that gives only the hidden states.

    python benchmarks/layer_states_speed.py [--rounds 5]

For a 256-unit layer reading 128-dimensional input (the shipped IMDB models' shape), random weights, batches of
(sequences, steps) like the corpus index's length-sorted ones, at the server's thread count, the best of
``--rounds``:
  LSTM  the module's forward (oneDNN's inference kernel) against rnnviz.onednn_lstm.lstm_states (oneDNN's
        training kernel, whose workspace holds the gates);
  GRU   the module's forward against rnnviz.rnn_trace.recomputed_states (the kernel, then every gate recomputed:
        what a single trace runs) and rnnviz.gru_steps.gru_states (a batch stepped from Python, keeping the gates).
Run with ONEDNN_VERBOSE=1 to see which oneDNN implementation each LSTM call takes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz import gru_steps, onednn_lstm  # noqa: E402
from rnnviz.model import use_serving_policy  # noqa: E402
from rnnviz.rnn_trace import direction_weights, recomputed_states  # noqa: E402

SHAPES = ((100, 160), (20, 800), (6, 2596), (1, 2596))
INPUT, HIDDEN = 128, 256


def best_ms(run: Callable[[], object], rounds: int) -> float:
    run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


@torch.no_grad()
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    use_serving_policy()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(INPUT, HIDDEN, batch_first=True)
    gru = torch.nn.GRU(INPUT, HIDDEN, batch_first=True)
    lstm_weights, gru_weights = direction_weights(lstm, 0, 0), direction_weights(gru, 0, 0)
    print(f"{torch.get_num_threads()} thread(s); best of {args.rounds}, ms")
    print(f"{'batch':>12} | {'LSTM forward':>12} {'training':>9} {'ratio':>6} | {'GRU forward':>11} "
          f"{'recompute':>9} {'ratio':>6} {'stepped':>8} {'ratio':>6}")
    for batch, steps in SHAPES:
        x, zeros = torch.randn(batch, steps, INPUT), torch.zeros(batch, HIDDEN)
        lstm_forward = best_ms(lambda: lstm(x), args.rounds)
        training = best_ms(lambda: onednn_lstm.lstm_states(x, lstm_weights, zeros, zeros), args.rounds)
        gru_forward = best_ms(lambda: gru(x), args.rounds)
        recompute = best_ms(lambda: recomputed_states("GRU", x, gru_weights, zeros, None), args.rounds)
        stepped = best_ms(lambda: gru_steps.gru_states(x, gru_weights, zeros), args.rounds)
        print(f"{batch:>4} x {steps:>5} | {lstm_forward:12.1f} {training:9.1f} {training / lstm_forward:5.2f}x | "
              f"{gru_forward:11.1f} {recompute:9.1f} {recompute / gru_forward:5.2f}x {stepped:8.1f} "
              f"{stepped / gru_forward:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
