"""A whole text as a paragraph, each token tinted by a score: the reading view's main display.

The HTML is built only from escaped strings (``html.escape`` on every token and label), so no user
text can become markup; it carries inline styles and ``title`` tooltips only. Colours come from the
same colour-blind-safe scales as the figures: Cividis for unsigned scores (keep), RdBu for signed
ones (towards / against a class). ``TintScale`` chooses its range from the scores of the text at hand,
so a typical review is never drawn in one colour.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from plotly.colors import sample_colorscale

NO_SPACE_BEFORE = frozenset({".", ",", "!", "?", ";", ":", "...", "''", ")", "]", "}", "n't", "'s", "'re", "'ve",
                             "'ll", "'d", "'m", "%"})
TOKEN_CSS = (".rnnviz-token{padding:1px 2px;border-radius:3px}"
             ".rnnviz-unknown{text-decoration:underline dotted}")
"""Written once per paragraph, not on every one of a long review's thousands of tokens."""
NO_SPACE_AFTER = frozenset({"``", "(", "[", "{", "$", "#"})


END_CLEARANCE = 0.25
"""Inner legend ticks stay this far (a share of the 220 px bar) from each end: an end label such as "2e-04" is
about 35 px wide and sits inside the bar, and a centred inner label such as "0.001" reaches 17 px either side."""


@dataclass(frozen=True)
class TintScale:
    """How scores become colours: a Plotly colour scale over [low, high], linear, log10, or signed."""

    colorscale: str
    low: float
    high: float
    log: bool = False
    signed: bool = False
    legend: str = ""

    def position(self, scores: np.ndarray) -> np.ndarray:
        """Each score's place on the scale, 0..1 (clipped); NaN and inf map to the middle."""
        values = np.asarray(scores, dtype=np.float64)
        finite = np.isfinite(values)
        values = np.where(finite, values, 0.0)
        if self.log:
            values = np.log10(np.clip(values, self.low, self.high))
            low, high = np.log10(self.low), np.log10(self.high)
        else:
            low, high = self.low, self.high
        spot = (np.clip(values, low, high) - low) / max(high - low, 1e-12)
        return np.where(finite, spot, 0.5)

    def colours(self, scores: np.ndarray) -> list[str]:
        """CSS colours (``#rrggbb``) for the scores."""
        return [_hex(colour) for colour in sample_colorscale(self.colorscale, self.position(scores).tolist())]

    def ticks(self, count: int = 5) -> list[tuple[float, str]]:
        """(position 0..1, label) pairs for a legend."""
        if self.log:
            low, high = np.log10(self.low), np.log10(self.high)
            exponents = np.arange(np.ceil(low), np.floor(high) + 1)
            exponents = exponents[:: max(1, int(np.ceil(len(exponents) / count)))]
            inside = [(float((e - low) / (high - low)), _short(10.0 ** e)) for e in exponents]
            inside = [(spot, label) for spot, label in inside if END_CLEARANCE < spot < 1 - END_CLEARANCE]
            return [(0.0, _short(self.low)), *inside, (1.0, _short(self.high))]
        values = np.linspace(self.low, self.high, count)
        return [(float(k / (count - 1)), f"{v:+.2g}" if self.signed else f"{v:.2g}") for k, v in enumerate(values)]


def keep_scale(scores: np.ndarray) -> TintScale:
    """Cividis on a log scale from the text's own 2nd percentile to its largest score.

    Keep scores fall by orders of magnitude from the end of a text to its start, so a fixed 0.001..1
    scale painted every early word of a long review the same dark blue.
    """
    positive = np.asarray(scores, dtype=np.float64)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    if positive.size == 0:
        return TintScale("Cividis", 1e-3, 1.0, log=True, legend="kept (log scale)")
    high = float(positive.max())
    low = min(float(np.percentile(positive, 2)), high / 10.0)
    return TintScale("Cividis", low, high, log=True, legend="kept (log scale)")


def signed_scale(scores: np.ndarray, legend: str) -> TintScale:
    """RdBu, symmetric around 0 at the text's 98th percentile of |score| (one outlier does not wash out the rest)."""
    values = np.abs(np.asarray(scores, dtype=np.float64))
    values = values[np.isfinite(values)]
    bound = float(np.percentile(values, 98)) if values.size else 1.0
    bound = bound if bound > 0 else 1.0
    return TintScale("RdBu", -bound, bound, signed=True, legend=legend)


def _short(value: float) -> str:
    """A legend number: two significant digits, powers of ten below 0.001 as 1e-05."""
    return f"{value:.0e}" if value < 1e-3 else f"{value:.2g}"


def _hex(rgb: str) -> str:
    """'rgb(12, 34, 56)' (Plotly's sampled colours) -> '#0c2238': less than half the bytes in a long page."""
    return "#" + "".join(f"{round(float(part)):02x}" for part in rgb[rgb.index("(") + 1 : -1].split(","))


def _ink(background: str) -> str:
    """Black or white text, whichever reads better on the ``#rrggbb`` background (relative luminance)."""
    r, g, b = (int(background[k : k + 2], 16) for k in (1, 3, 5))
    return "#000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 else "#fff"


def join_tokens(tokens: Sequence[str]) -> list[str]:
    """The separator before each token: "" before closing punctuation and clitics, " " otherwise."""
    separators = []
    for index, token in enumerate(tokens):
        glued = index == 0 or token in NO_SPACE_BEFORE or tokens[index - 1] in NO_SPACE_AFTER
        separators.append("" if glued else " ")
    return separators


def tinted_html(tokens: Sequence[str], scores: np.ndarray, scale: TintScale, hover: Sequence[str],
                unknown: Sequence[bool] | None = None, font_px: int = 16) -> str:
    """The tokens as one wrapping paragraph, each on its score's colour, with ``hover`` as its tooltip.

    Unknown words are underlined with dots. Every token and tooltip is HTML-escaped.
    """
    spans = []
    for index, (separator, token, colour, tip) in enumerate(zip(join_tokens(tokens), tokens, scale.colours(scores), hover)):
        unknown_class = " rnnviz-unknown" if unknown is not None and unknown[index] else ""
        spans.append(
            f'{separator}<span class="rnnviz-token{unknown_class}" title="{html.escape(tip, quote=True)}" '
            f'style="background:{colour};color:{_ink(colour)}">{html.escape(token)}</span>')
    return (f"<style>{TOKEN_CSS}</style>"
            f'<div class="rnnviz-running-text" style="font-size:{font_px}px;line-height:1.6;'
            f'font-family:sans-serif;word-wrap:break-word">{"".join(spans)}</div>')


def legend_html(scale: TintScale, note: str = "") -> str:
    """A horizontal colour bar with its ticks and the scale's meaning, as escaped HTML."""
    stops = ", ".join(f"{colour} {100 * k / 20:.0f}%" for k, colour in
                      enumerate(sample_colorscale(scale.colorscale, [k / 20 for k in range(21)])))
    ticks = "".join(f'<span style="position:absolute;left:{100 * spot:.1f}%;transform:translateX('
                    f'{-100 * spot if spot in (0.0, 1.0) else -50:.0f}%);white-space:nowrap">{html.escape(label)}</span>'
                    for spot, label in scale.ticks())  # the end labels stay inside the bar, clear of its neighbours
    return (f'<div class="rnnviz-legend" style="font-size:13px;font-family:sans-serif;margin:4px 0 4px 0">'
            f'<div style="display:flex;align-items:center;gap:10px"><span style="flex:none">{html.escape(scale.legend)}</span>'
            f'<div style="position:relative;width:220px;flex:none"><div style="height:12px;border-radius:3px;'
            f'background:linear-gradient(to right, {stops})"></div>'
            f'<div style="position:relative;height:16px">{ticks}</div></div>'
            f'<span style="font-size:12px;color:#555">{html.escape(note)}</span></div></div>')


def context_html(tokens: Sequence[str], index: int, radius: int = 8, font_px: int = 18) -> str:
    """The tokens around ``index``, that one in bold on a light highlight, as escaped HTML (Step through)."""
    first, last = max(0, index - radius), min(len(tokens), index + radius + 1)
    window = list(tokens[first:last])
    words = []
    for k, (separator, token) in enumerate(zip(join_tokens(window), window), first):
        word = html.escape(token)
        if k == index:
            word = f'<b style="background:#ffe08a;padding:1px 3px;border-radius:3px">{word}</b>'
        words.append(separator + word)
    return (f'<div class="rnnviz-context" style="font-size:{font_px}px;font-family:sans-serif">'
            + ("… " if first > 0 else "") + "".join(words) + (" …" if last < len(tokens) else "") + "</div>")
