"""Checkpoints: NAME.safetensors (weights) + NAME.json (config, vocabulary, labels, provenance).

Nothing here unpickles. Every file is checked before use: a broken or hostile checkpoint raises
CheckpointError (a ValueError) whose message says what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file

from .model import ModelConfig, ModelInfo, SentimentModel
from .text import Vocabulary

FORMAT = "rnnviz-checkpoint"
FORMAT_VERSION = 1
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"

MAX_WEIGHTS_BYTES = 512 * 1024 * 1024
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""Per uploaded file; matches server.maxUploadSize in .streamlit/config.toml."""
LIMITS = {"vocab_size": 1_000_000, "embedding_dim": 4096, "hidden_size": 4096, "num_layers": 8, "num_classes": 1000}
"""Upper bounds on a config's sizes, so a hostile JSON cannot ask for terabytes of memory."""
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, with a message that says why."""


def available_models(directory: Path = PRETRAINED_DIR) -> list[str]:
    """Names of the shipped models (each NAME.safetensors with its NAME.json)."""
    return sorted(p.stem for p in directory.glob("*.safetensors") if p.with_suffix(".json").exists())


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The .safetensors path for a shipped model's name or a path to a checkpoint file."""
    path = Path(name_or_path)
    if path.suffix in (".safetensors", ".json") or path.parent != Path("."):
        weights = path.with_suffix(".safetensors")
        if not weights.exists():
            raise CheckpointError(f"no weights file at {weights}")
        return weights
    weights = PRETRAINED_DIR / f"{name_or_path}.safetensors"
    if not weights.exists():
        known = ", ".join(available_models()) or "none"
        raise CheckpointError(f"no shipped model named {str(name_or_path)!r}; shipped models: {known}")
    return weights


def load(name_or_path: str | Path) -> SentimentModel:
    """Load a shipped model by name, or any NAME.safetensors with NAME.json beside it."""
    weights_path = resolve_checkpoint(name_or_path)
    config_path = weights_path.with_suffix(".json")
    if not config_path.exists():
        raise CheckpointError(f"{weights_path.name} needs its config {config_path.name} beside it")
    for path, limit in ((weights_path, MAX_WEIGHTS_BYTES), (config_path, MAX_CONFIG_BYTES)):
        if path.stat().st_size > limit:
            raise CheckpointError(f"{path.name} is larger than the {limit // 2**20} MiB limit")
    model = load_from_bytes(weights_path.read_bytes(), config_path.read_bytes())
    model.info.name = weights_path.stem
    return model


def load_from_bytes(weights: bytes, config: bytes | str) -> SentimentModel:
    """Build a model from the two files' contents (what an upload gives), validating both first."""
    model = SentimentModel(*parse_config(config))
    expected = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    check_safetensors_header(weights, expected)
    try:
        tensors = load_safetensors_bytes(weights)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"the weights file is not valid safetensors data: {error}") from error
    model.load_state_dict({name: tensor.to(torch.float32) for name, tensor in tensors.items()})
    for name, tensor in model.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"weight {name} holds NaN or infinite values")
    model.eval()
    return model


def load_upload(files: Mapping[str, bytes]) -> SentimentModel:
    """A model from uploaded files, by name: exactly one NAME.safetensors and one NAME.json.

    Anything else (.pt, .pth, .bin, .pkl, ...) is refused by name before a byte is read.
    """
    suffixes = {name: Path(name).suffix.lower() for name in files}
    if refused := sorted(name for name, suffix in suffixes.items() if suffix not in (".safetensors", ".json")):
        raise CheckpointError(
            f"only .safetensors weights with their .json config are accepted, not {', '.join(refused)}; "
            "rnnviz never loads pickled files (.pt, .pth, .bin, .pkl)")
    weights = [name for name, suffix in suffixes.items() if suffix == ".safetensors"]
    configs = [name for name, suffix in suffixes.items() if suffix == ".json"]
    if len(weights) != 1 or len(configs) != 1:
        raise CheckpointError("upload exactly two files: NAME.safetensors (weights) and NAME.json (config)")
    for name in (weights[0], configs[0]):
        if len(files[name]) > MAX_UPLOAD_BYTES:
            raise CheckpointError(f"{name} is larger than the {MAX_UPLOAD_BYTES // 2**20} MiB upload limit")
    model = load_from_bytes(files[weights[0]], files[configs[0]])
    model.info.name = Path(weights[0]).stem
    return model


def parse_config(config: bytes | str) -> tuple[ModelConfig, Vocabulary, ModelInfo]:
    """Parse and validate a checkpoint's JSON; every field the model needs is checked here."""
    if isinstance(config, bytes):
        if len(config) > MAX_CONFIG_BYTES:
            raise CheckpointError(f"the config is larger than the {MAX_CONFIG_BYTES // 2**20} MiB limit")
        try:
            config = config.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CheckpointError("the config is not UTF-8 text (is it the weights file?)") from error
    try:
        document = json.loads(config)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"the config is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise CheckpointError("the config must be a JSON object")
    if document.get("format") != FORMAT:
        raise CheckpointError(f"the config's 'format' must be {FORMAT!r}; is this an rnnviz checkpoint?")
    if document.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported format_version {document.get('format_version')!r}; this rnnviz reads {FORMAT_VERSION}")
    for key, kind in (("config", dict), ("vocab", list), ("labels", list)):
        if not isinstance(document.get(key), kind):
            raise CheckpointError(f"the config needs a '{key}' {kind.__name__}")
    fields = document["config"]
    known = set(ModelConfig.__dataclass_fields__)
    if unknown := set(fields) - known:
        raise CheckpointError(f"unknown config fields: {sorted(unknown)}")
    for name, limit in LIMITS.items():
        value = fields.get(name)
        if isinstance(value, int) and value > limit:
            raise CheckpointError(f"config {name}={value} is over the limit of {limit}")
    try:
        model_config = ModelConfig(**fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"invalid model config: {error}") from error
    vocab, labels = document["vocab"], document["labels"]
    if not all(isinstance(token, str) for token in vocab):
        raise CheckpointError("every vocabulary entry must be a string")
    if len(vocab) != model_config.vocab_size:
        raise CheckpointError(f"the vocabulary has {len(vocab)} tokens but vocab_size is {model_config.vocab_size}")
    try:
        vocabulary = Vocabulary(tuple(vocab))
    except ValueError as error:
        raise CheckpointError(f"invalid vocabulary: {error}") from error
    if len(labels) != model_config.num_classes or not all(isinstance(label, str) for label in labels):
        raise CheckpointError(f"'labels' must be {model_config.num_classes} strings, one per class")
    tokenizer = document.get("tokenizer", {})
    info = ModelInfo(
        labels=list(labels),
        lowercase=bool(tokenizer.get("lowercase", True)) if isinstance(tokenizer, dict) else True,
        name=str(document.get("name", "")),
        training=_object_or_empty(document.get("training")),
        metrics=_object_or_empty(document.get("metrics")),
    )
    return model_config, vocabulary, info


def _object_or_empty(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def check_safetensors_header(data: bytes, expected_shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Read the safetensors header by hand and compare it with the tensors the config implies.

    Pickles (torch.save) are recognized by their first bytes and refused without being opened.
    """
    if data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or data[:4] == b"PK\x03\x04":
        raise CheckpointError(
            "this looks like a PyTorch pickle (torch.save), not safetensors; rnnviz never unpickles files. "
            "Convert it with safetensors.torch.save_file(model.state_dict(), 'NAME.safetensors')"
        )
    if len(data) < 8:
        raise CheckpointError("the weights file is truncated: it is shorter than a safetensors header")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8 or header_size > 100_000_000:
        raise CheckpointError("the weights file is not safetensors data or is truncated (bad header size)")
    try:
        header = json.loads(data[8 : 8 + header_size])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError("the weights file is not safetensors data (its header is not JSON)") from error
    if not isinstance(header, dict):
        raise CheckpointError("the weights file is not safetensors data (its header is not a JSON object)")
    header.pop("__metadata__", None)
    found = {name: entry for name, entry in header.items() if isinstance(entry, dict)}
    if missing := sorted(set(expected_shapes) - set(found)):
        raise CheckpointError(f"the weights file lacks tensors the config needs: {missing[:5]}")
    if extra := sorted(set(found) - set(expected_shapes)):
        raise CheckpointError(f"the weights file has tensors the config does not describe: {extra[:5]}")
    data_size = len(data) - 8 - header_size
    for name, shape in expected_shapes.items():
        entry = found[name]
        if entry.get("dtype") not in _FLOAT_DTYPES:
            raise CheckpointError(f"tensor {name} has dtype {entry.get('dtype')!r}; expected a float type")
        if tuple(entry.get("shape", ())) != shape:
            raise CheckpointError(f"tensor {name} has shape {tuple(entry.get('shape', ()))} but the config implies {shape}")
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1] <= data_size):
            raise CheckpointError(f"the weights file is truncated: tensor {name} lies past its end")


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
        "tokenizer": {"scheme": "ptb", "lowercase": model.info.lowercase},
        "training": model.info.training,
        "metrics": model.info.metrics,
        "vocab": list(model.vocab.tokens),
    }
    config_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return weights_path, config_path
