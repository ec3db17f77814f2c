"""Would a hand-compiled single pass that saves the gates as it runs beat the trace's own pass?

    python benchmarks/single_pass_kernel.py [--repeats 15]

The LSTM trace reads its gates and cell states from the workspace of oneDNN's own training kernel (one pass,
rnnviz.onednn_lstm); before that it ran oneDNN's forward and recomputed every gate in two matrix products that
repeat the forward's work. The alternative is a pass of one's own. This script builds the most direct such pass in
C (the input products batched by PyTorch, then per step a blocked matrix-vector product of W_hh, glibc's vectorized
expf and tanhf; gcc -O3 -march=native -ffast-math; needs gcc) and times it, one thread, interleaved medians, on
lstm-imdb over openings of the longest IMDB test review, against
  default  model.rnn(model.embedding(ids)), PyTorch's defaults (oneDNN): the baseline,
  states   rnnviz's gates and states of the layer (rnn_trace.direction_states: oneDNN's single pass),
  single   the C single pass, gates, cell and hidden states saved,
and prints how far the single pass's hidden states are from the module's.
"""

from __future__ import annotations

import argparse
import ctypes
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz.model import rnn_backend, use_serving_policy  # noqa: E402
from rnnviz.rnn_trace import direction_states, direction_weights  # noqa: E402

SOURCE = r"""
#include <math.h>
#include <string.h>
#define BLOCK 64
/* One LSTM layer, batch 1. pre: (T, 4H) = W_ih x_t + b_ih + b_hh; wt: (H, 4H) = W_hh transposed. */
void lstm_single_pass(const float *pre, const float *wt, const float *h0, const float *c0, int T, int H,
                      float *gi, float *gf, float *gg, float *go, float *c_out, float *h_out) {
    const int G = 4 * H;
    float z[4 * 1024];
    const float *h = h0, *c = c0;
    for (int t = 0; t < T; t++) {
        const float *p = pre + (long)t * G;
        for (int rb = 0; rb < G; rb += BLOCK) {
            float acc[BLOCK];
            for (int j = 0; j < BLOCK; j++) acc[j] = p[rb + j];
            for (int k = 0; k < H; k++) {
                const float hk = h[k];
                const float *row = wt + (long)k * G + rb;
                for (int j = 0; j < BLOCK; j++) acc[j] += row[j] * hk;
            }
            memcpy(z + rb, acc, sizeof acc);
        }
        float *ti = gi + (long)t * H, *tf = gf + (long)t * H, *tg = gg + (long)t * H, *to = go + (long)t * H;
        float *tc = c_out + (long)t * H, *th = h_out + (long)t * H;
        for (int u = 0; u < H; u++) {
            ti[u] = 1.f / (1.f + expf(-z[u]));
            tf[u] = 1.f / (1.f + expf(-z[H + u]));
            tg[u] = tanhf(z[2 * H + u]);
            to[u] = 1.f / (1.f + expf(-z[3 * H + u]));
        }
        for (int u = 0; u < H; u++) {
            tc[u] = tf[u] * c[u] + ti[u] * tg[u];
            th[u] = to[u] * tanhf(tc[u]);
        }
        h = th;
        c = tc;
    }
}
"""


def compiled_kernel(folder: Path) -> ctypes.CDLL:
    source, library = folder / "single_pass.c", folder / "single_pass.so"
    source.write_text(SOURCE)
    subprocess.run(["gcc", "-O3", "-march=native", "-ffast-math", "-shared", "-fPIC", str(source), "-o", str(library),
                    "-lm"], check=True)
    return ctypes.CDLL(str(library))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("gcc") is None:
        print("needs gcc to build the C single pass")
        return 1
    use_serving_policy()
    model = rnnviz.load("lstm-imdb")
    rnn, hidden = model.rnn, model.config.hidden_size
    assert hidden <= 1024 and hidden % 16 == 0, "the C pass holds 4 x 1,024 gate rows, in blocks of 64"
    review = (ROOT / "tests" / "data" / "imdb_review_longest.txt").read_text(encoding="utf-8")
    pointer = ctypes.POINTER(ctypes.c_float)
    with tempfile.TemporaryDirectory() as folder:
        kernel = compiled_kernel(Path(folder))
        w_hh_t = np.ascontiguousarray(rnn.weight_hh_l0.detach().numpy().T)
        bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
        zeros = np.zeros(hidden, dtype=np.float32)
        weights = direction_weights(rnn, 0, 0)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), lstm-imdb, median of {args.repeats}\n")
        print("| tokens | default forward | rnnviz states | C single pass | single / default | max abs h error |")
        print("|---|---|---|---|---|---|")
        for length in (230, 2596):
            ids = torch.tensor(model.read(review)[1][:length])
            length = len(ids)

            def single() -> list[np.ndarray]:
                with torch.no_grad():
                    pre = torch.nn.functional.linear(model.embedding(ids), rnn.weight_ih_l0, bias).numpy()
                out = [np.empty((length, hidden), dtype=np.float32) for _ in range(6)]
                kernel.lstm_single_pass(*(a.ctypes.data_as(pointer) for a in (pre, w_hh_t, zeros, zeros)), length,
                                        hidden, *(a.ctypes.data_as(pointer) for a in out))
                return out

            def default() -> None:
                with torch.no_grad():
                    rnn(model.embedding(ids))

            def states() -> None:
                with torch.no_grad(), rnn_backend():
                    direction_states("LSTM", model.embedding(ids), weights, torch.zeros(hidden), torch.zeros(hidden))

            with torch.no_grad():
                error = float(np.abs(single()[5] - rnn(model.embedding(ids))[0].numpy()).max())
            functions = {"default": default, "states": states, "single": single}
            times: dict[str, list[float]] = {name: [] for name in functions}
            for function in functions.values():
                function()
            for _ in range(args.repeats):
                for name, function in functions.items():
                    started = time.perf_counter()
                    function()
                    times[name].append(time.perf_counter() - started)
            ms = {name: statistics.median(values) * 1e3 for name, values in times.items()}
            print(f"| {length:,} | {ms['default']:.2f} ms | {ms['states']:.2f} ms | {ms['single']:.2f} ms | "
                  f"{ms['single'] / ms['default']:.2f}x | {error:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
