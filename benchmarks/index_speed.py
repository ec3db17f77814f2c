"""How much does indexing a corpus cost beside a plain batched forward, and how big is the index on disk?

    python benchmarks/index_speed.py --model gru-imdb --data ../shared/data/imdb/test.csv.xz [--sample 2000] [--no-states]

Reads the texts once, then times, in one process at the server's thread count (rnnviz.model.TRACE_THREADS):
  forward  model.rnn(model.embedding(ids)) under no_grad with PyTorch's defaults, over the same length-sorted
           batches the index uses (what a user runs to get the hidden states, and nothing more),
  index    rnnviz.corpus.build(model, texts) (tokenizing included), with and without stored states,
and prints seconds, tokens per second, the ratio index / forward (the index's own tokenizing counted, the
forward's not: the strict ratio), the same ratio with tokenizing left out of both, and the saved index's size per
million tokens.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz import corpus  # noqa: E402
from rnnviz.data import read_corpus  # noqa: E402
from rnnviz.model import pad_batch, use_serving_policy  # noqa: E402


def plain_forward_seconds(model: rnnviz.SentimentModel, encoded: list[list[int]]) -> float:
    """Seconds for PyTorch's default forward over the index's batches (padding the batches included)."""
    batches = corpus.length_batches([len(ids) for ids in encoded])
    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            ids, _ = pad_batch([encoded[i] for i in batch], model.vocab.pad_id)
            model.rnn(model.embedding(ids))
    return time.perf_counter() - started


def folder_megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.iterdir()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lstm-imdb")
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--sample", type=int, default=0, help="a seeded sample of this many texts (0: all)")
    parser.add_argument("--no-states", action="store_true",
                        help="skip the run that stores hidden states (a whole corpus's states take gigabytes)")
    args = parser.parse_args()
    use_serving_policy()
    model = rnnviz.load(args.model)
    texts = read_corpus(args.data, args.sample)
    started = time.perf_counter()
    _, encoded = corpus.encode_corpus(model, texts)
    tokenizing = time.perf_counter() - started
    tokens = sum(len(ids) for ids in encoded)
    print(f"{args.model}: {len(texts):,} texts, {tokens:,} tokens, {torch.get_num_threads()} thread(s)")
    print(f"tokenizing      {tokenizing:8.1f} s")
    forward = plain_forward_seconds(model, encoded)
    print(f"plain forward   {forward:8.1f} s  {tokens / forward:10,.0f} tokens/s")
    for store_states in (False,) if args.no_states else (False, True):
        started = time.perf_counter()
        index = corpus.build(model, texts, progress=False, store_states=store_states)
        seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            size = folder_megabytes(corpus.save(index, folder))
        label = "index + states" if store_states else "index"
        print(f"{label:<15} {seconds:8.1f} s  {tokens / seconds:10,.0f} tokens/s  {seconds / forward:5.2f}x forward "
              f"({(seconds - tokenizing) / forward:4.2f}x without tokenizing)  {size:7.1f} MB on disk, "
              f"{size / tokens * 1e6:6.1f} MB per million tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
