"""Language-model pretraining of a classifier's embedding and recurrent layer on unlabeled training text.

Dai & Le (2015) and Howard & Ruder (2018): before a sentiment model sees a label, its recurrent layer learns to
predict the next word of unlabeled text from the same domain, which teaches it how words combine ("not" before
"bad"). Here the recurrent layer reads a stream of the training corpus (IMDB train reviews and SST train sentences,
never dev or test text) in windows of ``WINDOW`` tokens, carrying its state across windows, and an adaptive
softmax (Grave et al. 2017, ``torch.nn.AdaptiveLogSoftmaxWithLoss``) predicts each next token cheaply enough for
two CPU cores. The learned embedding and recurrent weights then start the classifier.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .model import SentimentModel
from .progress import progress

WINDOW = 50
"""Tokens per truncated back-propagation window."""
STREAMS = 64
"""Parallel slices of the corpus stream: the batch size."""
CUTOFFS = (2000, 10000)
"""Adaptive softmax clusters: the 2,000 most frequent words, then the next 8,000, then the rest."""


@dataclass(frozen=True)
class PretrainReport:
    """What a pretraining did: ``tokens`` in the stream (all but its last ``STREAMS`` at most are read), the passes,
    ``final_perplexity`` (exp of the running mean training loss over the last 100 windows; not a held-out figure)
    and the time."""

    tokens: int
    epochs: int
    final_perplexity: float
    seconds: float

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "epochs": self.epochs, "final_perplexity": round(self.final_perplexity, 1),
                "seconds": round(self.seconds, 1)}


def token_stream(encoded: Sequence[Sequence[int]], seed: int) -> torch.Tensor:
    """The texts' ids end to end in a seeded random order of texts, as one long (N,) tensor."""
    order = list(range(len(encoded)))
    random.Random(seed).shuffle(order)
    return torch.tensor([token for i in order for token in encoded[i]], dtype=torch.long)


def _cutoffs(vocab_size: int) -> list[int]:
    found = [c for c in CUTOFFS if c < vocab_size - 1]
    return found or [max(1, vocab_size // 2)]


def pretrain(model: SentimentModel, encoded: Sequence[Sequence[int]], epochs: int, lr: float, seed: int,
             show_progress: bool = True) -> PretrainReport:
    """Train ``model``'s embedding and recurrent layer as a language model over ``encoded`` texts (token ids of the
    model's vocabulary) for ``epochs`` passes, in place; the head is left as it was."""
    started = time.time()
    torch.manual_seed(seed)
    stream = token_stream(encoded, seed)
    per_stream = (len(stream) - 1) // STREAMS
    if per_stream < 2:
        raise ValueError(f"language-model pretraining needs more text: {len(stream)} tokens for {STREAMS} streams")
    inputs = stream[: per_stream * STREAMS].view(STREAMS, per_stream)
    targets = stream[1: per_stream * STREAMS + 1].view(STREAMS, per_stream)
    vocab_size = model.config.vocab_size
    softmax = nn.AdaptiveLogSoftmaxWithLoss(model.output_size, vocab_size, _cutoffs(vocab_size), div_value=4.0)
    parameters = [*model.embedding.parameters(), *model.rnn.parameters(), *softmax.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    was_training = model.training
    model.train()
    running = math.log(model.config.vocab_size)
    windows = range(0, per_stream, WINDOW)
    try:
        for epoch in range(1, epochs + 1):
            state = None
            bar = progress(windows, desc=f"language model {epoch}/{epochs}", unit="window", disable=not show_progress)
            for step, start in enumerate(bar, 1):
                stop = min(start + WINDOW, per_stream)
                output, state = model.rnn(model.embedding(inputs[:, start:stop]), state)
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
                loss = softmax(output.reshape(-1, output.shape[-1]), targets[:, start:stop].reshape(-1)).loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(parameters, 5.0)
                optimizer.step()
                running += (loss.item() - running) / min(step, 100)
                if step % 50 == 0:
                    bar.set_postfix(perplexity=f"{math.exp(running):.0f}", refresh=False)
            bar.close()
    finally:
        model.train(was_training)
    return PretrainReport(tokens=len(stream), epochs=epochs, final_perplexity=math.exp(running),
                          seconds=time.time() - started)
