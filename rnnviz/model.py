"""The sentiment model: embedding -> plain nn.LSTM, nn.GRU or nn.RNN (tanh) -> linear head on the last hidden state.

The head reads the top layer's hidden state, so applying it at every step gives the prediction
"after reading tokens 0..t"; the trace uses exactly that.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .rnn_trace import output_size
from .text import SCHEME, Vocabulary, tokenize

CELLS = ("lstm", "gru", "rnn")
GATE_COUNT = {"lstm": 4, "gru": 3, "rnn": 1}
"""Gate blocks stacked in each layer's weight rows: i, f, g, o for LSTM; r, z, n for GRU; the one tanh block
of a plain RNN (h' = tanh(W_ih x + b_ih + W_hh h + b_hh), which has no gates)."""
RNN_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
MAX_TOKENS = 5000
"""How many tokens a trace or prediction reads; longer text is cut here and the trace says so.

The longest IMDB test review has about 2,700 tokens, so real reviews are read whole."""
TRACE_BUDGET = 2_500_000_000
"""Recurrent multiply-adds one trace of an uploaded model may cost (tokens x ``multiply_adds_per_token``).

About what a shipped model's full 5,000-token trace costs (2.3 billion, half a second here), so an upload
of any size traces in seconds: the 64 MB LSTM with hidden size 2,896 that took 38 s for 500 tokens reads
its first 74 tokens in 3.4 s. ``SentimentModel.limit_compute`` applies it; shipped models are not limited."""


TRACE_THREADS = 1
"""PyTorch intra-op threads per process for serving and the CLI (benchmarks/thread_policy.py): a server runs many
traces at once, one per session thread, and more intra-op threads only make them fight over the cores."""

REUSED_BLOCK_BYTES = 256 * 2**20
"""Freed blocks up to this size stay in the process for the next trace instead of going back to the system.

glibc hands a large block (over 128 KiB to 32 MiB, adaptively) straight from and back to the system, so every trace
of a long review faulted in its buffers afresh: 3,300 page faults per 2,596-token LSTM trace, about a tenth of its
time (benchmarks/trace_speed.py). The server runs at most two traces at once (rnnviz.app.models.TRACES_AT_ONCE), so
what stays is bounded by a trace's buffers per allocator arena (glibc keeps up to 8 per core); the load test's peak
memory did not grow."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def use_serving_policy() -> bool:
    """Apply the serving policy to this process: TRACE_THREADS intra-op threads, and on glibc, freed blocks up to
    REUSED_BLOCK_BYTES kept for reuse. The dashboard, the CLI and the benchmarks call it at start. Returns whether
    the allocator setting took (False on macOS, Windows or another C library, or a glibc that refuses the size:
    then only the threads apply)."""
    torch.set_num_threads(TRACE_THREADS)
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    results = [mallopt(option, REUSED_BLOCK_BYTES) for option in (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD)]
    return all(result == 1 for result in results)


RNN_BACKENDS = ("onednn", "native")
RNN_BACKEND = "onednn"
"""The CPU kernel every trace and prediction runs on (benchmarks/thread_policy.py measures both)."""
_chosen_backend: str | None = None
"""The backend the innermost ``rnn_backend(name)`` block chose; None outside any."""


@contextlib.contextmanager
def rnn_backend(name: str | None = None) -> Iterator[None]:
    """Run RNNs on one CPU backend: "onednn" (PyTorch's default for the LSTM) or "native" (PyTorch's own kernels).

    The GRU has no oneDNN kernel, so for it both mean the native one. Without a name: the backend an enclosing
    ``rnn_backend(name)`` chose, else RNN_BACKEND, so ``with rnn_backend("native"): rnnviz.trace(...)`` traces on
    the native kernels (trace and predict open their own unnamed block). Like PyTorch's flag it sets, the choice is
    the whole process's.
    """
    global _chosen_backend
    chosen = name or _chosen_backend or RNN_BACKEND
    if chosen not in RNN_BACKENDS:
        raise ValueError(f"unknown RNN backend {chosen!r}; choose one of {RNN_BACKENDS}")
    previous_flag, previous_choice = torch.backends.mkldnn.enabled, _chosen_backend
    torch.backends.mkldnn.enabled = chosen == "onednn"
    if name is not None:
        _chosen_backend = name
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous_flag
        if name is not None:
            _chosen_backend = previous_choice


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model's layers (the weights live in the .safetensors file)."""

    cell: str
    vocab_size: int
    embedding_dim: int
    hidden_size: int
    num_layers: int = 1
    num_classes: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.cell, str) or self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {brief_repr(self.cell)}")
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers", "num_classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {brief_repr(value)}")
        if self.num_classes < 2:
            raise ValueError("num_classes must be at least 2")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), not {brief_repr(self.dropout)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def brief_repr(value: Any) -> str:
    """A value for an error message: its repr, cut short (a config may hold a 4,000-digit number or a
    megabyte of text)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -10**12 < value < 10**12:
        return "a very long number"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape, as ``SentimentModel(config, ...).state_dict()`` holds them, without building it.

    Checkpoints are checked against this before any tensor is allocated (a tiny config can ask for gigabytes).
    """
    rows, hidden = GATE_COUNT[config.cell] * config.hidden_size, config.hidden_size
    shapes = {"embedding.weight": (config.vocab_size, config.embedding_dim)}
    for layer in range(config.num_layers):
        inputs = config.embedding_dim if layer == 0 else hidden
        shapes |= {f"rnn.weight_ih_l{layer}": (rows, inputs), f"rnn.weight_hh_l{layer}": (rows, hidden),
                   f"rnn.bias_ih_l{layer}": (rows,), f"rnn.bias_hh_l{layer}": (rows,)}
    return shapes | {"head.weight": (config.num_classes, hidden), "head.bias": (config.num_classes,)}


def parameter_count(config: ModelConfig) -> int:
    """How many numbers the model's weights hold."""
    return sum(math.prod(shape) for shape in parameter_shapes(config).values())


def multiply_adds_per_token(config: ModelConfig) -> int:
    """The recurrent layers' multiply-adds for one token: gate rows x (layer input + hidden size), over layers.

    This is what a trace's time grows with (the embedding lookup and the head are negligible beside it).
    """
    rows, hidden = GATE_COUNT[config.cell] * config.hidden_size, config.hidden_size
    inputs = [config.embedding_dim] + [hidden] * (config.num_layers - 1)
    return sum(rows * (width + hidden) for width in inputs)


@dataclass
class ModelInfo:
    """What a checkpoint says about itself besides its layers: labels, tokenizer, provenance."""

    labels: list[str]
    lowercase: bool = True
    name: str = ""
    tokenizer_scheme: str = SCHEME
    """rnnviz.text's scheme the model reads with: the one it was trained with (a checkpoint that names none reads
    with "ptb", the first release's)."""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class SentimentModel(nn.Module):
    """A text classifier whose recurrent layer is a plain ``torch.nn.LSTM``, ``torch.nn.GRU`` or ``torch.nn.RNN`` (tanh)."""

    def __init__(self, config: ModelConfig, vocab: Vocabulary, info: ModelInfo) -> None:
        super().__init__()
        if len(vocab) != config.vocab_size:
            raise ValueError(f"the vocabulary has {len(vocab)} tokens but the config says {config.vocab_size}")
        if len(info.labels) != config.num_classes:
            raise ValueError(f"{len(info.labels)} labels for {config.num_classes} classes")
        self.config = config
        self.vocab = vocab
        self.info = info
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=vocab.pad_id)
        self.rnn = RNN_CLASSES[config.cell](
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.num_classes)
        self.max_tokens = MAX_TOKENS
        self.limit_reason = f"rnnviz reads at most {MAX_TOKENS:,} tokens of a text"  # why, for a notice when cut

    @property
    def cell(self) -> str:
        return self.config.cell

    @property
    def directions(self) -> int:
        """2 for a bidirectional recurrent module (a wrapped model's), else 1."""
        return 2 if self.rnn.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Numbers each direction of a layer outputs: proj_size for an LSTM with a projection (a wrapped model's),
        else hidden_size."""
        return output_size(self.rnn)

    @property
    def predicts_next_token(self) -> bool:
        """The head scores every word of the vocabulary: a language model, read as its top next tokens."""
        return self.config.num_classes == self.config.vocab_size

    @property
    def labels(self) -> list[str]:
        return self.info.labels

    @property
    def name(self) -> str:
        return self.info.name

    def limit_compute(self, budget: int = TRACE_BUDGET) -> None:
        """Read at most the tokens that ``budget`` multiply-adds pay for (never more than now, at least one).

        Applied to uploaded models, whose size the server does not choose; ``limit_reason`` says so.
        """
        affordable = max(1, budget // multiply_adds_per_token(self.config))
        if affordable < self.max_tokens:
            self.max_tokens = affordable
            self.limit_reason = (f"the compute budget for uploaded models ({budget:,} multiply-adds per trace) "
                                 f"pays for {affordable:,} tokens of this model")

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as this model reads them (before the MAX_TOKENS cut)."""
        return tokenize(text, lowercase=self.info.lowercase, scheme=self.info.tokenizer_scheme)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return self.vocab.encode(tokens)

    def read(self, text: str) -> tuple[list[str], list[int]]:
        """(tokens, ids) of ``text`` as this model reads it, one id per token (before the max_tokens cut).

        ``rnnviz.trace`` and ``predict_proba`` read text only through here, so a wrapped model (rnnviz.wrap)
        can let its own tokenizer produce the ids.
        """
        tokens = self.tokenize(text)
        return tokens, self.encode(tokens)

    def recur(self, embedded: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """The recurrent layers on batch-first input (B, T, D): (top-layer output (B, T, H), final state)."""
        return self.rnn(embedded, state)

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """Top-layer hidden state at every step, (B, T, H), for right-padded ids (B, T)."""
        output, _ = self.recur(self.dropout(self.embedding(ids)))
        return output

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits after each sequence's last real token, (B, n_classes).

        Padding sits after the real tokens, and the RNN is unidirectional, so the state at
        ``lengths - 1`` is exactly what an unpadded run would end with.
        """
        states = self.hidden_states(ids)
        last = states[torch.arange(ids.shape[0]), lengths - 1]
        return self.head(self.dropout(last))

    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities (N, n_classes) for each text, read exactly as ``rnnviz.trace`` reads it.

        Texts are sorted by length and batched with right padding, so a 25,000-review test set
        takes minutes, not hours. A text with no tokens raises ValueError.
        """
        if isinstance(texts, str):
            texts = [texts]
        encoded = []
        for index, text in enumerate(texts):
            _, ids = self.read(text)
            if not ids:
                raise ValueError(f"text {index} has no tokens to read")
            encoded.append(ids)
        return self.predict_ids(encoded, batch_size)

    @torch.no_grad()
    def predict_ids(self, encoded: Sequence[Sequence[int]], batch_size: int = 64) -> np.ndarray:
        """``predict_proba`` for texts already encoded as id lists (each cut to ``max_tokens``)."""
        probs = np.zeros((len(encoded), self.config.num_classes), dtype=np.float32)
        with evaluating(self), rnn_backend():
            for batch, ids, lengths in length_sorted_batches(self, encoded, batch_size):
                probs[batch] = torch.softmax(self(ids, lengths), dim=-1).numpy()
        return probs


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout) inside the block; the module's own mode again after it."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def length_sorted_batches(model: "SentimentModel", encoded: Sequence[Sequence[int]],
                          batch_size: int) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """(text indices, right-padded ids (B, T), lengths) in length order (little padding), each text cut to the
    model's max_tokens; a text with no ids reads as one <unk>."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        rows = [list(encoded[i][: model.max_tokens]) or [model.vocab.unk_id] for i in batch]
        ids, lengths = pad_batch(rows, model.vocab.pad_id)
        yield batch, ids, lengths


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into a (B, T_max) tensor, with their lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return ids, lengths
