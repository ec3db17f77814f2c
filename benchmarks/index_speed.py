"""How much does indexing a corpus cost beside a plain batched forward, and how big is the index on disk?

    python benchmarks/index_speed.py --model gru-imdb --data ../shared/data/imdb/test.csv.xz \\
        [--sample 2000] [--repeat 3] [--threads N] [--no-states]

Reads the texts once, then, in one process with the server's allocator setting and ``--threads`` intra-op threads
(default 0: PyTorch's default, one per core, which is what a plain forward gets and what ``python -m rnnviz index``
uses; 1: one thread on both sides), ``--repeat`` rounds of, back to back:
  tokenize rnnviz.corpus.encode_corpus(model, texts): the model's tokenizer over every text,
  forward  model.rnn(model.embedding(ids)) under no_grad, PyTorch's default kernel, over the same length-sorted
           batches the index uses (what a user runs to get the hidden states, and nothing more),
  index    rnnviz.corpus.build(model, texts), which tokenizes too (the model's pass on every thread, then the
           statistics shared out over every thread, batch by batch);
and prints each round's seconds and ratios, and their medians: index / forward (the strict ratio: the index's
tokenizing counted, the forward's not) and (index - tokenize) / forward (the same work on both sides). A last
build keeps the hidden states. Sizes are the saved index's, per million tokens. The machine is shared: rounds
measured back to back drift together, so the median of the rounds' ratios is the figure to quote.
"""

from __future__ import annotations

import argparse
import statistics
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
    parser.add_argument("--repeat", type=int, default=3, help="rounds of tokenize, forward and index")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads for both the forward and the index (0: PyTorch's default)")
    parser.add_argument("--no-states", action="store_true",
                        help="skip the build that stores hidden states (a whole corpus's states take gigabytes)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    use_serving_policy()
    torch.set_num_threads(args.threads or default_threads)
    model = rnnviz.load(args.model)
    texts = read_corpus(args.data, args.sample)
    started = time.perf_counter()
    corpus.build(model, texts[:1], progress=False)
    print(f"warm-up: one text indexed in {time.perf_counter() - started:.1f} s (numba loads or compiles its kernel)")
    rounds = []
    for round_number in range(1, args.repeat + 1):
        started = time.perf_counter()
        _, encoded = corpus.encode_corpus(model, texts)
        tokenizing = time.perf_counter() - started
        forward = plain_forward_seconds(model, encoded)
        started = time.perf_counter()
        index = corpus.build(model, texts, progress=False)
        seconds = time.perf_counter() - started
        rounds.append((tokenizing, forward, seconds))
        if round_number == 1:
            tokens = index.n_tokens
            print(f"{args.model}: {len(texts):,} texts, {tokens:,} tokens, {torch.get_num_threads()} thread(s)")
        print(f"round {round_number}: tokenize {tokenizing:7.1f} s  forward {forward:7.1f} s  index {seconds:7.1f} s  "
              f"index / forward {seconds / forward:4.2f}x  (index - tokenize) / forward "
              f"{(seconds - tokenizing) / forward:4.2f}x")
    tokenizing, forward, seconds = (statistics.median(column) for column in zip(*rounds))
    print(f"median: tokenize {tokenizing:.1f} s, forward {forward:.1f} s ({tokens / forward:,.0f} tokens/s), index "
          f"{seconds:.1f} s ({tokens / seconds:,.0f} tokens/s); ratios (median of the rounds): index / forward "
          f"{statistics.median(s / f for _, f, s in rounds):.2f}x, (index - tokenize) / forward "
          f"{statistics.median((s - t) / f for t, f, s in rounds):.2f}x")
    with tempfile.TemporaryDirectory() as folder:
        size = folder_megabytes(corpus.save(index, folder))
    print(f"index on disk: {size:.1f} MB, {size / tokens * 1e6:.1f} MB per million tokens")
    if not args.no_states:
        started = time.perf_counter()
        index = corpus.build(model, texts, progress=False, store_states=True)
        seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            size = folder_megabytes(corpus.save(index, folder))
        print(f"index + states: {seconds:.1f} s ({seconds / forward:.2f}x the median forward), {size:.1f} MB on disk, "
              f"{size / tokens * 1e6:.1f} MB per million tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
