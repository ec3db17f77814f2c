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

from .checkpoint import load
from .data import read_labeled
from .model import SentimentModel
from .progress import progress


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
