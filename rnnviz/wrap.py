"""rnnviz.wrap: a user's own nn.Module, seen as a SentimentModel that rnnviz.trace, attribute and predict_proba read.

The wrapper builds no layers of its own: ``embedding``, ``rnn`` and ``head`` are the user's submodules (the same
parameters), so every traced number is what the user's module computes. The prediction after token t is ``head``
applied to the top layer's output at step t, as for the shipped models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .model import MAX_TOKENS, ModelConfig, ModelInfo, SentimentModel, evaluating
from .rnn_trace import output_size
from .tokenizers import Reader, reader

RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
PROBE_LENGTH = 6
"""Tokens in the probe that checks the wrapped pieces against the module's own forward."""
PROBE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class IdSpace:
    """What a wrapped model's code reads of a vocabulary: its size, the padding id and the unknown id (-1: none)."""

    size: int
    pad_id: int
    unk_id: int

    def __len__(self) -> int:
        return self.size


class WrappedModel(SentimentModel):
    """A user's module as a SentimentModel: its embedding, recurrent module and head, read through its tokenizer."""

    def __init__(self, module: nn.Module, embedding: nn.Embedding, rnn: nn.RNNBase, head: nn.Module,
                 text_reader: Reader, labels: Sequence[str], name: str) -> None:
        nn.Module.__init__(self)  # SentimentModel.__init__ would build fresh layers; these are the user's
        self.module = module
        self.embedding, self.rnn, self.head = embedding, rnn, head
        self.dropout = nn.Identity()
        self.reader = text_reader
        self.config = ModelConfig(cell=_cell(rnn), vocab_size=embedding.num_embeddings,
                                  embedding_dim=embedding.embedding_dim, hidden_size=rnn.hidden_size,
                                  num_layers=rnn.num_layers, num_classes=len(labels), dropout=float(rnn.dropout))
        pad = embedding.padding_idx
        self.vocab = IdSpace(embedding.num_embeddings, 0 if pad is None else pad, text_reader.unk_id)
        self.info = ModelInfo(labels=list(labels), lowercase=text_reader.lowercase, name=name)
        self.max_tokens = MAX_TOKENS
        self.limit_reason = f"rnnviz reads at most {MAX_TOKENS:,} tokens of a text"
        self.forward_check = ""
        """What the probe against the module's own forward found ("matched ..." or "skipped: why")."""

    def read(self, text: str) -> tuple[list[str], list[int]]:
        """(tokens, ids) from the user's tokenizer; ValueError for an id the embedding has no row for."""
        tokens, ids = self.reader.read(text)
        if len(tokens) != len(ids):
            raise ValueError(f"the tokenizer named {len(tokens)} tokens for {len(ids)} ids")
        bad = [i for i in ids if not 0 <= i < self.config.vocab_size]
        if bad:
            raise ValueError(f"the tokenizer gave id {bad[0]}, but the embedding has {self.config.vocab_size} rows")
        return tokens, ids

    def tokenize(self, text: str) -> list[str]:
        return self.read(text)[0]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        raise TypeError("a wrapped model reads text only whole, through read(text): its tokenizer's token strings "
                        "need not map back to ids")

    def recur(self, embedded: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        if self.rnn.batch_first:
            return self.rnn(embedded, state)
        output, state = self.rnn(embedded.transpose(0, 1), state)
        return output.transpose(0, 1), state

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits at each sequence's last real token. A bidirectional module reads packed sequences, so that its
        backward direction starts at each text's own last token, not in the padding."""
        if not self.rnn.bidirectional:
            return super().forward(ids, lengths)
        embedded = self.embedding(ids)
        if not self.rnn.batch_first:
            embedded = embedded.transpose(0, 1)
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=self.rnn.batch_first,
                                                   enforce_sorted=False)
        output, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True)
        return self.head(output[torch.arange(ids.shape[0]), lengths - 1])


def wrap(module: nn.Module, tokenizer: Any, rnn: str | None = None, embedding: str | None = None,
         head: str | None = None, labels: Sequence[str] | None = None, name: str = "") -> WrappedModel:
    """``module`` as a model rnnviz.trace, rnnviz.attribute and predict_proba accept, in eval mode.

    ``rnn``, ``embedding`` and ``head`` are dotted submodule names; left out, they are found when the module holds
    exactly one nn.Embedding, one nn.LSTM / nn.GRU / nn.RNN, and one direct child with weights that holds neither
    (the head, applied to the top layer's output at each step). ``tokenizer``: see rnnviz.tokenizers. ``labels`` default to
    "class 0", "class 1", ... When the module's forward takes a (1, T) id tensor, a short probe checks that
    embedding -> rnn -> head reproduces it; ValueError says what does not fit. Every option of the recurrent module
    is read: layers, bidirectional (the head then reads both directions' output at each step), batch_first,
    bias=False, LSTM proj_size (the trace then holds each cell unit's h_t and the projection the module outputs),
    tanh or relu nn.RNN. Weights must be on the CPU (ValueError otherwise; rnnviz.trace_rnn traces a module on
    the GPU).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"wrap reads a torch.nn.Module, not {type(module).__name__}")
    devices = sorted({str(p.device) for p in module.parameters()} - {"cpu"})
    if devices:
        raise ValueError(f"rnnviz.wrap reads models on the CPU, and this one has weights on {', '.join(devices)}: "
                         "wrap module.cpu() (rnnviz.trace_rnn traces a recurrent module on the GPU where it is)")
    text_reader = reader(tokenizer)
    embedding_module = _submodule(module, embedding, (nn.Embedding,), "embedding")
    rnn_module = _submodule(module, rnn, RECURRENT, "rnn")
    if embedding_module.embedding_dim != rnn_module.input_size:
        raise ValueError(f"the embedding gives {embedding_module.embedding_dim} numbers per token but the recurrent "
                         f"module reads {rnn_module.input_size}")
    head_module = _submodule(module, head, (nn.Module,), "head") if head else _find_head(module)
    with evaluating(module):
        classes = _head_outputs(head_module, output_size(rnn_module) * (2 if rnn_module.bidirectional else 1))
    labels = [f"class {k}" for k in range(classes)] if labels is None else [str(label) for label in labels]
    if len(labels) != classes:
        raise ValueError(f"{len(labels)} labels for a head with {classes} outputs")
    model = WrappedModel(module, embedding_module, rnn_module, head_module, text_reader, labels,
                         name or type(module).__name__)
    model.eval()
    model.forward_check = _check_forward(model)
    return model


def _cell(rnn: nn.RNNBase) -> str:
    return "lstm" if isinstance(rnn, nn.LSTM) else "gru" if isinstance(rnn, nn.GRU) else "rnn"


def _submodule(module: nn.Module, name: str | None, kinds: tuple[type, ...], role: str) -> Any:
    """The submodule called ``name``, or the only one of ``kinds`` when ``name`` is None (ValueError otherwise)."""
    kind_names = " / ".join(f"nn.{kind.__name__}" for kind in kinds)
    if name is not None:
        try:
            found = module.get_submodule(name)
        except AttributeError as error:
            raise ValueError(f"{type(module).__name__} has no submodule {name!r} ({role}=...)") from error
        if not isinstance(found, kinds):
            raise ValueError(f"{role}={name!r} is a {type(found).__name__}, not a {kind_names}")
        return found
    candidates = [child_name for child_name, child in module.named_modules() if isinstance(child, kinds)]
    if len(candidates) != 1:
        found_text = f"found {len(candidates)}: {', '.join(map(repr, candidates))}" if candidates else "found none"
        raise ValueError(f"cannot tell which {kind_names} is the {role}: {found_text}; name it with {role}=...")
    return module.get_submodule(candidates[0])


def _find_head(module: nn.Module) -> nn.Module:
    """The one direct child with weights that holds no embedding and no recurrent module (those read ids or steps)."""
    candidates = [name for name, child in module.named_children()
                  if any(True for _ in child.parameters())
                  and not any(isinstance(inner, (nn.Embedding, *RECURRENT)) for inner in child.modules())]
    if len(candidates) != 1:
        found_text = f"found {len(candidates)}: {', '.join(map(repr, candidates))}" if candidates else "found none"
        raise ValueError(f"cannot tell which module is the head (applied to the top layer's output): {found_text}; "
                         "name it with head=... (wrap several layers in one nn.Sequential)")
    return module.get_submodule(candidates[0])


@torch.no_grad()
def _head_outputs(head: nn.Module, hidden_size: int) -> int:
    """How many scores the head gives per step (at least 2), found by applying it to a zero state."""
    try:
        out = head(torch.zeros(1, hidden_size))
    except Exception as error:
        raise ValueError(f"the head must take the top layer's output (N, {hidden_size}); it raised "
                         f"{type(error).__name__}: {error}") from error
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the head must map (N, {hidden_size}) to (N, classes); on (1, {hidden_size}) it gave {shape}")
    if out.shape[1] < 2:
        raise ValueError("the head gives 1 score per step; rnnviz reads one score per class (at least 2): for a "
                         "single-logit binary head, pass a head that returns torch.cat([-z, z], dim=-1) / 2")
    return int(out.shape[1])


@torch.no_grad()
def _check_forward(model: WrappedModel) -> str:
    """Compare the module's forward on a probe (1, T) with embedding -> rnn -> head; ValueError on a mismatch.

    Its output may be the last step's scores (1, C) or (C,), or every step's (1, T, C) or (T, 1, C); a forward
    that does not take ids alone, or gives something else, is skipped (the message says why).
    """
    ids = torch.arange(1, PROBE_LENGTH + 1)[None] % model.config.vocab_size
    ours = model.head(model.hidden_states(ids))[0]  # (T, C)
    try:
        theirs = model.module(ids)
    except Exception as error:
        return f"skipped: forward(ids) raised {type(error).__name__}: {error}"
    if isinstance(theirs, (tuple, list)) and theirs:
        theirs = theirs[0]
    if not isinstance(theirs, torch.Tensor):
        return f"skipped: forward(ids) gave a {type(theirs).__name__}, not a tensor"
    steps, classes = ours.shape
    expected = {(1, classes): ours[-1:], (classes,): ours[-1], (1, steps, classes): ours[None],
                (steps, 1, classes): ours[:, None]}.get(tuple(theirs.shape))
    if expected is None:
        return f"skipped: forward(ids) gave shape {tuple(theirs.shape)}, not the head's scores"
    gap = float((theirs.double() - expected.double()).abs().max())
    if not gap <= PROBE_TOLERANCE:
        raise ValueError(
            f"embedding -> rnn -> head does not reproduce {type(model.module).__name__}.forward (largest gap {gap:.3g} "
            f"on a {steps}-token probe): rnnviz shows the head applied to the top layer's output at each step, "
            "so a forward that does more (pooling, extra layers, scaled embeddings, an initial state) does not fit; "
            "pass the modules that do it, or a head that includes the extra work")
    return f"matched: forward(ids) equals embedding -> rnn -> head to {gap:.1g} on a {steps}-token probe"
