"""Figure builders are pure functions of a trace: fixed colour ranges, escaped tokens, the right slices."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

import rnnviz
from rnnviz import analysis, figures
from conftest import random_model

HOSTILE = "<b>bold</b> <script>x</script> & <img src=x onerror=alert(1)>"


@pytest.fixture
def trace(cell):
    return rnnviz.trace(random_model(cell, layers=2, hidden=10), "the movie was not bad at all " + HOSTILE)


def all_text(figure: go.Figure) -> str:
    return figure.to_json()


def test_every_quantity_gets_a_heatmap_with_its_fixed_range(trace):
    for quantity in trace.quantities():
        heat = figures.heatmap(trace, quantity).data[0]
        if quantity in ("input", "forget", "output", "reset", "update"):
            assert (heat.zmin, heat.zmax) == (0, 1) and heat.colorscale[0][1].startswith("#440154")  # Viridis
        elif quantity == "cell_state":
            bound = float(np.abs(trace.cell_state[-1]).max())
            assert heat.zmin == pytest.approx(-bound) and heat.zmax == pytest.approx(bound)
        else:
            assert (heat.zmin, heat.zmax) == (-1, 1)
    keep = figures.heatmap(trace, "keep").data[0]
    assert (keep.zmin, keep.zmax) == (-3, 0), "keep scores: a fixed log scale from 0.001 to 1"
    expected = np.log10(np.clip(trace.keep_units.T, 1e-3, 1))
    np.testing.assert_allclose(np.asarray(keep.z, dtype=float), expected, rtol=1e-6)
    assert list(keep.colorbar.ticktext) == ["0.001", "0.01", "0.1", "1"]


def test_a_heatmap_draws_the_chosen_units_and_tokens_only(trace):
    heat = figures.heatmap(trace, "hidden", layer=0, units=[7, 2], start=2, stop=5).data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), trace.hidden[0, 2:5][:, [7, 2]].T)
    assert list(heat.y) == ["7", "2"] and list(heat.x) == [2, 3, 4]


def test_the_gru_update_gate_is_labelled_with_its_convention():
    tr = rnnviz.trace(random_model("gru"), "a fine film")
    assert "z = 1 keeps the old state" in figures.heatmap(tr, "update").layout.title.text


def test_tokens_are_escaped_in_every_figure(trace):
    slots = analysis.align_tokens(trace.tokens, trace.tokens[1:])
    built = [
        *(figures.heatmap(trace, q) for q in trace.quantities()),
        figures.reading_strip(trace),
        figures.pair_predictions(trace, trace, slots),
        figures.pair_difference(trace, trace, slots, "hidden"),
        figures.gate_heatmaps(trace),
        figures.lstm_gru_comparison(*(rnnviz.trace(random_model(cell), trace.text) for cell in ("lstm", "gru"))),
    ]
    for figure in built:
        text = all_text(figure)
        assert "<b>" not in text and "<script" not in text and "<img" not in text and "<i>" not in text
        assert "&lt;" in text or "\\u0026lt;" in text


def test_gate_heatmaps_stack_every_quantity_on_one_token_axis(trace):
    figure = figures.gate_heatmaps(trace, layer=0, units=[1, 4], start=1, stop=6)
    names = [*trace.quantities(), "keep"]
    assert len(figure.data) == len(names)
    for heat, name in zip(figure.data, names):
        expected = figures.heatmap(trace, name, 0, [1, 4], 1, 6).data[0]
        np.testing.assert_array_equal(np.asarray(heat.z), np.asarray(expected.z))
        assert (heat.zmin, heat.zmax) == (expected.zmin, expected.zmax)
    assert figure.layout[f"xaxis{len(names)}"].ticktext == tuple(figures.safe_label(t) + ("?" if u else "")
                                                                  for t, u in zip(trace.tokens[1:6], trace.unknown[1:6]))


def test_gate_heatmaps_draw_only_the_chosen_panels_in_the_order_chosen(trace):
    figure = figures.gate_heatmaps(trace, panels=["keep", "hidden"])  # as the panel picker lists them
    assert [figures.QUANTITY_TITLES[q] in a.text for a, q in zip(figure.layout.annotations, ["keep", "hidden"])] == [True, True]
    with pytest.raises(ValueError, match="no panel"):
        figures.gate_heatmaps(trace, panels=["no such gate"])


def test_the_reading_strip_shows_keep_and_the_prediction_after_each_token(trace):
    strip = figures.reading_strip(trace)
    keep, line = strip.data[0], strip.data[1]
    np.testing.assert_allclose(np.asarray(keep.z)[0], np.log10(np.clip(trace.keep, 1e-3, 1)), rtol=1e-6)
    assert [value for _, value in keep.customdata[0]] == [f"{k:.3g}" for k in trace.keep], "hover: the real keep"
    np.testing.assert_allclose(np.asarray(line.y), trace.probs[:, 1])


def test_unknown_tokens_are_marked_in_the_strip(trace):
    assert trace.unknown.any()
    assert any(trace_.name == "unknown word" for trace_ in figures.reading_strip(trace).data)


def test_the_saturation_plot_has_one_series_per_sigmoid_gate_with_units_attached(trace):
    figure = figures.saturation_scatter(analysis.saturation(trace), trace.cell)
    gates = {"input", "forget", "output"} if trace.cell == "lstm" else {"reset", "update"}
    assert {d.name.split()[0] for d in figure.data} == gates
    assert all(list(d.customdata) == list(range(10)) for d in figure.data)


def test_minimal_pair_alignment_marks_inserted_tokens():
    first = rnnviz.trace(random_model("lstm"), "the acting was good")
    second = rnnviz.trace(random_model("lstm"), "the acting was not good")
    slots = analysis.align_tokens(first.tokens, second.tokens)
    assert slots == [(0, 0), (1, 1), (2, 2), (None, 3), (3, 4)]
    assert figures.slot_labels(first, second, slots)[3] == "+not"
    heat = figures.pair_difference(first, second, slots, "hidden").data[0]
    assert np.isnan(np.asarray(heat.z, dtype=float)[:, 3]).all()


def test_the_lstm_gru_comparison_aligns_keep_predictions_and_keep_gates_on_one_token_axis():
    text = "a slow but moving film"
    lstm, gru = rnnviz.trace(random_model("lstm"), text), rnnviz.trace(random_model("gru"), text)
    strips, lstm_prediction, lstm_gate, gru_prediction, gru_gate = figures.lstm_gru_comparison(lstm, gru).data
    np.testing.assert_allclose(np.asarray(strips.z, dtype=float), np.log10(np.clip([lstm.keep, gru.keep], 1e-3, 1)),
                               rtol=1e-6)
    np.testing.assert_allclose(lstm_prediction.y, lstm.probs[:, 1])
    np.testing.assert_allclose(gru_prediction.y, gru.probs[:, 1])
    np.testing.assert_allclose(lstm_gate.y, lstm.gates["forget"][-1].mean(1))
    np.testing.assert_allclose(gru_gate.y, gru.gates["update"][-1].mean(1))
    assert {t.xaxis for t in (lstm_prediction, gru_gate)} | {strips.xaxis} <= {"x", "x2", "x3"}


def test_charts_export_as_one_self_contained_html_page(trace):
    page = figures.to_html([figures.reading_strip(trace), figures.heatmap(trace, "hidden")]).decode()
    assert page.startswith("<!DOCTYPE html>") and page.count("plotly.js") >= 1 and page.count('class="plotly-graph-div"') == 2


def test_every_hover_names_the_token_and_its_position(trace):
    heat = figures.gate_heatmaps(trace, panels=["hidden"], start=2, stop=5).data[0]
    assert "%{x}" not in heat.hovertemplate
    assert [str(c) for c in heat.customdata[0]] == [f"{figures.safe_label(trace.tokens[t], 40)} (position {t})"
                                                    for t in range(2, 5)]
    line = figures.prediction_line(trace).data[0]
    assert line.customdata[3].endswith("(position 3)") and "%{x}" not in line.hovertemplate


def test_every_heatmap_panel_carries_its_own_token_labels_and_every_unit_row_is_labelled(trace):
    figure = figures.gate_heatmaps(trace, units=list(range(10)))
    axes = [figure.layout[name] for name in figure.layout if name.startswith("xaxis")]
    assert len(axes) == len(figure.data) and all(axis.showticklabels is not False for axis in axes)
    assert all(figure.layout[name].dtick == 1 for name in figure.layout if name.startswith("yaxis"))


def test_a_one_layer_model_does_not_title_its_panels_with_a_layer():
    tr = rnnviz.trace(random_model("lstm"), "a fine film")
    assert "layer" not in figures.heatmap(tr, "forget").layout.title.text


def test_the_pair_difference_greys_tokens_without_a_partner_unlike_a_zero_difference(trace):
    slots = analysis.align_tokens(trace.tokens, trace.tokens[1:])
    figure = figures.pair_difference(trace, trace, slots, "hidden")
    z = np.asarray(figure.data[0].z, dtype=float)
    assert np.isnan(z).any() and figure.layout.plot_bgcolor == figures.NO_PARTNER_GREY


def test_the_exported_html_names_the_model_text_and_prediction_escaped(trace):
    page = figures.to_html([figures.prediction_line(trace)], title="rnnviz: <b>x</b>",
                           about=["Model: <i>m</i>", "Text: <script>y</script>"]).decode()
    assert "<i>m</i>" not in page and "&lt;i&gt;m&lt;/i&gt;" in page and "<script>y" not in page
