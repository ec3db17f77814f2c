"""examples/corpus_explorer.py runs on the shipped index and finds what it says it finds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "corpus_explorer.py"


def test_the_corpus_example_explores_a_unit_searches_a_pattern_and_silences_the_unit(capsys):
    spec = importlib.util.spec_from_file_location("corpus_explorer", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main()
    assert len(result["top"]) == 5 and result["top"]["value"].is_monotonic_decreasing
    assert result["pattern_units"] and result["matches"] >= 1
    assert result["before"] != result["after"]
    printed = capsys.readouterr().out
    assert "words that switch it on" in printed and "silencing unit" in printed
