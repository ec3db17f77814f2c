"""A batch of sequences through one GRU layer step by step, keeping every gate: PyTorch's own CPU GRU, op for op.

PyTorch's GRU kernel returns only the hidden states, so a trace recomputes the gates from them afterwards in
batched matrix products: the input's and the previous state's, as much work again as the forward's own. For a
batch, running the steps from Python costs less: the same ops the CPU kernel runs (aten's GRUCell with the input
projection computed once for all steps, in the same order, so the states are the module's bit for bit), written
straight into the result, and a step's Python overhead shared by the whole batch.

``python benchmarks/layer_states_speed.py`` (256 units, one thread, best of 5, two runs): at 100 sequences of 160
steps this took 1.00x to 1.09x the module's forward against 1.76x to 2.09x for forward and recompute, at 6
sequences of 2,596 steps 0.98x to 1.27x against 1.83x to 2.22x. For a single sequence the overhead outweighs the
recompute (1.38x against 1.22x at 2,596 steps), so ``rnnviz.rnn_trace`` steps only batches.
"""

from __future__ import annotations

import torch


def gru_states(x: torch.Tensor, weights: dict[str, torch.Tensor | None], h0: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gates and states of one GRU layer and direction over x (B, T, D) from h0 (B, H): reset, update, candidate
    and hidden, each (B, T, H), views of time-major (T, B, ...) buffers."""
    steps, hidden_size = x.shape[1], weights["w_hh"].shape[1]
    from_input = torch.nn.functional.linear(x.transpose(0, 1), weights["w_ih"], weights["b_ih"])  # (T, B, 3H)
    gates = x.new_empty(steps, x.shape[0], 3 * hidden_size)  # reset, update, candidate
    hidden = x.new_empty(steps, x.shape[0], hidden_size)
    recurrent, bias = weights["w_hh"].t(), weights["b_hh"]
    two = 2 * hidden_size  # reset and update come first: one add and one sigmoid for both (elementwise, as aten's)
    input_gates, input_candidate = from_input[..., :two], from_input[..., two:]
    gate_out, candidate_out = gates[..., :two], gates[..., two:]
    resets, updates = gates[..., :hidden_size], gates[..., hidden_size:two]
    h = h0
    for t in range(steps):
        from_hidden = torch.mm(h, recurrent) if bias is None else torch.addmm(bias, h, recurrent)
        torch.add(from_hidden[:, :two], input_gates[t], out=gate_out[t]).sigmoid_()
        candidate = torch.add(input_candidate[t], from_hidden[:, two:].mul_(resets[t]), out=candidate_out[t]).tanh_()
        # h_t = (1 - z) * n + z * h_{t-1}, computed as aten's GRUCell does: (h_{t-1} - n) * z + n
        h = torch.sub(h, candidate, out=hidden[t]).mul_(updates[t]).add_(candidate)
    reset, update, candidate = (block.transpose(0, 1) for block in gates.chunk(3, dim=-1))
    return {"reset": reset, "update": update, "candidate": candidate, "hidden": hidden.transpose(0, 1)}
