"""Tokenizer adapters for rnnviz.wrap: a user's tokenizer seen as one function, text -> (tokens, ids).

Three kinds are read, by duck typing (nothing is downloaded): a Hugging Face-like tokenizer (called on the text,
giving ``input_ids``; ``convert_ids_to_tokens`` names them), a callable ``str -> list[int]`` (an optional ``decode``
attribute names each id), or a dict vocabulary ``{token: id}`` (text split by ``rnnviz.text.tokenize``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .text import UNK, tokenize


@dataclass(frozen=True)
class Reader:
    """How a wrapped model reads text: ``read(text) -> (tokens, ids)``, and the id of unknown words (-1: none)."""

    read: Callable[[str], tuple[list[str], list[int]]]
    unk_id: int = -1
    lowercase: bool = False


def reader(tokenizer: Any) -> Reader:
    """The Reader for any tokenizer kind rnnviz.wrap accepts; TypeError, naming the kinds, for anything else."""
    if isinstance(tokenizer, Mapping):
        return _vocabulary_reader(tokenizer)
    if callable(tokenizer) and callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
        return _hugging_face_reader(tokenizer)
    if callable(tokenizer):
        return _callable_reader(tokenizer)
    raise TypeError("tokenizer must be a callable str -> list[int], a Hugging Face-like tokenizer "
                    f"(__call__ and convert_ids_to_tokens) or a dict {{token: id}}, not {type(tokenizer).__name__}")


def _id_list(ids: Any, source: str) -> list[int]:
    """``ids`` (a list, tuple, array or tensor of one sequence, possibly shaped (1, T)) as a plain list of ints."""
    try:
        flat = torch.as_tensor(ids)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{source} must give a sequence of integer ids, not {type(ids).__name__}") from error
    if flat.dtype.is_floating_point or flat.dtype.is_complex or flat.dtype == torch.bool:
        raise TypeError(f"{source} must give integer ids, not {flat.dtype}")
    if flat.dim() == 2 and flat.shape[0] == 1:
        flat = flat[0]
    if flat.dim() != 1:
        raise TypeError(f"{source} must give one sequence of ids, not shape {tuple(flat.shape)}")
    return [int(i) for i in flat.tolist()]


def _hugging_face_reader(tokenizer: Any) -> Reader:
    def read(text: str) -> tuple[list[str], list[int]]:
        encoded = tokenizer(text)
        ids = encoded["input_ids"] if isinstance(encoded, Mapping) else getattr(encoded, "input_ids", encoded)
        ids = _id_list(ids, "the tokenizer's input_ids")
        return [str(token) for token in tokenizer.convert_ids_to_tokens(ids)], ids

    unk = getattr(tokenizer, "unk_token_id", None)
    return Reader(read, unk if isinstance(unk, int) else -1)


def _callable_reader(tokenizer: Callable[[str], Any]) -> Reader:
    decode = getattr(tokenizer, "decode", None)

    def read(text: str) -> tuple[list[str], list[int]]:
        ids = _id_list(tokenizer(text), "the tokenizer")
        tokens = [str(decode([i])) for i in ids] if callable(decode) else [str(i) for i in ids]
        return tokens, ids

    return Reader(read)


def _vocabulary_reader(vocabulary: Mapping[str, int]) -> Reader:
    """Splits with rnnviz.text.tokenize, lowercasing when every key is lowercase; unknown words read as "<unk>"."""
    lowercase = all(str(token) == str(token).lower() for token in vocabulary)
    unk = vocabulary.get(UNK)

    def read(text: str) -> tuple[list[str], list[int]]:
        tokens = tokenize(text, lowercase=lowercase)
        missing = [token for token in tokens if token not in vocabulary]
        if missing and unk is None:
            raise ValueError(f"{missing[0]!r} is not in the vocabulary, which has no {UNK!r} entry for unknown words")
        return tokens, [int(vocabulary.get(token, unk)) for token in tokens]

    return Reader(read, -1 if unk is None else int(unk), lowercase)
