"""Server connections opened per 1,000 steps, and the lock monitor's load on the server (issue 19).

    python tests/bench/connections.py [--steps 1000] [--app-steps 300] [--panes 2 4]

Drives steps through the engine (as `txplay run` and the app do: a write or a commit, then the
committed data and the table list read again) on PostgreSQL and MariaDB, and through the app
with Pilot on PostgreSQL, and prints:
- connections opened, as the server counts them: PostgreSQL's `pg_stat_database.sessions` of a
  database made for the run (so no other client is counted), MariaDB's `Connections` status
  (server-wide: other clients of a shared server are counted too), and as txplay's own pools
  opened them (exact, this process only);
- the lock monitor's queries per second and milliseconds per poll, idle and while a step waits
  on a lock, with 2 and 6 panes.
Not collected by pytest: figures are printed, never asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from sqlalchemy import event, make_url, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine  # noqa: E402
from sqlalchemy.pool import Pool  # noqa: E402

from playground.demo.kit import DEMO_KIT  # noqa: E402
from playground.engine import SessionSettings, Workspace  # noqa: E402
from playground.engine.backends import resolve  # noqa: E402

PG = os.environ.get("TXPLAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL = os.environ.get("TXPLAY_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
WAIT_SECONDS = 5.0  # how long a step is kept waiting (or the workspace idle) while the monitor is measured


class Opened:
    """Connections opened by this process's SQLAlchemy pools (every engine) while counting."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Pool, "connect", self._opened)

    def _opened(self, dbapi_connection, record) -> None:
        self.count += 1


OPENED = Opened()


@asynccontextmanager
async def admin(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection of the benchmark's own (opened before counting starts, not counted by the server delta)."""
    engine = create_async_engine(resolve(url).session_url)
    try:
        async with engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        await engine.dispose()


@asynccontextmanager
async def pg_database(url: str = PG) -> AsyncIterator[str]:
    """A database made for this run on `url`'s server: its `sessions` counter counts txplay's connections only."""
    name = f"txplay_bench_{os.getpid()}"
    async with admin(url) as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        await conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def server_count(conn: AsyncConnection, url: str) -> int:
    """Connections the server has counted: a database's sessions (PostgreSQL), every connection (MariaDB)."""
    if conn.dialect.name == "postgresql":
        await asyncio.sleep(1.2)  # backends report their stats within a second of going idle or ending
        await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        query = text("SELECT sessions FROM pg_stat_database WHERE datname = :db")
        return int((await conn.execute(query, {"db": make_url(url).database})).scalar() or 0)
    return int((await conn.execute(text("SHOW GLOBAL STATUS LIKE 'Connections'"))).one()[1])


async def _engine_steps(ws: Workspace, panes: tuple[str, ...], n: int) -> None:
    for i in range(n):
        name = panes[i // 2 % len(panes)]  # each pane in turn writes, then commits
        await ws.run(name, f"update items set stock = {i + 1} where id = 1" if i % 2 == 0 else "commit")
        await ws.committed("items")
        await ws.tables()


async def bench_engine(url: str, counter: AsyncConnection, panes: tuple[str, ...], steps: int) -> dict:
    """Connections opened by opening a workspace, running `steps` steps and closing it."""
    server_before, mine_before = await server_count(counter, url), OPENED.count
    ws = await Workspace.open(DEMO_KIT, url, sessions=panes, isolate=True, defaults=SessionSettings(lock_timeout=5))
    opened = OPENED.count - mine_before
    started = time.perf_counter()
    try:
        await _engine_steps(ws, panes, steps)
    finally:
        took = time.perf_counter() - started
        during = OPENED.count - mine_before - opened
        await ws.close()
    return {"panes": len(panes), "steps": steps, "open": opened, "steps_opened": during,
            "total": OPENED.count - mine_before, "server": await server_count(counter, url) - server_before,
            "seconds": took}


async def bench_app(url: str, counter: AsyncConnection, steps: int) -> dict:
    """The same through the real app, typed into its panes with Pilot."""
    import tempfile

    from playground.ui.app import make_app
    from tests.ui.conftest import step_done, type_in

    server_before, mine_before = await server_count(counter, url), OPENED.count
    with tempfile.TemporaryDirectory() as data:
        app = make_app(url=url, sessions=2, reset_demo=True, history_dir=Path(data))
        async with app.run_test(size=(160, 50)) as pilot:
            await asyncio.wait_for(app.waits.opened.wait(), 60)
            opened = OPENED.count - mine_before
            for i in range(steps):
                pane = "AB"[i // 2 % 2]
                await type_in(pilot, pane, f"update items set stock = {i + 1} where id = 1" if i % 2 == 0 else "commit")
                await step_done(pilot, app.workspace.last_index)
            during = OPENED.count - mine_before - opened
            await pilot.press("ctrl+q")
    return {"panes": 2, "steps": steps, "open": opened, "steps_opened": during,
            "total": OPENED.count - mine_before, "server": await server_count(counter, url) - server_before}


class MonitorLoad:
    """The queries a workspace's lock monitor sends, and how long each look (poll) takes."""

    def __init__(self, ws: Workspace) -> None:
        monitor = ws.monitor
        self.queries = 0
        self.polls: list[float] = []
        event.listen(monitor.engine.sync_engine, "before_cursor_execute", self._query)  # type: ignore[attr-defined]
        edges = monitor._edges  # type: ignore[attr-defined]

        async def timed(*args):
            start = time.perf_counter()
            try:
                return await edges(*args)
            finally:
                self.polls.append(time.perf_counter() - start)

        monitor._edges = timed  # type: ignore[attr-defined]

    def _query(self, *args) -> None:
        self.queries += 1

    def reset(self) -> None:
        self.queries, self.polls = 0, []


async def bench_monitor(url: str, panes: int) -> dict:
    """The monitor's load with `panes` panes: idle, then while one step waits on another's lock."""
    names = tuple("ABCDEF"[:panes])
    ws = await Workspace.open(DEMO_KIT, url, sessions=names, isolate=True, defaults=SessionSettings(lock_timeout=30))
    try:
        load = MonitorLoad(ws)
        for name in names:
            await ws.run(name, "select count(*) from items")  # every pane in a transaction, as in a class
        load.reset()
        await asyncio.sleep(WAIT_SECONDS)
        idle = load.queries / WAIT_SECONDS
        await ws.run("A", "update items set stock = 5 where id = 1")
        load.reset()
        waiting = ws.submit("B", "update items set stock = 6 where id = 1")
        await asyncio.sleep(WAIT_SECONDS)
        queries, polls = load.queries, list(load.polls)
        await ws.run("A", "rollback")
        await asyncio.wait_for(waiting.done.wait(), 30)
    finally:
        await ws.close()
    ms = sorted(p * 1000 for p in polls) or [0.0]
    return {"panes": panes, "idle_qps": idle, "wait_qps": queries / WAIT_SECONDS, "polls_per_s": len(polls) / WAIT_SECONDS,
            "poll_ms_p50": statistics.median(ms), "poll_ms_p95": ms[int(len(ms) * 0.95) - 1 if len(ms) > 1 else 0]}


def _print_connections(where: str, row: dict) -> None:
    per_1000 = row["steps_opened"] * 1000 / row["steps"]
    print(f"| {where} | {row['panes']} | {row['steps']} | {row['open']} | {row['steps_opened']} ({per_1000:.0f} per 1,000) "
          f"| {row['total']} | {row['server']} | {row['panes'] + 2} |", flush=True)


async def main(args: argparse.Namespace) -> None:
    print("| run | panes | steps | opened at open | opened by the steps | total (txplay's pools) | server's count | target per 1,000 steps: ≤ panes + 2 |")
    print("|---|---|---|---|---|---|---|---|")
    async with pg_database() as pg_url, admin(pg_url) as pg_counter:
        for panes in args.panes:
            _print_connections("PostgreSQL, engine", await bench_engine(pg_url, pg_counter, tuple("ABCDEF"[:panes]), args.steps))
        if args.app_steps:
            _print_connections("PostgreSQL, app (Pilot)", await bench_app(pg_url, pg_counter, args.app_steps))
    async with admin(MYSQL) as my_counter:
        for panes in args.panes:
            _print_connections("MariaDB, engine", await bench_engine(MYSQL, my_counter, tuple("ABCDEF"[:panes]), args.steps))
    print()
    print("| server | panes | idle: queries/s | one step waiting: queries/s | polls/s | ms per poll p50 | p95 |")
    print("|---|---|---|---|---|---|---|")
    for label, url in (("PostgreSQL", PG), ("MariaDB", MYSQL)):
        for panes in (2, 6):
            row = await bench_monitor(url, panes)
            print(f"| {label} | {panes} | {row['idle_qps']:.1f} | {row['wait_qps']:.1f} | {row['polls_per_s']:.1f} "
                  f"| {row['poll_ms_p50']:.2f} | {row['poll_ms_p95']:.2f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--app-steps", type=int, default=300)
    parser.add_argument("--panes", type=int, nargs="+", default=[2, 4])
    asyncio.run(main(parser.parse_args()))
