"""Lock waits as the database has them: none missed, none invented, none pinned on the wrong step.

Checked against the databases themselves: a raw sqlite3 connection tells whether a write lock
is held, and the servers run the scenarios for real.
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap

import pytest
from sqlalchemy import event

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, StepWaiting, Workspace
from playground.engine.backends import sqlite as sqlite_backend
from playground.scenario import parse, run_scenario
from tests.conftest import ok, server_url
from tests.engine.test_servers import SETUP, server  # noqa: F401 (the fixture: A and B on each server)

SLEEP = {"postgresql": "select pg_sleep(2)", "mysql": "select sleep(2)"}


def waits_reported(ws: Workspace) -> list[int]:
    """The indexes of the steps reported waiting, as they are reported."""
    seen: list[int] = []
    ws.subscribe(lambda e: seen.append(e.index) if isinstance(e, StepWaiting) else None)
    return seen


async def settled(ws: Workspace, session: str, text: str):
    """Issue a step as the scenario runner does: wait for the session's previous step, then settle."""
    for entry in ws.snapshot().timeline:
        if entry.session == session:
            await ws.handle(entry.index).done.wait()
    handle = ws.submit(session, text)
    await ws.settle()
    return handle


# -- 8: a wait that has ended is never pinned on the next step -------------------------------


class HeldAnswer:
    """The monitor's connection, except that once armed, the next query's answer is held back.

    The query runs at once (it sees the present); its answer reaches the monitor only when the
    test releases it, after the steps have moved on: the race of a slow poll, made certain.
    """

    def __init__(self, conn) -> None:
        self.conn = conn
        self.armed = False
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name):
        return getattr(self.conn, name)

    async def execute(self, *args, **kwargs):
        result = await self.conn.execute(*args, **kwargs)
        if self.armed:
            self.armed = False
            self.holding.set()
            await self.release.wait()
        return result


async def test_a_look_taken_while_the_previous_step_waited_is_not_applied_to_the_next(server):  # noqa: F811
    ws = server
    backend = ws.backend.name
    reported = waits_reported(ws)
    await ok(ws, "A", "update t set v = 11 where id = 1")
    update = await settled(ws, "B", "update t set v = 12 where id = 1")
    assert update.wait is not None and update.wait.holders == ("A",)

    held = HeldAnswer(ws.monitor.conn)
    ws.monitor.conn = held
    held.armed = True
    await held.holding.wait()  # a poll has seen B waiting; its answer is on hold
    await ok(ws, "A", "commit")
    await update.done.wait()

    b = ws.sessions["B"]
    sleeping = asyncio.Event()
    event.listen(b.base_engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: sleeping.set() if statement == SLEEP[backend] else None)
    following = ws.submit("B", SLEEP[backend])
    await sleeping.wait()  # B's next statement is on its way to the server
    held.release.set()     # now the old look arrives
    await ws.settle()
    assert following.wait is None, f"{following.input!r} was reported waiting on {following.wait.holders}"
    await following.done.wait()
    assert following.result.status == "ok" and following.waited is None
    assert reported == [update.index]


async def test_steps_after_a_wait_are_never_reported_waiting(server):  # noqa: F811
    ws = server
    reported = waits_reported(ws)
    updates = []
    for round in range(15):
        await settled(ws, "A", f"update t set v = {round} where id = 1")
        update = await settled(ws, "B", f"update t set v = {100 + round} where id = 1")
        assert update.wait is not None and update.wait.holders == ("A",), f"round {round}: the wait was not seen"
        updates.append(update.index)
        await settled(ws, "A", "commit")
        after = [await settled(ws, "B", "select 1"), await settled(ws, "B", "rollback")]
        for handle in after:
            await handle.done.wait()
            assert handle.result.status == "ok" and handle.waited is None, f"round {round}: {handle.input!r} waited"
    assert reported == updates


# -- 9: metadata-lock waits (an ALTER waiting for a transaction that read the table) ---------


def txp(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


async def run(text: str, url: str):
    events: list[dict] = []
    # A runner that hangs is a failure too, not a test run that never ends.
    report = await asyncio.wait_for(run_scenario(parse(txp(text), "test.txp"), url, on_event=events.append), 60)
    return report, events


def step_event(events: list[dict], index: int) -> dict:
    (found,) = [e for e in events if e["event"] == "step" and e["index"] == index]
    return found


def completed(events: list[dict], index: int) -> dict:
    (found,) = [e for e in events if e["event"] == "completed" and e["index"] == index]
    return found


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_an_alter_waits_for_the_transaction_that_read_the_table(backend):
    report, events = await run("""
        title: ALTER waits for a reader
        sessions: A B C
        setup:
            create table t (id int primary key, v int);
            insert into t (id, v) values (1, 10);
        A: select v from t where id = 1
        B: alter table t add column w int
        => waits, then ok
        C: select count(*) from t
        => waits, then ok
        A: commit
        B: commit
        B: select w from t where id = 1
        => rows [(None,)]
    """, server_url(backend))
    alter, queued = step_event(events, 2), step_event(events, 3)
    assert alter["status"] == "waiting" and alter["waiting_for"] == ["A"]
    # C's read queues behind B's ALTER, which waits for A.
    assert queued["status"] == "waiting" and "B" in queued["waiting_for"]
    assert completed(events, 2)["status"] == "ok"
    assert report.exit_code == 0, [e for e in events if e["event"] in ("step", "completed")]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_metadata_lock_wait_ends_at_the_lock_timeout(backend):
    report, events = await run("""
        title: ALTER gives up
        sessions: A B
        lock-timeout: 1
        setup:
            create table t (id int primary key, v int);
            insert into t (id, v) values (1, 10);
        A: select v from t where id = 1
        B: alter table t add column w int
        => [mysql] waits, then error lock wait timeout exceeded
        => [postgresql] waits, then error lock timeout
        B: rollback
        => ok
        A: rollback
    """, server_url(backend))
    assert step_event(events, 2)["waiting_for"] == ["A"]
    assert completed(events, 2)["status"] == "error"
    assert report.exit_code == 0, [e for e in events if e["event"] in ("step", "completed")]


async def test_mariadb_timeout_command_sets_the_metadata_lock_timeout_too():
    ws = await Workspace.open(DEMO_KIT, server_url("mysql"), sessions=("A",), setup=SETUP, isolate=True,
                              defaults=SessionSettings(lock_timeout=3))
    try:
        assert (await ok(ws, "A", "select @@session.lock_wait_timeout, @@session.innodb_lock_wait_timeout")).rows == ((3, 3),)
        await ok(ws, "A", "rollback")
        await ok(ws, "A", "\\timeout 2")
        assert (await ok(ws, "A", "select @@session.lock_wait_timeout, @@session.innodb_lock_wait_timeout")).rows == ((2, 2),)
    finally:
        await ws.close()


# -- 10: SQLite lock levels are what SQLite holds, after failed statements too ---------------


def write_lock_held(ws: Workspace) -> bool:
    """SQLite's own answer: can another connection take the write lock right now?"""
    probe = sqlite3.connect(ws.backend.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        probe.close()


def thinks_it_holds_the_write_lock(ws: Workspace, session: str) -> bool:
    return ws.sessions[session].current_lock_level() in ("reserved", "exclusive")


@pytest.fixture(params=["asked", "inferred"])
async def sqlite_ws(request, monkeypatch):
    """SQLite asked with sqlite3_txn_state(), and the inference used where it cannot be asked."""
    if request.param == "inferred":
        monkeypatch.setattr(sqlite_backend, "sqlite_txn_state", lambda driver_connection: None)
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=10.0))
    try:
        yield ws
    finally:
        await ws.close()


async def test_a_failed_write_keeps_its_write_lock_and_another_writer_is_seen_waiting(sqlite_ws):
    ws = sqlite_ws
    await ok(ws, "A", "select count(*) from items")
    failed = await ws.run("A", "insert into items (id, name, stock) values (1, 'dup', 1)")
    assert failed.status == "error" and "UNIQUE" in failed.error.message
    assert write_lock_held(ws)
    assert thinks_it_holds_the_write_lock(ws, "A")
    writer = ws.submit("B", "update items set stock = 1 where id = 2")
    await ws.settle()
    assert writer.wait is not None and writer.wait.holders == ("A",)
    await ok(ws, "A", "rollback")
    await writer.done.wait()
    assert writer.result.status == "ok" and writer.waited.holders == ("A",)
    await ok(ws, "B", "commit")


async def test_a_write_that_found_the_database_locked_acquired_nothing(sqlite_ws):
    ws = sqlite_ws
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    await ok(ws, "B", "\\timeout 0.2")
    await ok(ws, "B", "select count(*) from items")
    refused = await ws.run("B", "update items set stock = 2 where id = 2")
    assert refused.status == "error" and "locked" in refused.error.message
    await ok(ws, "A", "rollback")
    assert not write_lock_held(ws)
    assert not thinks_it_holds_the_write_lock(ws, "B")
    await ok(ws, "B", "rollback")


STEPS = [
    "select count(*) from items",
    "update nosuch set x = 1",  # refused before it ran: takes no lock
    "insert into items (id, name, stock) values (1, 'dup', 1)",
    "rollback",
    "update items set stock = -1 where id = 1",  # the CHECK fails once the write has begun
    "savepoint s1",
    "update items set stock = 3 where id = 1",
    "rollback to s1",
    "release s1",
    "commit",
    "insert into items (id, name, stock) values (1, 'dup', 1)",  # outside a transaction: nothing kept
    "\\begin-mode immediate",
    "select 1",
    "select 1/0",
    "rollback",
]


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
async def test_the_write_lock_a_session_shows_is_the_one_sqlite_holds_after_every_step(journal_mode):
    ws = await Workspace.open(DEMO_KIT, sessions=("A",), journal_mode=journal_mode)
    try:
        for text in STEPS:
            await ws.run("A", text)
            assert thinks_it_holds_the_write_lock(ws, "A") == write_lock_held(ws), f"after {text!r}"
    finally:
        await ws.close()


# -- 11: SQLite: a slow statement is running, not waiting ------------------------------------

COUNT_TO_MILLIONS = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) from c"


async def test_a_cpu_bound_statement_is_not_waiting_while_another_session_holds_a_lock(workspace):
    ws = workspace
    reported = waits_reported(ws)
    await ok(ws, "A", "\\begin-mode exclusive")
    await ok(ws, "A", "select 1")  # A holds EXCLUSIVE: no other connection may even read
    assert write_lock_held(ws)
    counting = ws.submit("B", COUNT_TO_MILLIONS)
    await ws.settle()
    assert counting.wait is None, f"reported waiting on {counting.wait.holders}"
    await counting.done.wait()
    assert counting.result.rows == ((3000000,),) and counting.waited is None

    # A read that does need a lock A holds is a real wait, on A.
    reading = ws.submit("B", "select count(*) from items")
    await ws.settle()
    assert reading.wait is not None and reading.wait.holders == ("A",)
    await ok(ws, "A", "rollback")
    await reading.done.wait()
    assert reading.result.status == "ok"
    assert reported == [reading.index]


async def test_a_select_waiting_while_its_rows_are_fetched_is_seen_waiting():
    """asyncpg runs a streamed SELECT's statement at its first fetch, after execute returned: a
    wait that starts there (an advisory lock, taken by a function, not by the parse) is a wait,
    with its holder, not a step that silently runs into the lock timeout."""
    report, events = await run("""
        title: an advisory lock wait
        sessions: A B
        lock-timeout: 5
        A: select pg_advisory_lock(42)
        B: select pg_advisory_lock(42) as got
        => waits, then ok
        A: select pg_advisory_unlock(42)
        => rows [(True,)]
        B: select pg_advisory_unlock(42)
        => rows [(True,)]
    """, server_url("postgresql"))
    assert step_event(events, 2)["status"] == "waiting"
    assert step_event(events, 2)["waiting_for"] == ["A"]
    assert completed(events, 2)["status"] == "ok"
    assert report.exit_code == 0, [e for e in events if e["event"] in ("step", "completed")]


async def test_a_deferrable_read_only_transaction_waits_for_a_safe_snapshot():
    """SERIALIZABLE READ ONLY DEFERRABLE waits, not on a lock, until no serializable writer could
    make its snapshot unsafe: a wait on those writers (pg_safe_snapshot_blocking_pids). The
    snapshot it then reads from is the one taken before the wait, found safe."""
    report, events = await run("""
        title: waiting for a safe snapshot
        sessions: A B
        setup:
            create table t (id int primary key, v int);
            insert into t (id, v) values (1, 10);
        A: begin; set transaction isolation level serializable
        A: select v from t where id = 1
        A: update t set v = 11 where id = 1
        B: begin; set transaction isolation level serializable read only deferrable
        B: select v from t where id = 1
        => waits, then rows [(10,)]
        A: commit
        B: commit
    """, server_url("postgresql"))
    assert step_event(events, 5)["status"] == "waiting"
    # The server makes it wait on every serializable writer it has: another test's, on the shared
    # server, is named as the connection it is.
    waiting_for = step_event(events, 5)["waiting_for"]
    assert "A" in waiting_for and all(h == "A" or h.startswith("connection ") for h in waiting_for), waiting_for
    assert report.exit_code == 0, [e for e in events if e["event"] in ("step", "completed")]
