"""Playground: a one-unit LSTM or GRU whose weights and biases are sliders, stepped over numbers you type."""

from __future__ import annotations

import streamlit as st

from ..playground import cell_playground
from ..widgets import how_to_read


def render() -> None:
    cell = st.sidebar.radio("Cell", ["lstm", "gru"], format_func=str.upper, horizontal=True, key="playground_cell")
    st.markdown(f"#### A one-unit {cell.upper()} to play with")
    cell_playground(cell, "remember by default", f"playground_{cell}")
    how_to_read("Pick a preset, then move any slider in the sidebar: the chart and the equations follow at once. "
                "Gates run from 0 (shut) to 1 (open). One bias per gate (PyTorch's two biases add up). For the GRU, "
                "z = 1 keeps the old state (PyTorch's convention).")
