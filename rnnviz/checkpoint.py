"""Checkpoints: NAME.safetensors (weights) + NAME.json (config, vocabulary, labels, provenance).

Nothing here unpickles. Every file is checked before use: a broken or hostile checkpoint raises
CheckpointError (a ValueError) whose message says what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file

from .model import ModelConfig, ModelInfo, SentimentModel, brief_repr, parameter_count, parameter_shapes
from .text import SCHEMES, Vocabulary

FORMAT = "rnnviz-checkpoint"
FORMAT_VERSION = 1
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"

MAX_WEIGHTS_BYTES = 512 * 1024 * 1024
"""A weights file loaded by path (uploads have the smaller MAX_UPLOAD_BYTES)."""
MAX_CONFIG_BYTES = 8 * 1024 * 1024
"""A config file; the shipped ones are 0.2-0.3 MB (vocabularies of 15,000-25,000 words)."""
MAX_CONFIG_VALUES = 300_000
"""JSON values a config may hold (about one per vocabulary entry), counted before it is parsed: Python
spends up to ~70 bytes on each, so this bounds parsing a hostile config at about 20 MB."""
MAX_HEADER_BYTES = 1024 * 1024
"""A safetensors header (JSON naming each tensor); a model of 8 layers needs about 3 KB."""
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""Per uploaded file; matches server.maxUploadSize in .streamlit/config.toml."""
MAX_PARAMETERS = 50_000_000
"""Weights a checkpoint may hold (200 MB as float32), checked from the config before any is allocated.
The shipped models hold about 3.5 million."""
MAX_WEIGHT_MAGNITUDE = 1e6
"""Largest absolute weight accepted: trained networks stay far below it (the shipped ones below 8), and
below it no product in a trace can overflow float32 (weights of 3e38 give infinite and NaN gates)."""
LIMITS = {"vocab_size": 250_000, "embedding_dim": 4096, "hidden_size": 4096, "num_layers": 8, "num_classes": 1000}
"""Upper bounds on a config's sizes, so a hostile JSON cannot ask for terabytes of memory."""
MAX_LABEL_CHARS = 100
MAX_NAME_CHARS = 200
_DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
_TOP_LEVEL = {"format", "format_version", "name", "config", "labels", "tokenizer", "training", "metrics", "vocab"}
_SHARES = ("test_accuracy", "dev_accuracy")
"""Metrics the app shows as percentages."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, with a message that says why."""


TOY_PREFIX = "toy-"
"""Shipped toy models (rnnviz.toys) are named toy-TASK-CELL; they read a handful of words, not reviews."""


def _shipped(directory: Path) -> list[str]:
    """Every NAME.safetensors with its NAME.json, both regular files."""
    return sorted(p.stem for p in directory.glob("*.safetensors") if p.is_file() and p.with_suffix(".json").is_file())


def available_models(directory: Path = PRETRAINED_DIR) -> list[str]:
    """Names of the shipped sentiment models (the toy models are listed by ``available_toys``)."""
    return [name for name in _shipped(directory) if not name.startswith(TOY_PREFIX)]


def available_toys(directory: Path = PRETRAINED_DIR) -> list[str]:
    """Names of the shipped toy models (toy-TASK-CELL), which the lessons use; ``load`` takes them by name too."""
    return [name for name in _shipped(directory) if name.startswith(TOY_PREFIX)]


def resolve_checkpoint(name_or_path: str | os.PathLike[str]) -> Path:
    """The .safetensors path for a shipped model's name or a path to a checkpoint file."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise CheckpointError(f"load takes a shipped model's name or a path to NAME.safetensors, "
                              f"not {type(name_or_path).__name__}")
    text = os.fspath(name_or_path)
    if not isinstance(text, str):
        raise CheckpointError("load takes a path as text, not bytes")
    path = Path(text)
    if path.suffix in (".safetensors", ".json") or path.parent != Path("."):
        weights = path.with_suffix(".safetensors")
        if not _exists(weights):
            raise CheckpointError(f"no weights file at {brief_repr(str(weights))}")
        return weights
    weights = PRETRAINED_DIR / f"{text}.safetensors"
    if not text or not _exists(weights):
        known = ", ".join(available_models()) or "none"
        raise CheckpointError(f"no shipped model named {brief_repr(text)}; shipped models: {known}")
    return weights


def _exists(path: Path) -> bool:
    """Path.exists, False for names the system cannot look up (too long, a NUL byte) instead of raising."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def load(name_or_path: str | os.PathLike[str]) -> SentimentModel:
    """Load a shipped model by name, or any NAME.safetensors with NAME.json beside it."""
    weights_path = resolve_checkpoint(name_or_path)
    config_path = weights_path.with_suffix(".json")
    if not _exists(config_path):
        raise CheckpointError(f"{weights_path.name} needs its config {config_path.name} beside it")
    model = load_from_bytes(read_checkpoint_file(weights_path, MAX_WEIGHTS_BYTES),
                            read_checkpoint_file(config_path, MAX_CONFIG_BYTES))
    model.info.name = _name(weights_path.stem)
    return model


def read_checkpoint_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Checked with stat before it is opened: a directory would raise, and opening a FIFO or a device blocks.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise CheckpointError(f"{path.name} is larger than the {limit // 2**20} MiB limit")
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise CheckpointError(f"cannot read {path.name}: {error.strerror or error}") from error
    if len(data) > limit:  # it grew after the stat
        raise CheckpointError(f"{path.name} is larger than the {limit // 2**20} MiB limit")
    return data


def load_from_bytes(weights: bytes, config: bytes | str) -> SentimentModel:
    """Build a model from the two files' contents (what an upload gives), validating both first.

    Order matters for memory: the config's sizes and the weights' header are checked against each other
    and against MAX_PARAMETERS before a single weight is allocated.
    """
    if not isinstance(weights, (bytes, bytearray)):
        raise CheckpointError(f"the weights must be bytes, not {type(weights).__name__}")
    model_config, vocabulary, info = parse_config(config)
    shapes = parameter_shapes(model_config)
    check_safetensors_header(weights, shapes)
    try:
        tensors = load_safetensors_bytes(bytes(weights))
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"the weights file is not valid safetensors data: {error}") from error
    check_weight_values(tensors)
    model = SentimentModel(model_config, vocabulary, info)
    model.load_state_dict(tensors)  # the header check guarantees the names and shapes; copy_ casts to float32
    model.eval()
    return model


def load_upload(files: Mapping[str, bytes]) -> SentimentModel:
    """A model from uploaded files, by name: exactly one NAME.safetensors and one NAME.json.

    Anything else (.pt, .pth, .bin, .pkl, ...) is refused by name before a byte is read. Uploaded models
    trace within TRACE_BUDGET (``SentimentModel.limit_compute``): the server does not choose their size.
    """
    if not isinstance(files, Mapping) or not all(isinstance(name, str) for name in files):
        raise CheckpointError("uploads come as a mapping from file names to their bytes")
    suffixes = {name: Path(name).suffix.lower() for name in files}
    if refused := sorted(name for name, suffix in suffixes.items() if suffix not in (".safetensors", ".json")):
        raise CheckpointError(
            f"only .safetensors weights with their .json config are accepted, not {', '.join(refused)[:200]}; "
            "rnnviz never loads pickled files (.pt, .pth, .bin, .pkl)")
    weights = [name for name, suffix in suffixes.items() if suffix == ".safetensors"]
    configs = [name for name, suffix in suffixes.items() if suffix == ".json"]
    if len(weights) != 1 or len(configs) != 1:
        raise CheckpointError("upload exactly two files: NAME.safetensors (weights) and NAME.json (config)")
    for name in (weights[0], configs[0]):
        if len(files[name]) > MAX_UPLOAD_BYTES:
            raise CheckpointError(f"{name} is larger than the {MAX_UPLOAD_BYTES // 2**20} MiB upload limit")
    model = load_from_bytes(files[weights[0]], files[configs[0]])
    model.info.name = _name(Path(weights[0]).stem)
    model.limit_compute()
    return model


def parse_config(config: bytes | str) -> tuple[ModelConfig, Vocabulary, ModelInfo]:
    """Parse and validate a checkpoint's JSON: every field is type-checked, sizes are bounded, text is UTF-8."""
    document = _parse_json(_config_text(config), "the config")
    if not isinstance(document, dict):
        raise CheckpointError("the config must be a JSON object")
    _check_strings_encode(document)
    if document.get("format") != FORMAT:
        raise CheckpointError(f"the config's 'format' must be {FORMAT!r}; is this an rnnviz checkpoint?")
    version = document.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(f"unsupported format_version {brief_repr(version)}; this rnnviz reads {FORMAT_VERSION}")
    if unknown := set(document) - _TOP_LEVEL:
        raise CheckpointError(f"unknown fields in the config: {_listed(unknown)}")
    for key, kind in (("config", dict), ("vocab", list), ("labels", list)):
        if not isinstance(document.get(key), kind):
            raise CheckpointError(f"the config needs a '{key}' {kind.__name__}")
    model_config = _model_config(document["config"])
    scheme, lowercase = _tokenizer(document.get("tokenizer", {}))
    info = ModelInfo(
        labels=_labels(document["labels"], model_config.num_classes),
        lowercase=lowercase,
        tokenizer_scheme=scheme,
        name=_name(document.get("name", "")),
        training=_training(document.get("training", {})),
        metrics=_metrics(document.get("metrics", {})),
    )
    return model_config, _vocabulary(document["vocab"], model_config.vocab_size), info


def _config_text(config: bytes | str) -> str:
    """The config as text, refused before parsing when too large or with too many values to parse cheaply."""
    if isinstance(config, (bytes, bytearray)):
        if len(config) > MAX_CONFIG_BYTES:
            raise CheckpointError(f"the config is larger than the {MAX_CONFIG_BYTES // 2**20} MiB limit")
        try:
            config = bytes(config).decode("utf-8")
        except UnicodeDecodeError as error:
            raise CheckpointError("the config is not UTF-8 text (is it the weights file?)") from error
    if not isinstance(config, str):
        raise CheckpointError(f"the config must be bytes or text, not {type(config).__name__}")
    if len(config) > MAX_CONFIG_BYTES:
        raise CheckpointError(f"the config is larger than the {MAX_CONFIG_BYTES // 2**20} MiB limit")
    values = config.count(",") + config.count("[") + config.count("{") + 1  # at least the JSON values it holds
    if values > MAX_CONFIG_VALUES:
        raise CheckpointError(f"the config holds more than {MAX_CONFIG_VALUES:,} values; "
                              f"vocabularies are limited to {LIMITS['vocab_size']:,} words")
    return config


def _parse_json(text: str | bytes, what: str) -> Any:
    """json.loads, with every way it can fail (deep nesting, 5,000-digit numbers) as a CheckpointError."""
    try:
        return json.loads(text)
    except RecursionError as error:
        raise CheckpointError(f"{what} nests JSON too deeply to read") from error
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{what} is not valid JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{what} is not UTF-8 text") from error
    except ValueError as error:  # Python's limit on integer digits
        raise CheckpointError(f"{what} holds a number too long to read") from error


def _check_strings_encode(document: dict[str, Any]) -> None:
    """Refuse text that is not valid UTF-8: JSON's \\ud800 escapes give lone surrogates, which cannot be shown
    or saved (st.metric and the exports raised UnicodeEncodeError)."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CheckpointError("the config holds text that is not valid UTF-8 (a lone surrogate such as \\ud800); "
                              "labels, names and vocabulary entries must be real characters") from error
    except RecursionError as error:
        raise CheckpointError("the config nests JSON too deeply to read") from error


def _model_config(fields: dict[str, Any]) -> ModelConfig:
    """The 'config' object as a ModelConfig, refused when it asks for more than LIMITS or MAX_PARAMETERS allow."""
    if unknown := set(fields) - set(ModelConfig.__dataclass_fields__):
        raise CheckpointError(f"unknown config fields: {_listed(unknown)}")
    for name, limit in LIMITS.items():
        value = fields.get(name)
        if isinstance(value, int) and value > limit:
            raise CheckpointError(f"config {name} is over the limit of {limit:,}")
    try:
        config = ModelConfig(**fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"invalid model config: {error}") from error
    if (count := parameter_count(config)) > MAX_PARAMETERS:
        raise CheckpointError(f"this config describes {count:,} weights; rnnviz loads models of at most "
                              f"{MAX_PARAMETERS:,}")
    return config


def _vocabulary(tokens: list[Any], size: int) -> Vocabulary:
    if not all(isinstance(token, str) for token in tokens):
        raise CheckpointError("every vocabulary entry must be a string")
    if len(tokens) != size:
        raise CheckpointError(f"the vocabulary has {len(tokens):,} tokens but vocab_size is {size:,}")
    try:
        return Vocabulary(tuple(tokens))
    except ValueError as error:
        raise CheckpointError(f"invalid vocabulary: {error}") from error


def _labels(labels: list[Any], count: int) -> list[str]:
    if len(labels) != count or not all(isinstance(label, str) and label.strip() for label in labels):
        raise CheckpointError(f"'labels' must be {count} non-empty strings, one per class")
    if any(len(label) > MAX_LABEL_CHARS for label in labels):
        raise CheckpointError(f"labels are limited to {MAX_LABEL_CHARS} characters")
    if len(set(labels)) != len(labels):
        raise CheckpointError("each class needs its own label; 'labels' lists one twice")
    return list(labels)


def _tokenizer(tokenizer: Any) -> tuple[str, bool]:
    """The tokenizer's scheme (rnnviz.text.SCHEMES; "ptb" when absent) and lowercase flag (a JSON true or false: the
    string "false" would read as true)."""
    if not isinstance(tokenizer, dict):
        raise CheckpointError("'tokenizer' must be an object such as {\"scheme\": \"ptb\", \"lowercase\": true}")
    if unknown := set(tokenizer) - {"scheme", "lowercase"}:
        raise CheckpointError(f"unknown tokenizer fields: {_listed(unknown)}")
    if tokenizer.get("scheme", "ptb") not in SCHEMES:
        raise CheckpointError(f"tokenizer scheme {brief_repr(tokenizer['scheme'])} is not supported; "
                              f"rnnviz reads {_listed(SCHEMES)}")
    lowercase = tokenizer.get("lowercase", True)
    if not isinstance(lowercase, bool):
        raise CheckpointError(f"tokenizer.lowercase must be true or false, not {brief_repr(lowercase)}")
    return tokenizer.get("scheme", "ptb"), lowercase


def _name(name: Any) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise CheckpointError(f"a model's name must be a string of at most {MAX_NAME_CHARS} characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CheckpointError("a model's name must be valid UTF-8 text") from error
    return name


def _training(training: Any) -> dict[str, Any]:
    """Provenance, free-form except for the fields model cards read."""
    if not isinstance(training, dict):
        raise CheckpointError("'training' must be an object")
    for key, valid in (("command", isinstance(training.get("command", ""), str)),
                       ("parameters", _is_count(training.get("parameters", 0))),
                       ("train_seconds", _is_real(training.get("train_seconds", 0)))):
        if not valid:
            raise CheckpointError(f"training.{key} has the wrong type ({brief_repr(training[key])})")
    return training


def _metrics(metrics: Any) -> dict[str, Any]:
    """Numbers or text; the accuracies the app shows as percentages must be numbers from 0 to 1."""
    if not isinstance(metrics, dict):
        raise CheckpointError("'metrics' must be an object")
    for key, value in metrics.items():
        if not (isinstance(value, str) or _is_real(value)):
            raise CheckpointError(f"metrics.{key[:40]} must be a number or text, not {brief_repr(value)}")
        if key in _SHARES and not (_is_real(value) and 0 <= value <= 1):
            raise CheckpointError(f"metrics.{key} must be a number from 0 to 1, not {brief_repr(value)}")
    return metrics


def _is_real(value: Any) -> bool:
    """A finite number that fits a float: not a bool, NaN, infinity or a 400-digit integer."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _listed(names: Any) -> str:
    """A few names for a message, each cut short."""
    names = sorted(names)
    return ", ".join(brief_repr(name) for name in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_safetensors_header(data: bytes, expected_shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Read the safetensors header by hand and compare it with the tensors the config implies.

    Runs before any tensor is allocated. Pickles (torch.save) are recognized by their first bytes and
    refused without being opened.
    """
    if _looks_like_pickle(data):
        raise CheckpointError(
            "this looks like a PyTorch pickle (torch.save), not safetensors; rnnviz never unpickles files. "
            "Convert it with safetensors.torch.save_file(model.state_dict(), 'NAME.safetensors')"
        )
    if len(data) < 8:
        raise CheckpointError("the weights file is truncated: it is shorter than a safetensors header")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise CheckpointError("the weights file is not safetensors data or is truncated (bad header size)")
    if header_size > MAX_HEADER_BYTES:
        raise CheckpointError(f"the weights file's header is over the {MAX_HEADER_BYTES // 2**20} MiB limit")
    header = _parse_json(bytes(data[8 : 8 + header_size]), "the weights file's header")
    if not isinstance(header, dict):
        raise CheckpointError("the weights file is not safetensors data (its header is not a JSON object)")
    header.pop("__metadata__", None)
    if missing := set(expected_shapes) - set(header):
        raise CheckpointError(f"the weights file lacks tensors the config needs: {_listed(missing)}")
    if extra := set(header) - set(expected_shapes):
        raise CheckpointError(f"the weights file has tensors the config does not describe: {_listed(extra)}")
    data_size = len(data) - 8 - header_size
    for name, shape in expected_shapes.items():
        _check_tensor_entry(name, header[name], shape, data_size)


def _looks_like_pickle(data: bytes) -> bool:
    """A pickle's protocol mark or torch.save's zip signature, unless a safetensors header follows its size.

    A safetensors header of 640 bytes starts the file with the same two bytes as a protocol-2 pickle.
    """
    signed = data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or data[:4] == b"PK\x03\x04"
    return signed and data[8:9] != b"{"


def _check_tensor_entry(name: str, entry: Any, shape: tuple[int, ...], data_size: int) -> None:
    """One header entry: a float dtype, the shape the config implies, and bytes that lie inside the file."""
    if not isinstance(entry, dict):
        raise CheckpointError(f"the weights file's entry for {name} is not an object")
    dtype, found_shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _DTYPE_BYTES:
        raise CheckpointError(f"tensor {name} has dtype {brief_repr(dtype)}; "
                              f"expected a float type ({', '.join(_DTYPE_BYTES)})")
    if not isinstance(found_shape, list) or tuple(found_shape) != shape:
        raise CheckpointError(f"tensor {name} has shape {brief_repr(found_shape)} but the config implies {shape}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(offset) for offset in offsets)
            and offsets[0] <= offsets[1] <= data_size):
        raise CheckpointError(f"the weights file is truncated: tensor {name} lies past its end")
    if offsets[1] - offsets[0] != math.prod(shape) * _DTYPE_BYTES[dtype]:
        raise CheckpointError(f"tensor {name}'s byte range does not match its shape and dtype")


def check_weight_values(tensors: Mapping[str, torch.Tensor]) -> None:
    """Every weight finite and at most MAX_WEIGHT_MAGNITUDE in size (larger ones overflow a trace)."""
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"weight {name} holds NaN or infinite values")
        if tensor.numel() and (largest := float(tensor.abs().max())) > MAX_WEIGHT_MAGNITUDE:
            raise CheckpointError(f"weight {name} holds a value of size {largest:.3g}; rnnviz accepts weights up to "
                                  f"{MAX_WEIGHT_MAGNITUDE:.0e}, beyond which the trace's numbers overflow")


def save(model: SentimentModel, stem: str | Path) -> tuple[Path, Path]:
    """Write STEM.safetensors and STEM.json for ``model``; returns both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights_path, config_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    tensors = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(tensors, str(weights_path))
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": stem.name,
        "config": model.config.to_dict(),
        "labels": model.labels,
        "tokenizer": {"scheme": model.info.tokenizer_scheme, "lowercase": model.info.lowercase},
        "training": model.info.training,
        "metrics": model.info.metrics,
        "vocab": list(model.vocab.tokens),
    }
    config_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return weights_path, config_path
