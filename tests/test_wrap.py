"""rnnviz.wrap opens a user's own module: every traced number is what the module's own pieces compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.wrap import WrappedModel

WORDS = "the movie was not bad at all but boring plot fun".split()
VOCAB = {"<pad>": 0, "<unk>": 1, **{word: k + 2 for k, word in enumerate(WORDS)}}
TEXT = "the plot was not boring at all but the zebra"


class MLPClassifier(nn.Module):
    """Embedding -> 2-layer batch-first LSTM -> an MLP on the last step: a typical hand-written classifier."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(len(VOCAB), 6, padding_idx=0)
        self.encoder = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.classifier = nn.Sequential(nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, 3))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(self.embed(ids))
        return self.classifier(out[:, -1])


class TimeMajorGRU(nn.Module):
    """A sequence-first (batch_first=False) GRU with a linear head on every step, fed by an HF-style tokenizer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.tok_embeddings = nn.Embedding(20, 4)
        self.gru = nn.GRU(4, 7)
        self.out = nn.Linear(7, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.tok_embeddings(ids.T))
        return self.out(out)  # (T, 1, C)


class TwoEmbeddings(nn.Module):
    """Word and position embeddings: auto-detection cannot know which one the recurrent module reads."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.word = nn.Embedding(len(VOCAB), 5)
        self.position = nn.Embedding(50, 5)
        self.rnn = nn.LSTM(5, 6, batch_first=True)
        self.head = nn.Linear(6, 2)


class StubTokenizer:
    """What rnnviz reads of a Hugging Face tokenizer: __call__ -> {"input_ids"}, convert_ids_to_tokens, unk_token_id."""

    unk_token_id = 3

    def __init__(self) -> None:
        self.vocab = {word: k + 4 for k, word in enumerate(WORDS)}

    def __call__(self, text: str) -> dict[str, list[int]]:
        return {"input_ids": [2] + [self.vocab.get(word, self.unk_token_id) for word in text.split()]}

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        names = {2: "[CLS]", 3: "[UNK]", **{k: word for word, k in self.vocab.items()}}
        return [names[i] for i in ids]


def pieces(model: WrappedModel, ids: list[int]) -> tuple[torch.Tensor, tuple]:
    """The module's own pieces run the ordinary way: (per-step head scores (T, C), final rnn state)."""
    with torch.no_grad():
        x = model.embedding(torch.tensor(ids))[:, None]  # (T, 1, D), then batch-first when the module is
        x = x.transpose(0, 1) if model.rnn.batch_first else x
        out, state = model.rnn(x)
        out = out[0] if model.rnn.batch_first else out[:, 0]
        return model.head(out), state


def test_wrap_finds_embedding_rnn_and_mlp_head_and_fills_config_and_labels():
    module = MLPClassifier()
    model = rnnviz.wrap(module, VOCAB)
    assert model.embedding is module.embed and model.rnn is module.encoder and model.head is module.classifier
    assert model.config == rnnviz.ModelConfig("lstm", len(VOCAB), 6, 8, num_layers=2, num_classes=3)
    assert model.labels == ["class 0", "class 1", "class 2"] and model.name == "MLPClassifier"
    assert model.forward_check.startswith("matched")


def test_dict_vocabulary_reads_unknown_words_as_its_unk_id():
    model = rnnviz.wrap(MLPClassifier(), VOCAB)
    tr = rnnviz.trace(model, "The ZEBRA was fun")
    assert tr.tokens == ["the", "zebra", "was", "fun"]
    assert tr.token_ids == [VOCAB["the"], 1, VOCAB["was"], VOCAB["fun"]]
    assert tr.unknown.tolist() == [False, True, False, False]


@pytest.mark.parametrize("build, tokenizer", [(MLPClassifier, VOCAB), (TimeMajorGRU, StubTokenizer())])
def test_trace_of_a_wrapped_model_equals_its_pieces_run_the_ordinary_way(build, tokenizer):
    model = rnnviz.wrap(build(), tokenizer)
    tr = rnnviz.trace(model, TEXT)
    scores, state = pieces(model, tr.token_ids)
    np.testing.assert_allclose(tr.probs, torch.softmax(scores, -1).numpy(), atol=1e-5)
    hidden = state[0] if model.cell == "lstm" else state
    np.testing.assert_allclose(tr.hidden[:, -1], hidden[:, 0].numpy(), atol=1e-5)
    if model.cell == "lstm":
        np.testing.assert_allclose(tr.cell_state[:, -1], state[1][:, 0].numpy(), atol=1e-5)


def test_hugging_face_like_tokenizer_names_tokens_and_unknowns():
    model = rnnviz.wrap(TimeMajorGRU(), StubTokenizer(), labels=["no", "yes"])
    tr = rnnviz.trace(model, "the zebra was fun")
    assert tr.tokens == ["[CLS]", "the", "[UNK]", "was", "fun"] and tr.unknown.tolist() == [0, 0, 1, 0, 0]
    assert model.labels == ["no", "yes"] and model.forward_check.startswith("matched")


def test_callable_tokenizer_names_tokens_with_its_decode():
    def tokenizer(text: str) -> list[int]:
        return [VOCAB.get(word, 1) for word in text.split()]

    tokenizer.decode = lambda ids: "/".join(str(i) for i in ids)
    tr = rnnviz.trace(rnnviz.wrap(MLPClassifier(), tokenizer), "not bad")
    assert tr.tokens == [str(VOCAB["not"]), str(VOCAB["bad"])]


def test_two_embeddings_refuse_auto_detection_naming_both_and_a_name_chooses_one():
    with pytest.raises(ValueError, match="'word'.*'position'.*embedding="):
        rnnviz.wrap(TwoEmbeddings(), VOCAB)
    module = TwoEmbeddings()
    model = rnnviz.wrap(module, VOCAB, embedding="word")
    assert model.embedding is module.word and model.forward_check.startswith("skipped")
    assert rnnviz.trace(model, TEXT).probs.shape == (len(TEXT.split()), 2)


def test_decomposition_of_a_linear_head_sums_to_the_margin_and_an_mlp_head_gets_a_plain_error():
    att = rnnviz.attribute(rnnviz.wrap(TimeMajorGRU(), StubTokenizer()), TEXT)
    assert att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-5)
    with pytest.raises(ValueError, match="linear head"):
        rnnviz.attribute(rnnviz.wrap(MLPClassifier(), VOCAB), TEXT)


@pytest.mark.parametrize("build, tokenizer", [(MLPClassifier, VOCAB), (TimeMajorGRU, StubTokenizer())])
def test_occlusion_of_a_wrapped_model_equals_rereading_without_each_token(build, tokenizer):
    model = rnnviz.wrap(build(), tokenizer)
    att = rnnviz.attribute(model, TEXT, method="occlusion")
    ids = rnnviz.trace(model, TEXT).token_ids

    def margin(kept: list[int]) -> float:
        logits = pieces(model, kept)[0][-1].double()
        return float(logits[att.target] - (logits.sum() - logits[att.target]) / (len(logits) - 1))

    expected = [att.margin - margin(ids[:t] + ids[t + 1:]) for t in range(len(ids))]
    np.testing.assert_allclose(att.scores, expected, atol=1e-5)


def test_predict_proba_of_a_wrapped_model_equals_softmax_of_its_own_forward():
    module = MLPClassifier()
    model = rnnviz.wrap(module, VOCAB)
    texts = [TEXT, "fun", "not bad at all"]
    with torch.no_grad():
        expected = [torch.softmax(module(torch.tensor([model.read(text)[1]])), -1)[0].numpy() for text in texts]
    np.testing.assert_allclose(model.predict_proba(texts), np.stack(expected), atol=1e-5)


def test_a_forward_the_pieces_do_not_reproduce_is_refused_saying_why():
    class Scaled(MLPClassifier):
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            out, _ = self.encoder(self.embed(ids) * 2)
            return self.classifier(out[:, -1])

    with pytest.raises(ValueError, match="does not reproduce Scaled.forward"):
        rnnviz.wrap(Scaled(), VOCAB)


def test_a_bidirectional_rnn_is_refused_pointing_to_trace_rnn():
    module = MLPClassifier()
    module.encoder = nn.LSTM(6, 4, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="unidirectional.*rnnviz.trace_rnn"):
        rnnviz.wrap(module, VOCAB, head="classifier")


def test_a_head_with_several_candidates_or_one_output_is_refused_plainly():
    module = MLPClassifier()
    module.extra = nn.Linear(8, 2)
    with pytest.raises(ValueError, match="'classifier'.*'extra'.*head="):
        rnnviz.wrap(module, VOCAB)
    single = MLPClassifier()
    single.classifier = nn.Linear(8, 1)
    with pytest.raises(ValueError, match="1 score per step"):
        rnnviz.wrap(single, VOCAB)


@pytest.mark.parametrize("build, tokenizer", [(MLPClassifier, VOCAB), (TimeMajorGRU, StubTokenizer())])
def test_integrated_gradients_of_a_wrapped_model_sum_to_its_margin(build, tokenizer):
    att = rnnviz.attribute(rnnviz.wrap(build(), tokenizer), TEXT, method="integrated_gradients")
    assert abs(att.delta) < 1e-3 and att.scores.sum() + att.rest == pytest.approx(att.margin, abs=1e-5)
