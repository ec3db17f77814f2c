"""The reading view's running text: every token escaped and tinted, a scale that spreads a review's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import rnnviz
from rnnviz.running_text import (END_CLEARANCE, TintScale, context_html, join_tokens, keep_scale, signed_scale,
                                 tinted_html)

REVIEW = (Path(__file__).parent / "data" / "imdb_review_230.txt").read_text(encoding="utf-8")


def test_every_token_is_escaped_and_carries_its_score_as_a_tooltip():
    tokens = ["<script>alert(1)</script>", "&", 'say "hi"']
    page = tinted_html(tokens, np.array([0.1, 0.5, 0.9]), keep_scale(np.array([0.1, 0.5, 0.9])),
                       hover=["<b>x</b>", "b", 'c"'])
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>x</b>" not in page
    assert page.count('class="rnnviz-token"') == 3 and page.count('title="') == 3


def test_punctuation_and_clitics_attach_to_the_word_before():
    assert join_tokens(["it", "is", "n't", "bad", ",", "(", "really", ")", "."]) == \
        ["", " ", "", " ", "", " ", "", "", ""]


def test_a_whole_review_is_not_one_colour_on_the_keep_scale():
    tr = rnnviz.trace(rnnviz.load("lstm-imdb"), REVIEW)
    assert len(tr.tokens) > 200
    colours = keep_scale(tr.keep).colours(tr.keep)
    assert len(set(colours)) > len(colours) / 3
    positions = keep_scale(tr.keep).position(tr.keep)
    assert (positions < 0.25).mean() < 0.5 and (positions > 0.5).mean() > 0.1


def test_a_signed_scale_is_symmetric_and_ignores_one_outlier():
    scores = np.concatenate([np.linspace(-1, 1, 99), [100.0]])
    scale = signed_scale(scores, "towards positive")
    assert scale.low == -scale.high and scale.high < 5
    assert scale.position(np.array([0.0]))[0] == 0.5


def test_non_finite_scores_do_not_break_the_colours():
    scale = keep_scale(np.array([np.nan, np.inf, 0.5, 0.01]))
    assert len(scale.colours(np.array([np.nan, np.inf, 0.5, 0.01]))) == 4


def test_the_step_context_bolds_the_token_and_escapes_all():
    page = context_html(["a", "<b>", "c"], 1)
    assert "<b>" not in page.replace('<b style', "") and "&lt;b&gt;" in page


def test_a_log_legends_inner_ticks_stay_clear_of_its_end_labels():
    scale = TintScale("Cividis", 2e-4, 0.26, log=True)  # a real review's range: 0.001 and 0.1 sit near the ends
    spots = [spot for spot, _ in scale.ticks()]
    assert spots[0] == 0.0 and spots[-1] == 1.0
    assert all(END_CLEARANCE < spot < 1 - END_CLEARANCE for spot in spots[1:-1])
