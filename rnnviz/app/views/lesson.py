"""Lessons: a guided path through the toy models and the playground, one step per screen.

The share link holds the lesson and the step (``?lesson=counting&step=3``, steps counted from 1), so a
teacher can hand out, or bookmark, the exact screen. Lessons bring their own models: ``render`` takes no
ViewContext.
"""

from __future__ import annotations

import streamlit as st

from ..lessons import LESSONS, Lesson
from ..models import toy_models
from ..widgets import literal

LESSON_KEY, STEP_KEY = "lesson_name", "lesson_step"
"""Session keys of the lesson and the step (1-based), mirrored by hand into the URL's ``lesson`` and ``step``: a
bound widget's key is its URL name, the Step through view already owns the key "step", and a bound widget drops
its parameter at its default value, which would leave the first lesson out of its own links."""


def _requested_step() -> int:
    """The step the link asks for, 1 when it asks for none or for something that is not a number."""
    value = st.query_params.get("step", "1")
    return int(value) if value.isdigit() and len(value) < 4 else 1


def _requested_lesson() -> str:
    """The lesson the link asks for, the first one when it names none that exists."""
    value = st.query_params.get("lesson", "")
    return value if value in LESSONS else next(iter(LESSONS))


def _restart() -> None:
    st.session_state[STEP_KEY] = 1


def _move(delta: int, count: int) -> None:
    st.session_state[STEP_KEY] = min(max(st.session_state[STEP_KEY] + delta, 1), count)


def _missing_models(lesson: Lesson) -> list[str]:
    shipped = toy_models()
    for name, problem in shipped.broken.items():
        if name in lesson.models:
            st.warning(f"{name} could not be loaded ({literal(problem)}).")
    return [name for name in lesson.models if name not in shipped.names]


def render() -> None:
    if LESSON_KEY not in st.session_state:  # a new session: the link decides
        st.session_state[LESSON_KEY], st.session_state[STEP_KEY] = _requested_lesson(), _requested_step()
    choice = st.sidebar.selectbox("Lesson", list(LESSONS), key=LESSON_KEY, on_change=_restart,
                                  format_func=lambda name: LESSONS[name].title)
    lesson = LESSONS[choice]
    count = len(lesson.steps)
    st.session_state[STEP_KEY] = min(max(st.session_state[STEP_KEY], 1), count)
    st.sidebar.radio("Step", list(range(1, count + 1)), key=STEP_KEY,
                     format_func=lambda k: f"{k}. {lesson.steps[k - 1].title}")
    number = st.session_state[STEP_KEY]
    st.query_params["lesson"], st.query_params["step"] = choice, str(number)
    step = lesson.steps[number - 1]

    left, title, right = st.columns([1.2, 8, 1.2], vertical_alignment="center")
    left.button("◀ Back", on_click=_move, args=(-1, count), disabled=number == 1, width="stretch")
    right.button("Next ▶", on_click=_move, args=(1, count), disabled=number == count, width="stretch")
    title.markdown(f"#### {lesson.title} · {number}/{count}: {step.title}")
    st.markdown(step.text)
    if missing := _missing_models(lesson):
        st.error(f"This lesson needs {', '.join(missing)}, which is not in pretrained/. "
                 "Train it with `python -m rnnviz.toys train-all`.")
    else:
        step.figure()
    st.info(f"**Question for the class.** {step.question}")
