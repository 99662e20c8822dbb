"""Hints that say which case the user is in, checked by provoking each case for real.

SQLite's "database is locked" has four causes with different cures; MissingGreenlet in async
mode comes from an expired attribute, a lazy relationship or a call that was not awaited.
"""

from __future__ import annotations

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.errors import BUSY_HINTS
from tests.conftest import ok

TIMEOUT = 1.0  # long enough that "at once" and "after the whole busy timeout" are far apart


async def sqlite(journal_mode: str = "delete") -> Workspace:
    return await Workspace.open(
        DEMO_KIT, sessions=("A", "B"), journal_mode=journal_mode, defaults=SessionSettings(lock_timeout=TIMEOUT)
    )


async def locked_hint(ws: Workspace, session: str, text: str) -> str:
    result = await ws.run(session, text)
    assert result.error is not None and "database is locked" in result.error.message, result
    assert result.error.hint is not None
    return result.error.hint


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
async def test_a_reader_that_wants_to_write_while_another_writes_is_refused_at_once(journal_mode):
    ws = await sqlite(journal_mode)
    try:
        await ok(ws, "B", "begin")
        await ok(ws, "B", "select count(*) from items")  # B holds a read lock (a snapshot in WAL)
        await ok(ws, "A", "update items set stock = 1 where id = 1")  # A holds the write lock
        hint = await locked_hint(ws, "B", "update items set stock = 2 where id = 2")
        assert hint == BUSY_HINTS["upgrade"]
        assert "cannot help" in hint and "\\begin-mode immediate" in hint
    finally:
        await ws.close()


async def test_a_stale_wal_snapshot_can_never_write():
    ws = await sqlite("wal")
    try:
        await ok(ws, "B", "begin")
        await ok(ws, "B", "select count(*) from items")
        await ok(ws, "A", "update items set stock = 1 where id = 1")
        await ok(ws, "A", "commit")  # nobody holds a lock now, but B's snapshot is older
        hint = await locked_hint(ws, "B", "update items set stock = 2 where id = 2")
        assert hint == BUSY_HINTS["snapshot"]
        assert "nobody holds the lock" in hint
    finally:
        await ws.close()


async def test_a_writer_that_waited_the_whole_busy_timeout_is_told_who_to_end():
    ws = await sqlite()
    try:
        await ok(ws, "A", "update items set stock = 1 where id = 1")
        await ok(ws, "B", "begin")  # B holds no lock yet: it waits for A's write lock
        hint = await locked_hint(ws, "B", "update items set stock = 2 where id = 2")
        assert hint == BUSY_HINTS["waited"]
        assert "\\timeout" in hint
    finally:
        await ws.close()


async def test_a_commit_kept_waiting_by_a_reader_in_rollback_journal_mode():
    ws = await sqlite()
    try:
        await ok(ws, "B", "begin")
        await ok(ws, "B", "select count(*) from items")  # SHARED lock
        await ok(ws, "A", "update items set stock = 1 where id = 1")
        hint = await locked_hint(ws, "A", "commit")
        assert hint == BUSY_HINTS["commit"]
        assert "reader" in hint and "rolled back" in hint
    finally:
        await ws.close()


@pytest.fixture
async def async_mode():
    ws = await Workspace.open(DEMO_KIT, sessions=("A",))
    await ok(ws, "A", "\\mode async")
    await ok(ws, "A", "u = await session.get(User, 1)")
    try:
        yield ws
    finally:
        await ws.close()


async def test_missing_greenlet_from_an_expired_attribute_says_refresh(async_mode):
    ws = async_mode
    await ok(ws, "A", "await session.commit()")
    result = await ws.run("A", "u.name")
    assert "MissingGreenlet" in result.error.message
    assert "await session.refresh(obj)" in result.error.hint
    assert "expire_on_commit=False" in result.error.hint
    assert "await the call" not in result.error.hint


async def test_missing_greenlet_from_a_lazy_relationship_says_awaitable_attrs(async_mode):
    result = await async_mode.run("A", "u.accounts")
    assert "MissingGreenlet" in result.error.message
    assert "awaitable_attrs" in result.error.hint and "selectinload" in result.error.hint


async def test_missing_greenlet_from_a_sync_call_says_await_it(async_mode):
    result = await async_mode.run("A", "session.sync_session.execute(text('select 1'))")
    assert "MissingGreenlet" in result.error.message
    assert "await the call" in result.error.hint


async def test_importing_isolation_level_names_the_literal_and_the_strings(workspace):
    result = await workspace.run("A", "from sqlalchemy import IsolationLevel")
    assert result.error.type == "ImportError"
    assert "plain strings" in result.error.hint and "sqlalchemy.engine.interfaces" in result.error.hint
    from sqlalchemy.engine import interfaces

    assert hasattr(interfaces, "IsolationLevel")  # the Literal the hint names exists there
