"""rnnviz's tokenizer against nltk's own regex engine: the same tokens, and what a busy server does to each.

    python benchmarks/tokenizer_under_load.py [--data ../shared/data] [--sessions 50] [--busy 10]

1. Agreement: every IMDB, SST-2 and rt-polarity text tokenized (lowercased and not) by rnnviz and by the
   same rules run the way nltk 3.10 runs them (the ``regex`` engine under nltk.redos's 5 s limit).
2. Contention: ``--sessions`` threads each tokenize a long review four times beside ``--busy`` threads
   spinning in Python (a busy Streamlit server); the worst single tokenize time for each engine. The regex
   engine gives up the GIL at every match and queues to take it back, so its time grows with the load.
3. Worst inputs: the slowest shapes found, at 200,000 characters (the app's text limit).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from nltk.tokenize import TreebankWordTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.data import read_labeled  # noqa: E402
from rnnviz.examples import EXAMPLES  # noqa: E402
from rnnviz.text import _TREEBANK, SCHEME, _PTBTokenizer, _split_sentence_periods, normalize, tokenize  # noqa: E402


class NltkEngine(TreebankWordTokenizer):
    """The rules as nltk runs them, with rnnviz's own starting-quote rules."""

    STARTING_QUOTES = [*TreebankWordTokenizer.STARTING_QUOTES[:2], *_PTBTokenizer.STARTING_QUOTES[2:]]


def with_engine(treebank: TreebankWordTokenizer):
    def run(text: str, lowercase: bool = True) -> list[str]:
        text = normalize(text)
        return treebank.tokenize(_split_sentence_periods(text.lower() if lowercase else text, SCHEME))
    return run


def agreement(data: Path) -> None:
    texts = []
    for name in ("imdb/train.csv.xz", "imdb/test.csv.xz", "sst2/train.tsv", "sst2/dev.tsv", "sst2/test_labeled.tsv"):
        texts += read_labeled(data / name).texts
    for name in ("rt-polarity/rt-polarity.pos", "rt-polarity/rt-polarity.neg"):
        texts += (data / name).read_text(encoding="utf-8", errors="replace").splitlines()
    nltk_engine = with_engine(NltkEngine())
    differ = sum(tokenize(text, lowercase) != nltk_engine(text, lowercase)
                 for text in texts for lowercase in (True, False))
    print(f"agreement: {len(texts):,} texts x 2 (lowercased and not): {differ} differ")


def worst_under_load(run, text: str, sessions: int, busy: int) -> float:
    worst, stop = [0.0], []

    def spin() -> None:
        while not stop:
            pass

    def session() -> None:
        for _ in range(4):
            started = time.perf_counter()
            run(text)
            worst[0] = max(worst[0], time.perf_counter() - started)

    spinners = [threading.Thread(target=spin) for _ in range(busy)]
    workers = [threading.Thread(target=session) for _ in range(sessions)]
    for thread in spinners + workers:
        thread.start()
    for thread in workers:
        thread.join()
    stop.append(True)
    for thread in spinners:
        thread.join()
    return worst[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--busy", type=int, default=10)
    args = parser.parse_args()
    if args.data.exists():
        agreement(args.data)
    review = EXAMPLES["Long review (IMDB style)"] * 3
    started = time.perf_counter()
    tokenize(review)
    print(f"contention: a {len(review):,}-character review takes {1000 * (time.perf_counter() - started):.1f} ms alone")
    for name, treebank in (("nltk's regex engine", NltkEngine()), ("rnnviz (stdlib re)", _TREEBANK)):
        seconds = worst_under_load(with_engine(treebank), review, args.sessions, args.busy)
        print(f"  {name:<20} worst tokenize beside {args.sessions} sessions and {args.busy} busy threads: "
              f"{seconds:.2f} s")
    for name, text in (("'<br' + spaces", "<br" + " " * 200_000 + "x"), ("commas", "a, " * 66_666),
                       ("contractions", "don't it's we'll " * 11_764)):
        started = time.perf_counter()
        tokenize(text)
        print(f"worst input {name:<14} 200,000 characters: {time.perf_counter() - started:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
