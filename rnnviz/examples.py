"""Curated example texts for the app: each shows one thing recurrent memory has to get right."""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "Negation": "The movie was not bad at all.",
    "Contrast (… but …)": "The first half is slow and the dialogue is clumsy, but the ending is brilliant and "
                           "genuinely moving.",
    "An early word decides": "Masterful. Despite the slow start, the odd casting, the long running time and a "
                             "second act that loses its way, I could not look away.",
    "Long review (IMDB style)": (
        "I went into this film with low expectations. The trailer made it look like yet another tired action "
        "sequel, and the first twenty minutes did little to change my mind: the setup is clumsy, the villain "
        "is a cartoon and the jokes land with a thud.<br /><br />Then something changes. The story slows down "
        "and lets its characters breathe. The lead actress, who I had only seen in forgettable comedies, gives "
        "a performance of real warmth and intelligence, and the quiet scenes between her and her estranged "
        "father are some of the best I have seen this year. The photography is gorgeous without showing off, "
        "and the score never tells you what to feel.<br /><br />It is not perfect. The final chase goes on "
        "too long and one subplot about a stolen car leads nowhere. But these are small complaints about a "
        "film that is far smarter and more moving than it had any right to be. Highly recommended, "
        "especially if, like me, you almost skipped it."
    ),
    "Sarcasm": "Oh great, another two hours of my life I will never get back. Wonderful.",
}
DEFAULT_EXAMPLE = "Contrast (… but …)"
READER_LABELS: dict[str, str] = {
    "Negation": "positive", "Contrast (… but …)": "positive", "An early word decides": "positive",
    "Long review (IMDB style)": "positive", "Sarcasm": "negative",
}
"""What a human reader calls each curated example, so the app can say when the model gets one wrong."""


def readable_examples(model) -> list[str]:
    """The curated examples whose human answer is one of the model's labels (all of them for a sentiment model)."""
    return [name for name in READER_LABELS if READER_LABELS[name] in model.labels]


def misread_examples(model) -> list[str]:
    """The curated examples whose prediction differs from what a human reader answers (model cards, caption)."""
    names = readable_examples(model)
    if not names:
        return []
    predicted = model.predict_proba([EXAMPLES[name] for name in names]).argmax(axis=1)
    return [name for name, k in zip(names, predicted) if model.labels[k] != READER_LABELS[name]]


def reader_label(text: str) -> str | None:
    """The label a human reader gives ``text`` if it is one of the curated examples, else None."""
    for name, example in EXAMPLES.items():
        if text == example:
            return READER_LABELS.get(name)
    return None

MINIMAL_PAIRS: dict[str, tuple[str, str]] = {
    "Negation": ("the acting was good", "the acting was not good"),
    "Intensifier": ("a good film", "a very good film"),
    "Contrast order": ("boring but beautiful", "beautiful but boring"),
}
