"""Does rnnviz's tokenizer split raw text the way SST was tokenized? Measured, not assumed.

    python benchmarks/tokenizer_agreement.py [--data ../shared/data]

SST was built from the Rotten Tomatoes snippets in rt-polarity, which keep a looser, less tokenized
form ("he's", "don't"). For every SST-2 dev/test sentence whose snippet is found in rt-polarity
(matched on letters and digits only), the snippet is tokenized and compared with SST's own tokens:
the share of sentences tokenized identically, and the share of tokens that line up (difflib).
Compared: rnnviz.tokenize, nltk's plain Treebank tokenizer, and splitting on whitespace.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

from nltk.tokenize import TreebankWordTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.data import read_labeled  # noqa: E402
from rnnviz.text import tokenize  # noqa: E402


def key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    sst = read_labeled(args.data / "sst2/dev.tsv").texts + read_labeled(args.data / "sst2/test_labeled.tsv").texts
    snippets = {}
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        for line in (args.data / "rt-polarity" / name).read_text(encoding="utf-8").splitlines():
            snippets[key(line)] = line.strip()
    pairs = [(sentence.split(), snippets[key(sentence)]) for sentence in sst if key(sentence) in snippets]
    print(f"{len(pairs)} of {len(sst)} SST-2 dev/test sentences found in rt-polarity")
    treebank = TreebankWordTokenizer()
    methods = {"rnnviz.tokenize": tokenize, "nltk Treebank": lambda s: treebank.tokenize(s.lower()),
               "whitespace": lambda s: s.lower().split()}
    for name, method in methods.items():
        identical = aligned = total = 0
        for expected, raw in pairs:
            got = method(raw)
            identical += got == expected
            matcher = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
            aligned += sum(block.size for block in matcher.get_matching_blocks())
            total += max(len(expected), len(got))
        print(f"{name:<16} sentences identical {identical / len(pairs):6.1%}   tokens aligned {aligned / total:6.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
