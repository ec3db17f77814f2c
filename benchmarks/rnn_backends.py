"""PyTorch's two CPU RNN backends for inference, on a quiet machine and beside a training job.

    python benchmarks/rnn_backends.py [--model lstm-imdb] [--repeats 5]

rnnviz runs every trace and prediction on PyTorch's native RNN kernels (rnnviz.model.native_rnn_kernels)
rather than the default oneDNN ones. This script shows why, in one run: for each sequence length it times
model.rnn(model.embedding(ids)) under both backends, each call on a new length (every paste is a new
length), first on an idle machine, then while a second process trains an LSTM on random data with two
threads, as a model being trained beside a classroom server would. Prints median and worst times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402

TRAINING_LOAD = """
import torch
torch.set_num_threads(2)
rnn, head = torch.nn.LSTM(128, 256, batch_first=True), torch.nn.Linear(256, 2)
optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()])
while True:
    out, _ = rnn(torch.randn(64, 300, 128))
    loss = torch.nn.functional.cross_entropy(head(out[:, -1]), torch.randint(0, 2, (64,)))
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""


def time_calls(model: rnnviz.SentimentModel, onednn: bool, length: int, repeats: int, offset: int) -> list[float]:
    times = []
    for k in range(repeats):
        ids = torch.randint(2, 1000, (1, length + offset + 2 * k))  # a length not seen before
        torch.backends.mkldnn.enabled = onednn
        try:
            with torch.no_grad():
                started = time.perf_counter()
                model.rnn(model.embedding(ids))
                times.append(time.perf_counter() - started)
        finally:
            torch.backends.mkldnn.enabled = True
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lstm-imdb")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = rnnviz.load(args.model)
    print(f"{args.model}: median / worst of {args.repeats} calls, each on a new length")
    offset = 0
    for situation in ("idle machine", "beside a 2-thread LSTM training process"):
        load = subprocess.Popen([sys.executable, "-c", TRAINING_LOAD]) if "training" in situation else None
        try:
            if load:
                time.sleep(5)
            for length in (230, 2500):
                for onednn in (True, False):
                    offset += 100
                    times = time_calls(model, onednn, length, args.repeats, offset)
                    print(f"{situation:<40} T~{length:<5} {'oneDNN' if onednn else 'native':<7} "
                          f"median {statistics.median(times) * 1e3:8.1f} ms   worst {max(times) * 1e3:8.1f} ms", flush=True)
        finally:
            if load:
                load.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
