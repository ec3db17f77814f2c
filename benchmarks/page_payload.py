"""What each page sends: total bytes and the largest single message, over Streamlit's websocket.

    python benchmarks/page_payload.py

Measures the real pages a browser asks for (a 230-token and the 2,596-token IMDB review, every view,
lstm-imdb) and the largest page rnnviz can be asked for (a 5,000-token text with every heatmap panel
and all 256 units), so `server.maxMessageSize` in .streamlit/config.toml can be set from a figure.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz.figures import QUANTITY_NAMES  # noqa: E402
from rnnviz.serving import running_app, visit  # noqa: E402

DATA = ROOT / "tests" / "data"
REVIEWS = {"230 tokens": (DATA / "imdb_review_230.txt").read_text(encoding="utf-8"),
           "2,596 tokens": (DATA / "imdb_review_longest.txt").read_text(encoding="utf-8")}
VIEWS = ["Reading", "Gate heatmaps", "Step through", "LSTM vs GRU", "Saturation", "Export"]
ALL_PANELS = ["input", "forget", "output", "candidate", "cell_state", "hidden", "keep"]


async def measure() -> None:
    with running_app(Path("/tmp/rnnviz-payload.log")) as (base, _):
        url = base.replace("http://", "ws://") + "/_stcore/stream"
        await visit(url, {"model": "lstm-imdb"}, 120)  # load the models once
        print("| page | total sent | largest message |\n|---|---|---|")
        for name, text in REVIEWS.items():
            for view in VIEWS:
                page = await visit(url, {"model": "lstm-imdb", "text": text, "view": view}, 120)
                print(f"| {view}, {name} | {sum(page.message_bytes) / 1024:,.0f} KB | "
                      f"{max(page.message_bytes) / 1024:,.0f} KB |" + (f" {page.problem}" if page.problem else ""))
        huge = " ".join(["a long and winding but ultimately rewarding story ."] * 600)  # > 5,000 tokens
        everything = {"model": "lstm-imdb", "text": huge, "view": "Gate heatmaps", "k": "256",
                      "panels_lstm": [QUANTITY_NAMES[p] for p in ALL_PANELS]}
        page = await visit(url, everything, 180)
        charts = page.values("plotly_chart")
        print(f"| Gate heatmaps, 5,000 tokens, all {len(ALL_PANELS)} panels, 256 units | "
              f"{sum(page.message_bytes) / 1024:,.0f} KB | {max(page.message_bytes) / 1024:,.0f} KB |"
              + ("" if charts and page.finished else f" {page.problem or 'no chart'}"))
        for view in ("Reading", "Export"):
            page = await visit(url, {"model": "lstm-imdb", "text": huge, "view": view}, 180)
            print(f"| {view}, 5,000 tokens | {sum(page.message_bytes) / 1024:,.0f} KB | "
                  f"{max(page.message_bytes) / 1024:,.0f} KB |")

if __name__ == "__main__":
    asyncio.run(measure())
