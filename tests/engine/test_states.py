"""Every object-state transition, pinned against SQLAlchemy's own `inspect(obj)`.

After every step, each row of the Objects panel is checked against the object it describes (found
through the names the user bound): its `state` must be exactly what `inspect(obj)` says.
"""

from __future__ import annotations

import pytest

from sqlalchemy import event, inspect

from playground.engine import Workspace
from playground.engine.snapshot import ObjectRow
from tests.conftest import committed_rows, ok, value


@pytest.fixture
def workspace(any_workspace):
    """These tests hold on every backend: SQLite, PostgreSQL and MariaDB/MySQL."""
    return any_workspace


SA_STATES = ("transient", "pending", "persistent", "deleted", "detached")


def sa_state(obj: object) -> str:
    """The one lifecycle state SQLAlchemy gives `obj`."""
    insp = inspect(obj)
    states = [name for name in SA_STATES if getattr(insp, name)]
    assert len(states) == 1, f"{obj!r} is {states}"
    return states[0]


def objects_checked(ws: Workspace, session: str = "A") -> list[ObjectRow]:
    """The session's object rows, each checked against `inspect()` of the object itself."""
    ps = ws.sessions[session]
    rows = ws.snapshot().session(session).objects
    for row in rows:
        assert row.names, f"{row} has no name to find its object by"
        obj = eval(row.names[0], ps.namespace)
        assert type(obj).__name__ == row.cls
        assert row.state == sa_state(obj), f"{row.names[0]}: row says {row.state}, inspect() says {sa_state(obj)}"
        insp = inspect(obj)
        assert row.identity == (tuple(insp.identity) if insp.identity is not None else None)
    return list(rows)


def row_of(ws: Workspace, name: str, session: str = "A") -> ObjectRow:
    """The checked row of the object bound to `name`."""
    found = [row for row in objects_checked(ws, session) if name in row.names]
    assert len(found) == 1, f"expected one row named {name}, got {found}"
    return found[0]


async def step(ws: Workspace, text: str, session: str = "A"):
    """Run a step that must succeed, then check every object row against inspect()."""
    result = await ok(ws, session, text)
    objects_checked(ws, session)
    return result


async def test_added_object_goes_from_transient_to_pending(workspace):
    await step(workspace, "u = User(name='dan', email='dan@example.com')")
    row = row_of(workspace, "u")
    assert (row.state, row.panel, row.cause, row.identity) == ("transient", "transient", None, None)
    await step(workspace, "session.add(u)")
    row = row_of(workspace, "u")
    assert (row.state, row.panel, row.identity) == ("pending", "pending", None)


async def test_flush_makes_a_pending_object_persistent(workspace):
    await step(workspace, "u = User(name='dan', email='dan@example.com')\nsession.add(u)")
    result = await step(workspace, "session.flush()")
    assert any(entry.statement.startswith("INSERT INTO users") for entry in result.sql)
    row = row_of(workspace, "u")
    assert (row.state, row.panel, row.identity) == ("persistent", "persistent", (4,))
    assert ("id", "4") in row.attrs


async def test_loaded_object_is_persistent(workspace):
    await step(workspace, "ann = session.get(User, 1)")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.cause, row.identity) == ("persistent", "persistent", None, (1,))
    assert ("name", "'ann'") in row.attrs
    assert row.modified == () and row.expired == ()


async def test_modified_attribute_shows_old_and_new_value_until_flushed(workspace):
    await step(workspace, "ann = session.get(User, 1)")
    await step(workspace, "ann.name = 'annie'")
    row = row_of(workspace, "ann")
    assert row.state == "persistent"
    assert row.modified == (("name", "'ann'", "'annie'"),)
    await step(workspace, "session.flush()")
    row = row_of(workspace, "ann")
    assert row.modified == ()
    assert ("name", "'annie'") in row.attrs


async def test_deleted_object_is_marked_then_deleted_then_detached(workspace):
    await step(workspace, "job = session.get(Job, 1)\nsession.delete(job)")
    row = row_of(workspace, "job")
    # delete() only marks it: SQLAlchemy still calls it persistent until the flush.
    assert (row.state, row.panel) == ("persistent", "deleted")
    result = await step(workspace, "session.flush()")
    assert any(entry.statement.startswith("DELETE FROM jobs") for entry in result.sql)
    row = row_of(workspace, "job")
    assert (row.state, row.panel) == ("deleted", "deleted")
    await step(workspace, "session.commit()")
    row = row_of(workspace, "job")
    assert (row.state, row.panel) == ("detached", "detached")
    assert await committed_rows(workspace, "select id from jobs order by id") == [(2,), (3,)]


async def test_deletion_undone_by_a_savepoint_rollback_makes_the_object_persistent_again(workspace):
    await step(workspace, "job = session.get(Job, 2)")
    await step(workspace, "SAVEPOINT s")
    await step(workspace, "session.delete(job)\nsession.flush()")
    assert row_of(workspace, "job").state == "deleted"
    await step(workspace, "ROLLBACK TO s")
    row = row_of(workspace, "job")
    assert (row.state, row.panel, row.cause) == ("persistent", "persistent", None)
    await step(workspace, "COMMIT")
    assert await committed_rows(workspace, "select id from jobs order by id") == [(1,), (2,), (3,)]


async def test_expunged_objects_say_expunge(workspace):
    await step(workspace, "ann = session.get(User, 1)\nu = User(name='dan')\nsession.add(u)")
    await step(workspace, "\\expunge ann")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.cause) == ("detached", "expunged", "expunge()")
    await step(workspace, "session.expunge(u)")
    row = row_of(workspace, "u")
    assert (row.state, row.panel, row.cause) == ("transient", "expunged", "expunge()")


async def test_expunge_all_says_so(workspace):
    await step(workspace, "bob = session.get(User, 2)\nsession.expunge_all()")
    row = row_of(workspace, "bob")
    assert (row.state, row.panel, row.cause) == ("detached", "expunged", "expunge_all()")


async def test_close_detaches_objects(workspace):
    await step(workspace, "ann = session.get(User, 1)")
    await step(workspace, "session.close()")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.cause) == ("detached", "detached", "close()")
    # Added again, it is persistent again and the cause is gone.
    await step(workspace, "session.add(ann)")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.cause) == ("persistent", "persistent", None)


async def test_savepoint_rollback_expunges_new_objects_and_expires_modified_ones(workspace):
    await step(workspace, "ann = session.get(User, 1)")
    await step(workspace, "\\savepoint sp1")
    await step(workspace, "ann.name = 'annie'\nu = User(name='dan', email='dan@example.com')\nsession.add(u)")
    assert row_of(workspace, "u").state == "pending"
    await step(workspace, "ROLLBACK TO sp1")
    row = row_of(workspace, "u")
    assert (row.state, row.panel, row.cause) == ("transient", "expunged", "rollback of savepoint sp1")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.modified) == ("persistent", "persistent", ())
    assert "name" in row.expired
    assert ("name", "⟳ expired") in row.attrs
    # Reading it again gets the value from before the savepoint.
    assert await value(workspace, "A", "ann.name") == "ann"


async def test_rollback_of_a_flushed_savepoint_names_the_python_bound_savepoint(workspace):
    await step(workspace, "sp = session.begin_nested()")
    await step(workspace, "v = User(name='eve', email='eve@example.com')\nsession.add(v)\nsession.flush()")
    assert row_of(workspace, "v").state == "persistent"
    await step(workspace, "sp.rollback()")
    row = row_of(workspace, "v")
    assert (row.state, row.panel, row.cause, row.identity) == ("transient", "expunged", "rollback of savepoint sp", None)
    await step(workspace, "session.commit()")
    assert await committed_rows(workspace, "select count(*) from users") == [(3,)]


async def test_full_rollback_undoes_a_flushed_insert(workspace):
    await step(workspace, "w = User(name='wes', email='wes@example.com')\nsession.add(w)\nsession.flush()")
    assert row_of(workspace, "w").state == "persistent"
    await step(workspace, "rollback")
    row = row_of(workspace, "w")
    assert (row.state, row.panel, row.cause, row.identity) == ("transient", "expunged", "rollback", None)


async def test_full_rollback_of_a_pending_object_in_python(workspace):
    await step(workspace, "p = PaymentLog(user_id=1, amount=5)\nsession.add(p)")
    await step(workspace, "session.rollback()")
    row = row_of(workspace, "p")
    assert (row.state, row.panel, row.cause) == ("transient", "expunged", "rollback")


async def test_commit_expires_every_attribute(workspace):
    await step(workspace, "ann = session.get(User, 1)\nann.name = 'annie'")
    await step(workspace, "session.commit()")
    row = row_of(workspace, "ann")
    assert (row.state, row.panel, row.modified) == ("persistent", "persistent", ())
    assert row.expired == ("email", "id", "name")
    assert await value(workspace, "A", "ann.name") == "annie"
    assert row_of(workspace, "ann").expired == ()


async def test_building_a_snapshot_emits_no_sql_and_loads_nothing(workspace):
    await step(workspace, "ann = session.get(User, 1)\njob = session.get(Job, 2)\nbob = session.get(User, 2)")
    await step(workspace, "session.commit()")  # every attribute of ann, job and bob expires
    await step(workspace, "session.delete(job)\nsession.expunge(bob)\nu = User(name='new')")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = workspace.sessions["A"].engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            snap = workspace.snapshot()
            objects_checked(workspace)
        assert statements == []
        ns = workspace.sessions["A"].namespace
        assert "name" in inspect(ns["ann"]).expired_attributes
        assert {row.names[0]: row.panel for row in snap.session("A").objects} == {
            "ann": "persistent", "job": "deleted", "bob": "expunged", "u": "transient"
        }
        # The listener does see what a step sends.
        result = await ok(workspace, "A", "ann.name")
        assert statements and [entry.statement for entry in result.sql][-1] == statements[-1]
    finally:
        event.remove(engine, "before_cursor_execute", count)
