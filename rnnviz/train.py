"""Training CLI: ``python -m rnnviz.train --cell lstm --data sst2 --out pretrained/lstm-sst2``.

Runs on CPU. Batches are padded (no packing) and grouped by length, which on two cores is several
times faster than pack_padded_sequence. Selection (early stopping, learning-rate decay) uses dev data
only; the test file, when given, is scored once at the end and only reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import augment, calibration, checkpoint, lm
from .progress import progress
from .data import LabeledTexts, dedupe_key, file_sha256, read_labeled
from .model import ModelConfig, ModelInfo, SentimentModel, pad_batch
from .embeddings import initial_embedding, pretrain_vectors
from .evaluate import headline_metrics, prediction_line_report, test_reports
from .negation import sst_negation_report
from .text import SCHEME, Vocabulary, tokenize

DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Preset:
    """Data files and tuned hyperparameters for one shipped dataset."""

    train: str
    dev: str | None
    test: str | None
    dev_fraction: float
    embedding_corpus: tuple[str, ...]
    defaults: dict
    negation_trees: str = "sst/trees/train.txt"
    """SST training trees that negation flips and counterfactuals are drawn from."""


PRESETS = {
    "sst2": Preset(
        train="sst/trees/train.txt", dev="sst2/dev.tsv", test="sst2/test_labeled.tsv", dev_fraction=0.0,
        embedding_corpus=("imdb/train.csv.xz", "sst/derived/sentences_train.tsv"),
        defaults=dict(embedding_dim=200, hidden_size=256, layers=1, dropout=0.5, epochs=12, batch_size=64,
                      lr=2e-3, vocab_size=20000, min_count=1, max_train_tokens=0, truncate="head",
                      step_loss_weight=0.0, also_train=[], flip_oversample=4, counterfactuals=6000,
                      vocab_from_vectors=True),
    ),
    "imdb": Preset(
        train="imdb/train.csv.xz", dev=None, test="imdb/test.csv.xz", dev_fraction=0.08,
        embedding_corpus=("imdb/train.csv.xz",),
        defaults=dict(embedding_dim=128, hidden_size=256, layers=1, dropout=0.4, epochs=8, batch_size=64,
                      lr=2e-3, vocab_size=25000, min_count=3, max_train_tokens=400, truncate="tail",
                      step_loss_weight=0.3, also_train=["sst/trees/train.txt"], flip_oversample=4,
                      counterfactuals=6000, vocab_from_vectors=False),
    ),
}


def _decay(text: str) -> float:
    """A moving average's decay per batch: 0 (off) or a number in (0, 1); 1 would never move from the start."""
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"the decay must be at least 0 and below 1, not {text}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rnnviz.train", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", choices=("lstm", "gru"), required=True)
    parser.add_argument("--data", choices=sorted(PRESETS), required=True,
                        help="which dataset's files and tuned defaults to use")
    parser.add_argument("--out", required=True, help="output stem: writes OUT.safetensors and OUT.json")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                        help="folder holding sst2/ and imdb/ (default: ../shared/data)")
    parser.add_argument("--train", type=Path, help="training file (overrides the preset)")
    parser.add_argument("--dev", type=Path, help="dev file (default: the preset's, or a held-out slice of train)")
    parser.add_argument("--test", type=Path, help="test file scored once at the end, never used for selection")
    parser.add_argument("--no-test", action="store_true",
                        help="skip the final test score (training texts found in the test file are still dropped)")
    parser.add_argument("--embedding-dim", type=int)
    parser.add_argument("--hidden-size", type=int)
    parser.add_argument("--layers", type=int)
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--vocab-size", type=int)
    parser.add_argument("--min-count", type=int)
    parser.add_argument("--max-train-tokens", type=int, help="cut training texts to this many tokens (0: no cut)")
    parser.add_argument("--truncate", choices=("head", "tail"), help="keep the first or the last tokens when cutting")
    parser.add_argument("--step-loss-weight", type=float,
                        help="weight of the loss on the prediction after every token (0: final token only)")
    parser.add_argument("--pretrain-embeddings", action=argparse.BooleanOptionalAction, default=True,
                        help="start the embedding from word vectors learned on unlabeled training text (default)")
    parser.add_argument("--embedding-corpus", type=Path, nargs="+",
                        help="labeled files whose text (labels unused) the word vectors and the language model "
                             "learn from")
    parser.add_argument("--vocab-from-vectors", action=argparse.BooleanOptionalAction,
                        help="fill the vocabulary up to --vocab-size with words that only the vectors know")
    parser.add_argument("--also-train", type=Path, nargs="*",
                        help="more training files (an SST trees .txt gives every labelled phrase); paths relative "
                             "to --data-root")
    parser.add_argument("--flip-oversample", type=int,
                        help="extra copies of the SST training nodes where a negation flips the sentiment (0: none)")
    parser.add_argument("--counterfactuals", type=int,
                        help="how many negated short training phrases to add, trained towards the other side")
    parser.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="fit a temperature on dev and fold it into the head (default)")
    parser.add_argument("--embedding-scale", type=float, default=0.5, help="std of the initial embedding entries")
    parser.add_argument("--freeze-embedding-epochs", type=int, default=0,
                        help="keep the embedding fixed for this many first epochs")
    parser.add_argument("--forget-bias", type=float, default=0.0,
                        help="LSTM only: start the forget gate's bias here (1.0 helps long texts; Jozefowicz et al. 2015)")
    parser.add_argument("--cache", type=Path, default=Path(".cache"), help="where learned word vectors are kept")
    parser.add_argument("--weight-average", type=_decay, default=0.0,
                        help="judge and keep an exponential moving average of the weights with this decay per "
                             "batch, e.g. 0.999 (0: the raw weights); smooths the noise of the last batches")
    parser.add_argument("--lm-epochs", type=int, default=0,
                        help="first train the embedding and recurrent layer as a language model over the embedding "
                             "corpus for this many passes (rnnviz.lm; 0: none)")
    parser.add_argument("--lm-lr", type=float, default=2e-3, help="learning rate of the language-model pretraining")
    parser.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    parser.add_argument("--limit", type=int, default=0, help="use only this many training texts (for smoke runs)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    preset = PRESETS[args.data]
    for key, value in preset.defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    root = args.data_root
    args.train = args.train or root / preset.train
    if args.dev is None and preset.dev:
        args.dev = root / preset.dev
    args.dev_fraction = 0.0 if args.dev else preset.dev_fraction
    if args.test is None and preset.test:  # read even with --no-test: training must not hold test texts
        args.test = root / preset.test
    args.embedding_corpus = args.embedding_corpus or [root / p for p in preset.embedding_corpus]
    args.also_train = [root / p for p in args.also_train]
    args.negation_trees = root / preset.negation_trees
    return args


@dataclass
class Splits:
    train: LabeledTexts
    dev: LabeledTexts
    test: LabeledTexts | None
    provenance: dict


def held_out_keys(dev: LabeledTexts, test: LabeledTexts | None) -> set[str]:
    """The dedupe_key of every dev and test text: what no training text, labelled or not, may be."""
    return {dedupe_key(t) for t in dev.texts + (test.texts if test else [])}


def load_splits(args: argparse.Namespace) -> Splits:
    """Read the files, hold out dev if needed, and drop training texts that also occur in dev or test."""
    train = read_labeled(args.train)
    test = read_labeled(args.test) if args.test else None
    rng = random.Random(args.seed)
    if args.dev:
        dev = read_labeled(args.dev)
        train_indices = list(range(len(train)))
    else:
        order = list(range(len(train)))
        rng.shuffle(order)
        n_dev = int(round(len(train) * args.dev_fraction))
        dev = train.subset(sorted(order[:n_dev]))
        dev.source = f"{train.source} (held-out {n_dev} texts, seed {args.seed})"
        train_indices = sorted(order[n_dev:])
    held_out = held_out_keys(dev, test)
    seen: set[str] = set()
    kept, dropped_overlap, dropped_duplicate = [], 0, 0
    for i in train_indices:
        key = dedupe_key(train.texts[i])
        if key in held_out:
            dropped_overlap += 1
        elif key in seen:
            dropped_duplicate += 1
        else:
            seen.add(key)
            kept.append(i)
    if args.limit:
        rng.shuffle(kept)
        kept = sorted(kept[: args.limit])
    trained = train.subset(kept)
    extras = [read_labeled(path) for path in args.also_train]
    if args.flip_oversample:
        extras.append(augment.flip_oversampling(args.negation_trees, args.flip_oversample))
    if args.counterfactuals:
        extras.append(augment.negated_phrases(args.negation_trees, args.counterfactuals, args.seed))
    added = {}
    for extra in extras:
        clean = extra.subset([i for i, text in enumerate(extra.texts) if dedupe_key(text) not in held_out])
        added[clean.source] = len(clean)
        trained = trained + clean
    provenance = {
        "train_file": str(args.train), "train_sha256": file_sha256(args.train),
        "dev": dev.source, "test_file": str(args.test) if args.test else None,
        "train_texts_used": len(kept), "dev_texts": len(dev), "test_texts": len(test) if test else 0,
        "dropped_train_texts_also_in_dev_or_test": dropped_overlap,
        "dropped_duplicate_train_texts": dropped_duplicate,
        "added_training_texts": added,
    }
    if args.dev and Path(args.dev).exists():
        provenance["dev_sha256"] = file_sha256(args.dev)
    if test is not None:
        provenance["test_sha256"] = file_sha256(args.test)
    return Splits(trained, dev, test, provenance)


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in random order, each batch shuffled by jitter."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i] + rng.random() * 4))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def cut(ids: list[int], max_tokens: int, mode: str) -> list[int]:
    if not max_tokens or len(ids) <= max_tokens:
        return ids
    return ids[:max_tokens] if mode == "head" else ids[-max_tokens:]


def target_rows(targets: Sequence[float], n_classes: int) -> torch.Tensor:
    """Class-probability rows for cross-entropy: [1 - p, p] for binary soft targets, one-hot otherwise."""
    values = torch.tensor(targets, dtype=torch.float32)
    if n_classes == 2:
        return torch.stack([1 - values, values], dim=1)
    return nn.functional.one_hot(values.long(), n_classes).float()


def step_loss(model: SentimentModel, ids: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
              step_weight: float) -> torch.Tensor:
    """Cross-entropy after the last token, plus ``step_weight`` times the mean over all earlier steps.

    ``targets`` are class-probability rows (target_rows), so SST's neutral phrases train towards 0.5.
    The per-step term (target replication, Lipton et al. 2015) gives long reviews a gradient at
    every token and makes the app's prediction-after-each-token line meaningful.
    """
    states = model.hidden_states(ids)
    logits = model.head(model.dropout(states))
    batch = torch.arange(ids.shape[0])
    loss = nn.functional.cross_entropy(logits[batch, lengths - 1], targets)
    if step_weight > 0:
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).float()
        per_step = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.repeat_interleave(ids.shape[1], dim=0), reduction="none"
        ).view_as(mask)
        loss = loss + step_weight * ((per_step * mask).sum(1) / lengths).mean()
    return loss


def accuracy(model: SentimentModel, encoded: list[list[int]], labels: list[int]) -> float:
    predicted = model.predict_ids([ids or [model.vocab.unk_id] for ids in encoded], batch_size=128).argmax(axis=1)
    return float((predicted == np.asarray(labels)).mean())


def unlabeled_corpus(args: argparse.Namespace, excluded: set[str]) -> list[list[str]]:
    """The embedding corpus's texts (labels unused), tokenized, without any text whose ``dedupe_key`` is
    ``excluded`` (dev and test texts)."""
    return [tokenize(text) for file in args.embedding_corpus
            for text in progress(read_labeled(file).texts, desc=f"reading {Path(file).name}")
            if dedupe_key(text) not in excluded]


def cached_vectors(args: argparse.Namespace, excluded: set[str],
                   corpus: list[list[str]] | None = None) -> tuple[list[str], np.ndarray]:
    """Word vectors learned from the embedding corpus minus any dev or test text, cached on disk; ``corpus`` is
    that text already tokenized, when at hand (it is read only if the cache misses)."""
    key = hashlib.sha256(json.dumps(
        [[file_sha256(p) for p in args.embedding_corpus], sorted(excluded), args.embedding_dim, args.seed,
         SCHEME]
    ).encode()).hexdigest()[:16]
    path = args.cache / f"vectors-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return [str(w) for w in stored["words"]], stored["vectors"]
    started = time.time()
    if corpus is None:
        corpus = unlabeled_corpus(args, excluded)
    words, vectors = pretrain_vectors(corpus, args.embedding_dim, seed=args.seed)
    args.cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, words=np.array(words), vectors=vectors)
    print(f"learned {len(words)} word vectors in {time.time() - started:.0f} s", file=sys.stderr)
    return words, vectors


def extend_vocabulary(vocab: Vocabulary, words: Sequence[str], size: int) -> Vocabulary:
    """The training vocabulary, then the vectors' most frequent other words, up to ``size`` ids."""
    known = set(vocab.tokens)
    extra = [w for w in words if w not in known][: max(0, size - len(vocab))]
    return Vocabulary(vocab.tokens + tuple(extra))


def train(args: argparse.Namespace) -> SentimentModel:
    """Train one model as ``args`` says and return it with its metrics filled in (not yet saved)."""
    started = time.time()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    splits = load_splits(args)
    print(f"train {len(splits.train)} texts, dev {len(splits.dev)}, test {len(splits.test) if splits.test else 0}",
          file=sys.stderr)
    train_tokens = [tokenize(t) for t in progress(splits.train.texts, desc="tokenizing train", leave=False)]
    dev_tokens = [tokenize(t) for t in splits.dev.texts]
    main_texts = splits.provenance["train_texts_used"]  # the vocabulary counts the main file, not its augmentations
    vocab = Vocabulary.build(train_tokens[:main_texts], args.vocab_size, args.min_count)
    excluded = held_out_keys(splits.dev, splits.test)
    corpus = unlabeled_corpus(args, excluded) if args.lm_epochs else None  # read once for the vectors and the LM
    vectors = cached_vectors(args, excluded, corpus) if args.pretrain_embeddings else None
    if vectors is not None and args.vocab_from_vectors:
        vocab = extend_vocabulary(vocab, vectors[0], args.vocab_size)
    train_ids = [cut(vocab.encode(t), args.max_train_tokens, args.truncate) for t in train_tokens]
    keep = [i for i, ids in enumerate(train_ids) if ids]
    train_ids = [train_ids[i] for i in keep]
    train_targets = [splits.train.target(i) for i in keep]
    train_labels = [splits.train.labels[i] for i in keep]
    dev_ids = [vocab.encode(t) for t in dev_tokens]

    n_classes = max(max(train_labels), max(splits.dev.labels)) + 1
    labels = ["negative", "positive"] if n_classes == 2 else [str(i) for i in range(n_classes)]
    config = ModelConfig(cell=args.cell, vocab_size=len(vocab), embedding_dim=args.embedding_dim,
                         hidden_size=args.hidden_size, num_layers=args.layers, num_classes=n_classes,
                         dropout=args.dropout)
    model = SentimentModel(config, vocab, ModelInfo(labels=labels, name=Path(args.out).name))
    if vectors is not None:
        matrix, hits = initial_embedding(vocab.tokens, *vectors, scale=args.embedding_scale, seed=args.seed)
        model.embedding.weight.data.copy_(matrix)
        print(f"{hits} of {len(vocab)} vocabulary words start from pretrained vectors", file=sys.stderr)
    if args.cell == "lstm" and args.forget_bias:
        with torch.no_grad():
            for layer in range(args.layers):  # rows stacked i, f, g, o; the two biases add up
                getattr(model.rnn, f"bias_ih_l{layer}")[args.hidden_size:2 * args.hidden_size] = args.forget_bias
                getattr(model.rnn, f"bias_hh_l{layer}")[args.hidden_size:2 * args.hidden_size] = 0.0
    language_model = None
    if corpus is not None:
        encoded = [vocab.encode(tokens) for tokens in corpus]
        del corpus  # millions of token strings, not needed while the classifier trains
        language_model = lm.pretrain(model, encoded, args.lm_epochs, args.lm_lr, args.seed)
        print(f"language model: {language_model.tokens:,} tokens x {args.lm_epochs}, perplexity "
              f"{language_model.final_perplexity:.0f}, {language_model.seconds:.0f} s", file=sys.stderr)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.weight_average)) \
        if args.weight_average else None
    judged = averaged.module if averaged is not None else model  # the weights dev judges and the model keeps

    best_accuracy, best_epoch, best_state, history = -1.0, 0, None, []
    epochs_without_gain = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        model.embedding.weight.requires_grad_(epoch > args.freeze_embedding_epochs)
        batches = length_batches([len(x) for x in train_ids], args.batch_size, rng)
        bar = progress(batches, desc=f"epoch {epoch}/{args.epochs}", unit="batch")
        running = 0.0
        for step, batch in enumerate(bar, 1):
            ids, lengths = pad_batch([train_ids[i] for i in batch], vocab.pad_id)
            target = target_rows([train_targets[i] for i in batch], n_classes)
            loss = step_loss(model, ids, lengths, target, args.step_loss_weight)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(model)
            running += (loss.item() - running) / min(step, 50)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        dev_accuracy = accuracy(judged, dev_ids, splits.dev.labels)
        bar.close()
        history.append({"epoch": epoch, "train_loss": round(running, 4), "dev_accuracy": round(dev_accuracy, 4),
                        "lr": optimizer.param_groups[0]["lr"]})
        print(f"epoch {epoch}: loss {running:.4f}, dev accuracy {dev_accuracy:.4f}", file=sys.stderr)
        if dev_accuracy > best_accuracy:
            best_accuracy, best_epoch, epochs_without_gain = dev_accuracy, epoch, 0
            best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        else:
            epochs_without_gain += 1
            for group in optimizer.param_groups:
                group["lr"] *= 0.5
            if epochs_without_gain >= args.patience:
                print(f"stopping early: no dev gain for {args.patience} epochs", file=sys.stderr)
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()

    metrics = {"dev_accuracy": round(best_accuracy, 4), "best_epoch": best_epoch}
    temperature = calibrate(model, dev_ids, splits.dev.labels, metrics) if args.calibrate else 1.0
    train_seconds = time.time() - started
    reports = reading_reports(model, splits.dev.texts, args)
    if splits.test is not None and not args.no_test:
        reports |= test_reports(model, splits.test, temperature, args.data_root / "sst/trees/test.txt")
        metrics["test_file"] = str(args.test)
    metrics |= headline_metrics(reports)
    print("dev: " + json.dumps({k: v for k, v in metrics.items() if k.startswith("dev")}), file=sys.stderr)
    model.info.metrics = metrics
    model.info.training = {
        "command": "python -m rnnviz.train " + " ".join(args.argv),
        "data": args.data,
        "provenance": splits.provenance,
        "hyperparameters": {k: getattr(args, k) for k in (
            "embedding_dim", "hidden_size", "layers", "dropout", "epochs", "batch_size", "lr", "vocab_size",
            "min_count", "max_train_tokens", "truncate", "step_loss_weight", "patience", "seed", "threads",
            "pretrain_embeddings", "vocab_from_vectors", "embedding_scale", "freeze_embedding_epochs", "forget_bias",
            "flip_oversample", "counterfactuals", "calibrate", "weight_average", "lm_epochs", "lm_lr")}
        | {"also_train": [str(p) for p in args.also_train]},
        "embedding_corpus": [str(p) for p in args.embedding_corpus]
        if args.pretrain_embeddings or args.lm_epochs else [],
        "language_model": language_model.to_dict() if language_model else None,
        "history": history,
        "reports": reports,
        "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {args.threads} threads",
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model


def calibrate(model: SentimentModel, dev_ids: list[list[int]], dev_labels: list[int], metrics: dict) -> float:
    """Fit a temperature on dev, fold it into the head, and record dev ECE before and after."""
    logits = calibration.final_logits(model, dev_ids)
    labels = np.asarray(dev_labels)
    temperature = calibration.fit_temperature(logits, labels)
    calibration.fold_temperature(model, temperature)
    metrics["temperature"] = round(temperature, 4)
    metrics["dev_ece_before_calibration"] = round(calibration.expected_calibration_error(calibration.softmax(logits), labels), 4)
    metrics["dev_ece"] = round(calibration.expected_calibration_error(calibration.softmax(logits / temperature), labels), 4)
    print(f"temperature {temperature:.3f}: dev ECE {metrics['dev_ece_before_calibration']} -> {metrics['dev_ece']}",
          file=sys.stderr)
    return temperature


def reading_reports(model: SentimentModel, dev_texts: list[str], args: argparse.Namespace) -> dict:
    """Dev-only checks of how the model reads: the prediction line on dev texts, negation phrases of SST dev."""
    reports = {"dev_prediction_line": prediction_line_report(model, dev_texts)}
    dev_trees = args.data_root / "sst/trees/dev.txt"
    if dev_trees.exists():
        reports["dev_sst_negation"] = sst_negation_report(model, dev_trees)
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model = train(args)
    weights, config = checkpoint.save(model, args.out)
    print(f"wrote {weights} and {config}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
