"""Running per-unit statistics of one layer and quantity over a corpus, in one compiled pass over the values.

The corpus index keeps, for every unit: moments, extremes, saturation counts, a value histogram, the highest
positions and per-word sums. Computed with PyTorch ops, each statistic is its own pass over a batch's values
(and the histogram's binning and counting are several): at 256 units and six quantities those passes cost two to
three times the forward pass that produced the values. One numba-compiled loop (``_accumulate``) reads each value
once and updates everything, reading the states where the forward left them (strided views, no copies): 2.4 to
3.3 ns a value on one thread (benchmarks/unit_statistics_speed.py). The highest positions are a min-heap per unit that a
value enters only when it beats the unit's k-th best.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

PREFETCH_ROWS = 4
"""How many rows ahead the kernel asks for: one gate's row is a quarter of each row of an LSTM's workspace, so the
hardware's own prefetcher, which stops at page ends, leaves each row's first lines to wait for memory."""
HISTOGRAM_BINS = 40
SATURATION = (0.1, 0.9)
"""A gate below 0.1 is left-saturated (shut), above 0.9 right-saturated (open) (Karpathy et al. 2015)."""
GATE_QUANTITIES = ("input", "forget", "output", "reset", "update")
"""The sigmoid gates (the candidate is a tanh value, not a gate)."""


def value_range(quantity: str) -> tuple[float, float]:
    """The histogram's range: [0, 1] for sigmoid gates, [-1, 1] for tanh values, [-4, 4] for the cell state
    (values beyond fall in the end bins)."""
    if quantity in GATE_QUANTITIES:
        return 0.0, 1.0
    return (-4.0, 4.0) if quantity == "cell_state" else (-1.0, 1.0)


class UnitStatistics:
    """Statistics of one layer and quantity, H units wide, over everything passed to ``add``."""

    def __init__(self, quantity: str, hidden: int, vocab_size: int, k: int) -> None:
        self.quantity, self.vocab_size = quantity, vocab_size
        self.gate = quantity in GATE_QUANTITIES
        self.total = np.zeros(hidden)
        self.squares = np.zeros(hidden)
        self.low = np.full(hidden, np.inf, dtype=np.float32)
        self.high = np.full(hidden, -np.inf, dtype=np.float32)
        self.shut = np.zeros(hidden, dtype=np.int64)
        self.open = np.zeros(hidden, dtype=np.int64)
        self.bins = np.zeros((hidden, HISTOGRAM_BINS), dtype=np.int64)
        self.word_sums = np.zeros((vocab_size, hidden), dtype=np.float32)
        self.heap_values = np.full((hidden, k), -np.inf, dtype=np.float32)
        self.heap_positions = np.full((hidden, k), -1, dtype=np.int64)
        self.floor = np.full(hidden, -np.inf, dtype=np.float32)
        """Each unit's k-th best value so far (its heap's root): only a higher value enters the heap."""
        self._scratch = np.zeros(hidden, dtype=np.uint32)

    def add(self, values: torch.Tensor, members: torch.Tensor, steps: torch.Tensor, positions: torch.Tensor,
            token_ids: torch.Tensor) -> None:
        """Read ``values`` (B, T, H), any strides, at [members[n], steps[n]] for n < N: the token at corpus
        position ``positions[n]``, read after word ``token_ids[n]`` (all (N,) integer tensors)."""
        _check_indices(values, len(self.total), self.vocab_size, members, steps, positions, token_ids)
        values = values.detach()
        if values.device.type != "cpu" or values.dtype != torch.float32 or values.stride(-1) != 1:
            values = values.to("cpu", torch.float32).contiguous()
        flat, starts = _flat_rows(values, members, steps)
        start, stop = value_range(self.quantity)
        _accumulate(flat, starts, positions.numpy().astype(np.int64, copy=False),
                    token_ids.numpy().astype(np.int64, copy=False), self.gate, np.float32(start),
                    np.float32(HISTOGRAM_BINS / (stop - start)), np.float32(SATURATION[0]), np.float32(SATURATION[1]),
                    self.total, self.squares, self.low, self.high, self.shut, self.open, self.bins.reshape(-1),
                    self.word_sums, self.floor, self.heap_values, self.heap_positions, self._scratch)

    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, positions), each (H, k), highest first (ties: the earlier position first)."""
        order = np.lexsort((self.heap_positions, -self.heap_values), axis=-1)
        return (np.take_along_axis(self.heap_values, order, -1), np.take_along_axis(self.heap_positions, order, -1))


def _check_indices(values: torch.Tensor, hidden: int, vocab_size: int, *indices: torch.Tensor) -> None:
    """Refuse what would make the compiled loop (which trusts its indices) read or write outside its arrays."""
    members, steps, positions, token_ids = indices
    if values.dim() != 3 or values.shape[2] != hidden:
        raise ValueError(f"values must be (B, T, {hidden}), not {tuple(values.shape)}")
    if len({len(index) for index in indices}) > 1:
        raise ValueError("members, steps, positions and token ids must be as long as each other")
    if len(members) >= 2**31:
        raise ValueError("one call reads fewer than 2**31 rows (the kernel counts them in int32); split the batch")
    for name, index, size in (("member", members, values.shape[0]), ("step", steps, values.shape[1]),
                              ("token id", token_ids, vocab_size)):
        if len(index) and not 0 <= int(index.min()) <= int(index.max()) < size:
            raise ValueError(f"a {name} lies outside {'the vocabulary' if name == 'token id' else 'the values'}")


def _flat_rows(values: torch.Tensor, members: torch.Tensor, steps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """A (B, T, H) tensor whose units are adjacent, as its memory (1-D, from its first element to its last) and
    where each of the N rows read starts in it: the kernel reads the states in place, wherever they lie."""
    batch_stride, step_stride, _ = values.stride()
    span = (values.shape[0] - 1) * batch_stride + (values.shape[1] - 1) * step_stride + values.shape[2]
    flat = values.as_strided((span,), (1,)).numpy()
    starts = members.to(torch.int64) * batch_stride + steps.to(torch.int64) * step_stride
    return flat, starts.numpy()


@intrinsic
def _prefetch(typing_context, array, index):  # pragma: no cover - compiled into the kernel
    """Ask the CPU to bring array[index]'s cache line in (LLVM's prefetch: a hint, which never faults)."""

    def generate(context, builder, signature, arguments):
        data = context.make_array(signature.args[0])(context, builder, arguments[0]).data
        byte_pointer = ir.PointerType(ir.IntType(8))
        prefetch = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
            ir.VoidType(), [byte_pointer, ir.IntType(32), ir.IntType(32), ir.IntType(32)]), "llvm.prefetch.p0")
        read, keep, data_cache = (ir.Constant(ir.IntType(32), value) for value in (0, 3, 1))
        builder.call(prefetch, [builder.bitcast(builder.gep(data, [arguments[1]]), byte_pointer), read, keep,
                                data_cache])
        return context.get_dummy_value()

    return numba.types.void(array, index), generate


@numba.njit(cache=True, nogil=True)
def _accumulate(flat, starts, positions, token_ids, gate, start, scale, shut_below, open_above, total, squares, low,
                high, shut, open_, bins, word_sums, floor, heap_values, heap_positions, scratch):  # pragma: no cover
    """Every statistic of every unit from the rows flat[starts[n] : starts[n] + H] (see UnitStatistics).

    Each statistic is its own short loop over the units, so that the compiler vectorizes it (the row stays in the
    first-level cache between them); the histogram counts, a scatter, come last from bins computed in bulk. A bin
    is floor((v - start) * scale) clipped to the end bins (NaN falls in the first); moments add in float64;
    saturation is counted for a ``gate`` only. Each row's cache lines are asked for PREFETCH_ROWS rows ahead
    (0.80x the kernel's time on an LSTM batch, whose gates' rows lie a workspace row apart). Counts gather in int32
    arrays of this call's own (half the memory of int64 to touch; ``add`` refuses 2**31 rows or more) and join the
    totals at the end, and bins are unsigned indices (no check for negative ones): together 0.86x the time.
    """
    width = total.shape[0]
    bin_count = bins.shape[0] // width
    last_bin = np.float32(bin_count - 1)
    zero = np.float32(0)
    call_bins = np.zeros(bins.shape[0], dtype=np.int32)
    call_shut = np.zeros(width, dtype=np.int32)
    call_open = np.zeros(width, dtype=np.int32)
    line = 64 // flat.itemsize
    for n in range(starts.shape[0]):
        if n + PREFETCH_ROWS < starts.shape[0]:
            for unit in range(0, width, line):
                _prefetch(flat, starts[n + PREFETCH_ROWS] + unit)
        row = flat[starts[n] : starts[n] + width]
        word = word_sums[token_ids[n]]
        for unit in range(width):
            wide = np.float64(row[unit])
            total[unit] += wide
            squares[unit] += wide * wide
        for unit in range(width):
            low[unit] = min(low[unit], row[unit])
            high[unit] = max(high[unit], row[unit])
        if gate:
            for unit in range(width):
                call_shut[unit] += np.int32(row[unit] < shut_below)
                call_open[unit] += np.int32(row[unit] > open_above)
        for unit in range(width):
            word[unit] += row[unit]
        for unit in range(width):
            x = (row[unit] - start) * scale
            x = x if x > zero else zero  # NaN too
            scratch[unit] = np.uint32(x if x < last_bin else last_bin) + np.uint32(unit * bin_count)
        for unit in range(width):
            call_bins[np.uint64(scratch[unit])] += 1
        above = False
        for unit in range(width):
            above |= row[unit] > floor[unit]
        if above:
            for unit in range(width):
                if row[unit] > floor[unit]:
                    floor[unit] = _replace_root(heap_values[unit], heap_positions[unit], row[unit], positions[n])
    bins += call_bins
    shut += call_shut
    open_ += call_open


@numba.njit(cache=True, nogil=True)
def _replace_root(values, positions, value, position):  # pragma: no cover
    """Put (value, position) in place of a min-heap's root and sift it down; returns the new root's value."""
    size = values.shape[0]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[child] >= value:
            break
        values[i] = values[child]
        positions[i] = positions[child]
        i = child
    values[i] = value
    positions[i] = position
    return values[0]
