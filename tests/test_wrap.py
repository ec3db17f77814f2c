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


class BidirectionalTagger(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM (sequence-first) -> a tag for every token: a typical tagger."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.embed = nn.Embedding(len(VOCAB), 6, padding_idx=0)
        self.encoder = nn.LSTM(6, 5, num_layers=2, bidirectional=True)
        self.tagger = nn.Linear(10, 3)
        with torch.no_grad():
            for parameter in self.encoder.parameters():
                parameter.uniform_(-0.8, 0.8)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(self.embed(ids.T))
        return self.tagger(out)  # (T, 1, tags)


def test_a_bidirectional_module_is_traced_as_streams_equal_to_the_module():
    module = BidirectionalTagger()
    model = rnnviz.wrap(module, VOCAB, labels=["O", "B", "I"])
    assert model.forward_check.startswith("matched") and model.directions == 2
    tr = rnnviz.trace(model, TEXT)
    ids = torch.tensor(tr.token_ids)
    reference = rnnviz.trace_rnn(module.encoder, module.embed(ids))
    assert tr.num_layers == 4 and tr.layer_names == ["layer 0 forward", "layer 0 backward", "layer 1 forward",
                                                     "layer 1 backward"]
    for name, values in reference.quantities().items():
        np.testing.assert_allclose(tr.quantities()[name], values.reshape(4, *values.shape[2:]), atol=1e-6)
    with torch.no_grad():
        expected = torch.softmax(module(ids[None])[:, 0], dim=-1).numpy()
    np.testing.assert_allclose(tr.probs, expected, atol=1e-5)
    frame = tr.to_frame()
    assert set(frame["direction"]) == {0, 1} and set(frame["layer"]) == {0, 1}


def test_a_trace_is_indexed_by_name_layer_and_direction_like_trace_rnn():
    module = BidirectionalTagger()
    tr = rnnviz.trace(rnnviz.wrap(module, VOCAB, labels=["O", "B", "I"]), TEXT)
    reference = rnnviz.trace_rnn(module.encoder, module.embed(torch.tensor(tr.token_ids)))
    for key in ["forget", ("forget", 0), ("hidden", -1, 1), ("cell_state", 1, 0), ("input", 0, -1)]:
        np.testing.assert_allclose(tr[key], reference[key], atol=1e-6)
    with pytest.raises(KeyError, match="reset"):
        tr["reset", 0]
    with pytest.raises(IndexError, match="direction 2"):
        tr["hidden", 0, 2]
    with pytest.raises(IndexError, match="layer 2"):
        tr["hidden", 2]


def test_a_bidirectional_model_predicts_padded_batches_as_it_reads_each_text_alone():
    model = rnnviz.wrap(BidirectionalTagger(), VOCAB, labels=["O", "B", "I"])
    texts = ["the movie", TEXT, "fun", "the plot was not bad at all"]
    batched = model.predict_proba(texts)
    alone = np.stack([rnnviz.trace(model, text).probs[-1] for text in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_the_backward_direction_reads_from_the_end_in_its_equations_and_keep_scores():
    module = BidirectionalTagger()
    model = rnnviz.wrap(module, VOCAB, labels=["O", "B", "I"])
    tr = rnnviz.trace(model, TEXT)
    backward = 3  # layer 1, backward: its previous step is the next token, and its input both layer-0 directions
    step = 4
    detail = rnnviz.analysis.step_detail(model, tr, backward, step)
    np.testing.assert_allclose(detail["h_prev"], tr.hidden[backward, step + 1], atol=1e-6)
    np.testing.assert_allclose(torch.sigmoid(torch.from_numpy(detail["pre_f"])).numpy(), detail["f"], atol=1e-5)
    np.testing.assert_allclose(detail["c"], detail["f"] * detail["c_prev"] + detail["i"] * detail["g"], atol=1e-5)
    keep = tr.keep_matrix(backward)
    np.testing.assert_allclose(keep[0], tr.gates["input"][backward, 0], atol=1e-6)  # read last: nothing after it
    np.testing.assert_allclose(keep[-1], tr.gates["input"][backward, -1] * tr.gates["forget"][backward, :-1].prod(0),
                               atol=1e-6)


def test_a_bidirectional_models_unit_effects_are_its_margin_terms_at_the_last_token():
    module = BidirectionalTagger()
    model = rnnviz.wrap(module, VOCAB, labels=["O", "B", "I"])
    tr = rnnviz.trace(model, TEXT)
    logits = module.tagger.weight.detach().numpy() @ np.concatenate([tr.hidden[2, -1], tr.hidden[3, -1]])
    predicted = int(np.argmax(logits + module.tagger.bias.detach().numpy()))
    weights = module.tagger.weight.detach().numpy()
    margin_weights = weights[predicted] - weights.mean(axis=0)
    np.testing.assert_allclose(rnnviz.analysis.unit_effects(model, tr, 2), tr.hidden[2, -1] * margin_weights[:5], atol=1e-5)
    np.testing.assert_allclose(rnnviz.analysis.unit_effects(model, tr, 3), tr.hidden[3, -1] * margin_weights[5:], atol=1e-5)
    assert np.abs(rnnviz.analysis.unit_effects(model, tr, 0)).sum() > 0  # lower layers: through both directions


def test_interventions_on_a_bidirectional_model_follow_the_rules_in_each_direction():
    model = rnnviz.wrap(BidirectionalTagger(), VOCAB, labels=["O", "B", "I"])
    plain = rnnviz.trace(model, TEXT)
    nothing = rnnviz.trace(model, TEXT, interventions=[rnnviz.Clamp("forget", 1.0, layer=1, units=[])])
    for name, values in plain.quantities().items():
        np.testing.assert_allclose(nothing.quantities()[name], values, atol=1e-6)
    np.testing.assert_allclose(nothing.probs, plain.probs, atol=1e-6)

    forgetful = rnnviz.trace(model, TEXT, interventions=[rnnviz.Clamp("forget", 0.0, layer=1)])  # layer 0 backward
    g = forgetful.gates
    np.testing.assert_allclose(forgetful.cell_state[1], g["input"][1] * g["candidate"][1], atol=1e-6)
    np.testing.assert_allclose(forgetful.hidden[0], plain.hidden[0], atol=1e-6)  # the forward direction is untouched

    silenced = rnnviz.trace(model, TEXT, interventions=[rnnviz.Clamp("hidden", 0.0, layer=1, units=[2], steps=[6])])
    assert silenced.hidden[1, 6, 2] == 0
    np.testing.assert_allclose(silenced.hidden[1, 7:], plain.hidden[1, 7:], atol=1e-6)  # read before position 6
    assert np.abs(silenced.hidden[1, :6] - plain.hidden[1, :6]).max() > 1e-4  # read after it: changed
    assert np.abs(silenced.hidden[2:] - plain.hidden[2:]).max() > 1e-4  # and layer 1 reads it


def test_what_a_bidirectional_model_cannot_do_is_refused_plainly():
    model = rnnviz.wrap(BidirectionalTagger(), VOCAB, labels=["O", "B", "I"])
    with pytest.raises(ValueError, match="bidirectional"):
        rnnviz.attribute(model, TEXT, method="decomposition")
    occlusion = rnnviz.attribute(model, TEXT, method="occlusion")
    without_third = " ".join(word for k, word in enumerate(TEXT.split()) if k != 2)
    logits = np.log(model.predict_proba(without_third)[0])  # log-softmax: the margin is shift-invariant
    target = occlusion.target
    margin_without = logits[target] - np.delete(logits, target).mean()
    assert occlusion.scores[2] == pytest.approx(occlusion.margin - margin_without, abs=1e-4)


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
