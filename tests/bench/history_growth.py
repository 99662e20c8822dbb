"""How memory grows with a session's history: RSS per 1,000 steps, through the engine and the app.

Not a test: prints numbers. `python -m tests.bench.history_growth [STEPS] [--app] [--timeline]`
runs STEPS (default 2,000) steps of ORM, SQL and savepoints across two sessions, and prints the
RSS and the live step handles after each 500, then the growth per 1,000 steps after the first
1,000. `--app` drives the real app (Pilot) instead of the bare workspace; `--timeline` shows the
Timeline tab meanwhile and prints the time per step with it shown.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

from playground.engine.events import StepHandle

STEPS = [  # B ends each of its reads: its read lock would hold up A's COMMIT on SQLite
    ("A", "u = User(name=f'u{i}', email=f'u{i}@x'); session.add(u); session.flush(); i += 1"),
    ("A", "session.scalars(select(Item).where(Item.id < 5)).all()"),
    ("B", "select * from items where id < 4"),
    ("B", "rollback"),
    ("A", "sp = session.begin_nested()\nsession.add(Item(name='undone', stock=2))\nsession.flush()\nsp.rollback()"),
    ("B", "session.get(User, 1)"),
    ("B", "session.rollback()"),
    ("A", "session.commit()"),
]


def rss_mb() -> float:
    """The resident set size now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def live_handles() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is StepHandle)


async def drive(ws, n: int, wait_drawn=None) -> list[tuple[int, float, int, float]]:
    """Run `n` steps; returns (steps, RSS MB, live handles, ms per step of the last 500)."""
    await ws.run("A", "i = 0")
    marks = []
    start = time.perf_counter()
    for k in range(1, n + 1):
        session, text = STEPS[k % len(STEPS)]
        await ws.run(session, text)
        if wait_drawn is not None:
            await wait_drawn()
        if k % 500 == 0:
            took = (time.perf_counter() - start) / 500 * 1000
            gc.collect()
            marks.append((k, rss_mb(), live_handles(), took))
            print(f"{k:>6} steps  RSS {marks[-1][1]:7.1f} MB  handles {marks[-1][2]:>6}  {took:6.2f} ms/step", flush=True)
            start = time.perf_counter()
    return marks


def growth(marks: list[tuple[int, float, int, float]]) -> str:
    after = [m for m in marks if m[0] >= 1000]
    if len(after) < 2:
        return "too few steps to say"
    per = (after[-1][1] - after[0][1]) / (after[-1][0] - after[0][0]) * 1000
    return f"RSS growth after the first 1,000 steps: {per:.2f} MB per 1,000 steps"


async def engine_run(n: int) -> None:
    from playground.demo.kit import DEMO_KIT
    from playground.engine import Workspace

    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"))
    seen: list[object] = []
    unsubscribe, _ = ws.subscribe(lambda e: seen.clear())  # watched, as the app is
    try:
        marks = await drive(ws, n)
    finally:
        unsubscribe()
        await ws.close()
    print("engine:", growth(marks))


async def app_run(n: int, timeline: bool) -> None:
    from playground.ui.app import make_app

    app = make_app(history_dir=Path(tempfile.mkdtemp()))
    async with app.run_test(size=(200, 60)) as pilot:
        await app.waits.opened.wait()  # the panes are drawn first, the database opens behind them
        await pilot.pause()
        if timeline:
            app.bottom.active = "tab-timeline"
        await pilot.pause()

        async def wait_drawn() -> None:
            await asyncio.wait_for(app.waits.caught_up(), 30)
            done = asyncio.get_running_loop().create_future()
            app.call_after_refresh(done.set_result, None)
            await done

        marks = await drive(app.workspace, n, wait_drawn)
    print("app" + (" (timeline shown)" if timeline else "") + ":", growth(marks))


def main() -> None:
    args = sys.argv[1:]
    n = next((int(a) for a in args if a.isdigit()), 2000)
    if "--app" in args:
        asyncio.run(app_run(n, "--timeline" in args))
    else:
        asyncio.run(engine_run(n))


if __name__ == "__main__":
    main()
