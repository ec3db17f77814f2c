"""examples/bring_your_own_model.py runs in seconds and writes both figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bring_your_own_model.py"


def test_the_example_wraps_a_bidirectional_tagger_and_a_language_model_and_draws_both(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bring_your_own_model", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    written = example.main(tmp_path)
    assert [path.name for path in written] == ["tagger_gates.html", "language_model_gates.html"]
    assert all(path.stat().st_size > 0 for path in written)
    printed = capsys.readouterr().out
    assert printed.count("matched: forward(ids)") == 2 and "next: " in printed
    assert "layer 1 backward" in printed and "dull  tag: praise" in printed  # "not dull at all" reads as praise
