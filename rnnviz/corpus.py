"""A corpus index: what every unit does across thousands of texts (LSTMVis, RNNVis), in one batched pass.

``build(model, texts)`` reads the texts in length-sorted batches, each layer once (an LSTM's gates read from
oneDNN's workspace, a GRU's kept as it steps: ``layer_states``), and keeps, per layer, quantity (each gate, the
cell state, the hidden state) and unit: summary statistics, saturation fractions, a value histogram, the ``TOP_K``
highest positions, and the words that switch the unit on most on average, all from one compiled pass over the
states where they lie (rnnviz.unit_statistics). With ``store_states`` it also keeps the top layer's hidden state at
every position (int8), which pattern search's fast mode scans.

On disk an index is a folder: ``index.json`` (format, model, corpus, quantities, how it was built),
``texts.json`` (the texts and the model's vocabulary) and ``arrays.npz`` (numpy arrays, read with
``allow_pickle=False``); see ``save`` and the README.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from .model import SentimentModel, evaluating, pad_batch, rnn_backend
from .progress import progress as progress_bar
from .rnn_trace import LSTM_GATES, GRU_GATES, direction_states, direction_weights, kernel_kind, layer_output
from .text import UNK
from .unit_statistics import GATE_QUANTITIES, HISTOGRAM_BINS, UnitStatistics, value_range

FORMAT = "rnnviz-corpus-index"
FORMAT_VERSION = 1
TOP_K = 50
"""Highest positions kept per layer, quantity and unit."""
TOP_WORDS = 20
"""Words kept per unit, ranked by the unit's mean value where the word is read."""
MIN_WORD_COUNT = 5
"""A word must occur this often in the corpus to rank among a unit's top words (rare words give noisy means)."""
STATE_SCALE = 127.0
"""Stored hidden states are round(h * 127) as int8: within 0.004 of the float value (|h| <= 1)."""
BATCH_TOKENS = 16_000
"""Padded tokens per batch: large batches make the matmuls efficient, small ones bound memory."""
INDEX_DIR_ENV = "RNNVIZ_INDEX_DIR"
"""A folder of index folders (from ``python -m rnnviz index``) that the dashboard offers besides the shipped ones."""
SHIPPED_INDEXES = Path(__file__).resolve().parent.parent / "pretrained" / "indexes"


def fingerprint(model: SentimentModel) -> str:
    """A short hash of the model's weights: an index is offered only for the very model it was built from."""
    cached = getattr(model, "_rnnviz_fingerprint", None)
    if cached is None:
        digest = hashlib.sha256()
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        cached = digest.hexdigest()[:16]
        model._rnnviz_fingerprint = cached
    return cached


def model_quantities(model: SentimentModel) -> list[str]:
    gates = {"lstm": LSTM_GATES, "gru": GRU_GATES}.get(model.cell, ())
    return [*gates, *(["cell_state"] if model.cell == "lstm" else []), "hidden"]


@dataclass
class CorpusIndex:
    """Per-unit statistics and top positions of one model over one corpus. Arrays are (layers, quantities, H, ...)."""

    model_name: str
    cell: str
    quantities: list[str]
    texts: list[str]
    offsets: np.ndarray
    """(n_texts + 1,): text i's tokens are positions offsets[i] .. offsets[i+1]-1 of the corpus."""
    token_ids: np.ndarray
    """(n_tokens,) int32: the model's id of every token read."""
    mean: np.ndarray
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    shut: np.ndarray
    """Share of positions below SATURATION[0] (gates only; NaN for states)."""
    open: np.ndarray
    """Share of positions above SATURATION[1] (gates only; NaN for states)."""
    histogram: np.ndarray
    """(layers, quantities, H, HISTOGRAM_BINS) counts over value_range(quantity)."""
    top_positions: np.ndarray
    """(layers, quantities, H, K) int64 corpus positions, highest value first."""
    top_values: np.ndarray
    top_word_ids: np.ndarray
    """(layers, quantities, H, TOP_WORDS) vocabulary ids, highest mean first (-1 where fewer words qualify)."""
    top_word_means: np.ndarray
    top_word_counts: np.ndarray
    vocabulary: list[str]
    states: np.ndarray | None = None
    """(n_tokens, H) int8: the top layer's hidden state, when built with store_states."""
    info: dict = field(default_factory=dict)
    """How it was built: seconds, tokens, batch size."""
    corpus: str = ""
    """What the texts are, in words ("SST-2 dev and test sentences")."""
    model_fingerprint: str = ""
    """corpus.fingerprint of the model it was built from."""

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def num_layers(self) -> int:
        return int(self.mean.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.mean.shape[2])

    def _where(self, layer: int, quantity: str) -> tuple[int, int]:
        if quantity not in self.quantities:
            raise KeyError(f"{quantity!r} is not in this index; it has {', '.join(self.quantities)}")
        if not -self.num_layers <= layer < self.num_layers:
            raise IndexError(f"layer {layer} is out of range for {self.num_layers} layer(s)")
        return layer % self.num_layers, self.quantities.index(quantity)

    def _check_unit(self, unit: int) -> None:
        if not 0 <= unit < self.hidden_size:
            raise IndexError(f"unit {unit} is out of range for {self.hidden_size} units")

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Corpus positions -> (text id, position within the text)."""
        positions = np.asarray(positions, dtype=np.int64)
        text_ids = np.searchsorted(self.offsets, positions, side="right") - 1
        return text_ids, positions - self.offsets[text_ids]

    def tokens_of(self, text_id: int) -> list[str]:
        """The tokens of text ``text_id`` as the model read them (unknown words as the vocabulary's <unk>)."""
        ids = self.token_ids[self.offsets[text_id] : self.offsets[text_id + 1]]
        return [self.vocabulary[i] for i in ids]

    def top(self, unit: int, k: int = 10, layer: int = -1, quantity: str = "hidden") -> pd.DataFrame:
        """The k highest values of ``quantity`` in ``unit`` over the corpus, highest first:
        columns text_id, position, token, value (text_id indexes the texts given to ``build``)."""
        layer, q = self._where(layer, quantity)
        self._check_unit(unit)
        kept = self.top_positions.shape[-1]
        if k > kept and kept < self.n_tokens:
            raise ValueError(f"this index keeps the top {kept} positions per unit; k={k}")
        positions = self.top_positions[layer, q, unit, :k]
        values = self.top_values[layer, q, unit, :k]
        kept = positions >= 0
        positions, values = positions[kept], values[kept]
        text_ids, within = self.locate(positions)
        return pd.DataFrame({"text_id": text_ids, "position": within,
                             "token": [self.vocabulary[i] for i in self.token_ids[positions]],
                             "value": values.astype(np.float64)})

    def top_words(self, unit: int, layer: int = -1, quantity: str = "hidden") -> pd.DataFrame:
        """The words after which ``unit`` is highest on average (read at least MIN_WORD_COUNT times): word,
        mean, count."""
        layer, q = self._where(layer, quantity)
        self._check_unit(unit)
        ids = self.top_word_ids[layer, q, unit]
        kept = ids >= 0
        return pd.DataFrame({"word": [self.vocabulary[i] for i in ids[kept]],
                             "mean": self.top_word_means[layer, q, unit][kept].astype(np.float64),
                             "count": self.top_word_counts[layer, q, unit][kept]})

    def unit_summary(self, layer: int = -1) -> pd.DataFrame:
        """One row per unit and quantity: mean, std, min, max, shut and open shares."""
        layer, _ = self._where(layer, self.quantities[-1])
        rows = []
        for q, name in enumerate(self.quantities):
            rows.append(pd.DataFrame({
                "unit": np.arange(self.hidden_size), "quantity": name, "mean": self.mean[layer, q],
                "std": self.std[layer, q], "min": self.minimum[layer, q], "max": self.maximum[layer, q],
                "shut": self.shut[layer, q], "open": self.open[layer, q]}))
        return pd.concat(rows, ignore_index=True)

    def saturation(self, layer: int = -1) -> pd.DataFrame:
        """analysis.saturation's table (gate, unit, low, high) over the whole corpus, for the same scatter plot."""
        layer, _ = self._where(layer, self.quantities[-1])
        return pd.concat([pd.DataFrame({"gate": name, "unit": np.arange(self.hidden_size), "low": self.shut[layer, q],
                                        "high": self.open[layer, q]})
                          for q, name in enumerate(self.quantities) if name in GATE_QUANTITIES], ignore_index=True)

    def histogram_of(self, unit: int, layer: int = -1, quantity: str = "hidden") -> tuple[np.ndarray, np.ndarray]:
        """(bin edges (BINS + 1,), counts (BINS,)) of ``quantity`` in ``unit`` over the corpus."""
        layer, q = self._where(layer, quantity)
        self._check_unit(unit)
        return np.linspace(*value_range(quantity), HISTOGRAM_BINS + 1), self.histogram[layer, q, unit]


def layer_states(model: SentimentModel, ids: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Every quantity of every layer for a right-padded batch (B, T): a list (layers) of name -> (B, T, H), often
    strided views of the kernel's time-major buffers (``UnitStatistics.add`` reads them in place)."""
    kind = kernel_kind(model.rnn)
    x = model.embedding(ids)
    h0 = x.new_zeros(ids.shape[0], model.output_size)
    c0 = x.new_zeros(ids.shape[0], model.config.hidden_size)
    layers = []
    for layer in range(model.config.num_layers):
        states = direction_states(kind, x, direction_weights(model.rnn, layer, 0), h0, c0)
        layers.append(states)
        x = layer_output(states)
    return layers


def tokens_read(lengths: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(steps, members) of every token a right-padded batch of ``lengths`` holds within ``steps`` steps, step by
    step: the order in which an LSTM's kernel leaves its states in memory, which the statistics then read in turn."""
    return (torch.arange(steps)[:, None] < lengths[None, :]).nonzero(as_tuple=True)


def length_batches(lengths: Sequence[int], batch_tokens: int = BATCH_TOKENS) -> list[list[int]]:
    """Text indices sorted by length and grouped so that each padded batch holds about ``batch_tokens``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, current = [], []
    for i in order:
        if current and (len(current) + 1) * lengths[i] > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def encode_corpus(model: SentimentModel, texts: Iterable[str],
                  names: dict[int, str] | None = None) -> tuple[list[str], list[list[int]]]:
    """The texts that have tokens, and their ids cut to the model's max_tokens (as a trace reads them).

    ``names``, when given, collects the first token string read for each id (a wrapped model's tokenizer names
    its ids only as it reads them); the unknown-word id, which stands for many words, is left out."""
    kept, encoded = [], []
    for text in texts:
        tokens, ids = model.read(text)
        if ids:
            kept.append(text)
            encoded.append(ids[: model.max_tokens])
            if names is not None:
                for token_id, token in zip(ids, tokens):
                    names.setdefault(token_id, token)
    return kept, encoded


def _known_tokens(model: SentimentModel) -> Sequence[str] | None:
    """The model's own id -> token list (a shipped or uploaded model's vocabulary); None for a wrapped model."""
    return getattr(model.vocab, "tokens", None)


def _vocabulary(model: SentimentModel, names: dict[int, str] | None) -> list[str]:
    """Each id's token string: the model's vocabulary, or for a wrapped model the ``names`` its tokenizer gave
    ("<id N>" for an id the corpus never holds)."""
    tokens = _known_tokens(model)
    if tokens is not None:
        return list(tokens)
    names = names or {}
    named = {**names, model.vocab.unk_id: UNK} if model.vocab.unk_id >= 0 else names
    return [named.get(i, f"<id {i}>") for i in range(model.config.vocab_size)]


def unreadable(model: SentimentModel) -> str:
    """Why the corpus index cannot read ``model`` (empty when it can): its statistics and pattern search follow one
    direction, and its histograms span bounded values."""
    if model.rnn.bidirectional:
        return "the corpus index reads unidirectional models only (this one is bidirectional)"
    if getattr(model.rnn, "nonlinearity", "tanh") == "relu":
        return "the corpus index reads bounded states (this plain RNN's relu states are not)"
    return ""


@torch.no_grad()
def build(model: SentimentModel, texts: Iterable[str], progress: bool = True, store_states: bool = False,
          k: int = TOP_K, batch_tokens: int = BATCH_TOKENS, corpus: str = "") -> CorpusIndex:
    """Index ``model`` over ``texts``, with a progress bar counted in tokens when ``progress``.

    Texts without a single token the model reads are skipped; ``index.texts`` holds the kept ones, which text
    ids index. ``store_states`` keeps the top layer's hidden state everywhere (int8) for fast pattern search.
    """
    if refusal := unreadable(model):
        raise ValueError(refusal)
    started = time.time()
    names = None if _known_tokens(model) is not None else {}  # only a wrapped model's ids need naming as read
    texts, encoded = encode_corpus(model, texts, names)
    if not texts:
        raise ValueError("no text in the corpus has a token the model reads")
    lengths = [len(ids) for ids in encoded]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    token_ids = np.concatenate([np.asarray(ids, dtype=np.int32) for ids in encoded])
    quantities = model_quantities(model)
    hidden, layers = model.config.hidden_size, model.config.num_layers
    k = min(k, len(token_ids))
    statistics = [[UnitStatistics(q, hidden, model.config.vocab_size, k) for q in quantities] for _ in range(layers)]
    states = np.zeros((len(token_ids), hidden), dtype=np.int8) if store_states else None
    batches = length_batches(lengths, batch_tokens)
    shares = _shares([(layer, s) for layer, layer_statistics in enumerate(statistics) for s in layer_statistics],
                     torch.get_num_threads())
    with evaluating(model), rnn_backend(), _on_every_thread(shares) as add:
        for batch in _bar(batches, progress, len(token_ids), lengths):
            ids, batch_lengths = pad_batch([encoded[i] for i in batch], model.vocab.pad_id)
            steps, members = tokens_read(batch_lengths, ids.shape[1])
            positions = torch.as_tensor(offsets[batch])[members] + steps
            read_ids = ids[members, steps]
            per_layer = layer_states(model, ids)
            add(per_layer, members, steps, positions, read_ids)
            if states is not None:
                top = per_layer[-1]["hidden"][members, steps]
                states[positions.numpy()] = torch.round(top * STATE_SCALE).to(torch.int8).numpy()
            del per_layer  # one batch's states alive at a time: the next pass reuses their memory
    index = _finish(model, texts, offsets, token_ids, quantities, statistics, states, _vocabulary(model, names))
    index.corpus, index.model_fingerprint = corpus, fingerprint(model)
    index.info = {"seconds": round(time.time() - started, 2), "tokens": index.n_tokens, "texts": len(texts),
                  "batch_tokens": batch_tokens, "top_k": k}
    return index


Share = list[tuple[int, UnitStatistics]]
"""Statistics, each with its layer, that one thread updates."""


def _shares(every_statistic: Share, threads: int) -> list[Share]:
    """``every_statistic`` dealt out to ``threads`` threads (at most one share per statistic), gates spread evenly
    (they count saturation too, so they cost more)."""
    by_cost = sorted(every_statistic, key=lambda pair: not pair[1].gate)
    count = max(1, min(threads, len(by_cost)))
    return [by_cost[i::count] for i in range(count)]


def _add_share(share: Share, per_layer: list[dict[str, torch.Tensor]], *read: torch.Tensor) -> None:
    """One batch's states into a share of the statistics; ``read``: members, steps, positions, ids."""
    for layer, unit_statistics in share:
        unit_statistics.add(per_layer[layer][unit_statistics.quantity], *read)


@contextlib.contextmanager
def _on_every_thread(shares: list[Share]) -> Iterator[Callable[..., None]]:
    """Yields ``add(per_layer, *read)``, which updates every share of the statistics with one batch, each share on a
    thread of its own (the caller's thread takes the first; the compiled loop lets go of the GIL), and returns when
    all are done. The model's pass over a batch and its statistics take turns, each on every core: the pass scales
    with threads as PyTorch's forward does, and the shares, which write to separate arrays, scale too (1.5x on two
    cores). The release before ran the model on one thread beside the statistics on the other; the model's pass,
    1.9x a two-thread forward on its own, then set the pace. Each statistic sees the batches in order, so the index
    is the one a single thread builds."""
    if len(shares) == 1:
        yield functools.partial(_add_share, shares[0])
        return

    def add(per_layer: list[dict[str, torch.Tensor]], *read: torch.Tensor) -> None:
        others = [pool.submit(_add_share, share, per_layer, *read) for share in shares[1:]]
        try:
            _add_share(shares[0], per_layer, *read)
        finally:
            for other in others:
                other.result()

    with ThreadPoolExecutor(max_workers=len(shares) - 1, thread_name_prefix="rnnviz-statistics") as pool:
        yield add


def _bar(batches: list[list[int]], show: bool, total: int, lengths: Sequence[int]) -> Iterable[list[int]]:
    """The batches, with a progress bar counted in tokens when ``show``."""
    if not show:
        yield from batches
        return
    bar = progress_bar(None, total=total, desc="indexing", unit="token", unit_scale=True)
    for batch in batches:
        yield batch
        bar.update(sum(lengths[i] for i in batch))
    bar.close()


def _finish(model: SentimentModel, texts: list[str], offsets: np.ndarray, token_ids: np.ndarray,
            quantities: list[str], statistics: list[list[UnitStatistics]], states: np.ndarray | None,
            vocabulary: list[str]) -> CorpusIndex:
    n = float(len(token_ids))
    word_counts = np.bincount(token_ids, minlength=model.config.vocab_size)
    frequent = word_counts >= MIN_WORD_COUNT
    if model.vocab.unk_id >= 0:  # "<unk>" stands for many words: no word of its own
        frequent[model.vocab.unk_id] = False
    top_words = min(TOP_WORDS, int(frequent.sum()))

    def gather(fn) -> np.ndarray:
        return np.stack([np.stack([fn(s) for s in per_layer]) for per_layer in statistics])

    frequent_ids = np.flatnonzero(frequent)
    frequent_counts = word_counts[frequent_ids]

    def word_ranking(s: UnitStatistics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TOP_WORDS frequent words with the highest mean per unit, each (H, TOP_WORDS), padded with -1."""
        means = torch.from_numpy(s.word_sums[frequent_ids] / frequent_counts[:, None].astype(np.float32))
        ids = np.full((means.shape[1], TOP_WORDS), -1, dtype=np.int64)
        values = np.full((means.shape[1], TOP_WORDS), np.nan, dtype=np.float32)
        counts = np.zeros((means.shape[1], TOP_WORDS), dtype=np.int64)
        if top_words:
            best, where = means.topk(top_words, dim=0)
            ids[:, :top_words] = frequent_ids[where.t().numpy()]
            values[:, :top_words] = best.t().numpy()
            counts[:, :top_words] = frequent_counts[where.t().numpy()]
        return ids, values, counts

    # per statistic: top values, top positions, then its words' ids, means and counts
    ranked = {s: (*s.top(), *word_ranking(s)) for per_layer in statistics for s in per_layer}
    mean = gather(lambda s: s.total / n)
    variance = gather(lambda s: s.squares / n) - mean ** 2
    nan = np.full(model.config.hidden_size, np.nan)
    return CorpusIndex(
        model_name=model.name, cell=model.cell, quantities=quantities, texts=texts, offsets=offsets,
        token_ids=token_ids, mean=mean.astype(np.float32), std=np.sqrt(np.clip(variance, 0, None)).astype(np.float32),
        minimum=gather(lambda s: s.low), maximum=gather(lambda s: s.high),
        shut=gather(lambda s: s.shut / n if s.gate else nan).astype(np.float32),
        open=gather(lambda s: s.open / n if s.gate else nan).astype(np.float32),
        histogram=gather(lambda s: s.bins),
        top_values=gather(lambda s: ranked[s][0]), top_positions=gather(lambda s: ranked[s][1]),
        top_word_ids=gather(lambda s: ranked[s][2]), top_word_means=gather(lambda s: ranked[s][3]),
        top_word_counts=gather(lambda s: ranked[s][4]),
        vocabulary=vocabulary, states=states,
    )


_ARRAYS = ("offsets", "token_ids", "mean", "std", "minimum", "maximum", "shut", "open", "histogram",
           "top_positions", "top_values", "top_word_ids", "top_word_means", "top_word_counts")


def save(index: CorpusIndex, folder: str | Path) -> Path:
    """Write ``index.json`` and ``arrays.npz`` (compressed) into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(index, name) for name in _ARRAYS}
    if index.states is not None:
        arrays["states"] = index.states
    np.savez_compressed(folder / "arrays.npz", **arrays)
    texts = {"texts": index.texts, "vocabulary": index.vocabulary}
    (folder / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": index.model_name, "cell": index.cell,
                "model_fingerprint": index.model_fingerprint, "corpus": index.corpus, "quantities": index.quantities,
                "info": index.info}
    (folder / "index.json").write_text(json.dumps(document, indent=1), encoding="utf-8")  # last: a whole index
    return folder


def load(folder: str | Path) -> CorpusIndex:
    """Read an index written by ``save`` (numpy arrays only: no pickle)."""
    folder = Path(folder)
    document = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{folder} is not an rnnviz corpus index (format {FORMAT} version {FORMAT_VERSION})")
    texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in (*_ARRAYS, "states") if name in stored.files}
    missing = set(_ARRAYS) - set(arrays)
    if missing:
        raise ValueError(f"{folder} lacks the arrays {', '.join(sorted(missing))}")
    return CorpusIndex(model_name=document["model"], cell=document["cell"], quantities=document["quantities"],
                       corpus=document.get("corpus", ""), model_fingerprint=document.get("model_fingerprint", ""),
                       texts=texts["texts"], vocabulary=texts["vocabulary"], info=document.get("info", {}),
                       states=arrays.pop("states", None), **arrays)


def available_indexes(model: SentimentModel, folders: Sequence[Path] | None = None) -> dict[str, Path]:
    """Index folders built from exactly this model (same weights): the shipped ones and those under
    $RNNVIZ_INDEX_DIR; corpus name -> folder."""
    if folders is None:
        folders = [SHIPPED_INDEXES] + ([Path(os.environ[INDEX_DIR_ENV])] if os.environ.get(INDEX_DIR_ENV) else [])
    if unreadable(model):
        return {}
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            try:
                document = json.loads((candidate / "index.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (isinstance(document, dict) and document.get("model_fingerprint") == fingerprint(model)
                    and (candidate / "arrays.npz").is_file()):
                found.setdefault(str(document.get("corpus") or candidate.name), candidate)
    return found
