"""The corpus index and pattern search: the index's top positions, statistics, histograms and top words equal a
brute-force pass over per-text traces; it survives a round trip to disk; pattern search finds planted spans."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import corpus, patterns
from rnnviz.__main__ import main as cli_main
from rnnviz.data import read_corpus
from tests.conftest import random_model, random_text

TEXTS = [random_text(n, seed=n) for n in (1, 2, 3, 5, 8, 13, 21, 34, 7, 4, 30, 12)] + ["", "quixotic zebra"]


def brute_force(model, texts):
    """Every quantity at every position, from rnnviz.trace one text at a time: name -> (layers, N, H)."""
    traces = [rnnviz.trace(model, text) for text in texts if model.read(text)[1]]
    return {name: np.concatenate([tr.quantities()[name] for tr in traces], axis=1) for name in traces[0].quantities()}, traces


@pytest.fixture(params=[("lstm", 2), ("gru", 2), ("lstm", 1)], ids=["lstm-2", "gru-2", "lstm-1"])
def indexed(request):
    cell, layers = request.param
    model = random_model(cell, layers=layers, hidden=6, seed=3)
    index = corpus.build(model, TEXTS, progress=False, store_states=True, k=12, batch_tokens=40)
    values, traces = brute_force(model, TEXTS)
    return model, index, values, traces


def test_texts_without_tokens_are_skipped_and_positions_map_back_to_their_text(indexed):
    model, index, values, traces = indexed
    assert "" not in index.texts and len(index.texts) == len(traces)
    assert index.n_tokens == sum(len(tr.tokens) for tr in traces)
    text_ids, positions = index.locate(np.arange(index.n_tokens))
    assert [index.tokens_of(i) for i in range(len(traces))] == [
        [model.vocab.tokens[t] for t in tr.token_ids] for tr in traces]
    assert text_ids[-1] == len(traces) - 1 and positions[0] == 0


def test_top_positions_equal_a_brute_force_search(indexed):
    model, index, values, traces = indexed
    for layer in range(index.num_layers):
        for quantity in index.quantities:
            for unit in range(index.hidden_size):
                column = values[quantity][layer, :, unit]
                expected = np.sort(column)[::-1][:12]
                top = index.top(unit, k=12, layer=layer, quantity=quantity)
                np.testing.assert_allclose(top["value"], expected, atol=1e-5)
                text_ids, positions = top["text_id"].to_numpy(), top["position"].to_numpy()
                found = [traces[t].quantities()[quantity][layer, p, unit] for t, p in zip(text_ids, positions)]
                np.testing.assert_allclose(found, top["value"], atol=1e-5)
                assert top["token"].tolist() == [index.tokens_of(t)[p] for t, p in zip(text_ids, positions)]


def test_statistics_and_histograms_equal_numpy(indexed):
    model, index, values, traces = indexed
    for q, quantity in enumerate(index.quantities):
        data = values[quantity]  # (layers, N, H)
        np.testing.assert_allclose(index.mean[:, q], data.mean(axis=1), atol=1e-5)
        np.testing.assert_allclose(index.std[:, q], data.std(axis=1), atol=1e-4)
        np.testing.assert_allclose(index.minimum[:, q], data.min(axis=1), atol=1e-5)
        np.testing.assert_allclose(index.maximum[:, q], data.max(axis=1), atol=1e-5)
        if quantity in ("input", "forget", "output", "reset", "update"):
            np.testing.assert_allclose(index.shut[:, q], (data < 0.1).mean(axis=1), atol=1e-6)
            np.testing.assert_allclose(index.open[:, q], (data > 0.9).mean(axis=1), atol=1e-6)
        else:
            assert np.isnan(index.shut[:, q]).all()
        edges, counts = index.histogram_of(2, layer=-1, quantity=quantity)
        expected, _ = np.histogram(np.clip(data[-1, :, 2], edges[0], edges[-1]), bins=edges)
        assert counts.sum() == index.n_tokens
        assert np.abs(counts - expected).sum() <= 2  # a value on a bin edge may fall either side in float32


def test_top_words_are_the_highest_mean_words_read_often_enough(indexed):
    model, index, values, traces = indexed
    ids = np.concatenate([tr.token_ids for tr in traces])
    column = values["hidden"][-1, :, 1]
    means = {w: column[ids == w].mean() for w in np.unique(ids)
             if (ids == w).sum() >= corpus.MIN_WORD_COUNT and w != model.vocab.unk_id}  # <unk> is no word
    expected = sorted(means, key=lambda w: -means[w])[:corpus.TOP_WORDS]
    words = index.top_words(1)
    assert words["word"].tolist() == [model.vocab.tokens[w] for w in expected]
    np.testing.assert_allclose(words["mean"], [means[w] for w in expected], atol=1e-5)
    assert (words["count"] >= corpus.MIN_WORD_COUNT).all()


def test_an_index_survives_a_round_trip_to_disk(indexed, tmp_path):
    model, index, values, traces = indexed
    loaded = corpus.load(corpus.save(index, tmp_path / "index"))
    assert loaded.texts == index.texts and loaded.quantities == index.quantities
    for name in ("offsets", "token_ids", "mean", "top_positions", "top_values", "histogram", "states"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(index, name))
    assert loaded.top(0).equals(index.top(0))


def test_stored_states_are_the_top_layer_hidden_state_within_int8_rounding(indexed):
    model, index, values, traces = indexed
    np.testing.assert_allclose(index.states / corpus.STATE_SCALE, values["hidden"][-1], atol=0.5 / 127 + 1e-6)


def test_match_spans_finds_every_planted_span_and_nothing_else():
    rng = np.random.default_rng(0)
    offsets = np.array([0, 40, 41, 100, 160])
    values = rng.uniform(-1, 0.3, size=(160, 3))  # every unit off everywhere...
    planted = [5, 20, 41, 70, 157]  # ...but on over these 3-token spans (41 starts a text; 157 ends the corpus)
    for start in planted:
        values[start : start + 3] = 0.9
    starts, scores = patterns.match_spans(values, offsets, length=3, threshold=0.5)
    assert sorted(starts.tolist()) == planted
    values[38:42] = 0.9  # a run across the end of text 0 and the one-token text 1 is no 3-token match...
    starts, _ = patterns.match_spans(values, offsets, length=3, threshold=0.5)
    assert sorted(starts.tolist()) == planted  # ...and 41, which starts its text, still matches


def test_pattern_search_finds_the_selected_span_in_both_modes(indexed):
    model, index, values, traces = indexed
    hidden = traces[7].hidden[-1]
    threshold = float(np.median(hidden[:, hidden.std(axis=0).argmax()]))  # the liveliest unit's median
    found = None
    for start in range(1, len(hidden) - 2):  # a span whose pattern has units
        units = patterns.pattern_units(hidden, start, start + 1, threshold)
        if units:
            found = start, units
            break
    assert found is not None
    start, units = found
    exact, n_exact = patterns.search(index, units, length=2, threshold=threshold, mode="exact", model=model, limit=1000)
    assert n_exact >= 1 and ((exact["text_id"] == 7) & (exact["start"] == start)).any()
    fast, n_fast = patterns.search(index, units, length=2, threshold=threshold, mode="fast", limit=1000)
    assert abs(n_fast - n_exact) <= 2  # int8 rounding can move a value across the threshold
    with pytest.raises(ValueError, match="exact"):
        patterns.search(index, units, length=2, mode="exact")


def test_the_cli_builds_an_index_from_a_data_file(tmp_path, capsys):
    data = tmp_path / "texts.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{random_text(6, seed=s)}\t{s % 2}\n" for s in range(30)))
    model = random_model("gru", hidden=6)
    weights, _ = rnnviz.checkpoint.save(model, tmp_path / "tiny")
    assert cli_main(["index", "--model", str(weights), "--data", str(data), "--out", str(tmp_path / "idx"),
                     "--states"]) == 0
    index = corpus.load(tmp_path / "idx")
    assert len(index.texts) == 30 and index.states is not None and index.n_tokens == 180
    assert "tokens" in capsys.readouterr().err


def test_a_corpus_sample_is_seeded_and_keeps_the_files_order(tmp_path):
    lines = tmp_path / "texts.txt"
    lines.write_text("".join(f"text number {k}\n" for k in range(100)) + "\n")  # a blank line is no text
    everything = read_corpus([lines])
    sample = read_corpus([lines], sample=10, seed=3)
    assert len(everything) == 100 and len(sample) == 10
    assert sample == read_corpus([lines], sample=10, seed=3) != read_corpus([lines], sample=10, seed=4)
    assert sample == sorted(sample, key=everything.index)


def test_a_bidirectional_model_is_refused_by_the_index():
    model = random_model("lstm", hidden=6)
    model.rnn = torch.nn.LSTM(6, 6, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="unidirectional"):
        corpus.build(model, TEXTS, progress=False)


@pytest.fixture
def threads():
    """Sets PyTorch's intra-op threads for one test and puts them back."""
    previous = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(previous)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_statistics_shared_out_over_threads_give_the_index_one_thread_gives(cell, threads):
    model = random_model(cell, layers=2, hidden=6, seed=4)
    built = []
    for count in (1, 2):
        threads(count)
        built.append(corpus.build(model, TEXTS, progress=False, store_states=True, k=12, batch_tokens=40))
        assert torch.get_num_threads() == count  # the build leaves PyTorch's threads as it found them
    alone, beside = built
    for name in ("mean", "std", "minimum", "maximum", "histogram", "top_positions", "top_values", "top_word_ids",
                 "states"):
        np.testing.assert_array_equal(getattr(beside, name), getattr(alone, name))


def test_a_failure_in_every_statistics_thread_reaches_the_caller(threads, monkeypatch):
    threads(2)

    def broken(*args):
        raise RuntimeError("statistics failed")

    monkeypatch.setattr(corpus.UnitStatistics, "add", broken)
    with pytest.raises(RuntimeError, match="statistics failed"):
        corpus.build(random_model("gru", hidden=6), TEXTS, progress=False, batch_tokens=40)
    assert torch.get_num_threads() == 2


def test_a_failure_in_a_statistics_thread_of_its_own_reaches_the_caller(threads, monkeypatch):
    threads(2)
    model = random_model("gru", hidden=6)
    shares = corpus._shares([(0, corpus.UnitStatistics(q, 6, model.config.vocab_size, 3))
                             for q in corpus.model_quantities(model)], 2)
    elsewhere = shares[1][0][1].quantity  # the first share runs on the caller's thread, the others on the pool's
    add = corpus.UnitStatistics.add

    def broken_elsewhere(self, *args):
        if self.quantity == elsewhere:
            raise RuntimeError("statistics failed")
        add(self, *args)

    monkeypatch.setattr(corpus.UnitStatistics, "add", broken_elsewhere)
    with pytest.raises(RuntimeError, match="statistics failed"):
        corpus.build(model, TEXTS, progress=False, batch_tokens=40)
