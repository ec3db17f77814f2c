"""A unit across a corpus, a pattern across a corpus, and an experiment: the notebook version of the
"Units in a corpus" and "What if" views.

    python examples/corpus_explorer.py

Opens the shipped index of gru-sst2 over the SST-2 dev and test sentences, finds the unit whose top-layer
hidden state moves the prediction most on "This is not a bad movie at all.", prints where that unit is highest
across the corpus and the words that switch it on, searches the corpus for the pattern of units that switch on
over "a bad" after the "not", and silences the unit to see how far the prediction moves. Runs in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz import analysis, corpus, patterns  # noqa: E402

MODEL = "gru-sst2"
TEXT = "This is not a bad movie at all."


def main() -> dict:
    model = rnnviz.load(MODEL)
    indexes = corpus.available_indexes(model)
    index = corpus.load(next(iter(indexes.values())))
    print(f"{index.corpus}: {len(index.texts):,} texts, {index.n_tokens:,} tokens")

    tr = rnnviz.trace(model, TEXT)
    unit = int(np.argmax(np.abs(analysis.unit_effects(model, tr))))
    print(f"\nunit {unit} moves the prediction on {TEXT!r} most; its highest positions in the corpus:")
    top = index.top(unit, k=5)
    for row in top.itertuples():
        tokens = index.tokens_of(row.text_id)
        context = " ".join(tokens[max(0, row.position - 4) : row.position]) + f" [{row.token}] " + \
            " ".join(tokens[row.position + 1 : row.position + 4])
        print(f"  {row.value:+.3f}  {context}")
    print("words that switch it on:", ", ".join(index.top_words(unit)["word"].head(8)))

    start = tr.tokens.index("not") + 1
    units = patterns.pattern_units(tr.hidden[-1], start, start + 1, threshold=0.7)
    matches, count = patterns.search(index, units, length=2, threshold=0.7, mode="fast", limit=5)
    print(f"\n{len(units)} units switch on (>= 0.7) over 'a bad' after 'not'; {count} corpus spans do the same:")
    for row in matches.itertuples():
        print(f"  {row.before} [{row.span}] {row.after}")

    silenced = rnnviz.trace(model, TEXT, interventions=[rnnviz.Clamp("hidden", 0.0, layer=0, units=[unit])])
    before, after = float(tr.probs[-1, 1]), float(silenced.probs[-1, 1])
    print(f"\nsilencing unit {unit}: p(positive) at the end moves from {before:.3f} to {after:.3f}")
    return {"unit": unit, "top": top, "pattern_units": units, "matches": count, "before": before, "after": after}


if __name__ == "__main__":
    main()
