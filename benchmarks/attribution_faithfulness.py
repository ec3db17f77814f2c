"""How faithful and how costly is each token score? Deletion AOPC, time per text, and keep above the display floor.

    python benchmarks/attribution_faithfulness.py [--sst2 100] [--imdb 40] [--seed 0] [--repeats 3] [--threads 1]
                                                  [--parts faithfulness timing floor]

1. Faithfulness (deletion, AOPC): on a seeded sample of SST-2 test sentences (lstm-sst2, gru-sst2) and IMDB
   test reviews (lstm-imdb, gru-imdb), each model explaining its own prediction, delete the k tokens a score
   ranks highest (k = 1, 2, 5 and 10 % of the tokens, at most all but one) and report the mean drop in the
   predicted class's probability. Higher is more faithful. Scores: each rnnviz.attribute method (both LSTM
   decompositions), the plain keep score (tr.keep), the read-weighted keep (tr.keep_read), and k random tokens.
   Also integrated gradients' completeness gap, |delta| / |margin|, averaged over the texts.
2. Time per text of each method at 50, 230 and 2,500 tokens, as a ratio to rnnviz.trace (median of --repeats
   runs after a warm-up, fewer once a method spent 10 s on one length).
3. Keep above the display floor (0.001): on the IMDB test reviews closest to the median length, the share of
   tokens whose per-token keep is above the floor under tr.keep, tr.keep_read, and units weighted by
   |d margin / d c_T| (the alternative not taken); "best unit" (max over units) is the ceiling for any average.

Data paths default to ../shared/data beside the repository; pass --sst2-path and --imdb-path otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz.analysis import reduce_keep_by_readout, target_margin  # noqa: E402
from rnnviz.attribution import DEFAULT_LSTM_VARIANT, LSTM_VARIANTS, METHODS  # noqa: E402
from rnnviz.data import LabeledTexts, read_labeled  # noqa: E402
from rnnviz.model import RNN_BACKEND, TRACE_THREADS  # noqa: E402
from trace_speed import text_of_length  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FLOOR = 1e-3
LENGTHS = (50, 230, 2500)
PARTS = ("faithfulness", "timing", "floor")


def token_scores(model: rnnviz.SentimentModel, text: str, rng: np.random.Generator) -> tuple[dict, float]:
    """Every score of one text by name (T,), and integrated gradients' |delta|."""
    tr = rnnviz.trace(model, text)
    variants = LSTM_VARIANTS if model.cell == "lstm" else (None,)
    found = {f"decomposition ({v})" if v else "decomposition": rnnviz.attribute(model, text, trace=tr, variant=v)
             for v in variants}
    found.update({m: rnnviz.attribute(model, text, m, trace=tr) for m in METHODS if m != "decomposition"})
    scores = {name: att.scores for name, att in found.items()}
    scores.update(keep=tr.keep, keep_read=tr.keep_read, random=rng.random(len(tr.tokens)))
    ig = found["integrated_gradients"]
    return scores, abs(ig.delta) / max(abs(ig.margin), 1e-12)


def deletion_drops(model: rnnviz.SentimentModel, ids: list[int], scores: dict[str, np.ndarray],
                   ks: list[int]) -> dict[str, list[float]]:
    """For each score and k: the predicted class's probability minus its probability with the top-k tokens deleted."""
    edited, names = [ids], []
    for name, values in scores.items():
        order = np.argsort(-values, kind="stable")
        for k in ks:
            dropped = set(order[:k].tolist())
            edited.append([token for t, token in enumerate(ids) if t not in dropped])
            names.append(name)
    probs = model.predict_ids(edited)
    target = int(probs[0].argmax())
    drops = probs[0, target] - probs[1:, target]
    found: dict[str, list[float]] = {}
    for name, drop in zip(names, drops):
        found.setdefault(name, []).append(float(drop))
    return found


def faithfulness(model: rnnviz.SentimentModel, texts: list[str], seed: int) -> tuple[dict[str, np.ndarray], float]:
    """Mean drop per score over ``texts``, one column per k (1, 2, 5, 10 %); and IG's mean relative |delta|."""
    rng = np.random.default_rng(seed)
    drops: dict[str, list[list[float]]] = {}
    gaps = []
    for text in texts:
        ids = model.encode(model.tokenize(text))[: model.max_tokens]
        ks = [min(k, len(ids) - 1) for k in (1, 2, 5, max(1, round(0.1 * len(ids))))]
        scores, gap = token_scores(model, text, rng)
        gaps.append(gap)
        for name, row in deletion_drops(model, ids, scores, ks).items():
            drops.setdefault(name, []).append(row)
    return {name: np.mean(rows, axis=0) for name, rows in drops.items()}, float(np.mean(gaps))


def median_seconds(function: Callable[[], object], repeats: int, budget: float = 10.0) -> float:
    """Median time of up to ``repeats`` runs; stops early once the runs took ``budget`` seconds in all."""
    times: list[float] = []
    while len(times) < repeats and sum(times) < budget:
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timing_rows(model: rnnviz.SentimentModel, repeats: int) -> list[str]:
    warm_up = text_of_length(model, LENGTHS[0])
    for method in METHODS:
        rnnviz.attribute(model, warm_up, method)
    rows = []
    for length in LENGTHS:
        text = text_of_length(model, length)
        base = median_seconds(lambda: rnnviz.trace(model, text), repeats)
        ratios = [median_seconds(lambda: rnnviz.attribute(model, text, method), repeats) / base for method in METHODS]
        rows.append(f"| {model.name} | {length:,} | {base * 1e3:.1f} | " + " | ".join(f"{r:,.1f}x" for r in ratios)
                    + " |")
    return rows


def gradient_weighted_keep(model: rnnviz.SentimentModel, tr: rnnviz.Trace) -> np.ndarray:
    """The alternative not taken: units weighted by |d margin / d c_T[u]| (LSTM) or |d margin / d h_T[u]| (GRU)."""
    weights = model.head.weight.detach().double().T
    gradient = np.abs(target_margin(weights, int(tr.probs[-1].argmax())).numpy())
    if tr.cell == "lstm":
        cell = tr.cell_state[-1, -1].astype(np.float64)
        gradient = gradient * tr.gates["output"][-1, -1] * (1 - np.tanh(cell) ** 2)
    return reduce_keep_by_readout(tr.cell, tr.gates, tr.keep_units, gradient)


def floor_rows(model: rnnviz.SentimentModel, reviews: LabeledTexts, lengths: np.ndarray, count: int) -> list[str]:
    """Share of tokens above FLOOR per reduction, on the ``count`` reviews whose length is nearest the median."""
    median = float(np.median(lengths))
    nearest = np.argsort(np.abs(lengths - median), kind="stable")[:count]
    names = ("tr.keep (old)", "tr.keep_read (new)", "units weighted by the gradient d margin / d memory",
             "best unit (ceiling)")
    kinds: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for index in nearest:
        tr = rnnviz.trace(model, reviews.texts[index])
        found = (tr.keep, tr.keep_read, gradient_weighted_keep(model, tr), tr.keep_units.max(axis=1))
        for values, name in zip(found, kinds):
            kinds[name].append(values)
    span = f"{lengths[nearest].min()}-{lengths[nearest].max()} tokens (median {median:.0f})"
    return [f"| {model.name} | {count}, {span} | {name} | {np.mean(np.concatenate(v) > FLOOR):.1%} | "
            f"{np.median(np.concatenate(v)):.4f} |" for name, v in kinds.items()]


def sample(data: LabeledTexts, count: int, seed: int) -> list[str]:
    indices = np.random.default_rng(seed).choice(len(data), size=min(count, len(data)), replace=False)
    return [data.texts[i] for i in sorted(indices)]


def print_faithfulness(models: dict[str, rnnviz.SentimentModel], sst2: LabeledTexts, imdb: LabeledTexts,
                       args: argparse.Namespace) -> None:
    print(f"## Deletion AOPC: mean drop in the predicted class's probability ({args.sst2} SST-2 test sentences, "
          f"{args.imdb} IMDB test reviews)\n")
    print("| model | score | k=1 | k=2 | k=5 | k=10% |\n| --- | --- | --- | --- | --- | --- |")
    gaps = {}
    for name, model in models.items():
        texts = sample(sst2, args.sst2, args.seed) if "sst2" in name else sample(imdb, args.imdb, args.seed)
        drops, gaps[name] = faithfulness(model, texts, args.seed)
        for score, row in drops.items():
            print(f"| {name} | {score} | " + " | ".join(f"{d:.3f}" for d in row) + " |")
    print(f"\nLSTM decomposition by default: {DEFAULT_LSTM_VARIANT}. Integrated gradients, mean |delta| / |margin|: "
          + ", ".join(f"{name} {gap:.1%}" for name, gap in gaps.items()))


def print_timing(models: dict[str, rnnviz.SentimentModel], args: argparse.Namespace) -> None:
    print(f"## Time per text as a ratio to rnnviz.trace (median of up to {args.repeats})\n")
    print("| model | tokens | trace ms | " + " | ".join(METHODS) + " |\n| --- | --- | --- | --- | --- | --- |")
    for name in ("lstm-imdb", "gru-imdb"):
        print("\n".join(timing_rows(models[name], args.repeats)))


def print_floor(models: dict[str, rnnviz.SentimentModel], imdb: LabeledTexts, args: argparse.Namespace) -> None:
    print(f"## Per-token keep above the display floor ({FLOOR}) on median-length IMDB test reviews\n")
    print("| model | reviews | reduction | share above floor | median |\n| --- | --- | --- | --- | --- |")
    assert models["lstm-imdb"].info.lowercase == models["gru-imdb"].info.lowercase, "one tokenizer for both"
    lengths = np.array([len(models["lstm-imdb"].tokenize(text)) for text in imdb.texts])
    for name in ("lstm-imdb", "gru-imdb"):
        print("\n".join(floor_rows(models[name], imdb, lengths, args.floor_reviews)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sst2", type=int, default=100, help="SST-2 test sentences in the AOPC sample")
    parser.add_argument("--imdb", type=int, default=40, help="IMDB test reviews in the AOPC sample")
    parser.add_argument("--floor-reviews", type=int, default=50, help="median-length IMDB reviews for the floor share")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method and length (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=TRACE_THREADS, help="intra-op threads (the server's policy)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--sst2-path", default=str(DATA / "sst2" / "test_labeled.tsv"))
    parser.add_argument("--imdb-path", default=str(DATA / "imdb" / "test.csv.xz"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sst2, imdb = read_labeled(args.sst2_path), read_labeled(args.imdb_path)
    models = {name: rnnviz.load(name) for name in ("lstm-sst2", "gru-sst2", "lstm-imdb", "gru-imdb")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, RNN backend {RNN_BACKEND}, seed {args.seed}")
    for part in args.parts:
        started = time.perf_counter()
        print()
        if part == "faithfulness":
            print_faithfulness(models, sst2, imdb, args)
        elif part == "timing":
            print_timing(models, args)
        else:
            print_floor(models, imdb, args)
        print(f"\n({part}: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
