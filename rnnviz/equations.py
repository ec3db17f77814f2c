"""The LSTM, GRU and plain RNN equations as LaTeX: PyTorch's form, other texts' forms, and one step with live numbers.

Pure strings for ``st.latex`` and ``st.markdown`` (or a notebook's ``IPython.display.Math``), kept here rather than in the app so
the numbers shown in class come from one tested place. Each step equation is written on two lines, the
symbols above and the numbers below, so it stays whole in a narrow column or on a projector.
"""

from __future__ import annotations

from typing import Mapping

LSTM = [
    r"i_t = \sigma(W_{ii}x_t + b_{ii} + W_{hi}h_{t-1} + b_{hi})",
    r"f_t = \sigma(W_{if}x_t + b_{if} + W_{hf}h_{t-1} + b_{hf})",
    r"g_t = \tanh(W_{ig}x_t + b_{ig} + W_{hg}h_{t-1} + b_{hg})",
    r"o_t = \sigma(W_{io}x_t + b_{io} + W_{ho}h_{t-1} + b_{ho})",
    r"c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \tanh(c_t)",
]
GRU = [
    r"r_t = \sigma(W_{ir}x_t + b_{ir} + W_{hr}h_{t-1} + b_{hr})",
    r"z_t = \sigma(W_{iz}x_t + b_{iz} + W_{hz}h_{t-1} + b_{hz})",
    r"n_t = \tanh(W_{in}x_t + b_{in} + r_t \odot (W_{hn}h_{t-1} + b_{hn}))",
    r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
]
RNN = [r"h_t = \tanh(W_{ih}x_t + b_{ih} + W_{hh}h_{t-1} + b_{hh})"]
"""torch.nn.RNN with its default nonlinearity (tanh): no gates, the whole state is rewritten at every step."""
LSTM_NOTE = ("Weight rows are stacked i, f, g, o. Other texts call the candidate $\\tilde c_t$ and write one weight "
             "on the concatenation $[h_{t-1}, x_t]$ with one bias; PyTorch keeps two biases, whose sum is the "
             "textbook bias.")
GRU_NOTE = ("Rows stacked r, z, n. **In PyTorch z = 1 keeps the old state**, as in Cho et al. (2014), who introduced "
            "the GRU, and in *Dive into Deep Learning*. Chung et al. (2014) and Wikipedia write "
            "$h_t = (1 - z_t) \\odot h_{t-1} + z_t \\odot \\tilde h_t$, where z = 1 takes the new candidate. "
            "Cho et al. also apply the reset gate before the matrix product, $U(r_t \\odot h_{t-1})$; PyTorch "
            "(like cuDNN) applies it after: $r_t \\odot (W_{hn}h_{t-1} + b_{hn})$.")
RNN_NOTE = ("No gates: every step squashes the old state through $W_{hh}$ and tanh (PyTorch's default; the option "
            "`nonlinearity=\"relu\"` uses ReLU, the second line) together with the new input. "
            "Other texts (Elman, 1990) write $h_t = \\tanh(W x_t + U h_{t-1} + b)$ with one bias; PyTorch keeps two, "
            "whose sum is that bias. A plain RNN remembers only what survives being multiplied by $W_{hh}$ (and "
            "squashed) once per step, so what it read long ago fades: the vanishing memory that gated cells fix.")
KEEP_SCORE = (r"\text{LSTM: } k_{t,u} = i_{t,u} \prod_{s>t} f_{s,u} \qquad "
              r"\text{GRU: } k_{t,u} = (1 - z_{t,u}) \prod_{s>t} z_{s,u}")


def factor(value: float) -> str:
    """A value in a product, three decimals, bracketed when negative so it reads right: 0.5 \\times (-0.2)."""
    return f"{value:.3f}" if value >= 0 else f"({value:.3f})"


def _two_lines(symbols: str, numbers: str) -> str:
    """Symbols above, numbers below; a long number line (a sum of products) puts its result on a third line, so
    that the whole equation fits a column at 1024 pixels."""
    left, right = symbols.split(" = ", 1)
    worked, _, result = numbers.rpartition(" = ")
    if " + " in worked:
        numbers = rf"{worked} \\ &= {result}"
    return rf"\begin{{aligned}} {left} &= {right} \\ &= {numbers} \end{{aligned}}"


def rnn_equation(nonlinearity: str = "tanh") -> str:
    """torch.nn.RNN's equation with its nonlinearity ("tanh", the default, or "relu")."""
    return RNN[0] if nonlinearity == "tanh" else RNN[0].replace(r"\tanh", r"\operatorname{ReLU}")


def step_equations(cell: str, v: Mapping[str, float], nonlinearity: str = "tanh", projected: bool = False) -> list[str]:
    """One unit's equations at one step with its numbers substituted (``v``: one unit of ``analysis.step_detail``).

    ``cell`` is "lstm", "gru" or "rnn" (``nonlinearity`` "tanh" or "relu"); ``v`` holds the keys ``step_detail``
    gives for that cell. A ``projected`` LSTM (proj_size) reads r_{t-1} = W_hr h_{t-1} in its gates."""
    n = {name: f"{float(value):.3f}" for name, value in v.items()}
    x = {name: factor(float(value)) for name, value in v.items()}
    if cell == "lstm":
        symbols = [line.replace("h_{t-1}", "r_{t-1}") if projected else line for line in LSTM]
        gates = [_two_lines(symbols[k], rf"{function}({n[f'pre_{g}']}) = {n[g]}")
                 for k, (g, function) in enumerate((("i", r"\sigma"), ("f", r"\sigma"), ("g", r"\tanh"), ("o", r"\sigma")))]
        return [
            *gates,
            _two_lines(r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
                       rf"{x['f']} \times {x['c_prev']} + {x['i']} \times {x['g']} = {n['c']}"),
            _two_lines(r"h_t = o_t \odot \tanh(c_t)", rf"{x['o']} \times \tanh({n['c']}) = {n['h']}"),
        ]
    if cell == "rnn":
        function = r"\tanh" if nonlinearity == "tanh" else r"\operatorname{ReLU}"
        return [_two_lines(rnn_equation(nonlinearity), rf"{function}({n['pre_h']}) = {n['h']}")]
    return [
        _two_lines(GRU[0], rf"\sigma({n['pre_r']}) = {n['r']}"),
        _two_lines(GRU[1], rf"\sigma({n['pre_z']}) = {n['z']}"),
        _two_lines(GRU[2], rf"\tanh({n['in_n']} + {x['r']} \times {x['hn']}) = {n['n']}"),
        _two_lines(GRU[3], rf"{factor(1 - float(v['z']))} \times {x['n']} + {x['z']} \times {x['h_prev']} = {n['h']}"),
    ]
