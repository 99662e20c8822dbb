"""The Transactions panel: the root transaction and its savepoints, as SQLAlchemy holds them.

Names come from `SAVEPOINT x`, `\\savepoint x` or the Python name a savepoint is bound to; the
origin is SQLAlchemy's; `emitted` says whether the SAVEPOINT (sent lazily) reached the database.
`ROLLBACK TO x` leaves x open, `RELEASE x` releases the savepoints inside it too, and what the
database commits in the end is checked from outside every session.
"""

from __future__ import annotations

import pytest

import re

from playground.engine import Workspace
from playground.engine.snapshot import TransactionRow
from tests.conftest import committed_rows, ok


@pytest.fixture
def workspace(any_workspace):
    """These tests hold on every backend: SQLite, PostgreSQL and MariaDB/MySQL."""
    return any_workspace


JOBS = "select id from jobs order by id"
DEMO_JOBS = [(1,), (2,), (3,)]


def tree(ws: Workspace, session: str = "A") -> list[tuple[str, bool, str, str, bool, int]]:
    """The Transactions panel of a session, as plain tuples, root first."""
    rows: tuple[TransactionRow, ...] = ws.snapshot().session(session).transactions
    return [(r.name, r.nested, r.origin, r.state, r.emitted, r.depth) for r in rows]


def names(ws: Workspace, session: str = "A") -> list[str]:
    """The names the Transactions panel shows, root first."""
    return [row[0] for row in tree(ws, session)]


def sa_origins(ws: Workspace, session: str = "A") -> list[str]:
    """The origin SQLAlchemy itself gives each open transaction, root first."""
    sync = ws.sessions[session].sync
    current = sync.get_nested_transaction() or sync.get_transaction()
    chain = []
    while current is not None:
        if current.origin.name != "SUBTRANSACTION":
            chain.append(current.origin.name)
        current = current.parent
    return list(reversed(chain))


def statements(result) -> list[str]:
    """The SQL a step sent."""
    return [entry.statement for entry in result.sql]


async def test_root_transaction_origin_is_autobegin_or_begin(workspace):
    await ok(workspace, "A", "select 1")
    assert tree(workspace) == [("transaction", False, "AUTOBEGIN", "active", True, 0)]
    await ok(workspace, "A", "rollback")
    assert tree(workspace) == []
    await ok(workspace, "A", "BEGIN")
    # SQLAlchemy sends BEGIN with the first statement, not before.
    assert tree(workspace) == [("transaction", False, "BEGIN", "active", False, 0)]
    await ok(workspace, "A", "select 1")
    assert tree(workspace) == [("transaction", False, "BEGIN", "active", True, 0)]
    assert sa_origins(workspace) == ["BEGIN"]


async def test_sql_savepoint_is_named_and_emitted_with_the_next_statement(workspace):
    await ok(workspace, "A", "BEGIN")
    result = await ok(workspace, "A", "SAVEPOINT x")
    assert not any(s.startswith("SAVEPOINT") for s in statements(result))
    assert tree(workspace) == [
        ("transaction", False, "BEGIN", "active", False, 0),
        ("x", True, "BEGIN_NESTED", "active", False, 1),
    ]
    result = await ok(workspace, "A", "select count(*) from jobs")
    assert any(s.startswith("SAVEPOINT") for s in statements(result))
    assert tree(workspace) == [
        ("transaction", False, "BEGIN", "active", True, 0),
        ("x", True, "BEGIN_NESTED", "active", True, 1),
    ]
    assert workspace.snapshot().session("A").badge == "savepoint ×1"


async def test_command_savepoint_is_named(workspace):
    await ok(workspace, "A", "select 1")
    await ok(workspace, "A", "\\savepoint before_payment")
    assert tree(workspace) == [
        ("transaction", False, "AUTOBEGIN", "active", True, 0),
        ("before_payment", True, "BEGIN_NESTED", "active", False, 1),
    ]
    assert sa_origins(workspace) == ["AUTOBEGIN", "BEGIN_NESTED"]


async def test_python_bound_savepoint_shows_its_name_and_when_it_is_emitted(workspace):
    await ok(workspace, "A", "session.get(User, 1)")
    await ok(workspace, "A", "sp = session.begin_nested()")
    assert tree(workspace) == [
        ("transaction", False, "AUTOBEGIN", "active", True, 0),
        ("sp", True, "BEGIN_NESTED", "active", False, 1),
    ]
    result = await ok(workspace, "A", "session.add(Job(id=10, payload='p'))\nsession.flush()")
    assert statements(result)[0].startswith("SAVEPOINT")
    assert tree(workspace)[1] == ("sp", True, "BEGIN_NESTED", "active", True, 1)
    await ok(workspace, "A", "sp.commit()")
    assert names(workspace) == ["transaction"]


async def test_python_bound_savepoint_in_async_mode_shows_its_name(workspace):
    await ok(workspace, "A", "\\mode async")
    await ok(workspace, "A", "nested = await session.begin_nested()")
    assert names(workspace) == ["transaction", "nested"]
    await ok(workspace, "A", "session.add(User(name='x', email='x@example.com'))\nawait session.flush()")
    await ok(workspace, "A", "await nested.rollback()")
    assert names(workspace) == ["transaction"]


async def test_rollback_to_leaves_the_savepoint_open(workspace):
    await ok(workspace, "A", "BEGIN")
    await ok(workspace, "A", "insert into jobs (id, payload) values (10, 'kept')")
    await ok(workspace, "A", "SAVEPOINT x")
    await ok(workspace, "A", "insert into jobs (id, payload) values (11, 'undone')")
    result = await ok(workspace, "A", "ROLLBACK TO x")
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in statements(result))
    assert [(name, nested, state) for name, nested, _, state, _, _ in tree(workspace)] == [
        ("transaction", False, "active"),
        ("x", True, "active"),
    ]
    assert (await ok(workspace, "A", JOBS)).rows == ((1,), (2,), (3,), (10,))
    # x is open again: it can be rolled back to a second time.
    await ok(workspace, "A", "insert into jobs (id, payload) values (12, 'undone too')")
    await ok(workspace, "A", "ROLLBACK TO SAVEPOINT x")
    assert names(workspace) == ["transaction", "x"]
    await ok(workspace, "A", "insert into jobs (id, payload) values (13, 'kept too')")
    await ok(workspace, "A", "RELEASE x")
    assert names(workspace) == ["transaction"]
    await ok(workspace, "A", "COMMIT")
    assert await committed_rows(workspace, JOBS) == DEMO_JOBS + [(10,), (13,)]


async def test_rollback_to_a_python_bound_savepoint_keeps_its_name(workspace):
    await ok(workspace, "A", "sp = session.begin_nested()")
    await ok(workspace, "A", "session.add(Job(id=10, payload='p'))\nsession.flush()")
    result = await ok(workspace, "A", "\\rollback-to")
    assert names(workspace) == ["transaction", "sp"]
    assert re.search(r"\bsp\b", " ".join(result.messages)), result.messages


async def test_release_releases_inner_savepoints_too(workspace):
    await ok(workspace, "A", "BEGIN")
    await ok(workspace, "A", "SAVEPOINT a")
    await ok(workspace, "A", "insert into jobs (id, payload) values (10, 'in a')")
    await ok(workspace, "A", "\\savepoint b")
    await ok(workspace, "A", "insert into jobs (id, payload) values (11, 'in b')")
    await ok(workspace, "A", "SAVEPOINT c")
    await ok(workspace, "A", "insert into jobs (id, payload) values (12, 'in c')")
    assert names(workspace) == ["transaction", "a", "b", "c"]

    result = await ok(workspace, "A", "RELEASE SAVEPOINT b")
    assert names(workspace) == ["transaction", "a"]
    assert sum(s.startswith("RELEASE SAVEPOINT") for s in statements(result)) == 2
    await ok(workspace, "A", "SAVEPOINT d")
    await ok(workspace, "A", "insert into jobs (id, payload) values (13, 'in d')")
    result = await ok(workspace, "A", "\\release a")
    assert names(workspace) == ["transaction"]
    assert sum(s.startswith("RELEASE SAVEPOINT") for s in statements(result)) == 2
    await ok(workspace, "A", "COMMIT")
    assert await committed_rows(workspace, JOBS) == DEMO_JOBS + [(10,), (11,), (12,), (13,)]


async def test_unknown_savepoint_name_is_a_clear_error_and_changes_nothing(workspace):
    await ok(workspace, "A", "BEGIN")
    await ok(workspace, "A", "SAVEPOINT a")
    await ok(workspace, "A", "insert into jobs (id, payload) values (10, 'in a')")
    before = tree(workspace)
    for text in ("RELEASE nope", "ROLLBACK TO nope", "\\release nope", "\\rollback-to nope"):
        result = await workspace.run("A", text)
        assert result.status == "error", text
        assert "'nope'" in result.error.message
        assert re.search(r"\(a\)$", result.error.message), f"the error lists the open savepoints: {result.error.message}"
        assert tree(workspace) == before, text
        assert workspace.snapshot().session("A").status == "active"
    # The session goes on: its work is still there, and can be committed.
    assert (await ok(workspace, "A", "select count(*) from jobs")).rows == ((4,),)
    await ok(workspace, "A", "RELEASE a")
    await ok(workspace, "A", "COMMIT")
    assert await committed_rows(workspace, JOBS) == DEMO_JOBS + [(10,)]


async def test_unknown_name_error_lists_python_bound_savepoints_by_their_shown_names(workspace):
    await ok(workspace, "A", "sp = session.begin_nested()\ninner = session.begin_nested()")
    assert names(workspace) == ["transaction", "sp", "inner"]
    result = await workspace.run("A", "RELEASE nope")
    assert result.status == "error"
    assert re.search(r"\(sp, inner\)$", result.error.message), result.error.message


async def test_failed_savepoint_lookup_does_not_rename_python_bound_savepoints(workspace):
    await ok(workspace, "A", "sp = session.begin_nested()\ninner = session.begin_nested()")
    assert names(workspace) == ["transaction", "sp", "inner"]
    assert (await workspace.run("A", "\\release nope")).status == "error"
    assert names(workspace) == ["transaction", "sp", "inner"]


async def test_python_bound_savepoint_can_be_released_by_its_shown_name(workspace):
    await ok(workspace, "A", "sp = session.begin_nested()\ninner = session.begin_nested()")
    await ok(workspace, "A", "session.add(Job(id=10, payload='p'))\nsession.flush()")
    await ok(workspace, "A", "ROLLBACK TO inner")
    assert names(workspace) == ["transaction", "sp", "inner"]
    await ok(workspace, "A", "\\release sp")
    assert names(workspace) == ["transaction"]


async def test_released_savepoint_is_undone_by_the_outer_rollback(workspace):
    # On SQLite this holds only with SQLAlchemy's recipe (the driver must not manage
    # transactions itself); with pysqlite's legacy handling the released row would survive.
    await ok(workspace, "A", "BEGIN")
    await ok(workspace, "A", "SAVEPOINT s")
    await ok(workspace, "A", "insert into jobs (id, payload) values (10, 'released')")
    result = await ok(workspace, "A", "RELEASE s")
    assert any(s.startswith("RELEASE SAVEPOINT") for s in statements(result))
    assert (await ok(workspace, "A", JOBS)).rows == ((1,), (2,), (3,), (10,))
    await ok(workspace, "A", "ROLLBACK")
    assert names(workspace) == []
    assert await committed_rows(workspace, JOBS) == DEMO_JOBS
    assert workspace.sessions["A"].in_database_transaction() is False


async def test_released_orm_savepoint_is_undone_by_the_outer_rollback(workspace):
    await ok(
        workspace,
        "A",
        "with session.begin_nested():\n"
        "    session.add(Job(id=11, payload='released'))\n",
    )
    assert names(workspace) == ["transaction"]
    assert (await ok(workspace, "A", JOBS)).rows == ((1,), (2,), (3,), (11,))
    await ok(workspace, "A", "session.rollback()")
    assert await committed_rows(workspace, JOBS) == DEMO_JOBS


async def test_a_transaction_getting_its_connection_is_not_shown_as_failed(workspace):
    """A's snapshot is rebuilt mid-step (on A's thread, while the lock monitor looks at a wait):
    one built while A's transaction gets its connection (SQLAlchemy's `is_active` is False
    then) shows A active, never failed."""
    from sqlalchemy import event

    seen = []

    def on_begin(conn):
        session = workspace.sessions["A"].snapshot()
        seen.append((session.status, session.badge, [row.state for row in session.transactions]))

    engine = workspace.sessions["A"].base_engine.sync_engine
    event.listen(engine, "begin", on_begin)
    try:
        await ok(workspace, "A", "x = session.get(User, 1)")
    finally:
        event.remove(engine, "begin", on_begin)
    assert seen == [("active", "in transaction", ["active"])]
    assert workspace.snapshot().session("A").status == "active"


def unsent(ws: Workspace, session: str = "A") -> list[tuple[str, str]]:
    """Savepoints of the open transaction that ended without ever being sent: (name, how)."""
    return [(r.name, r.state) for r in ws.snapshot().session(session).unsent]


def topics(result) -> list[str]:
    """The topics of a step's notices."""
    return [getattr(m, "topic", None) for m in result.messages if getattr(m, "topic", None)]


async def test_savepoint_rolled_back_before_it_was_sent_is_shown_as_never_sent(workspace):
    await ok(workspace, "A", "select 1")
    await ok(workspace, "A", "n = session.begin_nested()")
    result = await ok(workspace, "A", "n.rollback()")
    assert not any("SAVEPOINT" in s for s in statements(result))
    assert topics(result) == ["savepoint-never-sent"]
    assert "n rolled back without ever being sent" in " ".join(result.messages)
    assert names(workspace) == ["transaction"]
    assert unsent(workspace) == [("n", "rolled back")]
    assert workspace.snapshot().session("A").to_json()["never_sent_savepoints"][0]["name"] == "n"
    # A released one too; both last as long as their transaction.
    result = await ok(workspace, "A", "with session.begin_nested():\n    pass\n")
    assert "released without ever being sent" in " ".join(result.messages)
    assert unsent(workspace) == [("n", "rolled back"), ("sp1", "released")]
    await ok(workspace, "A", "rollback")
    assert unsent(workspace) == []


async def test_savepoints_ended_with_their_whole_transaction_get_no_notice(workspace):
    await ok(workspace, "A", "select 1")
    result = await ok(workspace, "A", "session.begin_nested()\nsession.rollback()")
    assert topics(result) == []
    await ok(workspace, "A", "select 1")
    result = await ok(workspace, "A", "session.begin_nested()\nsession.commit()")
    assert topics(result) == []


async def test_nested_rollback_says_it_ended_the_savepoint_where_rollback_to_keeps_it(workspace):
    await ok(workspace, "A", "m = session.begin_nested(); session.execute(text('select 1'))")
    result = await ok(workspace, "A", "m.rollback()")
    assert [s for s in statements(result) if s.startswith("ROLLBACK")] == ["ROLLBACK TO SAVEPOINT sa_savepoint_1"]
    said = " ".join(result.messages)
    assert "m (sa_savepoint_1) rolled back and ended" in said and "keeps it open" in said
    assert names(workspace) == ["transaction"]
    await ok(workspace, "A", "\\savepoint")
    await ok(workspace, "A", "select 1")
    result = await ok(workspace, "A", "\\rollback-to")
    assert topics(result) == []
    assert "it is open again" in " ".join(result.messages)
    assert names(workspace) == ["transaction", "sp1"]


async def test_savepoint_shows_its_sql_name_and_answers_to_it(workspace):
    await ok(workspace, "A", "select 1")
    await ok(workspace, "A", "\\savepoint")
    assert workspace.snapshot().session("A").transactions[1].sql_name is None
    await ok(workspace, "A", "select 1")
    row = workspace.snapshot().session("A").transactions[1]
    assert (row.name, row.sql_name) == ("sp1", "sa_savepoint_1")
    assert workspace.snapshot().session("A").to_json()["transactions"][1]["sql_name"] == "sa_savepoint_1"
    for text in ("ROLLBACK TO sa_savepoint_1", "\\rollback-to sa_savepoint_1"):
        result = await ok(workspace, "A", text)
        assert "rolled back to savepoint sp1" in " ".join(result.messages)
        # SQLAlchemy opens it anew (sa_savepoint_2 once sent); the first SQL name still finds it.
        await ok(workspace, "A", "select 1")
    assert workspace.snapshot().session("A").transactions[1].sql_name == "sa_savepoint_3"
    result = await ok(workspace, "A", "RELEASE sa_savepoint_1")
    assert "savepoint sp1 released" in " ".join(result.messages)
    assert names(workspace) == ["transaction"]
