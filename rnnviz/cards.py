"""Model cards: ``python -m rnnviz.cards > pretrained/README.md`` tabulates what each checkpoint says of itself.

Every figure comes from the checkpoint's JSON (written by the training CLI) and the files' sizes.
"""

from __future__ import annotations

import os
from typing import Callable

from .checkpoint import PRETRAINED_DIR, available_models, available_toys, load
from .examples import misread_examples
from .model import SentimentModel

HEADER = """# Shipped models

Four unidirectional sentiment classifiers (embedding -> `torch.nn.LSTM` / `torch.nn.GRU` -> linear head on
the last hidden state). Accuracy is on test data the model never trained or tuned on, read with the app's
tokenizer and the app's token cap (`predict_proba`). Re-create this table with `python -m rnnviz.cards > pretrained/README.md`;
re-check any accuracy with the evaluation command in the last column.

"""


def _from_root(path: str) -> str:
    """A recorded data path as the README's commands write it: relative to the project root."""
    return os.path.relpath(path, PRETRAINED_DIR.parent) if os.path.isabs(path) else path


def _shipped_command(command: str, name: str) -> str:
    """The recorded training command, writing straight to pretrained/NAME (where it was copied after training)."""
    words = command.split()
    if "--out" in words[:-1]:
        words[words.index("--out") + 1] = f"pretrained/{name}"
    return " ".join(words)


def _size(name: str) -> float:
    return sum((PRETRAINED_DIR / f"{name}{suffix}").stat().st_size for suffix in (".safetensors", ".json"))


def _table(columns: list[str], names: list[str], cells: Callable[[str, SentimentModel], list[str]]) -> str:
    """A Markdown table with one row per model: its name, then the ``cells`` of that loaded model."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join([f"`{name}`", *cells(name, load(name))]) + " |" for name in names]
    return "\n".join(lines)


def _card_cells(name: str, model: SentimentModel) -> list[str]:
    metrics, training = model.info.metrics, model.info.training
    provenance = training.get("provenance", {})
    test = metrics.get("test_accuracy")
    test_file = _from_root(metrics.get("test_file", ""))
    return [
        f"{model.cell.upper()} {model.config.num_layers}x{model.config.hidden_size}, "
        f"embedding {model.config.embedding_dim}, {model.config.vocab_size:,} words",
        f"{training.get('data', '?')}: {provenance.get('train_texts_used', '?'):,} texts",
        f"{test:.2%} on {provenance.get('test_texts', '?'):,} texts" if test is not None else "n/a",
        f"{metrics.get('dev_accuracy', float('nan')):.2%}",
        f"{training.get('parameters', 0):,}",
        f"{_size(name) / 2**20:.1f} MB",
        f"{training.get('train_seconds', 0) / 60:.1f} min ({training.get('machine', '?')})",
        f"`{_shipped_command(training.get('command', ''), name)}`",
        f"`python -m rnnviz.evaluate --model {name} --data {test_file}`" if test_file else "",
    ]


def card_table() -> str:
    return _table(["model", "cell", "trained on", "test accuracy", "dev accuracy", "parameters", "file size",
                   "training time", "train command", "evaluate command"], available_models(), _card_cells)


READING_HEADER = """

## How they read

Scored once per finished model on data never trained or tuned on (`python -m rnnviz.evaluate --model NAME --data
TEST --reading --sst-trees ../shared/data/sst/trees/test.txt`). *Negation probe*: the 60 hand-written sentences
in `tests/data/negation_probe.tsv` (50 negated, 10 plain), all / negated only. *SST negation phrases*: polar SST
test phrases made of a negation-led part and a polar part (`rnnviz.sst.negation_nodes`), all of them and the
"not bad" kind (a negation turning a negative phrase positive). *ECE*: expected calibration error on the test
set (15 bins) before and after the temperature fitted on dev. *Line start*: the prediction after a neutral first
word ("the", "i", "this", "a", "it") on dev texts; *at 99 %*: the share of all dev steps shown at 99 % or more.
*Misreads*: the app's curated examples where the model disagrees with a human reader.

"""

TOY_HEADER = """

## Toy models for the lessons

Tiny models trained on generated sequences by `python -m rnnviz.toys` (each in under a minute on one thread),
used by the Lessons view; they are not in the app's model picker. Accuracy is on 2,000 fresh sequences within
the training lengths, generated from a seed neither training nor model selection used; "unit" is the state that
follows the task's count, depth or first word best, found by `rnnviz.toys.tracking_unit`, with its correlation r.

"""


def _share(metrics: dict, key: str, digits: int = 0) -> str:
    value = metrics.get(key)
    return f"{value:.{digits}%}" if isinstance(value, (int, float)) else "n/a"


def _count(reports: dict, split: str, kind: str) -> str:
    found = reports.get(split, {}).get(kind)
    return f" of {found['n']}" if found else ""


def _reading_cells(name: str, model: SentimentModel) -> list[str]:
    metrics, reports = model.info.metrics, model.info.training.get("reports", {})
    start = metrics.get("dev_line_after_neutral_opening")
    return [
        f"{_share(metrics, 'negation_probe_accuracy')} / {_share(metrics, 'negation_probe_negated_accuracy')}",
        f"{_share(metrics, 'test_sst_negation_all')}{_count(reports, 'test_sst_negation', 'all')} / "
        f"{_share(metrics, 'test_sst_negation_negative->positive')}"
        f"{_count(reports, 'test_sst_negation', 'negative->positive')}",
        f"{metrics['test_ece_before_calibration']:.3f} -> {metrics['test_ece']:.3f}" if "test_ece" in metrics else "n/a",
        f"{start:.2f}" if start is not None else "n/a",
        _share(metrics, "dev_steps_at_99_percent", 1),
        ", ".join(misread_examples(model)) or "none",
    ]


def reading_table() -> str:
    return _table(["model", "negation probe (all / negated)", 'SST negation phrases (all / "not bad" kind)',
                   "test ECE before -> after", "line start", "dev steps at 99 %", "misreads"],
                  available_models(), _reading_cells)


def _toy_cells(name: str, model: SentimentModel) -> list[str]:
    metrics, training = model.info.metrics, model.info.training
    beyond = next((f"{v:.2%} with {k.split('_')[2]} fillers" for k, v in metrics.items() if k.startswith("accuracy_at_")),
                  "")
    return [
        f"{model.cell.upper()} 1x{model.config.hidden_size}",
        f"{metrics['test_accuracy']:.2%} ({metrics['test_lengths']})",
        beyond,
        f"{metrics['unit_quantity']} {metrics['unit']} ({metrics['unit_r']:+.3f})",
        f"{training['parameters']:,}",
        f"{_size(name) / 1024:.1f} KB",
        f"{training['train_seconds']:.0f} s ({len(training['runs'])} run(s), {training['machine']})",
        f"`{training['command']}`",
    ]


def toy_table() -> str:
    return _table(["model", "cell", "accuracy (lengths)", "beyond training", "unit (r)", "parameters", "file size",
                   "training time", "train command"], available_toys(), _toy_cells)


def main() -> int:
    print(HEADER + card_table() + READING_HEADER + reading_table() + TOY_HEADER + toy_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
