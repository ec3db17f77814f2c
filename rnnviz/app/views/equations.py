"""About the equations: PyTorch's LSTM, GRU and plain RNN as the trace computes them, and how other texts write them."""

from __future__ import annotations

import streamlit as st

from rnnviz import equations

from ..context import ViewContext
from ..widgets import how_to_read


def render(ctx: ViewContext) -> None:
    how_to_read("The equations exactly as PyTorch computes them (σ is the logistic sigmoid, ⊙ elementwise "
                "product), and how other texts write the same thing.")
    for column, title, lines, note in zip(st.columns(2), ("LSTM (torch.nn.LSTM)", "GRU (torch.nn.GRU)"),
                                          (equations.LSTM, equations.GRU), (equations.LSTM_NOTE, equations.GRU_NOTE)):
        with column:
            st.subheader(title)
            for line in lines:
                st.latex(line)
            st.markdown(note)
    st.subheader("Plain RNN (torch.nn.RNN, tanh)")
    st.latex(equations.RNN[0])
    st.markdown(equations.RNN_NOTE)
    st.subheader("Keep score")
    st.latex(equations.KEEP_SCORE)
    st.markdown("The share of token t's write to unit u still in the final memory (top layer). The reading view's "
                "per-token keep is the mean over units weighted by |candidate|, the size of what the token "
                "proposed to write. The contributions $k_{t,u} \\cdot g_{t,u}$ (GRU: $\\cdot n_{t,u}$) sum over "
                "tokens exactly to the final memory.")
