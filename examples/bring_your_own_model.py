"""Bring your own model: open two hand-written PyTorch models with rnnviz.wrap, trace them, draw their gates.

    python examples/bring_your_own_model.py [OUTPUT_FOLDER]

A 2-layer LSTM classifier (dict vocabulary, MLP head) and a GRU language model (a callable tokenizer, a head over
the vocabulary, sequence-first layout) are built and trained for a few seconds on toy data, then wrapped in one
line each. Writes one gate heatmap per model as HTML and prints what each model predicts after every token.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, as the benchmarks are
import rnnviz  # noqa: E402
from rnnviz.figures import gate_heatmaps  # noqa: E402

WORDS = "<pad> <unk> the film was not good bad at all fun dull . a cat sat on mat dog ran".split()
VOCAB = {word: index for index, word in enumerate(WORDS)}


class Classifier(nn.Module):
    """Embedding -> 2-layer LSTM -> MLP on the last step: positive when "good" or "fun" is not negated."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), 16, padding_idx=0)
        self.lstm = nn.LSTM(16, 24, num_layers=2, batch_first=True)
        self.classifier = nn.Sequential(nn.Linear(24, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(ids))
        return self.classifier(out[:, -1])


class LanguageModel(nn.Module):
    """Embedding -> GRU (sequence-first) -> scores over the vocabulary for the next token, at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), 12)
        self.gru = nn.GRU(12, 32)
        self.next_token = nn.Linear(32, len(VOCAB))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.embed(ids.T))
        return self.next_token(out)  # (T, B, vocabulary)


def ids_of(text: str) -> list[int]:
    """The language model's tokenizer: a plain callable, with a decode that names ids."""
    return [VOCAB.get(word, VOCAB["<unk>"]) for word in text.split()]


ids_of.decode = lambda ids: " ".join(WORDS[i] for i in ids)


def train_classifier(model: Classifier, steps: int = 150) -> None:
    reviews = {"the film was good": 1, "the film was fun": 1, "the film was not good": 0, "the film was bad": 0,
               "the film was dull": 0, "the film was not bad": 1, "the film was not dull at all": 1,
               "the film was not fun at all": 0}
    batch = [(torch.tensor(ids_of(text)), label) for text, label in reviews.items()]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(nn.functional.cross_entropy(model(ids[None]), torch.tensor([label])) for ids, label in batch)
        loss.backward()
        optimizer.step()


def train_language_model(model: LanguageModel, steps: int = 150) -> None:
    ids = torch.tensor([ids_of("a cat sat on the mat . a dog ran . the cat ran . a dog sat on the mat .")])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        scores = model(ids[:, :-1])[:, 0]
        nn.functional.cross_entropy(scores, ids[0, 1:]).backward()
        optimizer.step()


def main(out: Path) -> list[Path]:
    """Build, train briefly, wrap, trace and draw both models; returns the figures written."""
    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    classifier, language_model = Classifier(), LanguageModel()
    train_classifier(classifier)
    train_language_model(language_model)

    sentiment = rnnviz.wrap(classifier, VOCAB, labels=["negative", "positive"], name="toy classifier")
    next_word = rnnviz.wrap(language_model, ids_of, labels=WORDS, name="toy language model")
    print("classifier:", sentiment.forward_check)
    print("language model:", next_word.forward_check)

    tr = rnnviz.trace(sentiment, "the film was not dull at all")
    for token, probs in zip(tr.tokens, tr.probs):
        print(f"{token:>6}  p(positive) = {probs[1]:.2f}")
    lm = rnnviz.trace(next_word, "a dog sat on the")
    for token, probs in zip(lm.tokens, lm.probs):
        top = probs.argsort()[::-1][:5]
        print(f"{token:>6}  next: " + ", ".join(f"{WORDS[k]} {probs[k]:.2f}" for k in top))

    written = [out / "classifier_gates.html", out / "language_model_gates.html"]
    gate_heatmaps(tr, layer=0).write_html(written[0])
    gate_heatmaps(lm).write_html(written[1])
    for path in written:
        print("wrote", path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "rnnviz-bring-your-own-model")
