"""Toy tasks and the shipped toy models: seeded generators with hard negatives, accuracy on fresh sequences,
and a unit whose state follows the count or depth, found by search (not named anywhere)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import toys
from rnnviz.checkpoint import PRETRAINED_DIR, available_models, available_toys
from rnnviz.toys import __main__ as cli
from rnnviz.toys import training

FRESH_SEED = 7
"""Neither training (seeds 1000 and up), validation (1) nor the recorded metrics (2) used this seed."""
SHIPPED = [toys.toy_name(task, cell) for task, cell in toys.SHIPPED]


@pytest.mark.parametrize("task", list(toys.TASKS))
def test_generators_are_deterministic_under_a_seed(task):
    assert toys.sample(task, 50, seed=3) == toys.sample(task, 50, seed=3)
    assert toys.sample(task, 50, seed=3) != toys.sample(task, 50, seed=4)


@pytest.mark.parametrize("task", list(toys.TASKS))
def test_sequences_have_training_lengths_balanced_labels_and_read_back_as_the_same_tokens(task):
    spec = toys.get_task(task)
    sequences = toys.sample(task, 400, seed=1)
    fillers = [len(s) - 1 for s in sequences] if task == "first" else [len(s) for s in sequences]
    assert min(fillers) >= spec.lengths[0] and max(fillers) <= spec.lengths[1]
    assert 0.4 < np.mean([spec.label(s) for s in sequences]) < 0.6
    assert all(rnnviz.tokenize(toys.as_text(s)) == s for s in sequences)
    assert all(set(s) <= set(spec.words) for s in sequences)


def test_labels_follow_their_definitions():
    counting, brackets, first = (toys.get_task(name) for name in ("counting", "brackets", "first"))
    assert counting.label("a a a b b b".split()) == 1 and counting.label("a a a b b".split()) == 0
    assert brackets.label("( ( ) )".split()) == 1 and brackets.label(") ( ( )".split()) == 0
    assert brackets.label("( ( )".split()) == 0
    assert first.label(["good"] + ["x"] * 9) == 1 and first.label(["bad", "x"]) == 0
    assert brackets.track("( ( ) ) )".split()).tolist() == [1, 2, 1, 0, -1]


def test_negative_examples_are_hard():
    counting = [s for s in toys.sample("counting", 1000, 1) if toys.get_task("counting").label(s) == 0]
    near = [abs(s.count("a") - s.count("b")) <= 2 for s in counting]
    assert np.mean(near) > 0.7  # most miss by one or two
    brackets = [s for s in toys.sample("brackets", 1000, 1) if toys.get_task("brackets").label(s) == 0]
    same_count = [s.count("(") == s.count(")") for s in brackets]
    assert 0.3 < np.mean(same_count) < 0.7  # half balance in number but close too early


def test_toy_models_are_shipped_apart_from_the_sentiment_models():
    assert available_toys() == sorted(SHIPPED)
    assert not any(name.startswith("toy-") for name in available_models())
    for name in SHIPPED:
        size = sum((PRETRAINED_DIR / f"{name}{suffix}").stat().st_size for suffix in (".safetensors", ".json"))
        assert size < 100_000


@pytest.mark.parametrize("name", SHIPPED)
def test_each_toy_model_is_right_on_98_percent_of_fresh_sequences_within_its_training_lengths(name):
    model = rnnviz.load(name)
    task = model.info.training["task"]
    assert name == toys.toy_name(task, model.cell)
    assert toys.accuracy(model, toys.get_task(task), toys.sample(task, 500, FRESH_SEED)) >= 0.98
    assert model.info.metrics["test_accuracy"] >= 0.98


@pytest.mark.parametrize("name", SHIPPED)
def test_each_toy_model_has_a_unit_whose_state_follows_the_count_depth_or_word(name):
    model = rnnviz.load(name)
    task = model.info.training["task"]
    unit = toys.tracking_unit(model, task, toys.sample(task, 200, FRESH_SEED))
    assert abs(unit.r) >= 0.9, unit
    assert unit.quantity == ("cell_state" if model.cell == "lstm" and task != "first" else unit.quantity)


def test_the_tracking_unit_is_the_largest_correlation_over_every_unit():
    model = rnnviz.load("toy-counting-gru")
    sequences = toys.sample("counting", 50, FRESH_SEED)
    unit = toys.tracking_unit(model, "counting", sequences)
    task = toys.get_task("counting")
    live = np.concatenate([task.live(s) for s in sequences])
    states = np.concatenate([rnnviz.trace(model, toys.as_text(s)).hidden[-1] for s in sequences])[live]
    truth = np.concatenate([task.track(s) for s in sequences])[live]
    r = [np.corrcoef(states[:, u], truth)[0, 1] for u in range(states.shape[1])]
    assert unit.unit == int(np.argmax(np.abs(r))) and unit.r == pytest.approx(r[unit.unit], abs=1e-9)


def test_first_word_memory_is_the_state_gap_and_the_jacobian_of_the_first_word():
    model = rnnviz.load("toy-first-rnn")
    memory = toys.first_word_memory(model, fillers=20)
    good, bad = (rnnviz.trace(model, toys.as_text([word] + ["x"] * 20)).hidden[-1] for word in ("good", "bad"))
    np.testing.assert_allclose(memory.gap, np.abs(good - bad).max(axis=1), atol=1e-6)
    w_ih = model.rnn.weight_ih_l0.detach().numpy()  # h_0 = tanh(W_ih e_0 + b): dh_0/de_0 = diag(1 - h_0^2) W_ih
    expected = np.linalg.norm((1 - good[0] ** 2)[:, None] * w_ih)
    assert memory.sensitivity[0] == pytest.approx(expected, rel=1e-4)
    assert model.info.metrics[f"accuracy_at_{training.LONG_FILLERS}_fillers"] >= 0.0


def test_the_cli_trains_scores_and_writes_a_toy_checkpoint(tmp_path, monkeypatch):
    quick = training.Recipe(max_steps=30, check_every=10, max_seconds=0)
    monkeypatch.setattr(training, "RECIPES", {("brackets", "gru"): quick})
    threads = torch.get_num_threads()
    try:
        assert cli.main(["train", "--task", "brackets", "--cell", "gru", "--out", str(tmp_path / "toy")]) == 0
    finally:
        torch.set_num_threads(threads)
    model = rnnviz.load(tmp_path / "toy.safetensors")
    assert model.cell == "gru" and model.labels == ["unbalanced", "balanced"]
    assert model.info.training["command"].startswith("python -m rnnviz.toys train --task brackets")
    [run] = model.info.training["runs"]  # no time left: one run, stopped at its first check
    assert run["steps"] == 10 and run["seed"] == 0
    assert {"test_accuracy", "unit", "unit_r"} <= set(model.info.metrics)


def test_the_plain_rnns_sensitivity_to_the_first_word_vanishes_first_as_the_lesson_says():
    at_50 = {cell: toys.first_word_memory(rnnviz.load(f"toy-first-{cell}"), fillers=50).sensitivity[50]
             for cell in ("rnn", "lstm", "gru")}
    assert at_50["rnn"] < 1e-10 and at_50["rnn"] < at_50["lstm"] and at_50["rnn"] < at_50["gru"], at_50
