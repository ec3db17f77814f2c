"""What the gates mean, derived from a trace: keep scores, memory decomposition, saturation, unit ranking.

Conventions (DESIGN.md): for LSTM, token t writes i_t * g_t into the cell and every later step keeps
the share f_s of it; for GRU (PyTorch's convention, z = 1 keeps the old state), token t writes
(1 - z_t) * n_t and every later step keeps the share z_s. A plain RNN (tanh or relu) is read as a GRU whose
update gate is always 0: each step replaces the whole state with h_t, so only the last token's write is still
there as written (keep 1 for the last token, 0 before it), and the contributions are h_T at the last token. What
earlier tokens left survives only transformed by later steps, which is why a plain RNN forgets.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .model import rnn_backend
from .rnn_trace import direction_weights, kernel_kind, run_direction
from .scan import products_after

if TYPE_CHECKING:
    from .model import SentimentModel
    from .trace import Trace

SATURATION_LOW, SATURATION_HIGH = 0.1, 0.9
RANKINGS = ("variance", "keep", "effect")
MAX_UNITS_CHARS = 2000
"""Longest typed unit list (the units box's max_chars): "0, 2, 4, ..., 510", every other unit of 512, fits."""
MAX_UNIT_PARTS = 500
"""Most numbers and ranges in one typed unit list."""


def _write_and_retain(cell: str, gates: Mapping[str, np.ndarray], layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share written, content written, share retained by each step), each (T, H), for one layer.

    ``gates`` is a trace's ``quantities()``: the gates, plus the hidden state, which a plain RNN writes whole.
    """
    if cell == "rnn":
        hidden = gates["hidden"][layer]
        return np.ones_like(hidden), hidden, np.zeros_like(hidden)
    if cell == "lstm":
        return gates["input"][layer], gates["candidate"][layer], gates["forget"][layer]
    update = gates["update"][layer]
    return 1.0 - update, gates["candidate"][layer], update


def keep_matrix(cell: str, gates: Mapping[str, np.ndarray], layer: int = -1) -> np.ndarray:
    """(T, H) keep score: LSTM i[t,u] * prod_{s>t} f[s,u]; GRU (1 - z[t,u]) * prod_{s>t} z[s,u]; plain RNN 1 at the
    last token, 0 before (no gate carries a write over)."""
    share, _, retain = _write_and_retain(cell, gates, layer)
    return (share * products_after(retain)).astype(np.float32, copy=False)


def reduce_keeps(cell: str, gates: Mapping[str, np.ndarray], keep_units: np.ndarray, readout: np.ndarray,
                 layer: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(``reduce_keep``, ``reduce_keep_by_readout``) in one pass over the layer, as a trace stores them: both
    weighted sums over units are one float32 matrix product (within 1e-6 of float64 on a 2,596-token review, at a
    fifth of the time)."""
    _, content, _ = _write_and_retain(cell, gates, layer)
    weight = np.abs(content, dtype=np.float32)
    unit_weights = np.stack([np.ones(len(readout)), readout], axis=1).astype(np.float32)  # (H, 2): plain, read
    total = (weight @ unit_weights).astype(np.float64)
    weighted = (keep_units * weight) @ unit_weights / np.where(total > 0, total, 1.0)
    keep = weighted[:, 0] if (total[:, 0] > 0).all() else np.where(total[:, 0] > 0, weighted[:, 0],
                                                                     keep_units.mean(axis=1))
    return keep.astype(np.float32), np.where(total[:, 1] > 0, weighted[:, 1], keep).astype(np.float32)


def reduce_keep(cell: str, gates: Mapping[str, np.ndarray], keep_units: np.ndarray, layer: int = -1) -> np.ndarray:
    """(T,) keep per token: keep_units averaged over units, weighted by |candidate| at that token.

    The candidate is what token t proposes to write into each unit, so the result reads "of all that
    token t proposed, this share was written and is still in memory at the end". A token whose
    candidate is zero everywhere gets the plain mean.
    """
    return reduce_keeps(cell, gates, keep_units, np.zeros(keep_units.shape[1]), layer)[0]


def target_margin(logits: torch.Tensor, target: int) -> torch.Tensor:
    """logit[target] minus the mean of the other logits, over the last axis: how far the model leans to ``target``."""
    others = (logits.sum(dim=-1) - logits[..., target]) / (logits.shape[-1] - 1)
    return logits[..., target] - others


def margin_readout(head: torch.nn.Module, final_hidden: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H,) how much the prediction reads each top-layer unit: |h_T[u] * d margin / d h_T[u]|.

    Gradient x activation of ``target_margin`` (the predicted class by default) through any head; for
    a linear head it is exactly |(w_target - mean other w)[u] * h_T[u]|, the size of unit u's term in the margin.
    """
    if type(head) is torch.nn.Linear:  # the gradient is a row difference of the weights: no autograd pass
        # (exactly nn.Linear: a subclass may change forward)
        weight = head.weight.detach().double()
        logits = weight @ torch.from_numpy(final_hidden.astype(np.float64)) + (
            0.0 if head.bias is None else head.bias.detach().double())
        chosen = int(logits.argmax()) if target is None else target
        gradient = weight[chosen] - (weight.sum(dim=0) - weight[chosen]) / (weight.shape[0] - 1)
        return np.abs(gradient.numpy() * final_hidden.astype(np.float64))
    hidden = torch.tensor(final_hidden, requires_grad=True)
    with torch.enable_grad():
        logits = head(hidden)
        chosen = int(logits.argmax()) if target is None else target
        (gradient,) = torch.autograd.grad(target_margin(logits, chosen), hidden)
    return np.abs(gradient.double().numpy() * final_hidden.astype(np.float64))


def reduce_keep_by_readout(cell: str, gates: Mapping[str, np.ndarray], keep_units: np.ndarray, readout: np.ndarray,
                           layer: int = -1) -> np.ndarray:
    """(T,) keep per token where the prediction looks: keep_units averaged over units, weighted by
    readout[u] * |candidate[t, u]| (``margin_readout`` times what token t proposed to write there).

    ``reduce_keep`` weights every unit alike, so on a review its mean is ruled by the many units that
    forget within a few tokens and collapses below the display floor. This one reads "of what token t
    proposed to the units the prediction reads, the share still there at the end".
    The gradient |d margin / d c_T| would weight saturated long-memory units down; benchmarks/
    attribution_faithfulness.py measures the share of tokens above the floor. A token that proposes
    nothing to any read unit gets ``reduce_keep``'s value.
    """
    return reduce_keeps(cell, gates, keep_units, readout, layer)[1]


def final_memory_contributions(cell: str, gates: Mapping[str, np.ndarray], layer: int = -1,
                               keep_units: np.ndarray | None = None) -> np.ndarray:
    """(T, H): token t's share of the final memory, summing over t to c_T (LSTM) or h_T (GRU, plain RNN).

    LSTM: i_t * g_t * prod_{s>t} f_s. GRU: (1 - z_t) * n_t * prod_{s>t} z_s. Exact, since the
    initial state is zero. Pass ``keep_units`` (that layer's ``keep_matrix``) when it is at hand.
    """
    _, content, _ = _write_and_retain(cell, gates, layer)
    kept = keep_matrix(cell, gates, layer) if keep_units is None else keep_units
    return kept * content


def saturation(trace: "Trace", layer: int = -1) -> pd.DataFrame:
    """Karpathy et al. (2015): per sigmoid gate and unit, the share of steps below 0.1 and above 0.9."""
    rows = []
    for gate, values in trace.gates.items():
        if gate == "candidate":  # tanh, not a gate
            continue
        v = values[layer]
        low, high = (v < SATURATION_LOW).mean(axis=0), (v > SATURATION_HIGH).mean(axis=0)
        rows.append(pd.DataFrame({"gate": gate, "unit": np.arange(v.shape[1]), "low": low, "high": high}))
    return pd.concat(rows, ignore_index=True)


def unit_effects(model: "SentimentModel", trace: "Trace", layer: int = -1) -> np.ndarray:
    """(H,) effect of each unit of ``layer`` on the final prediction: gradient x activation, summed over steps.

    The score is the predicted class's logit minus the mean logit. For the top layer this is exactly
    h_T[u] * (w_pred[u] - mean_k w_k[u]) (through W_hr^T when projected); for lower layers the gradient flows
    through the layers above.
    For a bidirectional model ``layer`` is a stream (trace.layer_names) and the layers above read both directions.
    For an LSTM with proj_size the units are the cell's (h_t = o_t * tanh(c_t)), read through the projection.
    """
    stream = layer % trace.num_layers
    directions = trace.directions
    real_layer, direction = divmod(stream, directions)
    hidden = torch.tensor(trace.hidden[stream], requires_grad=True)
    kind = kernel_kind(model.rnn)
    h0, c0 = hidden.new_zeros(model.output_size), hidden.new_zeros(trace.hidden_size)
    w_hr = direction_weights(model.rnn, real_layer, direction)["w_hr"]
    with torch.enable_grad(), rnn_backend():
        output = hidden if w_hr is None else torch.nn.functional.linear(hidden, w_hr.detach())
        halves = [output if d == direction else torch.from_numpy(trace.layer_output[real_layer * directions + d])
                  for d in range(directions)]
        x = torch.cat(halves, dim=1)
        for above in range(real_layer + 1, trace.num_layers // directions):
            outputs = []
            for d in range(directions):
                weights = {role: None if w is None else w.detach()
                           for role, w in direction_weights(model.rnn, above, d).items()}
                source = x.flip(0) if d else x
                out = run_direction(kind, source, weights, h0, c0)
                outputs.append(out.flip(0) if d else out)
            x = torch.cat(outputs, dim=1)
        logits = torch.nn.functional.linear(x[-1], model.head.weight.detach(), model.head.bias.detach()) \
            if isinstance(model.head, torch.nn.Linear) else model.head(x[-1])
        predicted = int(logits.argmax())
        (gradient,) = torch.autograd.grad(logits[predicted] - logits.mean(), hidden)  # no .grad left on the head
    return (gradient * hidden.detach()).sum(dim=0).numpy()


def rank_units(trace: "Trace", layer: int = -1, by: str = "variance", model: "SentimentModel | None" = None) -> np.ndarray:
    """All unit indices of ``layer``, most interesting first.

    variance: how much the hidden state moves over the text. keep: the mean keep score (what the
    unit holds on to). effect: |unit_effects|, how much the unit pushes the final prediction (needs model).
    """
    if by == "variance":
        score = trace.hidden[layer].var(axis=0)
    elif by == "keep":
        score = trace.keep_matrix(layer).mean(axis=0)
    elif by == "effect":
        if model is None:
            raise ValueError("ranking by effect needs the model")
        score = np.abs(unit_effects(model, trace, layer))
    else:
        raise ValueError(f"unknown ranking {by!r}; choose one of {RANKINGS}")
    return np.argsort(-score, kind="stable")


def step_detail(model: "SentimentModel", trace: "Trace", layer: int, step: int) -> dict[str, np.ndarray]:
    """Every term of the cell's equations at one step of one layer, each (H,), for showing the maths.

    LSTM: pre-activations pre_i, pre_f, pre_g, pre_o, the gates, c_prev, c, h. GRU: pre_r, pre_z,
    the input part (in_n) and hidden part (hn, which the reset gate scales) of the candidate, the gates,
    h_prev, h. Plain RNN: pre_h (the nonlinearity's argument), h_prev, h. Recomputed from the weights, so the
    numbers match the equations term by term. A backward direction's previous step is the next token (step + 1).
    An LSTM with proj_size reads the previous projection r_{t-1} = W_hr h_{t-1} (P numbers, not one per unit), so
    its detail has no h_prev.
    """
    stream = layer % trace.num_layers
    real_layer, direction = divmod(stream, trace.directions)
    weights = direction_weights(model.rnn, real_layer, direction)
    w_ih, w_hh, b_ih, b_hh = (weights[role] for role in ("w_ih", "w_hh", "b_ih", "b_hh"))
    previous = step + 1 if direction else step - 1
    first = not 0 <= previous < len(trace.tokens)
    with torch.no_grad():
        if real_layer == 0:
            x = model.embedding(torch.tensor([trace.token_ids[step]]))[0]
        else:
            below = range((real_layer - 1) * trace.directions, real_layer * trace.directions)
            x = torch.from_numpy(np.concatenate([trace.layer_output[k, step] for k in below]))
        outputs = trace.layer_output
        h_prev = torch.zeros(outputs.shape[2]) if first else torch.from_numpy(outputs[stream, previous])
        from_input = torch.nn.functional.linear(x, w_ih, b_ih).numpy()
        from_hidden = torch.nn.functional.linear(h_prev, w_hh, b_hh).numpy()
    H = trace.hidden_size
    detail: dict[str, np.ndarray] = {"h": trace.hidden[stream, step]}
    if trace.projection is None:
        detail["h_prev"] = h_prev.numpy()
    if trace.cell == "lstm":
        pre = from_input + from_hidden
        for k, name in enumerate(("i", "f", "g", "o")):
            detail[f"pre_{name}"] = pre[k * H:(k + 1) * H]
        detail.update(i=trace.gates["input"][stream, step], f=trace.gates["forget"][stream, step],
                      g=trace.gates["candidate"][stream, step], o=trace.gates["output"][stream, step],
                      c=trace.cell_state[stream, step],
                      c_prev=np.zeros(H, dtype=np.float32) if first else trace.cell_state[stream, previous])
    elif trace.cell == "rnn":
        detail["pre_h"] = from_input + from_hidden
    else:
        detail.update(pre_r=from_input[:H] + from_hidden[:H], pre_z=from_input[H:2 * H] + from_hidden[H:2 * H],
                      in_n=from_input[2 * H:], hn=from_hidden[2 * H:],
                      r=trace.gates["reset"][stream, step], z=trace.gates["update"][stream, step],
                      n=trace.gates["candidate"][stream, step])
    return detail


def _band(gate: float) -> str:
    """"high" (>= 0.6), "low" (<= 0.4) or "half": a gate near 0.5 neither keeps nor lets go."""
    return "high" if gate >= 0.6 else "low" if gate <= 0.4 else "half"


def _signed(value: float) -> str:
    """Two decimals with a sign, never "-0.00"."""
    rounded = round(value, 2)
    return f"{rounded if rounded != 0 else 0.0:+.2f}"


_LSTM_SENTENCES = {
    ("high", "low"): "mostly kept its memory", ("high", "high"): "kept its memory and also wrote new content",
    ("high", "half"): "kept its memory and wrote some new content",
    ("low", "high"): "mostly replaced its memory with new content",
    ("low", "low"): "mostly let its memory go and wrote little",
    ("low", "half"): "let its memory go and wrote some new content",
    ("half", "high"): "kept about half its memory and wrote new content",
    ("half", "low"): "kept about half its memory and wrote little",
    ("half", "half"): "kept about half its memory and wrote about half the new content",
}
"""(forget band, input band) -> what an LSTM unit did."""
_GRU_SENTENCES = {"high": "mostly kept its previous state", "low": "mostly took the new candidate",
                  "half": "mixed its previous state and the new candidate about equally"}


def describe_step(cell: str, detail: Mapping[str, np.ndarray], unit: int, first: bool = False,
                  nonlinearity: str = "tanh") -> str:
    """One plain sentence on what a unit did at a step, e.g. "mostly kept its memory (f = 0.93, i = 0.12)".

    Gates within 0.1 of one half are described as such, not as keeping or letting go. At the first token
    there is no memory yet, so only what was written is described.
    """
    if cell == "rnn":
        return (f"has no gate: it rewrote its whole state, h = {nonlinearity}({float(detail['pre_h'][unit]):+.2f}) = "
                f"{_signed(float(detail['h'][unit]))}")
    if first:
        if cell == "lstm":
            return (f"started from an empty memory and wrote {_signed(float(detail['c'][unit]))} into it "
                    f"(input gate i = {float(detail['i'][unit]):.2f})")
        return (f"started from an empty state and took {1 - float(detail['z'][unit]):.2f} of the candidate "
                f"(1 - z, with update gate z = {float(detail['z'][unit]):.2f})")
    if cell == "lstm":
        f, i = float(detail["f"][unit]), float(detail["i"][unit])
        return f"{_LSTM_SENTENCES[_band(f), _band(i)]} (forget gate f = {f:.2f}, input gate i = {i:.2f})"
    z = float(detail["z"][unit])
    return f"{_GRU_SENTENCES[_band(z)]} (update gate z = {z:.2f}; in PyTorch z = 1 keeps the old state)"


def align_tokens(first: Sequence[str], second: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Pair up the positions of two token lists (difflib): (i, j), or None where a token has no partner."""
    slots: list[tuple[int | None, int | None]] = []
    matcher = difflib.SequenceMatcher(a=list(first), b=list(second), autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            slots += list(zip(range(a0, a1), range(b0, b1)))
        else:
            common = min(a1 - a0, b1 - b0) if op == "replace" else 0
            slots += list(zip(range(a0, a0 + common), range(b0, b0 + common)))
            slots += [(i, None) for i in range(a0 + common, a1)]
            slots += [(None, j) for j in range(b0 + common, b1)]
    return slots


def parse_units(text: str, hidden_size: int) -> list[int]:
    """Units typed as "3, 17, 40-45" (in that order, repeats dropped); ValueError says what is wrong.

    Linear and bounded, since the text may come from a share link: at most MAX_UNITS_CHARS characters
    and MAX_UNIT_PARTS numbers or ranges, each of which adds at most ``hidden_size`` units.
    """
    if len(text) > MAX_UNITS_CHARS:
        raise ValueError(f"the unit list is longer than {MAX_UNITS_CHARS:,} characters; "
                         "type numbers and ranges like 3, 17, 40-45")
    parts = [part.strip() for part in text.replace(";", ",").split(",")]
    parts = [part for part in parts if part]
    if len(parts) > MAX_UNIT_PARTS:
        raise ValueError(f"the unit list has more than {MAX_UNIT_PARTS} numbers and ranges; use ranges like 40-45")
    units: dict[int, None] = {}  # an ordered set
    for part in parts:
        first, last = _unit_range(part, hidden_size)
        units.update(dict.fromkeys(range(first, last + 1)))
    if not units:
        raise ValueError("type at least one unit number, for example 3, 17, 40-45")
    return list(units)


def _unit_range(part: str, hidden_size: int) -> tuple[int, int]:
    """One typed part as (first, last): "7" -> (7, 7), "40-45" -> (40, 45); digits are counted before int()."""
    shown = part if len(part) <= 20 else part[:17] + "..."
    bounds = [bound.strip() for bound in part.split("-")]
    if len(bounds) > 2 or not all(bound.isdigit() and bound.isascii() for bound in bounds):
        raise ValueError(f"{shown!r} is not a unit number or a range like 40-45")
    if any(len(bound.lstrip("0")) > len(str(hidden_size)) for bound in bounds):
        raise ValueError(f"unit {shown!r} does not exist: this layer has units 0 to {hidden_size - 1}")
    first, last = int(bounds[0]), int(bounds[-1])
    if first > last:
        raise ValueError(f"the range {shown!r} runs backwards")
    if last >= hidden_size:
        raise ValueError(f"unit {last} does not exist: this layer has units 0 to {hidden_size - 1}")
    return first, last


def format_units(units: Sequence[int]) -> str:
    """Units as parse_units reads them, runs written as ranges: [0, 1, 2, 7] -> "0-2, 7" (keeps share links short)."""
    parts: list[str] = []
    ordered = sorted(set(int(u) for u in units))
    run_start = 0
    for k in range(1, len(ordered) + 1):
        if k == len(ordered) or ordered[k] != ordered[k - 1] + 1:
            first, last = ordered[run_start], ordered[k - 1]
            parts.append(str(first) if first == last else f"{first}-{last}")
            run_start = k
    return ", ".join(parts)


def select_units(trace: "Trace", layer: int, by: str, count: int, model: "SentimentModel | None" = None,
                 typed: str = "") -> list[int]:
    """The units to draw: the top ``count`` by a ranking in RANKINGS, or the typed list when by == "list"."""
    if by == "list":
        return parse_units(typed, trace.hidden_size)
    return rank_units(trace, layer, by, model)[: max(1, count)].tolist()


def units_moved_by_pair(first: "Trace", second: "Trace", slots: Sequence[tuple[int | None, int | None]],
                        quantity: str, layer: int = -1) -> np.ndarray:
    """All units of ``layer``, those the pair moves most first: largest |second - first| over aligned tokens.

    Only slots where both texts have a token count (a missing partner is no difference). Ties keep unit order.
    """
    pairs = [(i, j) for i, j in slots if i is not None and j is not None]
    if not pairs:
        return np.arange(first.hidden_size)
    a = first.quantities()[quantity][layer][[i for i, _ in pairs]]
    b = second.quantities()[quantity][layer][[j for _, j in pairs]]
    return np.argsort(-np.abs(b - a).max(axis=0), kind="stable")


def next_tokens(trace: "Trace", k: int = 5) -> pd.DataFrame:
    """A language model's k likeliest next tokens after each step (Karpathy et al. 2015): one row per step.

    Columns: step, token, then ``next 1`` .. ``next k`` as "word (probability)", likeliest first.
    """
    k = min(k, trace.probs.shape[1])
    best = np.argsort(-trace.probs, axis=1, kind="stable")[:, :k]
    frame = pd.DataFrame({"step": np.arange(len(trace.tokens)), "token": trace.tokens})
    for rank in range(k):
        frame[f"next {rank + 1}"] = [f"{trace.labels[best[t, rank]]} ({trace.probs[t, best[t, rank]]:.2f})"
                                     for t in range(len(trace.tokens))]
    return frame
