"""Many users at once: concurrent sessions against one locally started server, over Streamlit's websocket.

    python benchmarks/load_test.py [--sessions 20] [--timeout 60]

Starts `streamlit run app.py` on 127.0.0.1 and opens --sessions websocket sessions at once at
/_stcore/stream, each speaking the protocol the browser speaks: it asks for a run of the page with
its own share link (a different text, alternating the four shipped models and views that draw
heatmaps) and reads the server's messages until the run has finished. Each browser draws on its own
student's machine, so what one server must survive is exactly this: many Python runs at once.

A session counts as answered when its run finished without an exception element, with its charts,
and with its own text and token count on the page (no session sees another's). Reports how many
were answered, the median and worst time until the whole page was sent, the server's peak memory
(VmHWM) and any error or traceback in the server's log. Bounded: loopback only, at most 50
sessions, a timeout per session.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402
from rnnviz.serving import running_app  # noqa: E402

PLANS = [("lstm-imdb", "Gate heatmaps"), ("gru-sst2", "Gate heatmaps"), ("lstm-sst2", "Step through"),
         ("gru-imdb", "Reading strip")]
WORDS = "brilliant dull moving clumsy gorgeous tedious witty bland tense hollow".split()


def session_text(k: int) -> str:
    sentence = (f"Session {k} says the plot was {WORDS[k % len(WORDS)]} and the acting "
                f"{WORDS[(3 * k + 1) % len(WORDS)]}, but the score was {WORDS[(7 * k + 2) % len(WORDS)]}. ")
    return sentence * (1 + k % 12)  # 20 to 250 tokens


def elements(message: ForwardMsg):
    if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
        yield message.delta.new_element


async def one_session(url: str, k: int, timeout: float) -> tuple[bool, float, str]:
    model, view = PLANS[k % len(PLANS)]
    text = session_text(k)
    tokens = f"{len(rnnviz.load(model).tokenize(text)):,}"
    request = BackMsg()
    request.rerun_script.query_string = urllib.parse.urlencode({"model": model, "text": text, "view": view})
    request.rerun_script.page_script_hash = ""
    started = time.perf_counter()
    seen_text = seen_tokens = False
    charts = 0
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout) as socket:
            await socket.send(request.SerializeToString())
            while True:
                message = ForwardMsg()
                message.ParseFromString(await asyncio.wait_for(socket.recv(), timeout))
                for element in elements(message):
                    kind = element.WhichOneof("type")
                    if kind == "exception":
                        return False, time.perf_counter() - started, f"exception: {element.exception.message}"
                    if kind == "text_area" and element.text_area.label == "Text":
                        seen_text = element.text_area.value == text or element.text_area.default == text
                    if kind == "metric" and element.metric.label == "Tokens read":
                        seen_tokens = element.metric.body == tokens
                    charts += kind == "plotly_chart"
                if message.WhichOneof("type") == "script_finished":
                    if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                        continue  # a rerun the app asked for itself; the page follows
                    elapsed = time.perf_counter() - started
                    if not (seen_text and seen_tokens and charts):
                        return False, elapsed, f"page incomplete (own text {seen_text}, own count {seen_tokens}, charts {charts})"
                    return True, elapsed, ""
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        return False, time.perf_counter() - started, f"{type(error).__name__}: {error}"


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(sessions: int, timeout: float, log: Path) -> int:
    with running_app(log) as (base, server):
        url = base.replace("http://", "ws://") + "/_stcore/stream"
        warm = await asyncio.gather(*(one_session(url, k, timeout) for k in range(len(PLANS))))  # load each model once
        started = time.perf_counter()
        results = await asyncio.gather(*(one_session(url, k, timeout) for k in range(1, sessions + 1)))
        wall = time.perf_counter() - started
        memory = peak_memory_mib(server.pid)
    answered = [elapsed for ok, elapsed, _ in results if ok]
    errors = [line for line in log.read_text().splitlines()
              if "Traceback" in line or "Error" in line or "Exception" in line]
    print(f"warm-up: {sum(ok for ok, _, _ in warm)} of {len(PLANS)} sessions (one per model) answered")
    print(f"{len(answered)} of {sessions} concurrent sessions answered with their own text in {wall:.1f} s wall time")
    if answered:
        print(f"time until the whole page was sent: median {statistics.median(answered):.2f} s, "
              f"worst {max(answered):.2f} s")
    for k, (ok, elapsed, problem) in enumerate(results, 1):
        if not ok:
            print(f"  session {k}: {problem} after {elapsed:.1f} s")
    print(f"server peak memory (VmHWM): {memory:.0f} MiB")
    print(f"server log: {len(errors)} error lines" + ("" if not errors else ":\n  " + "\n  ".join(errors[:10])))
    return 0 if len(answered) == sessions and not errors else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each session may take")
    parser.add_argument("--log", type=Path, default=Path("/tmp/rnnviz-load-test.log"))
    args = parser.parse_args()
    if not 1 <= args.sessions <= 50:
        parser.error("--sessions must be between 1 and 50")
    return asyncio.run(run(args.sessions, args.timeout, args.log))


if __name__ == "__main__":
    raise SystemExit(main())
