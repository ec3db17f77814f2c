"""Shared fixtures: small models with random weights, built in memory (no training, no files)."""

from __future__ import annotations

import random

import pytest
import torch

from rnnviz import ModelConfig, ModelInfo, SentimentModel, Vocabulary

WORDS = ("the movie was not bad at all but acting good great terrible boring it 's n't a . , and "
         "plot dull fun ! ? i loved hated story").split()


def random_model(cell: str, layers: int = 1, hidden: int = 8, embedding: int = 6, seed: int = 0,
                 classes: int = 2) -> SentimentModel:
    """A model with random weights (biases too), scaled so gates spread over (0, 1)."""
    torch.manual_seed(seed)
    vocab = Vocabulary(("<pad>", "<unk>", *WORDS))
    config = ModelConfig(cell=cell, vocab_size=len(vocab), embedding_dim=embedding, hidden_size=hidden,
                         num_layers=layers, num_classes=classes)
    labels = ["negative", "positive"] if classes == 2 else [f"class {k}" for k in range(classes)]
    model = SentimentModel(config, vocab, ModelInfo(labels=labels, name=f"random-{cell}-{layers}"))
    with torch.no_grad():
        for parameter in model.rnn.parameters():
            parameter.uniform_(-0.8, 0.8)
    return model.eval()


def random_text(length: int, seed: int = 0) -> str:
    """``length`` plain words (so exactly ``length`` tokens), some unknown to the vocabulary."""
    rng = random.Random(seed)
    pool = [w for w in WORDS if w.isalpha()] + ["zebra", "quixotic"]
    return " ".join(rng.choice(pool) for _ in range(length))


@pytest.fixture(params=["lstm", "gru"])
def cell(request: pytest.FixtureRequest) -> str:
    return request.param
