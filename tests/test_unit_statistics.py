"""The corpus index's statistics kernel: every statistic equals numpy's over the same values, however the values
lie in memory, over several batches; ties, NaN and foreign token ids are handled."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.unit_statistics import HISTOGRAM_BINS, SATURATION, UnitStatistics, value_range

VOCAB = 11


def batches(quantity: str, layout: str, seed: int = 0):
    """Three batches of values (B, T, H) laid out as ``layout``, with the positions read: (values, members, steps,
    positions, token_ids) each, and every value read, in order, as (N, H)."""
    generator = torch.Generator().manual_seed(seed)
    low, high = value_range(quantity)
    position, out, read = 0, [], []
    for batch, steps, hidden in ((3, 7, 5), (1, 1, 5), (4, 9, 5)):
        values = torch.rand(batch, steps, hidden, generator=generator) * (high - low) * 1.2 + low - 0.1 * (high - low)
        if layout == "time-major":  # as an LSTM's kernel leaves them: (T, B, H) seen through a transpose
            values = values.transpose(0, 1).contiguous().transpose(0, 1)
        elif layout == "column-slice":  # one gate of four in a wider buffer
            wide = torch.zeros(batch, steps, 4 * hidden + 3)
            wide[..., hidden : 2 * hidden] = values
            values = wide[..., hidden : 2 * hidden]
        lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
        step, member = (torch.arange(steps)[:, None] < lengths[None, :]).nonzero(as_tuple=True)
        positions = torch.arange(len(step)) + position
        position += len(step)
        token_ids = torch.randint(0, VOCAB, (len(step),), generator=generator)
        out.append((values, member, step, positions, token_ids))
        read.append((values[member, step], token_ids))
    return out, torch.cat([r[0] for r in read]).numpy(), torch.cat([r[1] for r in read]).numpy()


@pytest.mark.parametrize("quantity", ["forget", "candidate", "cell_state"])
@pytest.mark.parametrize("layout", ["contiguous", "time-major", "column-slice"])
def test_every_statistic_equals_numpy_over_several_batches(quantity, layout):
    parts, values, token_ids = batches(quantity, layout)
    statistics = UnitStatistics(quantity, hidden=5, vocab_size=VOCAB, k=4)
    for part in parts:
        statistics.add(*part)
    assert (statistics.bins.sum(axis=1) == len(values)).all()
    np.testing.assert_allclose(statistics.total, values.astype(np.float64).sum(0), rtol=1e-12)
    np.testing.assert_allclose(statistics.squares, (values.astype(np.float64) ** 2).sum(0), rtol=1e-12)
    np.testing.assert_array_equal(statistics.low, values.min(0))
    np.testing.assert_array_equal(statistics.high, values.max(0))
    if statistics.gate:
        np.testing.assert_array_equal(statistics.shut, (values < SATURATION[0]).sum(0))
        np.testing.assert_array_equal(statistics.open, (values > SATURATION[1]).sum(0))
    start, stop = value_range(quantity)
    bins = np.clip(np.floor((values - np.float32(start)) * np.float32(HISTOGRAM_BINS / (stop - start))), 0,
                   HISTOGRAM_BINS - 1).astype(int)
    for unit in range(5):
        np.testing.assert_array_equal(statistics.bins[unit], np.bincount(bins[:, unit], minlength=HISTOGRAM_BINS))
    word_sums = np.zeros((VOCAB, 5))
    np.add.at(word_sums, token_ids, values)
    np.testing.assert_allclose(statistics.word_sums, word_sums, atol=1e-5)
    top_values, top_positions = statistics.top()
    order = np.argsort(-values, axis=0, kind="stable")[:4].T
    np.testing.assert_array_equal(top_positions, order)
    np.testing.assert_array_equal(top_values, np.take_along_axis(values.T, order, 1))


def test_equal_values_keep_the_earlier_positions_highest_first():
    statistics = UnitStatistics("hidden", hidden=1, vocab_size=1, k=3)
    values = torch.tensor([0.5, 0.9, 0.5, 0.9, 0.9, 0.1]).reshape(1, 6, 1)
    steps = torch.arange(6)
    statistics.add(values, torch.zeros(6, dtype=torch.long), steps, steps + 100, torch.zeros(6, dtype=torch.long))
    top_values, top_positions = statistics.top()
    assert top_values.tolist() == [[pytest.approx(0.9)] * 3] and top_positions.tolist() == [[101, 103, 104]]


def test_fewer_values_than_k_leave_empty_slots_last():
    statistics = UnitStatistics("hidden", hidden=2, vocab_size=1, k=4)
    values = torch.tensor([[[0.2, -0.3], [0.7, 0.1]]])
    zeros = torch.zeros(2, dtype=torch.long)
    statistics.add(values, zeros, torch.arange(2), torch.arange(2), zeros)
    top_values, top_positions = statistics.top()
    assert top_positions.tolist() == [[1, 0, -1, -1], [1, 0, -1, -1]]
    assert np.isneginf(top_values[:, 2:]).all()


def test_nan_and_values_beyond_the_range_fall_in_the_end_bins_without_harm():
    statistics = UnitStatistics("input", hidden=3, vocab_size=1, k=2)
    values = torch.tensor([[[float("nan"), -5.0, 7.0]]])
    statistics.add(values, torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long),
                   torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))
    assert statistics.bins[:, 0].tolist() == [1, 1, 0] and statistics.bins[2, -1] == 1


def test_float64_values_are_read_as_float32():
    parts, values, _ = batches("hidden", "contiguous")
    statistics = UnitStatistics("hidden", hidden=5, vocab_size=VOCAB, k=4)
    for values64, *rest in parts:
        statistics.add(values64.double(), *rest)
    np.testing.assert_array_equal(statistics.high, values.max(0))


def test_a_token_id_outside_the_vocabulary_is_refused_before_anything_is_written():
    statistics = UnitStatistics("hidden", hidden=2, vocab_size=3, k=1)
    one = torch.zeros(1, dtype=torch.long)
    with pytest.raises(ValueError, match="vocabulary"):
        statistics.add(torch.zeros(1, 1, 2), one, one, one, torch.tensor([3]))
    assert not statistics.bins.any() and not statistics.word_sums.any()


@pytest.mark.parametrize("values, member, step", [(torch.zeros(1, 1, 3), 0, 0), (torch.zeros(1, 1, 2), 1, 0),
                                                  (torch.zeros(1, 1, 2), 0, 1), (torch.zeros(1, 1, 2), -1, 0)])
def test_values_of_another_width_or_indices_outside_them_are_refused(values, member, step):
    statistics = UnitStatistics("hidden", hidden=2, vocab_size=3, k=1)
    one = torch.zeros(1, dtype=torch.long)
    with pytest.raises(ValueError):
        statistics.add(values, torch.tensor([member]), torch.tensor([step]), one, one)
