"""Evaluation CLI: ``python -m rnnviz.evaluate --model lstm-sst2 --data ../shared/data/sst2/test_labeled.tsv``.

Reads each text exactly as the app does (same tokenizer, same token cap) through the batched
``predict_proba``, and prints accuracy and a confusion matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import calibration
from .checkpoint import load, resolve_checkpoint
from .data import LabeledTexts, read_labeled
from .negation import PROBE_PATH, probe_report, sst_negation_report
from .model import SentimentModel, evaluating, length_sorted_batches, rnn_backend
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
    """P(last label) after each token of each encoded text: the prediction line the app draws (class 1 is
    "positive" for the sentiment models)."""
    lines: list[np.ndarray] = [np.empty(0)] * len(encoded)
    with evaluating(model), rnn_backend():
        for batch, ids, lengths in length_sorted_batches(model, encoded, batch_size):
            probs = torch.softmax(model.head(model.hidden_states(ids)), dim=-1)[..., -1].numpy()
            for row, i in enumerate(batch):
                lines[i] = probs[row, : lengths[row]]
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


def test_reports(model: SentimentModel, test: LabeledTexts, temperature: float, sst_test_trees: Path | None) -> dict:
    """Scored once, at the end, and only reported: test accuracy, calibration before and after, the probe set, and
    (where the SST test trees are at hand) SST test phrases with a negation, by kind."""
    probs = model.predict_proba(test.texts)
    labels = np.asarray(test.labels)
    before = calibration.softmax(np.log(np.clip(probs, 1e-30, None)).astype(np.float64) * temperature)
    extra = {"test_sst_negation": sst_negation_report(model, sst_test_trees)} \
        if sst_test_trees is not None and sst_test_trees.exists() else {}
    if PROBE_PATH.exists():  # a checkout has it; an installed package may not
        extra["negation_probe"] = probe_report(model)
    return extra | {"test": {
        "accuracy": round(float((probs.argmax(1) == labels).mean()), 4),
        "ece_before_calibration": round(calibration.expected_calibration_error(before, labels), 4),
        "ece": round(calibration.expected_calibration_error(probs, labels), 4),
        "errors_at_99_percent_before_calibration": round(calibration.confident_errors(before, labels), 4),
        "errors_at_99_percent": round(calibration.confident_errors(probs, labels), 4),
    }}


def headline_metrics(reports: dict) -> dict:
    """The flat numbers a checkpoint's metrics hold (model cards and the app's caption read them)."""
    metrics = {}
    line = reports.get("dev_prediction_line")
    if line:
        metrics["dev_steps_at_99_percent"] = line["steps_at_99_percent_or_more"]
        if line["after_opening_word"]:
            metrics["dev_line_after_neutral_opening"] = round(float(np.mean(list(line["after_opening_word"].values()))), 3)
    for split in ("dev", "test"):
        for kind, result in reports.get(f"{split}_sst_negation", {}).items():
            metrics[f"{split}_sst_negation_{kind}"] = result["accuracy"]
    for key, value in reports.get("test", {}).items():
        metrics[f"test_{key}"] = value
    if "negation_probe" in reports:
        metrics["negation_probe_accuracy"] = reports["negation_probe"]["all"]["accuracy"]
        metrics["negation_probe_negated_accuracy"] = reports["negation_probe"]["negated"]["accuracy"]
    return metrics


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
    parser.add_argument("--reading", action="store_true",
                        help="also how the model reads: calibration, the negation probe (tests/data), and with "
                             "--sst-trees the SST phrases where a negation flips the label")
    parser.add_argument("--sst-trees", type=Path,
                        help="SST trees file for --reading (e.g. ../shared/data/sst/trees/test.txt)")
    parser.add_argument("--record", action="store_true",
                        help="with --reading: write the reports into the model's JSON (metrics and training.reports)")
    args = parser.parse_args(argv)
    if args.record and args.limit:
        parser.error("--record writes the score of the whole file: drop --limit")
    model = load(args.model)
    data = read_labeled(args.data)
    texts, labels = data.texts, data.labels
    if args.limit:
        texts, labels = texts[: args.limit], labels[: args.limit]
    if args.reading:
        temperature = float(model.info.metrics.get("temperature", 1.0))
        reports = test_reports(model, LabeledTexts(texts, labels, args.data), temperature, args.sst_trees)
        print(json.dumps({"model": model.name, "data": args.data, **reports}, indent=1))
        if args.record:
            record(args.model, reports, args.data)
        return 0
    result = evaluate(model, texts, labels)
    print(json.dumps({"model": model.name, "data": args.data, **result}) if args.json
          else format_report(model, args.data, result))
    return 0


def record(name_or_path: str, reports: dict, test_file: str | Path) -> None:
    """Write test reports into a checkpoint's JSON: the headline numbers and the test file into metrics, the rest
    into training."""
    path = resolve_checkpoint(name_or_path).with_suffix(".json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document.setdefault("training", {}).setdefault("reports", {}).update(reports)
    document["metrics"].update(headline_metrics(document["training"]["reports"]))
    document["metrics"]["test_file"] = str(Path(test_file).resolve())
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded in {path}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
