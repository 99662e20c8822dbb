"""`txplay web` under a classroom's load: visitors arriving one after another, then leaving.

    python tests/bench/web.py [--visitors 20]

Starts `txplay web` on a free port with its own temporary folder, then opens the visitors' tabs
one after another as the browser does (the terminal's websocket), each kept open: the time from
opening the websocket to the first screen (the panes drawn), how long the page takes the server
meanwhile (its responsiveness), and each visitor process's resident memory once all are open.
Then every tab closes, and it checks that every visitor's process and folder is gone. Prints the
figures; not collected by pytest; the figures go into RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token-0123"
ANSI = re.compile(r"\x1b\[[0-9;?:]*[A-Za-z]")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def visitor_pids(server: int) -> list[int]:
    """The server's children running playground.web.visitor."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server and b"playground.web.visitor" in command:
            pids.append(int(entry.name))
    return pids


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def first_screen(session: aiohttp.ClientSession, base: str) -> tuple[aiohttp.ClientWebSocketResponse, float]:
    started = time.perf_counter()
    ws = await session.ws_connect(f"{base.replace('http', 'ws')}/ws/{TOKEN}?width=160&height=50")
    drawn = ""
    while "no objects" not in ANSI.sub("", drawn):
        message = await ws.receive()
        if message.type != aiohttp.WSMsgType.BINARY:
            raise RuntimeError(f"the visitor's tab ended: {message}")
        drawn += message.data.decode("utf-8", "replace")
    return ws, time.perf_counter() - started


async def page_time(session: aiohttp.ClientSession, base: str) -> float:
    started = time.perf_counter()
    async with session.get(f"{base}/?token={TOKEN}") as response:
        await response.read()
        assert response.status in (200, 503), response.status  # 503: the last visitor filled it
    return time.perf_counter() - started


async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read a tab's frames as a browser would, so that its process never blocks on a full pipe."""
    async for _ in ws:
        pass


async def measure(visitors: int, base: str, server: int, folder: Path) -> None:
    async with aiohttp.ClientSession() as session:
        tabs, screens, pages, readers = [], [], [], []
        for _ in range(visitors):
            ws, seconds = await first_screen(session, base)
            tabs.append(ws)
            screens.append(seconds)
            readers.append(asyncio.create_task(drain(ws)))
            pages.append(await page_time(session, base))
        pids = visitor_pids(server)
        memory = [rss_mib(pid) for pid in pids]
        print(f"visitors: {visitors} opened one after another; {len(pids)} visitor processes running")
        print(f"time to first screen: median {statistics.median(screens):.2f} s, first {screens[0]:.2f} s, "
              f"last {screens[-1]:.2f} s, max {max(screens):.2f} s")
        print(f"the page, asked for after each visitor: median {statistics.median(pages) * 1000:.1f} ms, max {max(pages) * 1000:.1f} ms")
        print(f"memory per visitor process (RSS): median {statistics.median(memory):.0f} MiB, max {max(memory):.0f} MiB, "
              f"total {sum(memory):.0f} MiB; the server itself {rss_mib(server):.0f} MiB")
        full = await session.get(f"{base}/?token={TOKEN}")
        print(f"visitor {visitors + 1}: HTTP {full.status}" + (" (the full page)" if "full" in await full.text() else ""))
        started = time.perf_counter()
        for ws in tabs:
            await ws.close()
        await asyncio.gather(*readers)
        while visitor_pids(server) or any(folder.iterdir()):
            if time.perf_counter() - started > 60:
                break
            await asyncio.sleep(0.05)
        left = visitor_pids(server)
        print(f"all tabs closed: {len(left)} visitor processes and {len(list(folder.iterdir()))} folders left, "
              f"after {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="txplay-bench-web-") as tmp:
        folder = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, "-m", "playground.cli", "web", "--port", str(port), "--token", TOKEN,
             "--max-visitors", str(args.visitors)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ, TMPDIR=tmp))
        try:
            assert server.stdout is not None
            print(server.stdout.readline().strip().replace(TOKEN, "…"))  # once it listens
            asyncio.run(measure(args.visitors, f"http://127.0.0.1:{port}", server.pid, folder))
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
