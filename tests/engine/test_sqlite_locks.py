"""SQLite's single writer: waits are reported with their holder, and never block the app."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, StepWaiting, Workspace
from tests.conftest import committed_rows, ok, value


@pytest.fixture
async def three():
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B", "C"), defaults=SessionSettings(lock_timeout=10.0))
    try:
        yield ws
    finally:
        await ws.close()


async def test_writer_waits_for_holder_while_other_sessions_keep_running(three):
    ws = three
    events = []
    ws.subscribe(events.append)
    await ok(ws, "A", "update items set stock = 9 where id = 1")
    waiting = ws.submit("B", "update items set stock = 8 where id = 2")
    await ws.settle()
    assert waiting.wait is not None and not waiting.done.is_set()
    assert waiting.wait.holders == ("A",)
    snap = ws.snapshot()
    assert snap.session("B").status == "waiting"
    assert snap.session("B").waiting_for == ("A",)
    assert snap.session("A").blocking == ("B",)
    assert snap.session("B").badge.startswith("waiting") and snap.session("B").badge.endswith("on A")
    assert [(w.waiter, w.holders) for w in snap.locks] == [("B", ("A",))]
    assert any(isinstance(e, StepWaiting) and e.session == "B" for e in events)

    # A third session runs a step to the end while B is still waiting.
    third = await ok(ws, "C", "select name from users where id = 1")
    assert third.rows == (("ann",),)
    assert not waiting.done.is_set(), "B finished before A released its lock"
    # C's read left it holding SHARED; in rollback-journal mode A's COMMIT would wait for it.
    await ok(ws, "C", "rollback")

    await ok(ws, "A", "commit")
    await waiting.done.wait()
    assert waiting.result.status == "ok"
    assert waiting.waited is not None and waiting.waited.holders == ("A",)
    await ok(ws, "B", "commit")
    assert await committed_rows(ws, "select id, stock from items where id in (1, 2) order by id") == [(1, 9), (2, 8)]
    timeline = {entry.index: entry for entry in ws.snapshot().timeline}
    assert timeline[waiting.index].waited_on == ("A",)
    assert timeline[waiting.index].done_after == waiting.after


async def test_wait_ends_with_database_is_locked_after_the_busy_timeout(workspace):
    await ok(workspace, "B", "\\timeout 0.3")
    await ok(workspace, "A", "update items set stock = 1 where id = 1")
    result = await workspace.run("B", "update items set stock = 2 where id = 1")
    assert result.status == "error"
    assert "database is locked" in result.error.message
    assert "lock" in (result.error.hint or "")
    assert workspace.snapshot().session("B").status in ("idle", "active")


async def test_failed_commit_rolls_the_session_back_and_no_connection_stays_in_a_transaction(workspace):
    ws = workspace
    await ok(ws, "A", "\\timeout 0.3")
    await ok(ws, "A", "update items set stock = 5 where id = 1")
    # B reads in a transaction: in rollback-journal mode its SHARED lock blocks A's COMMIT.
    await ok(ws, "B", "select * from items")
    result = await ws.run("A", "commit")
    assert result.status == "error" and "database is locked" in result.error.message
    assert any("rolled back" in m for m in result.messages)
    a = ws.sessions["A"]
    assert not a.sync.in_transaction()
    assert a.in_database_transaction() is False
    await ok(ws, "B", "rollback")
    # The connection is usable: a new transaction begins without "within a transaction" errors.
    assert await value(ws, "A", "session.get(Item, 1).stock") == 10
    await ok(ws, "A", "rollback")
    assert await committed_rows(ws, "select stock from items where id = 1") == [(10,)]


async def test_failed_commit_inside_python_that_catches_it_is_repaired_too(workspace):
    ws = workspace
    await ok(ws, "A", "\\timeout 0.3")
    await ok(ws, "A", "session.get(Item, 1).stock = 3")
    await ok(ws, "B", "select * from items")
    result = await ws.run("A", "try:\n    session.commit()\nexcept Exception as e:\n    caught = type(e).__name__")
    assert result.status == "ok"
    assert await value(ws, "A", "caught") == "OperationalError"
    assert any("rolled back" in m for m in result.messages)
    assert ws.sessions["A"].in_database_transaction() is False


async def test_commit_waits_on_reader_in_rollback_journal_mode(workspace):
    ws = workspace
    await ok(ws, "A", "update items set stock = 4 where id = 1")
    await ok(ws, "B", "select count(*) from items")
    commit = ws.submit("A", "commit")
    await ws.settle()
    assert commit.wait is not None and commit.wait.holders == ("B",)
    await ok(ws, "B", "rollback")
    await commit.done.wait()
    assert commit.result.status == "ok"


async def test_wal_mode_readers_do_not_block_a_commit():
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), journal_mode="wal")
    try:
        await ok(ws, "A", "update items set stock = 4 where id = 1")
        await ok(ws, "B", "select count(*) from items")
        await ok(ws, "A", "commit")
        assert await committed_rows(ws, "pragma journal_mode") == [("wal",)]
    finally:
        await ws.close()


async def test_begin_immediate_takes_the_write_lock_at_begin(workspace):
    ws = workspace
    await ok(ws, "A", "\\begin-mode immediate")
    await ok(ws, "A", "select 1")
    waiting = ws.submit("B", "delete from jobs where id = 3")
    await ws.settle()
    assert waiting.wait is not None and waiting.wait.holders == ("A",)
    await ok(ws, "A", "rollback")
    await waiting.done.wait()
    assert waiting.result.status == "ok"


async def test_cancel_on_sqlite_says_it_cannot_interrupt_a_busy_wait(workspace):
    ws = workspace
    await ok(ws, "B", "\\timeout 1")
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    waiting = ws.submit("B", "update items set stock = 2 where id = 1")
    await ws.settle()
    assert waiting.wait is not None
    cancelled = await ws.run("B", "\\cancel")
    assert cancelled.status == "error"
    assert "SQLite cannot interrupt" in cancelled.error.message
    assert not waiting.done.is_set()
    await waiting.done.wait()
    assert "database is locked" in waiting.result.error.message
    await ok(ws, "A", "rollback")
    await ok(ws, "B", "rollback")
    await ok(ws, "B", "select 1")


async def test_cancel_with_nothing_running_says_so(workspace):
    result = await workspace.run("A", "\\cancel")
    assert result.status == "ok"
    assert "nothing to cancel" in result.messages[0]


async def test_closing_a_session_mid_transaction_rolls_it_back(workspace):
    ws = workspace
    await ok(ws, "A", "insert into jobs (id, payload) values (9, 'x')")
    message = await ws.close_session("A")
    assert "rolled back" in message
    assert await committed_rows(ws, "select count(*) from jobs where id = 9") == [(0,)]
    assert "A" not in ws.sessions
    name = await ws.add_session()
    assert name == "A"
    await ok(ws, "A", "select 1")


async def running_in_sqlite(ws: Workspace, session: str, statement: str) -> asyncio.Event:
    """An event set once SQLite itself is executing `statement` on the session's connection.

    `before_cursor_execute` fires before the driver's thread hands the statement to SQLite, and
    sqlite3_interrupt() is lost while no statement runs; SQLite's progress handler is called from
    inside the running statement, so it is the event to wait for. It is armed only for `statement`,
    not for the step's BEGIN.
    """
    ps = ws.sessions[session]
    assert ps.driver_connection is not None
    loop = asyncio.get_running_loop()
    running = asyncio.Event()
    armed = False

    @event.listens_for(ps.base_engine.sync_engine, "before_cursor_execute")
    def _arm(conn, cursor, text, parameters, context, many) -> None:
        nonlocal armed
        armed = text == statement

    def _progress() -> int:
        if armed and not running.is_set():
            loop.call_soon_threadsafe(running.set)
        return 0  # go on: only \\cancel may stop the statement

    await ps.driver_connection.set_progress_handler(_progress, 1000)
    return running


async def test_cancel_interrupts_a_long_running_sqlite_statement(workspace):
    ws = workspace
    endless = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    running = await running_in_sqlite(ws, "A", endless)
    long = ws.submit("A", endless)
    await asyncio.wait_for(running.wait(), 10)
    cancelled = await ws.run("A", "\\cancel")
    assert cancelled.status == "ok" and "interrupted" in cancelled.messages[0]
    try:
        await asyncio.wait_for(long.done.wait(), 10)
    finally:
        if not long.done.is_set():  # the cancel did not stop it: stop it so the workspace can close
            await ws.sessions["A"].driver_connection.interrupt()
    assert long.result.status == "error" and "interrupted" in long.result.error.message
    assert (await ws.run("A", "select 1")).rows == ((1,),)
