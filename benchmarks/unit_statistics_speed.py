"""How long the corpus index's statistics take per value, on a real batch of states.

    python benchmarks/unit_statistics_speed.py [--model lstm-imdb] [--reviews 400] [--rounds 7]

Takes a seeded sample of IMDB test reviews, forms the index's length-sorted batches, runs the model over the
middle one (rnnviz.corpus.layer_states), and times rnnviz.unit_statistics.UnitStatistics.add on every quantity of
every layer at the server's thread count, as the index calls it (the running top-k already filled by a first
pass over the same batch, as it is after the first batches of a corpus). Prints the time per batch and per value
read (tokens x units x quantities), the best and the median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz import corpus  # noqa: E402
from rnnviz.data import read_corpus  # noqa: E402
from rnnviz.model import pad_batch, use_serving_policy  # noqa: E402
from rnnviz.unit_statistics import UnitStatistics  # noqa: E402

IMDB_TEST = ROOT.parent / "shared" / "data" / "imdb" / "test.csv.xz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lstm-imdb")
    parser.add_argument("--data", type=Path, nargs="+", default=[IMDB_TEST])
    parser.add_argument("--reviews", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    use_serving_policy()
    model = rnnviz.load(args.model)
    _, encoded = corpus.encode_corpus(model, read_corpus(args.data, args.reviews))
    batches = corpus.length_batches([len(ids) for ids in encoded])
    ids, lengths = pad_batch([encoded[i] for i in batches[len(batches) // 2]], model.vocab.pad_id)
    with torch.no_grad():
        layers = corpus.layer_states(model, ids)
    steps, members = corpus.tokens_read(lengths, ids.shape[1])
    positions, token_ids = torch.arange(len(steps)), ids[members, steps]
    quantities = corpus.model_quantities(model)
    values = len(steps) * model.config.hidden_size * len(quantities) * len(layers)

    def one_pass(per_layer_statistics: list[list[UnitStatistics]]) -> float:
        started = time.perf_counter()
        for states, layer_statistics in zip(layers, per_layer_statistics):
            for unit_statistics in layer_statistics:
                unit_statistics.add(states[unit_statistics.quantity], members, steps, positions, token_ids)
        return time.perf_counter() - started

    seconds = []
    for _ in range(args.rounds):
        fresh = [[UnitStatistics(q, model.config.hidden_size, model.config.vocab_size, corpus.TOP_K)
                  for q in quantities] for _ in layers]
        one_pass(fresh)  # fills the top-k heaps (and compiles the kernel on the first round)
        seconds.append(one_pass(fresh))
    print(f"{args.model}: a batch of {ids.shape[0]} reviews, {len(steps):,} tokens, {len(quantities)} quantities x "
          f"{model.config.hidden_size} units x {len(layers)} layer(s) = {values:,} values, "
          f"{torch.get_num_threads()} thread(s)")
    for label, value in (("best", min(seconds)), ("median", statistics.median(seconds))):
        print(f"{label:<6} {value * 1e3:8.1f} ms a batch, {value / values * 1e9:5.2f} ns a value")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
