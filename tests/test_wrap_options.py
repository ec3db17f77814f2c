"""rnnviz.wrap reads every option of the recurrent module: an LSTM with proj_size and a relu nn.RNN, traced exactly.

For proj_size P the module outputs r_t = W_hr h_t: the trace keeps h_t = o_t * tanh(c_t) per cell unit (so the gates,
the cell and the hidden state share one unit axis) and r_t as ``projection``, which the next step, the next layer
and the head read.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz import analysis, corpus, equations, figures, patterns
from rnnviz.wrap import WrappedModel

WORDS = "the movie was not bad at all but boring plot fun".split()
VOCAB = {"<pad>": 0, "<unk>": 1, **{word: k + 2 for k, word in enumerate(WORDS)}}
TEXT = "the plot was not boring at all but the movie was fun"


class Projected(nn.Module):
    """Embedding -> LSTM with proj_size -> linear head on the projected output."""

    def __init__(self, layers: int = 2, bidirectional: bool = False) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.embed = nn.Embedding(len(VOCAB), 6, padding_idx=0)
        self.lstm = nn.LSTM(6, 8, num_layers=layers, proj_size=3, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(3 * (2 if bidirectional else 1), 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(self.embed(ids))[0][:, -1])


class ReluRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.embed = nn.Embedding(len(VOCAB), 5)
        self.rnn = nn.RNN(5, 7, num_layers=2, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(7, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embed(ids))[0][:, -1])


def module_run(model: WrappedModel, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """The module's own pieces: (per-step output (T, directions * P), per-step probabilities, final state)."""
    with torch.no_grad():
        out, state = model.rnn(model.embedding(torch.tensor(ids))[None])
        return out[0], torch.softmax(model.head(out[0]), -1), state


@pytest.fixture(scope="module")
def projected() -> WrappedModel:
    return rnnviz.wrap(Projected(), VOCAB, labels=["negative", "positive"])


def test_a_projected_lstm_is_wrapped_and_its_forward_matched(projected):
    assert projected.output_size == 3 and projected.config.hidden_size == 8
    assert projected.forward_check.startswith("matched")


def test_the_projection_and_probabilities_equal_the_module_and_h_is_o_times_tanh_c(projected):
    tr = rnnviz.trace(projected, TEXT)
    out, probs, (h_n, c_n) = module_run(projected, tr.token_ids)
    assert tr.projection.shape == (2, len(tr.tokens), 3) and tr.hidden.shape == (2, len(tr.tokens), 8)
    np.testing.assert_allclose(tr.projection[-1], out.numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.probs, probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.projection[:, -1], h_n[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.cell_state[:, -1], c_n[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.hidden, tr.gates["output"] * np.tanh(tr.cell_state), atol=1e-6)
    for layer in range(2):
        w_hr = getattr(projected.rnn, f"weight_hr_l{layer}").detach().numpy()
        np.testing.assert_allclose(tr.projection[layer], tr.hidden[layer] @ w_hr.T, atol=1e-5)
    np.testing.assert_array_equal(tr.top_output, tr.projection[-1])


def test_a_bidirectional_projected_lstm_outputs_both_directions_projections():
    model = rnnviz.wrap(Projected(layers=2, bidirectional=True), VOCAB)
    tr = rnnviz.trace(model, TEXT)
    out, probs, _ = module_run(model, tr.token_ids)
    np.testing.assert_allclose(tr.top_output, out.numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.probs[-1], probs[-1].numpy(), atol=1e-5)


def test_each_step_reads_the_previous_projection_in_its_gates(projected):
    tr = rnnviz.trace(projected, TEXT)
    step = 4
    detail = analysis.step_detail(projected, tr, layer=1, step=step)
    w_ih, w_hh = projected.rnn.weight_ih_l1.detach(), projected.rnn.weight_hh_l1.detach()
    bias = (projected.rnn.bias_ih_l1 + projected.rnn.bias_hh_l1).detach()
    pre = w_ih @ torch.from_numpy(tr.projection[0, step]) + w_hh @ torch.from_numpy(tr.projection[1, step - 1]) + bias
    np.testing.assert_allclose(detail["pre_f"], pre[8:16].numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.gates["forget"][1, step], torch.sigmoid(pre[8:16]).numpy(), atol=1e-6)
    assert "h_prev" not in detail  # r_{t-1} has 3 numbers, not one per unit
    unit = {name: float(values[2]) for name, values in detail.items()}
    assert len(equations.step_equations("lstm", unit)) == 6


def test_unit_effects_read_the_cell_units_through_the_projection(projected):
    tr = rnnviz.trace(projected, TEXT)
    weights = projected.head.weight.detach().numpy()
    predicted = int(np.argmax(tr.probs[-1]))
    margin_weights = weights[predicted] - weights.mean(axis=0)
    through_projection = projected.rnn.weight_hr_l1.detach().numpy().T @ margin_weights
    np.testing.assert_allclose(analysis.unit_effects(projected, tr), tr.hidden[-1, -1] * through_projection, atol=1e-5)


def test_attributions_of_a_projected_lstm_add_up_to_its_margin_and_occlusion_rereads():
    model = rnnviz.wrap(Projected(layers=1), VOCAB)
    decomposition = rnnviz.attribute(model, TEXT, method="decomposition")
    assert decomposition.scores.sum() + decomposition.rest == pytest.approx(decomposition.margin, abs=1e-5)
    occlusion = rnnviz.attribute(model, TEXT, method="occlusion")
    without_third = " ".join(word for k, word in enumerate(TEXT.split()) if k != 2)
    logits = np.log(model.predict_proba(without_third)[0])
    margin_without = logits[occlusion.target] - np.delete(logits, occlusion.target).mean()
    assert occlusion.scores[2] == pytest.approx(occlusion.margin - margin_without, abs=1e-4)


def test_interventions_on_a_projected_lstm_project_the_clamped_state(projected):
    plain = rnnviz.trace(projected, TEXT)  # a clamp on no unit takes the step-by-step path and changes nothing
    np.testing.assert_allclose(rnnviz.trace(projected, TEXT, interventions=[
        rnnviz.Clamp("forget", 0.5, layer=0, units=[])]).projection, plain.projection, atol=1e-6)
    silenced = rnnviz.trace(projected, TEXT, interventions=[rnnviz.Clamp("hidden", 0.0, layer=0, units=[5])])
    assert np.all(silenced.hidden[0, :, 5] == 0)
    w_hr = projected.rnn.weight_hr_l0.detach().numpy()
    np.testing.assert_allclose(silenced.projection[0], silenced.hidden[0] @ w_hr.T, atol=1e-5)
    assert np.abs(silenced.projection[1] - plain.projection[1]).max() > 1e-4  # the next layer reads it


def test_a_projected_trace_exports_its_projection_with_its_own_units(projected):
    tr = rnnviz.trace(projected, "not bad at all")
    frame = tr.to_frame()
    rows = frame[frame["quantity"] == "projection"]
    assert len(rows) == 2 * 4 * 3 and rows["unit"].max() == 2
    assert tr.to_dict()["projection"] == tr.projection.tolist()
    assert "projection" in figures.heatmap_panels(tr)
    figure = figures.gate_heatmaps(tr, units=[1, 6], panels=["hidden", "projection"])
    moving_most = np.argsort(-tr.projection[-1].var(axis=0))[:2]
    assert [panel.y for panel in figure.data] == [("1", "6"), tuple(str(u) for u in moving_most)]
    np.testing.assert_array_equal(tr["projection", 0], tr.projection[0])
    assert tr["hidden"].shape == (4, 8)  # the cell's units; trace_rnn's "hidden" is the projection
    reference = rnnviz.trace_rnn(projected.rnn, projected.embedding(torch.tensor(tr.token_ids)))
    np.testing.assert_allclose(reference["hidden", 1], tr["projection", 1], atol=1e-6)


def test_the_corpus_index_reads_the_cell_units_of_a_projected_lstm(projected):
    index = corpus.build(projected, [TEXT, "not bad at all", "boring"], progress=False)
    tr = rnnviz.trace(projected, TEXT)
    top = index.top(unit=4, k=1, layer=-1, quantity="hidden").iloc[0]
    traced = [rnnviz.trace(projected, text).hidden[-1, :, 4].max() for text in (TEXT, "not bad at all", "boring")]
    assert top["value"] == pytest.approx(max(traced), abs=1e-5)
    assert top["token"] in TEXT.split() + ["not", "bad", "at", "all", "boring"]  # named by the tokenizer
    assert tr.hidden.shape[2] == index.hidden_size == 8


def test_pattern_search_on_a_projected_lstm_reads_the_cell_units_in_both_modes(projected):
    texts = [TEXT, "not bad at all", "boring plot", "the movie was fun"]
    index = corpus.build(projected, texts, progress=False, store_states=True)
    exact = patterns.top_layer_hidden(projected, index, [6, 1])
    traced = np.concatenate([rnnviz.trace(projected, text).hidden[-1][:, [6, 1]] for text in texts])
    np.testing.assert_allclose(exact, traced, atol=1e-5)
    fast, _ = patterns.search(index, [6], length=1, threshold=0.0, mode="fast")
    exact_found, _ = patterns.search(index, [6], length=1, threshold=0.0, mode="exact", model=projected)
    assert len(exact_found) == len(fast)


def test_an_unknown_word_is_named_unk_in_the_index_of_a_wrapped_model(projected):
    index = corpus.build(projected, ["the zebra was fun", "the quixotic plot"], progress=False)
    assert index.tokens_of(0) == ["the", "<unk>", "was", "fun"]
    assert index.tokens_of(1) == ["the", "<unk>", "plot"]


def test_a_relu_rnn_is_traced_exactly_and_shown_with_relu():
    model = rnnviz.wrap(ReluRNN(), VOCAB)
    tr = rnnviz.trace(model, TEXT)
    out, probs, h_n = module_run(model, tr.token_ids)
    assert tr.nonlinearity == "relu" and tr.hidden.min() >= 0
    np.testing.assert_allclose(tr.hidden[-1], out.numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.hidden[:, -1], h_n[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.probs, probs.numpy(), atol=1e-5)
    detail = analysis.step_detail(model, tr, layer=0, step=3)
    np.testing.assert_allclose(detail["h"], np.maximum(detail["pre_h"], 0), atol=1e-6)
    unit = {name: float(values[0]) for name, values in detail.items()}
    assert "ReLU" in equations.step_equations("rnn", unit, tr.nonlinearity)[0]
    assert "relu(" in analysis.describe_step("rnn", detail, 0, nonlinearity="relu")
    clamped = rnnviz.trace(model, TEXT, interventions=[rnnviz.Clamp("hidden", 0.0, layer=0, units=[])])
    np.testing.assert_allclose(clamped.hidden, tr.hidden, atol=1e-6)
    with pytest.raises(ValueError, match="relu"):
        corpus.build(model, [TEXT], progress=False)


def test_a_model_with_weights_on_another_device_is_refused_plainly():
    module = Projected()
    module.head.to("meta")  # stands for a GPU here: any device but the CPU
    with pytest.raises(ValueError, match="CPU.*meta"):
        rnnviz.wrap(module, VOCAB)
