"""Token attributions: each token's part in the prediction, measured three ways.

The quantity explained is the target margin, logit[target] - mean(other logits), on the whole text.

decomposition          exact, from the gates the trace already holds (no pass of its own).
occlusion              leave a token out, re-read, see the margin move.
integrated_gradients   Captum's LayerIntegratedGradients on the embedding.

``benchmarks/attribution_faithfulness.py`` measures how faithful each one is (deletion AOPC) and what it costs.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .analysis import target_margin
from .model import SentimentModel, evaluating, multiply_adds_per_token, pad_batch, rnn_backend
from .trace import Trace, trace as run_trace

METHODS = ("decomposition", "occlusion", "integrated_gradients")
LSTM_VARIANTS = ("gamma", "beta")
DEFAULT_LSTM_VARIANT = "beta"
"""Chosen by benchmarks/attribution_faithfulness.py: deleting the top tokens by "beta" moves the prediction more
(lstm-imdb, 40 reviews: 0.065 / 0.132 / 0.258 / 0.622 mean probability drop at k = 1, 2, 5, 10 %, against
0.029 / 0.078 / 0.141 / 0.437 for "gamma"; lstm-sst2, 100 sentences: beta ahead at k = 1, 2, 10 %, gamma at 5)."""
IG_STEPS = 50
"""Gauss-Legendre steps of integrated gradients (Captum's default rule), 20x to 40x a trace; ``Attribution.delta``
says how well they did.

On long reviews the path from the blank baseline can cross a near-jump of the margin (one IMDB review: +5 between
alpha 0.064 and 0.065) that 50 steps, or 400, do not resolve; delta then reports it rather than hiding it."""
IG_BATCH_TOKENS = 50_000
"""Interpolation steps per backward pass are capped so that steps x tokens stays under this (bounds memory)."""
OCCLUSION_BUDGET = 100_000_000_000
"""Recurrent multiply-adds occlusion may spend re-reading (``multiply_adds_per_token`` x tokens re-read): about 250,000
tokens of a shipped model, 3 to 5 s on one thread (15x to 33x a trace at 2,500 tokens, benchmarks/
attribution_faithfulness.py). Each deletion re-reads what follows it, so leave-one-out re-reads
T^2 / 2 tokens: exact up to about 700 tokens for the shipped models; longer texts (or bigger models) delete windows
of consecutive tokens (10 to 15 at 2,500 tokens), which keeps the cost flat instead of quadratic in the length."""
BATCH_SIZE = 64


@dataclass
class Attribution:
    """Each token's part of the target margin: ``scores.sum() + rest == margin`` (see ``attribute``)."""

    tokens: list[str]
    scores: np.ndarray
    """(T,) float64: towards the target where positive, against it where negative."""
    target: int
    margin: float
    """logit[target] - mean(other logits) on the whole text."""
    rest: float
    """What no token gets: the head bias (decomposition), the baseline's margin plus ``delta`` (integrated
    gradients), what single deletions leave unexplained (occlusion)."""
    method: str
    delta: float | None = None
    """Integrated gradients only: margin - baseline margin - scores.sum() (Captum's convergence delta, sign flipped)."""
    window: int = 1
    """Occlusion only: how many consecutive tokens each deletion removed (1 unless the text is long, see
    OCCLUSION_BUDGET)."""


def attribute(model: SentimentModel, text: str, method: str = "decomposition", target: int | None = None, *,
              trace: Trace | None = None, variant: str | None = None, n_steps: int = IG_STEPS) -> Attribution:
    """Split the target margin (``target`` defaults to the predicted class) over the tokens of ``text``.

    decomposition: exact. GRU: h_T is a sum of per-token terms (``Trace.contributions``), so the margin is too.
    LSTM: Murdoch & Szlam (2017): c_T splits into per-token terms; h_T = o_T * tanh(c_T) is passed on by
    telescoping tanh differences, "gamma" over the running sums of those terms, "beta" over the cell states
    c_t (``variant``; the default won the faithfulness benchmark). Multi-layer models are decomposed over the
    positions of the top layer: token t's score is what the top layer wrote at step t, which depends on
    tokens 0..t below. Needs a linear head. Pass ``trace`` (rnnviz.trace(model, text)) when at hand.
    occlusion: scores[t] = margin - margin with token t deleted (a window of tokens on long texts: OCCLUSION_BUDGET).
    integrated_gradients: Captum, on the embedding, from the padding embedding at every position, ``n_steps``.

    Raises ValueError for an unknown method or variant, a target that is not a class, or text without tokens.
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {METHODS}")
    if variant is not None and (method != "decomposition" or model.cell != "lstm"):
        raise ValueError("variant chooses between the LSTM decompositions; other methods and GRUs have none")
    tr = _checked_trace(model, text, trace)
    with _evaluating(model):
        logits = _head_logits(model, torch.from_numpy(tr.top_output[-1:]))[0]
        target = _checked_target(target, logits)
        margin = float(target_margin(logits, target))
        if method == "decomposition":
            scores, rest = _decomposition(model, tr, target, variant or DEFAULT_LSTM_VARIANT)
            return Attribution(tr.tokens, scores, target, margin, rest, method)
        if method == "occlusion":
            scores, window = _occlusion(model, tr, target, margin)
            return Attribution(tr.tokens, scores, target, margin, margin - float(scores.sum()), method, window=window)
        scores, baseline_margin, captum_delta = _integrated_gradients(model, tr, target, n_steps)
        return Attribution(tr.tokens, scores, target, margin, baseline_margin - captum_delta, method,
                           delta=-captum_delta)


def _checked_trace(model: SentimentModel, text: str, given: Trace | None) -> Trace:
    """The trace of ``text``: ``given`` when it read the same tokens, else a new one (which checks the text)."""
    if given is None:
        return run_trace(model, text)
    if given.tokens != model.tokenize(text)[: model.max_tokens]:
        raise ValueError("the trace given was not made from this text")
    return given


def _checked_target(target: int | None, logits: torch.Tensor) -> int:
    if target is None:
        return int(logits.argmax())
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < len(logits):
        raise ValueError(f"target must be a class index from 0 to {len(logits) - 1}, not {target!r}")
    return int(target)


@contextlib.contextmanager
def _evaluating(model: SentimentModel) -> Iterator[None]:
    """Eval mode (no dropout) on PyTorch's own RNN kernels, restoring the model's mode afterwards."""
    with evaluating(model), rnn_backend():
        yield


@torch.no_grad()
def _head_logits(model: SentimentModel, hidden: torch.Tensor) -> torch.Tensor:
    """(N, n_classes) float64 logits of the head applied to top-layer states (N, H)."""
    return model.head(hidden).double()


def _margin_weights(model: SentimentModel, target: int) -> tuple[np.ndarray, float]:
    """(w_target - mean other w, b_target - mean other b) in float64: margin = w @ h_T + b for a linear head."""
    if not isinstance(model.head, nn.Linear):
        raise ValueError("the decomposition needs a linear head (nn.Linear); use occlusion or integrated_gradients")
    weight = model.head.weight.detach().double()
    bias = model.head.bias.detach().double() if model.head.bias is not None else weight.new_zeros(len(weight))
    return target_margin(weight.T, target).numpy(), float(target_margin(bias, target))


def _decomposition(model: SentimentModel, tr: Trace, target: int, variant: str) -> tuple[np.ndarray, float]:
    """(scores, head bias part): scores = each token's part of h_T, times the head's margin weights."""
    if tr.cell not in ("lstm", "gru"):
        raise ValueError(f"the decomposition splits a gated memory (LSTM or GRU), which a {tr.cell!r} cell has not; "
                         "use occlusion or integrated_gradients")
    if tr.directions != 1:
        raise ValueError("the decomposition splits one direction's memory; a bidirectional model's head also reads "
                         "the backward direction: use occlusion or integrated_gradients")
    weights, bias = _margin_weights(model, target)
    parts = _lstm_parts(tr, variant) if tr.cell == "lstm" else tr.contributions.astype(np.float64)
    if tr.projection is not None:  # the head reads r_T = W_hr h_T, which splits over tokens as h_T does
        w_hr = getattr(model.rnn, f"weight_hr_l{model.config.num_layers - 1}").detach().double().numpy()
        parts = parts @ w_hr.T
    return parts @ weights, bias


def _lstm_parts(tr: Trace, variant: str) -> np.ndarray:
    """(T, H) float64, summing over t to h_T = o_T * tanh(c_T): o_T * (tanh(s_t) - tanh(s_{t-1})).

    gamma: s_t = sum of the final-cell contributions of tokens 0..t (= c_t decayed by the later forget gates).
    beta: s_t = c_t, the cell state after token t.
    """
    if variant not in LSTM_VARIANTS:
        raise ValueError(f"unknown LSTM decomposition {variant!r}; choose one of {LSTM_VARIANTS}")
    if variant == "gamma":
        states = np.cumsum(tr.contributions.astype(np.float64), axis=0)
    else:
        states = tr.cell_state[-1].astype(np.float64)
    output_gate = tr.gates["output"][-1, -1].astype(np.float64)
    return output_gate * np.diff(np.tanh(states), axis=0, prepend=0.0)


def _occlusion(model: SentimentModel, tr: Trace, target: int, margin: float) -> tuple[np.ndarray, int]:
    """(scores, window): margin minus the margin with each window deleted, spread evenly over its tokens."""
    length = len(tr.token_ids)
    affordable_tokens = OCCLUSION_BUDGET // (multiply_adds_per_token(model.config) * tr.directions)
    # A unidirectional re-read starts at the deletion (half the text on average); a bidirectional one reads it all.
    window = math.ceil(length * length / ((2 if tr.directions == 1 else 1) * affordable_tokens))
    starts = np.arange(0, length, window)
    ends = np.minimum(starts + window, length)
    if tr.directions == 1:
        logits = _head_logits(model, _final_states_without(model, tr, starts, ends))
    else:
        logits = _logits_without(model, tr, starts, ends)
    drops = margin - target_margin(logits, target).numpy()
    return np.repeat(drops / (ends - starts), ends - starts), window


@torch.no_grad()
def _final_states_without(model: SentimentModel, tr: Trace, starts: np.ndarray, ends: np.ndarray) -> torch.Tensor:
    """(N, H) top-layer final state with tokens starts[k]..ends[k]-1 deleted, one row per deletion.

    The RNN reads left to right, so before the deletion nothing changes: each re-read starts from the trace's
    states (every layer) just before ``starts[k]`` and reads only ids[ends[k]:], batched with right padding.
    """
    hidden = _with_empty_step(tr.layer_output)  # what the module outputs and resumes from (r_t with proj_size)
    cells = _with_empty_step(tr.cell_state) if tr.cell == "lstm" else None
    finals = torch.from_numpy(hidden[-1, starts].copy())  # deleting the tail leaves the state before it
    rerun = np.flatnonzero(ends < len(tr.token_ids))
    for batch in np.array_split(rerun, max(1, math.ceil(len(rerun) / BATCH_SIZE))):
        if not len(batch):
            continue
        ids, lengths = pad_batch([tr.token_ids[end:] for end in ends[batch]], model.vocab.pad_id)
        state = torch.from_numpy(hidden[:, starts[batch]])
        if cells is not None:
            state = (state, torch.from_numpy(cells[:, starts[batch]]))
        out, _ = model.recur(model.embedding(ids), state)
        finals[batch] = out[torch.arange(len(batch)), lengths - 1]
    return finals


@torch.no_grad()
def _logits_without(model: SentimentModel, tr: Trace, starts: np.ndarray, ends: np.ndarray) -> torch.Tensor:
    """(N, n_classes) logits with tokens starts[k]..ends[k]-1 deleted, each text re-read whole (a bidirectional model's
    backward direction sees every deletion, so no state can be reused); an emptied text reads as the zero state."""
    rows = [tr.token_ids[:start] + tr.token_ids[end:] for start, end in zip(starts, ends)]
    empty = _head_logits(model, torch.zeros(1, tr.top_output.shape[1]))[0]
    logits = empty.repeat(len(rows), 1)
    filled = [k for k, row in enumerate(rows) if row]
    for batch in np.array_split(np.asarray(filled), max(1, math.ceil(len(filled) / BATCH_SIZE))):
        if len(batch):
            ids, lengths = pad_batch([rows[k] for k in batch], model.vocab.pad_id)
            logits[batch] = model(ids, lengths).double()
    return logits


def _with_empty_step(states: np.ndarray) -> np.ndarray:
    """(layers, T + 1, H): the zero initial state, then ``states``; index t is the state before token t."""
    return np.concatenate([np.zeros_like(states[:, :1]), states], axis=1)


def _integrated_gradients(model: SentimentModel, tr: Trace, target: int,
                          n_steps: int) -> tuple[np.ndarray, float, float]:
    """(scores, baseline margin, Captum's delta): LayerIntegratedGradients on the embedding's output.

    The baseline puts the padding id at every position (its embedding is the padding row, zero unless a
    model trained it), so the path runs from "T blank tokens" to the text. Scores sum over the embedding dims.
    """
    from captum.attr import LayerIntegratedGradients  # imported here: captum pulls in matplotlib

    ids = torch.tensor([tr.token_ids])
    baseline = torch.full_like(ids, model.vocab.pad_id)

    def margin_of(batch: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((batch.shape[0],), batch.shape[1])
        return target_margin(model(batch, lengths), target)

    steps_per_pass = max(1, min(n_steps, IG_BATCH_TOKENS // ids.shape[1]))
    with torch.enable_grad():
        attributions, delta = LayerIntegratedGradients(margin_of, model.embedding).attribute(
            ids, baselines=baseline, n_steps=n_steps, internal_batch_size=steps_per_pass,
            return_convergence_delta=True)
    with torch.no_grad():
        baseline_margin = float(margin_of(baseline)[0])
    scores = attributions[0].detach().sum(dim=-1).double().numpy()
    return scores, baseline_margin, float(delta.detach()[0])
