"""The instrumented pass: every gate, state and prediction of an LSTM, GRU or plain RNN, token by token.

Fast and exact at once: each layer runs once through PyTorch's fused kernel with that layer's own
weights (rnnviz.rnn_trace.direction_states). On the CPU an LSTM's oneDNN kernel hands over every gate
and cell state from that one pass (rnnviz.onednn_lstm); otherwise, with every h_{t-1} known, all gates
of all steps come from two batched matmuls and the LSTM cell state c_t = f_t * c_{t-1} + i_t * g_t
runs over time as a chunked linear recurrence (rnnviz.scan).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .analysis import final_memory_contributions, keep_matrix, margin_readout, reduce_keeps
from .intervene import Clamp, check_clamps, clamped_states
from .model import SentimentModel, rnn_backend
from .rnn_trace import (GRU_GATES, LSTM_GATES, StateArrays, activation_key, direction_states, direction_weights,
                        kernel_kind, layer_output)


@dataclass
class Trace(StateArrays):
    """Everything one model did while reading one text. Arrays are float32, laid out (layers, T, H)."""

    model_name: str
    cell: str
    labels: list[str]
    text: str
    tokens: list[str]
    token_ids: list[int]
    unknown: np.ndarray
    """(T,) bool: the token is not in the model's vocabulary and was read as <unk>."""
    gates: dict[str, np.ndarray]
    """LSTM: input, forget, output, candidate; GRU: reset, update, candidate; plain RNN: none (empty)."""
    cell_state: np.ndarray | None
    hidden: np.ndarray
    probs: np.ndarray
    """(T, n_classes): the head applied to the top layer's output after each token (``top_output``)."""
    keep_units: np.ndarray
    """(T, H), top layer: share of what token t wrote into unit u that is still there at the end (a plain RNN keeps
    no write as written: 1 for the last token, 0 before; see rnnviz.analysis)."""
    keep: np.ndarray
    """(T,): keep_units averaged over units, weighted by how much token t proposed to write there."""
    keep_read: np.ndarray
    """(T,): keep_units averaged over the units the prediction reads (analysis.reduce_keep_by_readout): does not
    collapse on long texts the way ``keep`` does. Weights come from the predicted class's margin."""
    contributions: np.ndarray
    """(T, H), top layer: token t's part of the final memory (c_T for LSTM, h_T for GRU); sums to it."""
    n_tokens_total: int
    """How many tokens the text has; more than len(tokens) when it was cut at the model's max_tokens."""
    cut_reason: str = ""
    """Why the text was cut, in words for a notice (the model's ``limit_reason``); empty when it was read whole."""
    directions: int = 1
    """2 for a bidirectional model: then the first axis of every array is a *stream*, layer * 2 + direction
    (0 forward, 1 backward, indexed by input position), and keep_units, keep, keep_read and contributions are
    those of the top layer's forward direction (what it holds at the last token)."""
    projection: np.ndarray | None = None
    """(layers, T, P) for an LSTM with ``proj_size`` P: r_t = W_hr h_t, what the module outputs (and the next step,
    the next layer and the head read); ``hidden`` then holds h_t = o_t * tanh(c_t), one value per cell unit. None
    otherwise."""
    nonlinearity: str = "tanh"
    """A plain RNN's nonlinearity, "tanh" or "relu" (torch.nn.RNN's option); "tanh" for LSTM and GRU."""

    @property
    def layer_names(self) -> list[str]:
        """A name for each entry of the arrays' first axis: "layer 0", or "layer 0 forward" / "layer 0 backward"."""
        if self.directions == 1:
            return [f"layer {k}" for k in range(self.num_layers)]
        return [f"layer {k // 2} {'backward' if k % 2 else 'forward'}" for k in range(self.num_layers)]

    @property
    def layer_output(self) -> np.ndarray:
        """(layers, T, H or P): what each layer hands on: ``projection`` for an LSTM with proj_size, else ``hidden``."""
        return self.hidden if self.projection is None else self.projection

    @property
    def top_output(self) -> np.ndarray:
        """(T, directions * H, or * P when projected): what the head reads at each step (both directions' top
        outputs, side by side)."""
        if self.directions == 1:
            return self.layer_output[-1]
        return np.concatenate([self.layer_output[-2], self.layer_output[-1]], axis=1)

    def layer_arrays(self) -> dict[str, np.ndarray]:
        """Every per-layer array by name: ``quantities()`` (one value per cell unit), and "projection" when there is
        one (P values per step)."""
        found = self.quantities()
        if self.projection is not None:
            found["projection"] = self.projection
        return found

    def __getitem__(self, key: str | tuple) -> np.ndarray:
        """``tr["forget", 0]`` -> (T, H) of layer 0 (direction 0); ``tr["hidden", -1, 1]``: top layer, backward; a
        bare name means the top layer's forward direction. Names: the quantities, and "projection" when there is one.
        For an LSTM with proj_size, "hidden" is h_t per cell unit here, while trace_rnn's "hidden" is the module's
        output r_t (this trace's "projection").
        """
        name, layer, direction = activation_key(key)
        named = self.layer_arrays()
        if name not in named:
            raise KeyError(f"{name!r} is not in this trace; it has {', '.join(named)}")
        if not -self.directions <= direction < self.directions:
            raise IndexError(f"direction {direction} does not exist: this model reads {self.directions} way(s)")
        layers = self.num_layers // self.directions
        if not -layers <= layer < layers:
            raise IndexError(f"layer {layer} does not exist: this model has {layers}")
        return named[name][layer % layers * self.directions + direction % self.directions]

    def is_backward(self, layer: int) -> bool:
        """Whether entry ``layer`` of the arrays reads the text from its end (bidirectional models)."""
        return self.directions == 2 and layer % self.num_layers % 2 == 1

    @property
    def truncated(self) -> bool:
        return self.n_tokens_total > len(self.tokens)

    @property
    def hidden_size(self) -> int:
        return int(self.hidden.shape[2])

    @property
    def prediction(self) -> tuple[str, float]:
        """The final label and its probability."""
        best = int(np.argmax(self.probs[-1]))
        return self.labels[best], float(self.probs[-1, best])

    @property
    def nbytes(self) -> int:
        """Memory held by the trace's arrays, in bytes (for caches bounded by size, not count)."""
        arrays = [*self.gates.values(), self.hidden, self.probs, self.keep_units, self.keep, self.keep_read,
                  self.contributions]
        arrays += [array for array in (self.cell_state, self.projection) if array is not None]
        return sum(array.nbytes for array in arrays)

    @property
    def nonfinite(self) -> list[str]:
        """Names of the quantities holding NaN or infinite values ("probs" for the prediction); empty when all are finite.

        A model with huge weights can overflow; such numbers are reported, never drawn.
        """
        named = {**self.layer_arrays(), "probs": self.probs}
        return [name for name, values in named.items() if not np.isfinite(values).all()]

    def keep_matrix(self, layer: int = -1) -> np.ndarray:
        """(T, H) keep scores of one layer: ``keep_units`` for the top layer, computed for the others.

        A backward direction keeps towards the text's start: its keep is computed on the reversed sequence."""
        layer = layer % self.num_layers
        if layer == self.num_layers - self.directions:
            return self.keep_units
        if self.is_backward(layer):
            reversed_steps = {name: values[:, ::-1] for name, values in self.quantities().items()}
            return np.ascontiguousarray(keep_matrix(self.cell, reversed_steps, layer)[::-1])
        return keep_matrix(self.cell, self.quantities(), layer)

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per (step, layer, unit, quantity): step, token, layer, unit, quantity, value.

        Quantities are the gates, cell_state (LSTM), hidden, projection (LSTM with proj_size; its units are the P
        projected ones), and for the top layer keep and contribution.
        """
        layers, steps = self.hidden.shape[:2]
        blocks = []
        per_layer = self.layer_arrays()
        top_only = {"keep": self.keep_units[None], "contribution": self.contributions[None]}
        for name, values in (*per_layer.items(), *top_only.items()):
            layer_ids = np.arange(layers) if name in per_layer else np.array([layers - self.directions])
            grid_layer, grid_step, grid_unit = np.meshgrid(layer_ids, np.arange(steps), np.arange(values.shape[-1]),
                                                           indexing="ij")
            blocks.append(pd.DataFrame({
                "step": grid_step.ravel(), "layer": grid_layer.ravel(), "unit": grid_unit.ravel(),
                "quantity": name, "value": values.ravel(),
            }))
        frame = pd.concat(blocks, ignore_index=True)
        frame.insert(1, "token", np.asarray(self.tokens, dtype=object)[frame["step"].to_numpy()])
        if self.directions == 2:  # the first axis holds streams: split it into layer and direction
            stream = frame["layer"].to_numpy()
            frame["layer"] = stream // 2
            frame.insert(3, "direction", stream % 2)
        frame["quantity"] = frame["quantity"].astype("category")
        return frame

    def steps_frame(self) -> pd.DataFrame:
        """One row per token: step, token, token_id, unknown, keep, keep_read, and the probability of each label."""
        frame = pd.DataFrame({
            "step": np.arange(len(self.tokens)), "token": self.tokens, "token_id": self.token_ids,
            "unknown": self.unknown, "keep": self.keep, "keep_read": self.keep_read,
        })
        for k, label in enumerate(self.labels):
            frame[f"p_{label}"] = self.probs[:, k]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Every number of the trace as plain JSON-ready lists (the same float32 values, as floats)."""
        return {
            "model": self.model_name, "cell": self.cell, "labels": self.labels, "text": self.text,
            "tokens": self.tokens, "token_ids": self.token_ids, "unknown": self.unknown.tolist(),
            "n_tokens_total": self.n_tokens_total, "truncated": self.truncated, "cut_reason": self.cut_reason,
            "layout": "quantity[layer][step][unit]" if self.directions == 1 else
                      "quantity[layer * 2 + direction][step][unit] (direction 0 forward, 1 backward)",
            "directions": self.directions,
            "gates": {name: values.tolist() for name, values in self.gates.items()},
            "cell_state": None if self.cell_state is None else self.cell_state.tolist(),
            "hidden": self.hidden.tolist(),
            "projection": None if self.projection is None else self.projection.tolist(),
            "nonlinearity": self.nonlinearity,
            "probs": self.probs.tolist(),
            "keep": self.keep.tolist(),
            "keep_read": self.keep_read.tolist(),
            "keep_units": self.keep_units.tolist(),
            "contributions": self.contributions.tolist(),
        }


def trace_ids(model: SentimentModel, tokens: list[str], ids: list[int], text: str = "",
              n_tokens_total: int | None = None, interventions: Sequence[Clamp] = ()) -> Trace:
    """Trace already-encoded tokens (at least one). ``trace`` is the usual entry point."""
    if not ids:
        raise ValueError("nothing to trace: the text has no tokens")
    n_tokens_total = len(tokens) if n_tokens_total is None else n_tokens_total
    gate_names = {"lstm": LSTM_GATES, "gru": GRU_GATES}.get(model.cell, ())
    directions = model.directions
    check_clamps(interventions, kernel_kind(model.rnn), model.config.num_layers * directions, model.config.hidden_size)
    with torch.no_grad(), rnn_backend():
        layers, x = _read_streams(model, model.embedding(torch.as_tensor(ids, dtype=torch.long)), interventions)
        probs = torch.softmax(model.head(x), dim=-1).numpy()

    def stack(name: str) -> np.ndarray:
        values = [layer[name] for layer in layers]  # one stream: no copy when its array is already laid out
        return np.ascontiguousarray(values[0][None] if len(values) == 1 else np.stack(values), dtype=np.float32)

    gates = {name: stack(name) for name in gate_names}
    hidden = stack("hidden")
    memory = {**gates, "hidden": hidden}  # what the keep scores read (a plain RNN has only the hidden state)
    top = -directions  # the top layer's forward direction: what it holds at the last token
    keep_units = keep_matrix(model.cell, memory, layer=top)
    readout = _top_readout(model, hidden[top, -1], x[-1])
    keep, keep_read = reduce_keeps(model.cell, memory, keep_units, readout, layer=top)
    return Trace(
        model_name=model.name,
        cell=model.cell,
        labels=list(model.labels),
        text=text,
        tokens=list(tokens),
        token_ids=list(ids),
        unknown=np.asarray(ids) == model.vocab.unk_id,
        gates=gates,
        cell_state=stack("cell_state") if model.cell == "lstm" else None,
        hidden=hidden,
        probs=probs.astype(np.float32),
        keep_units=keep_units,
        keep=keep,
        keep_read=keep_read,
        contributions=final_memory_contributions(model.cell, memory, layer=top, keep_units=keep_units),
        n_tokens_total=n_tokens_total,
        cut_reason=model.limit_reason if n_tokens_total > len(tokens) else "",
        directions=directions,
        projection=stack("projection") if "projection" in layers[0] else None,
        nonlinearity=getattr(model.rnn, "nonlinearity", "tanh"),
    )


def _top_readout(model: SentimentModel, final_hidden: np.ndarray, final_output: torch.Tensor) -> np.ndarray:
    """(H,) margin_readout of the top layer's forward units at the last token, through its projection (when it has
    one) and with a bidirectional model's backward half held at its value."""
    w_hr = direction_weights(model.rnn, model.config.num_layers - 1, 0)["w_hr"]
    held = final_output[final_output.shape[0] // model.directions:]  # the backward half (empty when unidirectional)

    def head_of_units(units: torch.Tensor) -> torch.Tensor:
        forward = units if w_hr is None else torch.nn.functional.linear(units, w_hr.detach())
        return model.head(torch.cat([forward, held]) if len(held) else forward)

    plain = w_hr is None and not len(held)
    return margin_readout(model.head if plain else head_of_units, final_hidden)


def _read_streams(model: SentimentModel, x: torch.Tensor,
                  interventions: Sequence[Clamp] = ()) -> tuple[list[dict[str, np.ndarray]], torch.Tensor]:
    """Every layer and direction's gates and states, as streams (layer * directions + direction), and the top
    layer's output (T, directions * H), which the head reads.

    Each stream runs through the fused kernel, or, when there are interventions, step by step (the fused kernels
    cannot hold a value). A clamp's ``layer`` is a stream and its ``steps`` input positions; a backward direction
    reads the text reversed, so its clamps and results are turned round to input order."""
    kind, directions, steps = kernel_kind(model.rnn), model.directions, len(x)
    count = model.config.num_layers * directions
    h0 = x.new_zeros(model.output_size)
    c0 = x.new_zeros(model.config.hidden_size)
    streams = []
    for layer in range(model.config.num_layers):
        outputs = []
        for direction in range(directions):
            weights = direction_weights(model.rnn, layer, direction)
            source = x.flip(0) if direction else x
            if interventions:
                clamps = [clamp if not direction or clamp.steps is None else
                          replace(clamp, steps=[steps - 1 - int(s) for s in clamp.steps])
                          for clamp in interventions if clamp.layer % count == layer * directions + direction]
                result = clamped_states(kind, source, weights, clamps)
            else:
                result = direction_states(kind, source, weights, h0, c0)
            if direction:
                result = {name: value.flip(0) for name, value in result.items()}
            streams.append({name: value.numpy() for name, value in result.items()})
            outputs.append(layer_output(result))
        x = torch.cat(outputs, dim=1) if directions == 2 else outputs[0]
    return streams, x


def trace(model: SentimentModel, text: str, interventions: Sequence[Clamp] = ()) -> Trace:
    """Run ``model`` over ``text`` once, recording every gate and state at every token.

    ``interventions`` (``rnnviz.Clamp``) re-read the text with gates or states held at chosen values
    (rnnviz.intervene): the result is the trace of that changed run.

    Reads at most ``model.max_tokens`` tokens (5,000 by default); ``Trace.truncated`` says when the
    text was longer and ``Trace.cut_reason`` why. Raises ValueError, with a plain message, for text with
    no tokens, and TypeError for something that is not a model.
    """
    if not isinstance(model, SentimentModel):
        raise TypeError(f"trace needs a model from rnnviz.load (a SentimentModel), not {type(model).__name__}")
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("the text is empty: type or paste some words to trace")
    tokens, ids = model.read(text)
    if not tokens:
        raise ValueError("the text has no readable words (only invisible or control characters)")
    kept = tokens[: model.max_tokens]
    printable = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")  # lone surrogates -> U+FFFD
    return trace_ids(model, kept, ids[: model.max_tokens], text=printable, n_tokens_total=len(tokens),
                     interventions=interventions)
