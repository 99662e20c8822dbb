"""Every hint txplay can give, provoked for real on the backend it speaks of, and checked to be
the one that applies.

A hint is advice at the moment a learner is stuck, so a wrong one teaches something false. The
last test makes sure no hint escapes this file: each named hint in `playground.engine.errors`
is either provoked here or named with the test elsewhere that provokes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.backends import PostgresBackend
from playground.engine.errors import BUSY_HINTS, CONSEQUENCES, GREENLET_HINTS, HINTS, NOWAIT_HINT, SERVER_HINTS
from tests.conftest import deadlock, ok, server_url

Case = Callable[[Workspace], Awaitable[str | None]]  # runs the steps; returns the hint given
CASES: dict[str, tuple[str, Case]] = {}  # hint name → (backend, case)


def case(name: str, backend: str) -> Callable[[Case], Case]:
    """Register the situation that provokes hint `name` on `backend`."""

    def register(fn: Case) -> Case:
        CASES[name] = (backend, fn)
        return fn

    return register


async def failing(ws: Workspace, session: str, text: str) -> str | None:
    """Run a step that must fail; its hint."""
    result = await ws.run(session, text)
    assert result.status == "error", f"{text!r} did not fail"
    return result.error.hint


# -- the server's own errors -----------------------------------------------------------------


@case("server:25P02", "postgresql")
async def _aborted(ws):
    await ok(ws, "A", "savepoint before_insert")
    await failing(ws, "A", "insert into users (name, email) values ('x', 'ann@example.com')")
    hint = await failing(ws, "A", "select 1")
    await ok(ws, "A", "rollback to before_insert")  # the hint's other way out holds
    await ok(ws, "A", "select 1")
    return hint


@case("server:40P01", "postgresql")
async def _pg_deadlock(ws):
    await deadlock(ws)
    failed = [ws.handle(i).result for i in range(1, ws.last_index + 1) if ws.handle(i).result.status == "error"]
    assert len(failed) == 1, failed  # the victim's step
    return failed[0].error.hint


@case("server:1213", "mysql")
async def _mysql_deadlock(ws):
    return await _pg_deadlock(ws)


@case("server:40001", "postgresql")
async def _serialization(ws):
    await ok(ws, "A", "\\isolation REPEATABLE READ")
    await ok(ws, "A", "select count(*) from items")  # A's snapshot is taken
    await ok(ws, "B", "update items set stock = 1 where id = 1")
    await ok(ws, "B", "commit")
    return await failing(ws, "A", "update items set stock = 2 where id = 1")


@case("server:55P03", "postgresql")
async def _pg_lock_timeout(ws):
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    await ok(ws, "B", "\\timeout 0.2")
    hint = await failing(ws, "B", "update items set stock = 2 where id = 1")
    assert (await ws.run("B", "select 1")).error.sqlstate == "25P02"  # "the transaction is aborted"
    return hint


@case("server:1205", "mysql")
async def _mysql_lock_timeout(ws):
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    await ok(ws, "B", "update items set stock = 7 where id = 2")
    await ok(ws, "B", "\\timeout 1")
    hint = await failing(ws, "B", "update items set stock = 2 where id = 1")
    await _still_there(ws, "B")  # "only the statement was rolled back"
    return hint


async def _still_there(ws: Workspace, session: str) -> None:
    # The session's earlier update (stock 7 for item 2) is still in its transaction.
    assert (await ok(ws, session, "select stock from items where id = 2")).rows == ((7,),)


async def _cancel_a_wait(ws: Workspace) -> str | None:
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    await ok(ws, "B", "update items set stock = 7 where id = 2")
    waiting = ws.submit("B", "update items set stock = 2 where id = 1")
    await ws.settle()
    assert waiting.waiting, "B should wait on A's row lock"
    await ws.run("B", "\\cancel")
    await waiting.done.wait()
    assert waiting.result.status == "error"
    if ws.backend.traits.aborts_on_error:
        assert (await ws.run("B", "select 1")).error.sqlstate == "25P02"  # "PostgreSQL aborted the transaction"
    else:
        await _still_there(ws, "B")  # "the transaction goes on"
    return waiting.result.error.hint


case("server:57014", "postgresql")(_cancel_a_wait)
case("server:1317", "mysql")(_cancel_a_wait)


@case("nowait", "postgresql")
async def _nowait(ws):
    await ok(ws, "A", "select * from items where id = 1 for update")
    return await failing(ws, "B", "select * from items where id = 1 for update nowait")


# -- what an error did to the transaction -----------------------------------------------------


@case("consequence:statement-only", "mysql")
async def _statement_only(ws):
    await ok(ws, "A", "update items set stock = 7 where id = 2")
    hint = await failing(ws, "A", "insert into users (name, email) values ('x', 'ann@example.com')")
    await _still_there(ws, "A")  # "only this statement failed"
    return hint


@case("consequence:deactivated", "sqlite")
async def _deactivated(ws):
    return await failing(ws, "A", "session.add(Item(name='bad', stock=-1)); session.flush()")


@case("consequence:prepared", "postgresql")
async def _prepared(ws):
    await ok(ws, "A", "create table parent (id int primary key)")
    await ok(ws, "A", "create table child (id int primary key, "
                      "parent_id int references parent (id) deferrable initially deferred)")
    await ok(ws, "A", "commit")
    await ok(ws, "A", "insert into child (id, parent_id) values (1, 99)")
    return await failing(ws, "A", "commit")


@case("consequence:ended", "mysql")
async def _ended(ws):
    victim, survivor = await deadlock(ws)
    await ok(ws, survivor, "rollback")
    return await failing(ws, victim, "insert into users (name, email) values ('x', 'ann@example.com')")


@case("consequence:aborted-postgresql", "postgresql")
async def _aborted_constraint(ws):
    return await failing(ws, "A", "insert into users (name, email) values ('x', 'ann@example.com')")


# -- mistakes ---------------------------------------------------------------------------------


@case("hint:pending-rollback", "sqlite")
async def _pending(ws):
    await failing(ws, "A", "session.add(Item(name='bad', stock=-1)); session.flush()")
    return await failing(ws, "A", "session.get(User, 1)")


@case("hint:needs-text", "sqlite")
async def _needs_text(ws):
    return await failing(ws, "A", "session.execute('select 1')")


@case("hint:command-prefix", "sqlite")
async def _command_prefix(ws):
    return await failing(ws, "A", "flush")


@case("hint:connection-lost", "postgresql")
async def _connection_lost(ws):
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    pid = ws.sessions["A"].server_id
    await ok(ws, "B", f"select pg_terminate_backend({int(pid)})")
    return await failing(ws, "A", "select 1")


@case("hint:not-utf8", "sqlite")
async def _not_utf8(ws):
    return await failing(ws, "A", "select 'caf\udce9'")


@case("hint:exit", "sqlite")
async def _exit(ws):
    return await failing(ws, "A", "exit()")


@case("hint:await-needs-async", "sqlite")
async def _await_needs_async(ws):
    return await failing(ws, "A", "await session.flush()")


@case("hint:commit-refused-kept", "postgresql")
async def _commit_refused_kept(ws):
    await _prepared(ws)
    return await failing(ws, "A", "select 1")


@case("hint:already-begun", "sqlite")
async def _already_begun(ws):
    await ok(ws, "A", "select 1")
    return await failing(ws, "A", "session.begin()")


EXPECTED = {
    **{f"server:{code}": text for code, text in SERVER_HINTS.items()},
    **{f"hint:{name}": text for name, text in HINTS.items()},
    "hint:command-prefix": HINTS["command-prefix"].format(prefix="\\", command="flush"),
    "nowait": f"{NOWAIT_HINT}; {PostgresBackend.traits.aborted_note}",
    "consequence:statement-only": f"a constraint refused the row; {CONSEQUENCES['statement-only']}",
    "consequence:deactivated": f"a constraint refused the row; {CONSEQUENCES['deactivated']}",
    "consequence:prepared": f"a constraint refused the COMMIT; {CONSEQUENCES['prepared']}",
    "consequence:ended": f"a constraint refused the row; {CONSEQUENCES['ended']}",
    "consequence:aborted-postgresql": f"a constraint refused the row; {PostgresBackend.traits.aborted_note}",
}


def _on_its_server(name: str):
    """MariaDB cases in the worker that runs every MySQL test (tests/conftest.py says why)."""
    return pytest.param(name, marks=pytest.mark.xdist_group("mysql")) if CASES[name][0] == "mysql" else name


@pytest.mark.parametrize("name", [_on_its_server(name) for name in sorted(CASES)])
async def test_the_hint_that_applies_is_given(name):
    backend, provoke = CASES[name]
    url = None if backend == "sqlite" else server_url(backend)
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=url is not None,
                              defaults=SessionSettings(lock_timeout=5.0))
    try:
        hint = await asyncio.wait_for(provoke(ws), 30)
    finally:
        await ws.close()
    assert hint == EXPECTED[name]


# Hints provoked by tests of their own elsewhere (each test asserts the hint it names).
ELSEWHERE = {
    **{f"busy:{name}": "tests/engine/test_hints.py" for name in BUSY_HINTS},
    **{f"greenlet:{name}": "tests/engine/test_hints.py" for name in GREENLET_HINTS},
    "hint:isolation-level-import": "tests/engine/test_hints.py",
    "demo-table": "tests/scenario/test_docs.py",
    "install": "tests/scenario/test_docs.py",
    "typo": "tests/engine/test_bad_input.py",
}


def test_no_hint_goes_unprovoked():
    named = {
        *(f"server:{code}" for code in SERVER_HINTS),
        *(f"hint:{name}" for name in HINTS),
        *(f"busy:{name}" for name in BUSY_HINTS),
        *(f"greenlet:{name}" for name in GREENLET_HINTS),
        *(f"consequence:{name}" for name in CONSEQUENCES),
        "nowait", "demo-table", "install", "typo",
    }
    covered = set(CASES) | set(ELSEWHERE)
    # The aborted-transaction note is a consequence too, on the backend whose errors abort.
    covered |= {"consequence:aborted"} if "consequence:aborted-postgresql" in CASES else set()
    named |= {"consequence:aborted"}
    assert named - covered == set(), "hints with no test that provokes them"
    assert covered - named - {"consequence:aborted-postgresql"} == set(), "cases for hints that no longer exist"
