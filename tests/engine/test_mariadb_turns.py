"""MariaDB's InnoDB lock tables are read in turn by every txplay reader of a server.

MariaDB refills its INNODB_TRX cache only after 0.1 s without a reader, so readers in several
processes (two txplay apps, a matrix beside an app, a classroom's visitors) that look more often
than that between them would see stale waits forever. Each reader takes the server's named lock
(playground.innodb_cache) for its look; here another process's turn is played by a connection
that holds that lock.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from playground import innodb_cache
from playground.demo.kit import DEMO_KIT
from playground.engine import Workspace
from playground.engine.backends import resolve
from tests.conftest import server_url


async def _until(condition, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _waiting_pair(url: str) -> Workspace:
    """A workspace whose session B waits for A's row lock."""
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), demo=False, isolate=True)
    await ws.run("A", "create table turns (id int primary key)")
    await ws.run("A", "begin")
    await ws.run("A", "insert into turns values (1)")
    await ws.run("B", "\\timeout 20")
    await ws.run("B", "begin")
    ws.submit("B", "insert into turns values (1)")
    return ws


async def test_a_mariadb_monitor_looks_only_in_its_turn():
    url = server_url("mysql")
    other = create_async_engine(resolve(url).url)
    try:
        async with other.connect() as turn:
            assert (await turn.execute(text(innodb_cache.TAKE))).scalar() == 1  # another reader's turn
            ws = await _waiting_pair(url)
            try:
                await asyncio.sleep(1.0)
                assert ws.snapshot().locks == ()  # no look while the other reader has the turn
                await turn.execute(text(innodb_cache.GIVE))
                await _until(lambda: bool(ws.snapshot().locks))
                (wait,) = ws.snapshot().locks
                assert (wait.waiter, wait.holders) == ("B", ("A",))
            finally:
                await ws.close()
    finally:
        await other.dispose()


async def test_a_queued_monitor_still_cancels_and_closes_at_once():
    url = server_url("mysql")
    other = create_async_engine(resolve(url).url)
    try:
        async with other.connect() as turn:
            assert (await turn.execute(text(innodb_cache.TAKE))).scalar() == 1
            ws = await _waiting_pair(url)
            closed = False
            try:
                await asyncio.sleep(0.5)  # B's monitor queues for its turn
                started = time.monotonic()
                assert "KILL QUERY" in await ws.cancel("B")
                await _until(lambda: ws.snapshot().session("B").status.value != "waiting")
                assert time.monotonic() - started < innodb_cache.WAIT
                started = time.monotonic()
                await ws.close()
                closed = True
                assert time.monotonic() - started < innodb_cache.WAIT
            finally:
                if not closed:
                    await ws.close()
    finally:
        await other.dispose()
