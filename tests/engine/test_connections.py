"""Server connections stay few: one per session, one for the lock monitor, one for the observer.

Each new server connection is a server process (PostgreSQL) or thread (MariaDB) started and
ended; a playground that opened one per step or per look at the committed data would load a
shared server for nothing. Connections are counted as SQLAlchemy's pools open them (every
engine of the process), which is what the server counts as sessions. A connection the server
dropped is replaced at the next use, never left to fail every later read or poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.locks import ServerLockMonitor
from tests.conftest import ok, server_url

SERVERS = ["postgresql", "mysql"]
STEPS = 200


class ConnectionCount:
    """How many DBAPI connections the process's pools opened since it began counting."""

    def __init__(self) -> None:
        self.opened = 0

    def __call__(self, dbapi_connection, record) -> None:
        self.opened += 1


@pytest.fixture
def connections() -> Iterator[ConnectionCount]:
    count = ConnectionCount()
    event.listen(Pool, "connect", count)
    try:
        yield count
    finally:
        event.remove(Pool, "connect", count)


async def _steps(ws: Workspace, panes: tuple[str, ...], n: int) -> None:
    """Writes and commits taking turns, the committed data read after each (as the app does)."""
    for i in range(n):
        name = panes[i // 2 % len(panes)]  # each pane in turn writes, then commits
        await ok(ws, name, f"update items set stock = {i + 1} where id = 1" if i % 2 == 0 else "commit")
        committed = await ws.committed("items")
        assert committed.error is None, committed.error
        await ws.tables()


@pytest.mark.parametrize("backend", SERVERS)
@pytest.mark.parametrize("panes", [("A", "B"), ("A", "B", "C", "D")])
async def test_steps_open_no_connection_beyond_one_per_pane_the_monitor_and_the_observer(backend, panes, connections):
    url = server_url(backend)
    ws = await Workspace.open(DEMO_KIT, url, sessions=panes, isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        # Opening: the schema's creation (a connection outside it, closed at once), then the rest.
        assert connections.opened <= len(panes) + 3, connections.opened
        opened = connections.opened
        await _steps(ws, panes, STEPS)
        assert connections.opened - opened == 0, f"{connections.opened - opened} connections opened by {STEPS} steps"
        assert connections.opened <= len(panes) + 3
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", SERVERS)
async def test_lock_waits_are_seen_without_a_connection_per_poll(backend, connections):
    ws = await Workspace.open(DEMO_KIT, server_url(backend), sessions=("A", "B"), isolate=True,
                              defaults=SessionSettings(lock_timeout=5))
    try:
        opened = connections.opened
        for i in range(5):
            await ok(ws, "A", f"update items set stock = {i + 1} where id = 1")
            waiting = ws.submit("B", f"update items set stock = {i + 10} where id = 1")
            await ws.settle()
            assert waiting.wait is not None and waiting.wait.holders == ("A",)
            await asyncio.sleep(0.3)  # several polls while B waits
            await ok(ws, "A", "commit")
            await asyncio.wait_for(waiting.done.wait(), 10)
            await ok(ws, "B", "commit")
        assert connections.opened == opened
    finally:
        await ws.close()


async def _kill(url: str, backend: str, server_id: int) -> None:
    """End a workspace's own connection from outside, and return once the server has ended it."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from playground.engine.backends import resolve

    engine = create_async_engine(resolve(url).session_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if backend == "postgresql":
                # With a timeout, pg_terminate_backend returns only when the backend has exited.
                assert (await conn.execute(text(f"SELECT pg_terminate_backend({int(server_id)}, 10000)"))).scalar()
                return
            await conn.execute(text(f"KILL {int(server_id)}"))
            listed = text("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :id")
            for _ in range(500):  # KILL only flags the connection: wait until it is gone
                if (await conn.execute(listed, {"id": server_id})).scalar() == 0:
                    return
                await asyncio.sleep(0.01)
            pytest.fail(f"the server still lists connection {server_id} after KILL")
    finally:
        await engine.dispose()


async def _connection_id(conn) -> int:
    from sqlalchemy import text

    query = "SELECT pg_backend_pid()" if conn.dialect.name == "postgresql" else "SELECT CONNECTION_ID()"
    return (await conn.execute(text(query))).scalar()


@pytest.mark.parametrize("backend", SERVERS)
async def test_a_dropped_monitor_connection_is_replaced_and_waits_are_seen_again(backend, private_servers):
    # It ends a connection from outside: on a server of its own.
    url = private_servers.get(backend).url
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        monitor = ws.monitor
        assert isinstance(monitor, ServerLockMonitor)
        await _kill(url, backend, await _connection_id(monitor.conn))
        await ok(ws, "A", "update items set stock = 7 where id = 1")
        waiting = ws.submit("B", "update items set stock = 8 where id = 1")
        await ws.settle()
        assert waiting.wait is not None and waiting.wait.holders == ("A",), "the wait went unseen after the monitor's connection dropped"
        await ok(ws, "A", "rollback")
        await asyncio.wait_for(waiting.done.wait(), 10)
        assert waiting.result.status == "ok"
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", SERVERS)
async def test_a_dropped_observer_connection_is_replaced_before_the_next_read(backend, private_servers):
    url = private_servers.get(backend).url
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        async with ws.observer.connect() as conn:
            observer_id = await _connection_id(conn)
            await conn.rollback()
        await _kill(url, backend, observer_id)
        read = await ws.committed("items")
        assert read.error is None, read.error
        assert read.total and read.total > 0
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", SERVERS)
async def test_the_kept_observer_reads_a_table_altered_since_its_last_read(backend):
    ws = await Workspace.open(DEMO_KIT, server_url(backend), sessions=("A",), isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        assert (await ws.committed("items")).columns == ("id", "name", "stock")
        await ok(ws, "A", "alter table items add column extra int")
        await ok(ws, "A", "commit")
        read = await ws.committed("items")
        assert read.error is None, read.error
        assert read.columns == ("id", "name", "stock", "extra")
    finally:
        await ws.close()


@pytest.mark.parametrize(("backend", "setup"), [("postgresql", "set search_path = pg_catalog"), ("mysql", "use mysql")])
async def test_setup_sql_that_changes_its_connection_does_not_follow_the_committed_view(backend, setup):
    ws = await Workspace.open(DEMO_KIT, server_url(backend), sessions=("A",), isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        await ws.run_outside(setup)
        read = await ws.committed("items")
        assert read.error is None, read.error
        assert read.total == 3
    finally:
        await ws.close()
