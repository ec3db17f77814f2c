"""``python -m rnnviz.toys``: train, score and ship the toy models.

    python -m rnnviz.toys train --task counting --cell lstm --out pretrained/toy-counting-lstm
    python -m rnnviz.toys train-all --out-dir pretrained       # every shipped toy model, about 3 minutes
    python -m rnnviz.toys evaluate --model toy-counting-lstm  # accuracy on fresh sequences, the counting unit
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import torch

from .. import checkpoint
from . import SHIPPED, TASKS, evaluate, toy_name, train_toy

THREADS = 1
"""Intra-op threads: these models have 8 units, nothing to split, and two threads on two busy cores made
each step 300 times slower here (0.7 s instead of 2 ms for a GRU batch)."""


def _train(task: str, cell: str, out: Path, seed: int, argv: Sequence[str]) -> None:
    model = train_toy(task, cell, seed=seed, name=out.name)
    model.info.metrics = evaluate(model, task)
    model.info.training["command"] = "python -m rnnviz.toys " + " ".join(argv)
    checkpoint.save(model, out)
    print(f"{out.name}: {json.dumps(model.info.metrics)} in {model.info.training['train_seconds']} s", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m rnnviz.toys", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=THREADS)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("train", help="train one toy model")
    one.add_argument("--task", choices=list(TASKS), required=True)
    one.add_argument("--cell", choices=("lstm", "gru", "rnn"), required=True)
    one.add_argument("--out", type=Path, required=True, help="output stem: writes OUT.safetensors and OUT.json")
    one.add_argument("--seed", type=int, default=0)
    every = commands.add_parser("train-all", help="train every shipped toy model")
    every.add_argument("--out-dir", type=Path, default=checkpoint.PRETRAINED_DIR)
    score = commands.add_parser("evaluate", help="score a toy model on fresh sequences")
    score.add_argument("--model", required=True, help="a shipped toy's name or a path to NAME.safetensors")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.command == "train":
        _train(args.task, args.cell, args.out, args.seed, argv)
    elif args.command == "train-all":
        for task, cell in SHIPPED:
            out = args.out_dir / toy_name(task, cell)
            _train(task, cell, out, 0, ["train", "--task", task, "--cell", cell, "--out", f"pretrained/{out.name}"])
    else:
        model = checkpoint.load(args.model)
        print(json.dumps(evaluate(model, model.info.training.get("task", "")), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
