"""A dialect txplay has no strategy for runs with the generic one: SQL, ORM states, savepoints."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import registry

from playground.demo.kit import DEMO_KIT
from playground.engine import Workspace
from playground.engine.backends import (
    BackendError,
    GenericBackend,
    MysqlBackend,
    PostgresBackend,
    SqliteBackend,
    resolve,
)
from playground.engine.locks import NoLockMonitor
from playground.ui.render import header, lock_graph

# A real async dialect under a name the strategy table does not know: aiosqlite, renamed.
UNKNOWN = "txplaygeneric"
registry.register(f"{UNKNOWN}.aiosqlite", "sqlalchemy.dialects.sqlite.aiosqlite", "SQLiteDialect_aiosqlite")


async def ok(ws: Workspace, session: str, text: str):
    result = await ws.run(session, text)
    assert result.ok, (text, result.error)
    return result


@pytest.fixture
async def generic(tmp_path):
    ws = await Workspace.open(DEMO_KIT, f"{UNKNOWN}+aiosqlite:///{tmp_path / 'generic.db'}")
    try:
        yield ws
    finally:
        await ws.close()


def test_each_known_dialect_gets_its_strategy_and_any_other_async_one_the_generic_strategy(tmp_path):
    assert type(resolve(f"sqlite:///{tmp_path / 'a.db'}")) is SqliteBackend
    assert type(resolve("postgres://u@h/db")) is PostgresBackend
    mariadb = resolve("mariadb://u@h/db")
    assert type(mariadb) is MysqlBackend and mariadb.name == "mysql"
    other = resolve(f"{UNKNOWN}+aiosqlite:///{tmp_path / 'b.db'}")
    assert type(other) is GenericBackend and other.name == UNKNOWN
    assert other.missing_features == "no lock monitor" and resolve("postgres://u@h/db").missing_features is None


def test_a_dialect_without_an_async_driver_or_unknown_to_sqlalchemy_is_refused_with_the_reason():
    with pytest.raises(BackendError, match="not an async driver"):
        resolve("oracle://u@h/db")
    with pytest.raises(BackendError, match="no dialect 'nosuchdb'"):
        resolve("nosuchdb://u@h/db")


async def test_sql_orm_states_and_a_savepoint_work_on_a_dialect_without_a_strategy(generic):
    ws = generic
    assert isinstance(ws.monitor, NoLockMonitor)
    assert "SERIALIZABLE" in ws.isolation_levels(ws.sessions["A"])  # the dialect's own levels
    before = (await ok(ws, "A", "select count(*) from users")).rows[0][0]
    await ok(ws, "A", "u = User(name='Zed', email='zed@example.com')")
    await ok(ws, "A", "session.add(u)")
    assert [(o.names, o.state) for o in ws.snapshot().session("A").objects] == [(("u",), "pending")]
    flushed = await ok(ws, "A", "session.flush()")
    assert any(entry.statement.startswith("INSERT INTO users") for entry in flushed.sql)
    await ok(ws, "A", "\\savepoint sp1")
    await ok(ws, "A", "insert into items (id, name, stock) values (99, 'kept only in sp1', 1)")
    pane = ws.snapshot().session("A")
    assert [t.name for t in pane.transactions][-1] == "sp1" and pane.badge == "savepoint ×1"
    await ok(ws, "A", "\\rollback-to sp1")
    assert (await ok(ws, "A", "select count(*) from items where id = 99")).rows == ((0,),)
    await ok(ws, "A", "session.commit()")
    pane = ws.snapshot().session("A")
    assert pane.status == "idle" and [(o.names, o.state) for o in pane.objects] == [(("u",), "persistent")]
    committed = await ws.committed("users")
    assert committed.total == before + 1 and any("Zed" in row for row in committed.rows)


async def test_the_pane_says_there_is_no_lock_graph_and_refuses_what_it_cannot_do(generic):
    ws = generic
    snapshot = ws.snapshot()
    pane = snapshot.session("A")
    assert snapshot.backend == UNKNOWN and snapshot.locks == ()
    assert pane.backend == UNKNOWN and pane.backend_note == "no lock monitor"
    assert f"{UNKNOWN} (no lock monitor)" in header(pane).plain
    assert lock_graph((), 0.0, f"no lock monitor for {UNKNOWN}").plain == f"no lock monitor for {UNKNOWN}: waits are not shown"
    timeout = await ws.run("A", "\\timeout 2")
    assert timeout.error is not None and "cannot set a lock timeout" in timeout.error.message
    begin_mode = await ws.run("A", "\\begin-mode immediate")
    assert begin_mode.error is not None and "no BEGIN modes" in begin_mode.error.message
    assert dict(pane.settings).get("begin") is None  # only a backend with BEGIN modes shows one


async def test_a_known_backend_header_names_it_without_a_note(tmp_path):
    ws = await Workspace.open(DEMO_KIT, sessions=("A",))
    try:
        pane = ws.snapshot().session("A")
        assert pane.backend == "sqlite" and pane.backend_note is None
        assert "no lock monitor" not in header(pane).plain and dict(pane.settings)["begin"] == "deferred"
    finally:
        await ws.close()


def test_the_readme_names_only_what_a_strategy_really_provides():
    import re
    from pathlib import Path

    from playground.engine.backends import Backend

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Adding a backend", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)(?:\(\))?`", section))
    assert len(named) > 15
    assert sorted(n for n in named if not hasattr(Backend, n)) == []
