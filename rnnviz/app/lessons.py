"""The lessons: a guided path through the toy models and the playground, each step a short text, one figure and
one question for the class. Text here is our own (no user text); each figure names the rnnviz call behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

import rnnviz
from rnnviz import equations, figures, lesson_figures, toys
from rnnviz.toys.training import LONG_FILLERS

from . import models
from .playground import cell_playground
from .widgets import literal, show


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    question: str
    figure: Callable[[], None]
    """Draws the step's figure (and a caption saying how to recompute it)."""


@dataclass(frozen=True)
class Lesson:
    title: str
    summary: str
    models: tuple[str, ...]
    """The toy models the lesson needs (checked before it is shown)."""
    steps: tuple[Step, ...]


# ---------------------------------------------------------------- cached numbers (shared by all sessions)

@st.cache_resource(max_entries=16, show_spinner="Finding the unit that does the job…")
def tracking_unit(name: str, task: str) -> toys.TrackingUnit:
    return toys.tracking_unit(models.shipped_model(name), task)


@st.cache_resource(max_entries=8, show_spinner="Reading 200 filler words…")
def first_word_memory(name: str) -> toys.FirstWordMemory:
    return toys.first_word_memory(models.shipped_model(name), LONG_FILLERS)


def _unit_caption(name: str, task: str, unit: toys.TrackingUnit) -> str:
    mirror = " (negative: a mirror image, so the right axis is flipped)" if unit.r < 0 else ""
    return (f"r{mirror} is over {unit.steps:,} steps of {toys.probe.PROBE_COUNT} fresh sequences, the largest |r| of "
            f"every unit's state: `rnnviz.toys.tracking_unit(rnnviz.load('{name}'), '{task}')`.")


def _tracking(name: str, task: str, sequence: str) -> Callable[[], None]:
    """Figure: the unit that does the job in ``name``, on ``sequence``, against the true count."""
    def draw() -> None:
        unit = tracking_unit(name, task)
        tr = models.shipped_trace(name, sequence)
        show(lesson_figures.tracking_figure(tr, toys.get_task(task).track(tr.tokens), unit,
                                            toys.get_task(task).tracked), f"{name}-unit")
        label, confidence = tr.prediction
        st.caption(f"**{name} answers {literal(label)}** ({confidence:.1%} sure). " + _unit_caption(name, task, unit))
    return draw


def _your_own(name: str, task: str, default: str) -> Callable[[], None]:
    """Figure: the tracking unit on a sequence the class chooses."""
    def draw() -> None:
        words = ", ".join(f"'{word}'" for word in toys.get_task(task).words)
        typed = st.text_input(f"A sequence of {words}, separated by spaces", default, key=f"lesson_own_{task}",
                              max_chars=400)
        tokens = rnnviz.tokenize(typed)
        if not tokens or any(token not in toys.get_task(task).words for token in tokens):
            st.info(f"Type only {words}, separated by spaces.")
            return
        _tracking(name, task, toys.as_text(tokens))()
        truth = toys.get_task(task).label(tokens)
        st.caption(f"The right answer: {literal(toys.get_task(task).labels[truth])}.")
    return draw


def _predictions(names: dict[str, str], sequence: str) -> Callable[[], None]:
    """Figure: the prediction after each token of several models (label -> model name) on one sequence."""
    def draw() -> None:
        traces = {label: models.shipped_trace(name, sequence) for label, name in names.items()}
        show(lesson_figures.predictions_figure(traces), "lesson-predictions")
        st.caption(_accuracies(names))
    return draw


def _accuracies(names: dict[str, str]) -> str:
    """The accuracies recorded in each model's JSON (``python -m rnnviz.toys evaluate --model NAME``)."""
    parts = []
    for label, name in names.items():
        metrics = models.shipped_model(name).info.metrics
        text = f"{label} {metrics['test_accuracy']:.1%} on fresh sequences of {metrics['test_lengths']}"
        if (long := metrics.get(f"accuracy_at_{LONG_FILLERS}_fillers")) is not None:
            text += f", {long:.1%} with {LONG_FILLERS} x's"
        parts.append(text)
    return ("Accuracy, recorded by `python -m rnnviz.toys evaluate --model NAME`: " + "; ".join(parts) + ".")


def _heatmap(name: str, sequence: str, quantity: str) -> Callable[[], None]:
    def draw() -> None:
        tr = models.shipped_trace(name, sequence)
        show(figures.heatmap(tr, quantity, units=list(range(tr.hidden_size)), height=360), f"{name}-{quantity}")
        st.caption(f"`rnnviz.trace(rnnviz.load('{name}'), '{sequence}')`; rows are units, columns tokens.")
    return draw


FIRST_MODELS = {"plain RNN": "toy-first-rnn", "LSTM": "toy-first-lstm", "GRU": "toy-first-gru"}


def _memory(quantity: str) -> Callable[[], None]:
    def draw() -> None:
        memories = {label: (models.shipped_model(name).cell, first_word_memory(name)) for label, name in FIRST_MODELS.items()}
        show(lesson_figures.memory_figure(memories, quantity), f"first-word-{quantity}")
        at = 50
        values = {label: (m.gap if quantity == "gap" else m.sensitivity)[at] for label, (_, m) in memories.items()}
        shown = "{:.3f}" if quantity == "gap" else "{:.2g}"
        st.caption(f"After {at} x's: " + ", ".join(f"{label} {shown.format(value)}" for label, value in values.items())
                   + ". In Python: `rnnviz.toys.first_word_memory(rnnviz.load('toy-first-rnn'))`"
                   + (" (.gap)." if quantity == "gap" else " (.sensitivity; exact zeros are drawn at 1e-30)."))
    return draw


def _playground(cell: str, preset: str, key: str) -> Callable[[], None]:
    return lambda: cell_playground(cell, preset, key)


COUNTING_EXAMPLE = toys.as_text(["a"] * 7 + ["b"] * 7)
BRACKETS_EXAMPLE = "( ( ( ) ( ) ) ( ( ) ) )"
LONG_FIRST = toys.as_text(["good"] + ["x"] * LONG_FILLERS)

LESSONS: dict[str, Lesson] = {
    "counting": Lesson(
        "Counting a's and b's", "One LSTM unit becomes a counter.", ("toy-counting-lstm", "toy-counting-gru"), (
            Step("The task", "The model reads a's, then b's, and answers one question: **as many b's as a's?** It "
                 "learned from strings of 2 to 40 letters. The line is its answer after each letter.",
                 "What does the model have to remember to answer? Could it remember every letter?",
                 _predictions({"LSTM": "toy-counting-lstm"}, COUNTING_EXAMPLE)),
            Step("Every unit at once", "The LSTM has 8 units. Each row is one unit's cell state c, its memory, after "
                 "each letter (red above 0, blue below).",
                 "Which row looks like it is counting?",
                 _heatmap("toy-counting-lstm", COUNTING_EXAMPLE, "cell_state")),
            Step("The unit that counts", "rnnviz searched every unit for the one whose memory follows the count "
                 "(a's minus b's so far). Top: that unit and the true count. Bottom: its gates at each letter.",
                 "What do the forget and input gates do while it counts? Why must the forget gate stay near 1?",
                 _tracking("toy-counting-lstm", "counting", COUNTING_EXAMPLE)),
            Step("Your own string", "Type any string of a's and b's. Try one longer than the 40 letters it "
                 "learned from.",
                 "21 a's then 21 b's: will the unit still count? Will the answer still be right?",
                 _your_own("toy-counting-lstm", "counting", toys.as_text(["a"] * 21 + ["b"] * 21))),
            Step("A GRU counts too", "The same task, learned by a GRU. Its state h is squashed between -1 and 1 "
                 "(PyTorch: update gate z = 1 keeps the old state).",
                 "A state between -1 and 1 has to count in small steps. How far could it count?",
                 _tracking("toy-counting-gru", "counting", COUNTING_EXAMPLE)),
        )),
    "brackets": Lesson(
        "Balanced brackets", "One unit tracks how deep the brackets are.", ("toy-brackets-lstm", "toy-brackets-gru"), (
            Step("The task", "The model reads ( and ) and answers: **is every bracket closed, and none closed too "
                 "early?** The line is its answer after each bracket.",
                 "What do you have to keep track of to check brackets by hand?",
                 _predictions({"LSTM": "toy-brackets-lstm"}, BRACKETS_EXAMPLE)),
            Step("The depth unit", "rnnviz searched every unit for the one whose memory follows the depth (open "
                 "minus closed so far). Top: that unit and the true depth. Bottom: its gates.",
                 "What does the unit do at each ( and at each )?",
                 _tracking("toy-brackets-lstm", "brackets", BRACKETS_EXAMPLE)),
            Step("Closing too early", "The same number of ( and ), but one ) comes before its (. The depth dips "
                 "below 0 and comes back.",
                 "The depth ends at 0 again. How can the model still know the answer is no?",
                 _tracking("toy-brackets-lstm", "brackets", "( ) ) ( ( )")),
            Step("Your own brackets", "Type any brackets, separated by spaces.",
                 "Nest them 15 deep: does the depth unit keep up?",
                 _your_own("toy-brackets-lstm", "brackets", "( ( ( ( ( ) ) ) ) ) ( )")),
            Step("The GRU's depth unit", "The same task, learned by a GRU.",
                 "Compare its unit with the LSTM's: which one follows the depth more closely, and why?",
                 _tracking("toy-brackets-gru", "brackets", BRACKETS_EXAMPLE)),
        )),
    "first-word": Lesson(
        "Remember the first word", "A plain RNN, an LSTM and a GRU hold one word for 200 steps.",
        tuple(FIRST_MODELS.values()), (
            Step("The task", f"Each model reads *good* or *bad*, then x's, and must answer the first word. All three "
                 f"learned with at most 50 x's. Here they read *good* and {LONG_FILLERS} x's.",
                 "Which of the three would you expect to still know the first word after 200 x's?",
                 _predictions(FIRST_MODELS, LONG_FIRST)),
            Step("What the state still says", "How different is each model's state after *good x x …* from its "
                 "state after *bad x x …*? While the difference stays, the first word is remembered. The plain RNN "
                 f"has no gate: ${equations.RNN[0]}$.",
                 "The plain RNN rewrites its whole state at every step. How can it still hold the word?",
                 _memory("gap")),
            Step("The memory that vanishes", "Nudge the first word a little: how much does the state at step t "
                 "move? This is the path every training signal takes back to the first word. The plain RNN holds "
                 "the word by saturating (its tanh pinned near ±1), and a saturated unit no longer hears the "
                 "nudge: its line drops to nothing within a few dozen steps (log scale). The LSTM's forget gate and "
                 "the GRU's update gate pass it on much further.",
                 "If the plain RNN had to learn something that happened 200 steps ago, could the error at the end "
                 "reach the first word?",
                 _memory("sensitivity")),
            Step("The gate that keeps", "The LSTM unit that holds the first word, over all 200 x's, with its gates.",
                 "What value must the forget gate hold for a memory to last 200 steps?",
                 _tracking("toy-first-lstm", "first", LONG_FIRST)),
        )),
    "playground": Lesson(
        "A cell to play with", "One LSTM or GRU unit whose every weight is a slider.", (), (
            Step("Remember by default", "A one-unit LSTM. A 1 opens the input gate and writes; the forget gate's "
                 "bias b_f = 5 keeps what was written (f = 0.993 at every step).",
                 "Set b_f to 0. How fast does the memory go now?",
                 _playground("lstm", "remember by default", "lesson_pg_remember")),
            Step("Copy the input", "Forget gate shut, input gate open: the cell holds only the current input.",
                 "Why does nothing stay from one step to the next?",
                 _playground("lstm", "copy the input", "lesson_pg_copy")),
            Step("A counter", "Input and forget gates both open: every 1 adds tanh(1) = 0.76 to the cell, every -1 "
                 "takes it away.",
                 "c keeps growing but h stops near 1. Why?",
                 _playground("lstm", "counter", "lesson_pg_counter")),
            Step("The GRU's counter", "A GRU unit that takes the new candidate every step (z = 0): "
                 "h = tanh(h + 0.2 x).",
                 "Four 1's, then four -1's: why does h not come back to exactly 0?",
                 _playground("gru", "counter", "lesson_pg_gru_counter")),
        )),
}
