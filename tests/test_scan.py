"""The chunked linear recurrence equals the plain step-by-step loop, at every length (chunks that divide the
steps evenly and chunks that do not), for batches, from any initial state, and as a running product."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.scan import linear_recurrence, products_after


def step_by_step(a: np.ndarray, b: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """s_t = a_t * s_{t-1} + b_t, one step at a time in float64: the reference."""
    out = np.empty(a.shape)
    state = initial.astype(np.float64)
    for t in range(a.shape[1]):
        state = a[:, t] * state + b[:, t]
        out[:, t] = state
    return out


@pytest.mark.parametrize("batch, steps, width", [(1, 1, 4), (1, 2, 3), (2, 7, 5), (1, 16, 8), (1, 17, 8),
                                                 (3, 230, 16), (1, 2596, 32)])
def test_the_chunked_recurrence_equals_the_step_by_step_loop(batch, steps, width):
    rng = np.random.default_rng(steps)
    a = rng.random((batch, steps, width), dtype=np.float32)
    b = rng.standard_normal((batch, steps, width), dtype=np.float32)
    initial = rng.standard_normal((batch, width), dtype=np.float32)
    result = linear_recurrence(a, b, initial)
    assert result.shape == a.shape and result.dtype == np.float32
    np.testing.assert_allclose(result, step_by_step(a, b, initial), rtol=1e-5, atol=1e-6)


def test_without_b_it_is_a_running_product_of_a_times_the_initial_state():
    a = np.full((1, 10, 2), 0.5, dtype=np.float32)
    result = linear_recurrence(a, None, np.array([[1.0, 3.0]], dtype=np.float32))
    np.testing.assert_allclose(result[0, :, 0], 0.5 ** np.arange(1, 11))
    np.testing.assert_allclose(result[0, :, 1], 3 * 0.5 ** np.arange(1, 11))


@pytest.mark.parametrize("steps", [1, 2, 3, 50, 2596])
def test_products_after_each_step_keep_their_precision_over_thousands_of_steps(steps):
    """Relative error within 1e-5 of float64 step by step; only products below float32's range (1e-38) read 0."""
    factors = (0.9 + 0.1 * np.random.default_rng(0).random((steps, 64))).astype(np.float32)
    expected = np.ones((steps, 64))
    for t in range(steps - 2, -1, -1):
        expected[t] = expected[t + 1] * factors[t + 1]
    result = products_after(factors)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result[-1], 1.0)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-37)


def test_one_initial_state_serves_every_sequence_of_a_batch():
    a = np.full((3, 5, 2), 0.5, dtype=np.float32)
    b = np.ones((3, 5, 2), dtype=np.float32)
    shared = linear_recurrence(a, b, np.array([[2.0, 4.0]], dtype=np.float32))
    each = linear_recurrence(a, b, np.tile(np.array([[2.0, 4.0]], dtype=np.float32), (3, 1)))
    np.testing.assert_array_equal(shared, each)
