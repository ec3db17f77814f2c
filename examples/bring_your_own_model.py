"""Bring your own model: open two hand-written PyTorch models with rnnviz.wrap, trace them, draw their gates.

    python examples/bring_your_own_model.py [OUTPUT_FOLDER]

A bidirectional 2-layer LSTM tagger (dict vocabulary, MLP head on every token, sequence-first layout) and a GRU
language model (a callable tokenizer, a head over the vocabulary) are built and trained for a few seconds on toy
data, then wrapped in one line each. Writes one gate heatmap per model as HTML (the tagger's backward direction)
and prints what each model predicts at every token.
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


TAGS = ["other", "praise", "blame"]


class Tagger(nn.Module):
    """Embedding -> bidirectional 2-layer LSTM (sequence-first) -> MLP on every token: is this word praise, blame or
    neither? "good" is praise, but "not good ... at all" makes it blame: the tag needs both sides of the word."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), 16, padding_idx=0)
        self.lstm = nn.LSTM(16, 24, num_layers=2, bidirectional=True)
        self.tagger = nn.Sequential(nn.Linear(48, 16), nn.Tanh(), nn.Linear(16, len(TAGS)))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(ids.T))
        return self.tagger(out)  # (T, B, tags)


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


def train_tagger(model: Tagger, steps: int = 150) -> None:
    sentences = {"the film was good": "o o o praise", "the film was fun": "o o o praise",
                 "the film was not good": "o o o o blame", "the film was bad": "o o o blame",
                 "the film was dull": "o o o blame", "the film was not bad": "o o o o praise",
                 "the film was not dull at all": "o o o o praise o o", "the film was not fun at all": "o o o o blame o o"}
    index = {"o": 0, "praise": 1, "blame": 2}
    batch = [(torch.tensor(ids_of(text)), torch.tensor([index[t] for t in tags.split()]))
             for text, tags in sentences.items()]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(nn.functional.cross_entropy(model(ids[None])[:, 0], tags) for ids, tags in batch)
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
    tagger_module, language_model = Tagger(), LanguageModel()
    train_tagger(tagger_module)
    train_language_model(language_model)

    tagger = rnnviz.wrap(tagger_module, VOCAB, labels=TAGS, name="toy tagger")
    next_word = rnnviz.wrap(language_model, ids_of, labels=WORDS, name="toy language model")
    print("tagger:", tagger.forward_check)
    print("language model:", next_word.forward_check)

    tr = rnnviz.trace(tagger, "the film was not dull at all")
    print("tagger streams:", ", ".join(tr.layer_names))
    for token, probs in zip(tr.tokens, tr.probs):
        print(f"{token:>6}  tag: {TAGS[int(probs.argmax())]} ({probs.max():.2f})")
    lm = rnnviz.trace(next_word, "a dog sat on the")
    for token, probs in zip(lm.tokens, lm.probs):
        top = probs.argsort()[::-1][:5]
        print(f"{token:>6}  next: " + ", ".join(f"{WORDS[k]} {probs[k]:.2f}" for k in top))

    written = [out / "tagger_gates.html", out / "language_model_gates.html"]
    gate_heatmaps(tr, layer=tr.layer_names.index("layer 1 backward")).write_html(written[0])
    gate_heatmaps(lm).write_html(written[1])
    for path in written:
        print("wrote", path)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "rnnviz-bring-your-own-model")
