"""Evaluation CLI: ``python -m rnnviz.evaluate --model lstm-sst2 --data ../shared/data/sst2/test_labeled.tsv``.

Reads each text exactly as the app does (same tokenizer, same token cap) through the batched
``predict_proba``, and prints accuracy and a confusion matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

import numpy as np
import torch

from .checkpoint import load
from .data import read_labeled
from .model import SentimentModel, pad_batch, rnn_backend
from .progress import progress

NEUTRAL_OPENINGS = ("the", "i", "this", "a", "it")
"""First words that say nothing about sentiment: the prediction line should start near 0.5 after them."""


def evaluate(model: SentimentModel, texts: Sequence[str], labels: Sequence[int], chunk: int = 500) -> dict:
    """Accuracy, confusion matrix (rows: true label, columns: predicted) and timing."""
    started = time.time()
    predicted = np.concatenate([
        model.predict_proba(texts[start : start + chunk]).argmax(axis=1)
        for start in progress(range(0, len(texts), chunk), desc="evaluating", unit="chunk")
    ])
    truth = np.asarray(labels)
    n = model.config.num_classes
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    return {"n": len(truth), "accuracy": float((predicted == truth).mean()), "confusion": confusion.tolist(),
            "seconds": round(time.time() - started, 1)}


@torch.no_grad()
def step_probabilities(model: SentimentModel, encoded: Sequence[Sequence[int]], batch_size: int = 128) -> list[np.ndarray]:
    """P(positive) after each token of each encoded text: the prediction line the app draws."""
    was_training = model.training
    model.eval()
    lines: list[np.ndarray] = [np.empty(0)] * len(encoded)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    with rnn_backend():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            ids, lengths = pad_batch([encoded[i][: model.max_tokens] for i in batch], model.vocab.pad_id)
            probs = torch.softmax(model.head(model.hidden_states(ids)), dim=-1)[..., 1].numpy()
            for row, i in enumerate(batch):
                lines[i] = probs[row, : lengths[row]]
    model.train(was_training)
    return lines


def prediction_line_report(model: SentimentModel, texts: Sequence[str]) -> dict:
    """Where the prediction line starts after a neutral first word, and how often a step sits at 99 % or more."""
    encoded = [ids for _, ids in (model.read(text) for text in texts) if ids]
    lines = step_probabilities(model, encoded)
    openings = {word: [] for word in NEUTRAL_OPENINGS}
    for ids, line in zip(encoded, lines):
        word = model.vocab.tokens[ids[0]]
        if word in openings:
            openings[word].append(float(line[0]))
    every_step = np.concatenate(lines)
    return {
        "after_opening_word": {word: round(float(np.mean(v)), 3) for word, v in openings.items() if v},
        "steps_at_99_percent_or_more": round(float((np.maximum(every_step, 1 - every_step) >= 0.99).mean()), 4),
        "steps": int(every_step.size),
    }


def format_report(model: SentimentModel, data: str, result: dict) -> str:
    labels = model.labels
    width = max(len(label) for label in labels) + 2
    lines = [f"model {model.name} ({model.cell}) on {data}",
             f"accuracy {result['accuracy']:.4f} on {result['n']} texts ({result['seconds']} s)",
             "confusion matrix (rows: true, columns: predicted)",
             " " * width + "".join(f"{label:>{width}}" for label in labels)]
    for label, row in zip(labels, result["confusion"]):
        lines.append(f"{label:>{width}}" + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnviz.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a shipped model's name or a path to NAME.safetensors")
    parser.add_argument("--data", required=True, help="TSV (sentence, label) or CSV (text, label), .xz allowed")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N texts")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    model = load(args.model)
    data = read_labeled(args.data)
    texts, labels = data.texts, data.labels
    if args.limit:
        texts, labels = texts[: args.limit], labels[: args.limit]
    result = evaluate(model, texts, labels)
    print(json.dumps({"model": model.name, "data": args.data, **result}) if args.json
          else format_report(model, args.data, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
