"""Models from the user's own code: ``path/to/file.py:function``, a factory that returns a wrapped model.

Used by ``python -m rnnviz serve`` to open the dashboard on a practitioner's model. This runs local,
trusted code (the user's own file, named on their own command line), never anything uploaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .model import SentimentModel

FACTORY_ENV = "RNNVIZ_MODEL_FACTORY"
"""How ``serve`` hands the factory to the Streamlit process it starts."""


def parse_spec(spec: str) -> tuple[Path, str]:
    """``"dir/model.py:build"`` -> (absolute path, function name); ValueError says what is wrong."""
    path, _, function = spec.rpartition(":")
    if not path or not function.isidentifier():
        raise ValueError(f"{spec!r} is not FILE.py:FUNCTION, e.g. my_project/model.py:build")
    file = Path(path).expanduser().resolve()
    if file.suffix != ".py" or not file.is_file():
        raise ValueError(f"{file} is not a Python file")
    return file, function


def build_model(spec: str) -> SentimentModel:
    """Import FILE.py and call FUNCTION(); it must return a model from ``rnnviz.wrap`` (or ``rnnviz.load``)."""
    file, function = parse_spec(spec)
    module_spec = importlib.util.spec_from_file_location(f"rnnviz_factory_{file.stem}", file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    factory = getattr(module, function, None)
    if not callable(factory):
        raise ValueError(f"{file.name} has no function {function!r}")
    model = factory()
    if not isinstance(model, SentimentModel):
        raise TypeError(f"{function}() returned {type(model).__name__}; return rnnviz.wrap(your_module, tokenizer, ...)")
    if not model.info.name:
        model.info.name = function
    return model.eval()
