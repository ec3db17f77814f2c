"""About the equations: PyTorch's LSTM, GRU and plain RNN as the trace computes them, and how other texts write them."""

from __future__ import annotations

import streamlit as st

from rnnviz import equations

from ..context import ViewContext
from ..widgets import how_to_read


def render(ctx: ViewContext) -> None:
    how_to_read("The equations exactly as PyTorch computes them (σ is the logistic sigmoid, ⊙ elementwise "
                "product), and how other texts write the same thing.")
    cells = (("LSTM (torch.nn.LSTM)", equations.LSTM, equations.LSTM_NOTE),
             ("GRU (torch.nn.GRU)", equations.GRU, equations.GRU_NOTE),
             ("Plain RNN (torch.nn.RNN)", [equations.rnn_equation("tanh"), equations.rnn_equation("relu")],
              equations.RNN_NOTE))
    for tab, (_, lines, note) in zip(st.tabs([title for title, _, _ in cells]), cells):  # full width: fits 1024 px
        with tab:
            for line in lines:
                st.latex(line)
            st.markdown(note)
    st.subheader("Keep score")
    st.latex(equations.KEEP_SCORE)
    st.markdown("The share of token t's write to unit u still in the final memory (top layer). The reading view's "
                "per-token keep is the mean over units weighted by |candidate|, the size of what the token "
                "proposed to write. The contributions $k_{t,u} \\cdot g_{t,u}$ (GRU: $\\cdot n_{t,u}$) sum over "
                "tokens exactly to the final memory.")
