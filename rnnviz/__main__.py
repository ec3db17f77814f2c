"""Command line: ``python -m rnnviz trace --model lstm-sst2 "not bad at all" [--out trace.csv|.json]``.

``python -m rnnviz models`` lists the shipped models with their test accuracy; ``python -m rnnviz serve
my_project/model.py:build`` opens the dashboard on your own model (a function returning ``rnnviz.wrap(...)``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import torch

from . import corpus
from .checkpoint import CheckpointError, available_models, load
from .data import read_corpus
from .export import write_trace
from .factory import FACTORY_ENV, build_model, parse_spec
from .model import use_serving_policy
from .trace import Trace, trace

BAR_WIDTH = 20


def _bar(value: float) -> str:
    filled = int(round(max(0.0, min(1.0, value)) * BAR_WIDTH))
    return "#" * filled + "." * (BAR_WIDTH - filled)


def summary(tr: Trace, max_rows: int = 60) -> str:
    """A plain-text table: each token with its keep score and the prediction after it."""
    label, confidence = tr.prediction
    positive = len(tr.labels) - 1
    lines = [
        f"model {tr.model_name} ({tr.cell}, {tr.num_layers} layer(s), {tr.hidden_size} units)",
        f"prediction: {label} ({confidence:.1%})",
        f"{len(tr.tokens)} tokens traced" + (f" of {tr.n_tokens_total} (cut at the model's limit)" if tr.truncated else "")
        + (f", {int(tr.unknown.sum())} unknown (marked *)" if tr.unknown.any() else ""),
        "",
        f"{'step':>5}  {'token':<18} {'keep':>5}  {'kept to the end':<{BAR_WIDTH}}  p({tr.labels[positive]})",
    ]
    shown = range(len(tr.tokens)) if len(tr.tokens) <= max_rows else [*range(max_rows // 2), *range(len(tr.tokens) - max_rows // 2, len(tr.tokens))]
    previous = -1
    for t in shown:
        if t != previous + 1:
            lines.append(f"{'...':>5}")
        previous = t
        token = tr.tokens[t] + ("*" if tr.unknown[t] else "")
        token = token if len(token) <= 18 else token[:17] + "~"
        lines.append(f"{t:>5}  {token:<18} {tr.keep[t]:>5.2f}  {_bar(float(tr.keep[t]))}  {tr.probs[t, positive]:.3f}")
    return "\n".join(lines)


def serve(spec: str, port: int) -> int:
    """``streamlit run app.py`` with the model from ``spec`` (FILE.py:FUNCTION) first in the model picker."""
    try:
        file, function = parse_spec(spec)
        build_model(spec)  # fail here, with a message, rather than inside the page
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = Path(__file__).resolve().parent.parent / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]
    return subprocess.call(command, cwd=app.parent, env={**os.environ, FACTORY_ENV: f"{file}:{function}"})


def build_index(args: argparse.Namespace) -> int:
    """``python -m rnnviz index``: read the texts, build the index with a progress bar, save it, say what it cost."""
    try:
        model = load(args.model)
        texts = read_corpus(args.data, args.sample, args.seed)
        index = corpus.build(model, texts, progress=True, store_states=args.states,
                             corpus=args.name or ", ".join(path.name for path in args.data))
    except (CheckpointError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder = corpus.save(index, args.out)
    size = sum(path.stat().st_size for path in folder.iterdir())
    print(f"indexed {index.n_tokens:,} tokens of {len(index.texts):,} texts in {index.info['seconds']} s; "
          f"wrote {folder} ({size / 2**20:.1f} MB)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnviz", description="Trace LSTM and GRU sentiment models.")
    commands = parser.add_subparsers(dest="command", required=True)
    trace_parser = commands.add_parser("trace", help="trace one text and print a summary")
    trace_parser.add_argument("text", help="the text to read; '-' reads standard input")
    trace_parser.add_argument("--model", default="lstm-sst2", help="shipped model name or path to NAME.safetensors")
    trace_parser.add_argument("--out", type=Path, help="also write every number: .csv (long table) or .json")
    trace_parser.add_argument("--rows", type=int, default=60, help="most tokens to list in the summary")
    commands.add_parser("models", help="list the shipped models")
    serve_parser = commands.add_parser("serve", help="open the dashboard on your own model: FILE.py:FUNCTION")
    serve_parser.add_argument("factory", help="a function returning rnnviz.wrap(...), e.g. my_project/model.py:build")
    serve_parser.add_argument("--port", type=int, default=8501)
    index_parser = commands.add_parser("index", help="index a corpus: what every unit does across many texts")
    index_parser.add_argument("--model", required=True, help="shipped model name or path to NAME.safetensors")
    index_parser.add_argument("--data", type=Path, nargs="+", required=True,
                              help="TSV (sentence, label), CSV (text, label, .xz allowed) or plain text (one per line)")
    index_parser.add_argument("--out", type=Path, required=True, help="folder to write the index to")
    index_parser.add_argument("--name", default="", help="what the corpus is, as the dashboard lists it")
    index_parser.add_argument("--sample", type=int, default=0, help="index a seeded random sample of this many texts")
    index_parser.add_argument("--seed", type=int, default=13)
    index_parser.add_argument("--states", action="store_true",
                              help="also keep the top layer's hidden states (int8) for fast pattern search")
    args = parser.parse_args(argv)
    every_core = torch.get_num_threads()  # PyTorch's default, before the serving policy takes one
    use_serving_policy()

    if args.command == "serve":
        return serve(args.factory, args.port)

    if args.command == "index":  # a batch job, not a server: every core, for the model's pass and the statistics
        torch.set_num_threads(every_core)
        return build_index(args)

    if args.command == "models":
        for name in available_models():
            model = load(name)
            accuracy = model.info.metrics.get("test_accuracy")
            print(f"{name:<12} {model.cell:<5} {model.config.num_layers} layer(s) x {model.config.hidden_size} units"
                  + (f", test accuracy {accuracy:.1%}" if accuracy is not None else ""))
        return 0

    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        model = load(args.model)
        tr = trace(model, text)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(tr, args.rows))
    if args.out:
        try:
            write_trace(tr, args.out)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
