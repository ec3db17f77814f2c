"""Toy tasks for lessons: counting, balanced brackets, remembering the first word.

    from rnnviz import toys
    toys.sample("counting", 5, seed=0)                   # seeded token lists: [['a', 'a', 'b', 'b'], ...]
    model = toys.train_toy("counting", "lstm")            # a tiny SentimentModel, in seconds
    toys.tracking_unit(model, "counting")                 # the unit whose state follows the count, and its r
    toys.first_word_memory(rnnviz.load("toy-first-rnn"))  # how the memory of the first word lasts

Shipped models are pretrained/toy-TASK-CELL (``rnnviz.checkpoint.available_toys()``); the command line
``python -m rnnviz.toys`` trains and scores them.
"""

from .probe import FirstWordMemory, TrackingUnit, first_word_memory, tracking_unit
from .tasks import TASKS, Task, as_text, get_task, sample
from .training import Recipe, accuracy, evaluate, train_toy

SHIPPED = (("counting", "lstm"), ("counting", "gru"), ("brackets", "lstm"), ("brackets", "gru"),
           ("first", "lstm"), ("first", "gru"), ("first", "rnn"))
"""(task, cell) of every shipped toy model, named toy-TASK-CELL."""


def toy_name(task: str, cell: str) -> str:
    return f"toy-{task}-{cell}"


__all__ = ["FirstWordMemory", "Recipe", "SHIPPED", "TASKS", "Task", "TrackingUnit", "accuracy", "as_text", "evaluate",
           "first_word_memory", "get_task", "sample", "toy_name", "tracking_unit", "train_toy"]
