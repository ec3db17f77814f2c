"""Independent references for the tests: DESIGN.md's equations written out step by step in float64 numpy,
reading the weights straight from the nn.LSTM / nn.GRU (nothing from rnnviz.trace or rnnviz.analysis)."""

from __future__ import annotations

import numpy as np
import torch


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def weights_of(model, layer: int) -> list[np.ndarray]:
    """One layer's W_ih, W_hh, b_ih, b_hh in float64, read straight from the nn.LSTM / nn.GRU."""
    return [getattr(model.rnn, f"{k}_l{layer}").detach().double().numpy()
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def textbook_lstm(model, x: np.ndarray) -> list[dict[str, np.ndarray]]:
    """DESIGN.md's LSTM equations, one step at a time, in float64; rows stacked i, f, g, o."""
    layers = []
    for layer in range(model.config.num_layers):
        w_ih, w_hh, b_ih, b_hh = weights_of(model, layer)
        H = w_hh.shape[1]
        h, c = np.zeros(H), np.zeros(H)
        record = {k: [] for k in ("input", "forget", "candidate", "output", "cell_state", "hidden")}
        for x_t in x:
            pre = w_ih @ x_t + b_ih + w_hh @ h + b_hh
            i = sigmoid(pre[:H])
            f = sigmoid(pre[H:2 * H])
            g = np.tanh(pre[2 * H:3 * H])
            o = sigmoid(pre[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            for name, value in zip(record, (i, f, g, o, c, h)):
                record[name].append(value)
        layers.append({k: np.array(v) for k, v in record.items()})
        x = layers[-1]["hidden"]
    return layers


def textbook_gru(model, x: np.ndarray) -> list[dict[str, np.ndarray]]:
    """DESIGN.md's GRU equations (z = 1 keeps the old state), one step at a time; rows stacked r, z, n."""
    layers = []
    for layer in range(model.config.num_layers):
        w_ih, w_hh, b_ih, b_hh = weights_of(model, layer)
        H = w_hh.shape[1]
        h = np.zeros(H)
        record = {k: [] for k in ("reset", "update", "candidate", "hidden")}
        for x_t in x:
            gi, gh = w_ih @ x_t + b_ih, w_hh @ h + b_hh
            r = sigmoid(gi[:H] + gh[:H])
            z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
            n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
            h = (1 - z) * n + z * h
            for name, value in zip(record, (r, z, n, h)):
                record[name].append(value)
        layers.append({k: np.array(v) for k, v in record.items()})
        x = layers[-1]["hidden"]
    return layers


def textbook(model, token_ids) -> list[dict[str, np.ndarray]]:
    """The textbook run of ``model`` over ``token_ids``, layer by layer, from its own embedding."""
    x = model.embedding(torch.as_tensor(token_ids)).detach().double().numpy()
    return (textbook_lstm if model.cell == "lstm" else textbook_gru)(model, x)


def keep_and_contributions(cell: str, record: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DESIGN.md's keep score and each token's part of the final memory, as loops over t and later steps s."""
    share, content, retain = ((record["input"], record["candidate"], record["forget"]) if cell == "lstm"
                              else (1 - record["update"], record["candidate"], record["update"]))
    T, H = share.shape
    keep = np.zeros((T, H))
    for t in range(T):
        kept = share[t].copy()
        for s in range(t + 1, T):
            kept *= retain[s]
        keep[t] = kept
    return keep, keep * content
