"""Running the dashboard in a subprocess on 127.0.0.1 and opening headless Chromium on it.

Shared by the browser tests and the benchmarks (page timing, concurrent sessions), so both start
the app exactly as the README does: ``streamlit run app.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_app(log_path: Path | None = None, timeout: float = 90.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start ``streamlit run app.py`` on a free local port; yield (base URL, process); stop it after."""
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        if log_path:
            log.close()


def heatmap_count_script() -> str:
    """JavaScript that counts the Plotly heatmaps drawn on the page (each draws as g.hm image)."""
    return "document.querySelectorAll('.js-plotly-plot g.hm image').length"


@dataclass
class PageVisit:
    """One run of the page over Streamlit's websocket, as a browser would ask for it."""

    finished: bool
    seconds: float
    problem: str = ""
    message_bytes: list[int] = field(default_factory=list)
    elements: list = field(default_factory=list)
    """The page's elements (Streamlit Element protos), in the order they arrived."""

    def values(self, kind: str) -> list:
        """The elements of one kind (e.g. "metric", "text_area", "plotly_chart")."""
        return [getattr(element, kind) for element in self.elements if element.WhichOneof("type") == kind]


async def visit(ws_url: str, query: dict[str, str | list[str]], timeout: float = 60.0) -> PageVisit:
    """Ask the server at ``ws_url`` (…/_stcore/stream) for the page at ``query`` and read it until the run ends.

    Speaks the browser's protocol (a rerun_script BackMsg with the query string); runs the app asks for itself
    (a widget writing the URL) are followed until one finishes. Needs the ``websockets`` package.
    """
    import asyncio
    import urllib.parse

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    request = BackMsg()
    request.rerun_script.query_string = urllib.parse.urlencode(query, doseq=True, safe=",")  # as browsers send them
    request.rerun_script.page_script_hash = ""
    result = PageVisit(finished=False, seconds=0.0)
    started = time.perf_counter()
    try:
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout) as socket:
            await socket.send(request.SerializeToString())
            while True:
                raw = await asyncio.wait_for(socket.recv(), timeout)
                result.message_bytes.append(len(raw))
                message = ForwardMsg()
                message.ParseFromString(raw)
                if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                    result.elements.append(message.delta.new_element)
                if message.WhichOneof("type") == "script_finished" and \
                        message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    result.finished = True
                    break
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        result.problem = f"{type(error).__name__}: {error}"
    result.seconds = time.perf_counter() - started
    if result.values("exception"):
        result.problem = f"exception: {result.values('exception')[0].message}"
    return result


def peak_memory_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
