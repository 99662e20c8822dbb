"""The badge, the JSON status and the hints say what the database and SQLAlchemy really did.

`failed` means exactly: the session is in a transaction and its next statement is refused until
a rollback (by the server, or by SQLAlchemy). The property test checks that on random steps.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.backends import resolve
from playground.engine.snapshot import StepResult
from playground.scenario.transcript import session_states
from tests.conftest import BACKENDS, committed_rows, deadlock, ok, server_url

FAILED_BADGE = "failed — rollback required"
ORM_DUPLICATE = "session.add(User(name='dup', email='ann@example.com'))"
SQL_DUPLICATE = "insert into items (id, name, stock) values (1, 'dup', 1)"
TIMEOUT_QUERY = {"postgresql": "show lock_timeout", "mysql": "select @@innodb_lock_wait_timeout", "sqlite": "pragma busy_timeout"}
TIMEOUT_SHOWN = {"postgresql": ("500ms",), "mysql": (1,), "sqlite": (500,)}


def rollback_required(result: StepResult) -> bool:
    """Whether a step was refused because only a rollback goes on (server or SQLAlchemy)."""
    error = result.error
    if result.status != "error" or error is None:
        return False
    return (
        error.type == "PendingRollbackError"
        or (error.type == "InvalidRequestError" and "'prepared' state" in error.message)
        or error.sqlstate == "25P02"
    )


def statements(result: StepResult) -> list[str]:
    """The SQL a step sent, as the pane's log shows it."""
    return [entry.statement for entry in result.sql]


def status_of(ws: Workspace, name: str = "A") -> tuple[str, str]:
    snap = ws.snapshot().session(name)
    return snap.status, snap.badge


async def open_server(backend: str, url: str | None = None, **kwargs) -> Workspace:
    return await Workspace.open(DEMO_KIT, url or server_url(backend), sessions=("A", "B"), isolate=True,
                                defaults=SessionSettings(lock_timeout=5.0), **kwargs)


# -- errors that never reached the server ---------------------------------------------------


@pytest.mark.parametrize(("step", "said"), [
    ("session.execute(text('select :x'))", "bind parameter 'x'"),
    # asyncpg refuses the argument before sending it (DataError, SQLSTATE 22000 all the same).
    ("session.execute(text('select name from items where id = :x'), {'x': 'abc'})", "abc"),
], ids=["missing-bind", "client-side-argument"])
async def test_a_client_side_statement_error_does_not_fail_the_transaction(any_workspace, step, said):
    ws = any_workspace
    await ok(ws, "A", "update items set stock = 7 where id = 1")
    refused = await ws.run("A", step)
    if ws.backend.name == "postgresql" or "bind" in said:  # SQLite and MariaDB take 'abc' as it is
        assert refused.status == "error" and said in refused.error.message
    assert status_of(ws) == ("active", "in transaction")
    assert (await ok(ws, "A", "select stock from items where id = 1")).rows == ((7,),)
    await ok(ws, "A", "rollback")


async def test_missing_greenlet_in_async_mode_does_not_fail_the_transaction(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "\\mode async")
    await ok(ws, "A", "it = (await session.execute(select(Item).where(Item.id == 1))).scalar_one()")
    await ok(ws, "A", "await session.commit()")
    refused = await ws.run("A", "it.stock")  # expired by the commit: loading it needs IO
    assert refused.status == "error" and "MissingGreenlet" in f"{refused.error.type} {refused.error.message}"
    assert status_of(ws)[0] in ("idle", "active")
    assert status_of(ws)[1] != FAILED_BADGE
    assert (await ok(ws, "A", "select 1")).rows == ((1,),)
    await ok(ws, "A", "await session.rollback()")


async def test_a_python_exception_or_a_txplay_refusal_does_not_fail_the_transaction(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "select 1")
    assert (await ws.run("A", "1/0")).status == "error"
    assert (await ws.run("A", "\\release nosuch")).status == "error"
    assert status_of(ws) == ("active", "in transaction")
    await ok(ws, "A", "select 1")
    await ok(ws, "A", "rollback")


# -- constraint violations, raw SQL and ORM flush --------------------------------------------


async def test_a_raw_sql_constraint_violation_fails_the_transaction_only_on_postgresql(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "update items set stock = 7 where id = 2")
    bad = await ws.run("A", SQL_DUPLICATE)
    assert bad.error.type == "IntegrityError"
    after = await ws.run("A", "select stock from items where id = 2")
    if ws.backend.name == "postgresql":
        assert "PostgreSQL aborted the transaction" in bad.error.hint
        assert "stays open" not in bad.error.hint
        assert status_of(ws) == ("failed", FAILED_BADGE)
        assert rollback_required(after)
    else:
        assert "only this statement failed" in bad.error.hint and "stays open" in bad.error.hint
        assert status_of(ws) == ("active", "in transaction")
        assert after.rows == ((7,),)
    await ok(ws, "A", "rollback")
    assert status_of(ws) == ("idle", "idle")


async def test_an_orm_flush_failure_is_deactivated_by_sqlalchemy_on_every_backend(any_workspace):
    ws = any_workspace
    await ok(ws, "A", ORM_DUPLICATE)
    bad = await ws.run("A", "session.flush()")
    assert bad.error.type == "IntegrityError"
    assert "SQLAlchemy has deactivated the session's transaction" in bad.error.hint
    assert "PendingRollbackError" in bad.error.hint and "stays open" not in bad.error.hint
    assert status_of(ws) == ("failed", FAILED_BADGE)
    refused = await ws.run("A", "select 1")
    assert refused.error.type == "PendingRollbackError"
    await ok(ws, "A", "rollback")
    assert status_of(ws) == ("idle", "idle")


async def test_postgresql_autocommit_error_aborts_no_transaction():
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "\\isolation AUTOCOMMIT")
        bad = await ws.run("A", SQL_DUPLICATE)
        assert bad.error.type == "IntegrityError" and "aborted" not in bad.error.hint
        assert status_of(ws)[0] != "failed"
        await ok(ws, "A", "insert into jobs (id, payload) values (77, 'kept')")
        committed = await ok(ws, "A", "commit")
        assert not any("rolled back" in m for m in committed.messages)
        assert await committed_rows(ws, "select payload from jobs where id = 77") == [("kept",)]
    finally:
        await ws.close()


# -- refused COMMITs -------------------------------------------------------------------------

DEFERRED_FK = """
    create table parent (id int primary key);
    create table child (id int primary key, parent_id int references parent (id) deferrable initially deferred)
"""


async def _plain_sqlalchemy_after_refused_commit(url: str, schema: str) -> tuple[bool, type | None]:
    """What plain SQLAlchemy leaves after the same refused COMMIT: in a transaction, next error."""
    engine = create_async_engine(resolve(url).url, connect_args={"server_settings": {"search_path": schema}})
    try:
        session = AsyncSession(engine)
        await session.execute(text("insert into child (id, parent_id) values (2, 99)"))
        with pytest.raises(IntegrityError):
            await session.commit()
        in_transaction = session.in_transaction()
        try:
            await session.execute(text("select 1"))
            refused = None
        except Exception as exc:
            refused = type(exc)
        await session.rollback()
        return in_transaction, refused
    finally:
        await engine.dispose()


async def test_postgresql_deferred_fk_refused_at_commit_stays_as_sqlalchemy_leaves_it():
    url = server_url("postgresql")
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), setup=DEFERRED_FK, isolate=True)
    try:
        await ok(ws, "A", "insert into child (id, parent_id) values (1, 99)")
        refused = await ws.run("A", "commit")
        assert refused.error.type == "IntegrityError" and refused.error.sqlstate == "23503"
        # No rollback of txplay's own: SQLAlchemy keeps the session in its transaction.
        assert "ROLLBACK" not in statements(refused)
        assert not any("was rolled back" in m for m in refused.messages), refused.messages
        assert any("`rollback`" in m for m in refused.messages), refused.messages
        assert "rollback" in refused.error.hint and "nothing was committed" in refused.error.hint
        assert ws.sessions["A"].sync.in_transaction()
        assert status_of(ws) == ("failed", FAILED_BADGE)
        after = await ws.run("A", "select 1")
        assert after.error.type == "InvalidRequestError" and rollback_required(after)
        assert "rollback" in after.error.hint
        assert status_of(ws) == ("failed", FAILED_BADGE)

        # The server has ended the transaction: a \\timeout now holds at once.
        assert (await ok(ws, "A", "\\timeout 0.5")).messages == ("a statement now waits at most 0.5 s on a lock",)
        plain = await _plain_sqlalchemy_after_refused_commit(url, ws.backend.namespace)
        assert plain == (True, InvalidRequestError)

        await ok(ws, "A", "rollback")
        assert status_of(ws) == ("idle", "idle")
        assert (await ok(ws, "A", "select count(*) from child")).rows == ((0,),)
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        assert status_of(ws) == ("active", "in transaction")
    finally:
        await ws.close()


async def test_the_json_transcript_status_follows_a_refused_commit_and_its_rollback():
    from playground.scenario import parse, run_scenario

    scenario = parse(
        "sessions: A\n"
        "setup:\n" + "".join(f"    {line.strip()};\n" for line in DEFERRED_FK.strip().split(";\n")) +
        "A: insert into child (id, parent_id) values (1, 99)\n"
        "A: commit\n"
        "=> error foreign key\n"
        "A: select 1\n"
        "=> error prepared\n"
        "A: rollback\n"
        "A: select 1\n"
        "=> rows [(1,)]\n",
        "refused.txp",
    )
    events: list[dict] = []
    report = await run_scenario(scenario, server_url("postgresql"), on_event=events.append)
    assert report.exit_code == 0, [e for e in events if e["event"] == "step"]
    states = {after: sessions["A"]["status"] for after, sessions in session_states(events).items()}
    assert [states[i] for i in range(1, 6)] == ["active", "failed", "failed", "idle", "active"]


async def test_postgresql_commit_refused_with_40001_is_failed_until_the_rollback_then_active_at_once():
    ws = await open_server("postgresql", setup="create table doctors (id int primary key, on_call int);"
                                              "insert into doctors values (1, 1), (2, 1)")
    try:
        for name in ("A", "B"):
            await ok(ws, name, "\\isolation SERIALIZABLE")
            await ok(ws, name, "select count(*) from doctors where on_call = 1")
        await ok(ws, "A", "update doctors set on_call = 0 where id = 1")
        await ok(ws, "B", "update doctors set on_call = 0 where id = 2")
        await ok(ws, "A", "commit")
        refused = await ws.run("B", "commit")
        assert refused.error.sqlstate == "40001"
        assert "ROLLBACK" not in statements(refused)
        # As plain SQLAlchemy: the session is still in its (prepared) transaction.
        assert status_of(ws, "B") == ("failed", FAILED_BADGE)
        assert rollback_required(await ws.run("B", "select 1"))
        await ok(ws, "B", "rollback")
        assert status_of(ws, "B") == ("idle", "idle")
        for _ in range(2):
            await ok(ws, "B", "select count(*) from doctors where on_call = 1")
            assert status_of(ws, "B") == ("active", "in transaction")
        await ok(ws, "B", "rollback")
    finally:
        await ws.close()


async def test_sqlite_busy_commit_is_still_rolled_back_and_its_hint_names_the_commit(workspace):
    ws = workspace
    await ok(ws, "A", "\\timeout 0.2")
    await ok(ws, "A", "update items set stock = 5 where id = 1")
    await ok(ws, "B", "select * from items")  # its SHARED lock keeps A's COMMIT from finishing
    refused = await ws.run("A", "commit")
    assert "database is locked" in refused.error.message
    assert any("rolled back" in m for m in refused.messages), refused.messages
    assert "COMMIT" in refused.error.hint and "rolled back" in refused.error.hint
    assert status_of(ws) == ("idle", "idle")
    assert ws.sessions["A"].in_database_transaction() is False
    await ok(ws, "B", "rollback")


async def test_postgresql_commit_of_an_aborted_transaction_says_it_was_rolled_back():
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "update items set stock = 99 where id = 1")
        assert (await ws.run("A", "select 1/0")).error.sqlstate == "22012"
        committed = await ok(ws, "A", "commit")  # asyncpg raises nothing: the server says ROLLBACK
        assert any("rolled back" in m and "nothing was committed" in m for m in committed.messages), committed.messages
        assert status_of(ws) == ("idle", "idle")
        assert await committed_rows(ws, "select stock from items where id = 1") == [(10,)]
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_the_deadlock_victim_is_failed_and_its_commit_says_nothing_was_committed(backend):
    ws = await open_server(backend)
    try:
        victim, survivor = await deadlock(ws)
        assert status_of(ws, victim) == ("failed", FAILED_BADGE)
        await ok(ws, survivor, "commit")
        committed = await ok(ws, victim, "commit")
        assert any("nothing" in m and "committed" in m for m in committed.messages), committed.messages
        assert status_of(ws, victim) == ("idle", "idle")
        stock = await committed_rows(ws, "select id, stock from items where id in (1, 2) order by id")
        assert stock == ([(1, 34), (2, 32)] if survivor == "B" else [(1, 31), (2, 33)])
    finally:
        await ws.close()


async def test_a_plain_commit_says_nothing_about_a_rollback(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "update items set stock = 8 where id = 1")
    committed = await ok(ws, "A", "commit")
    assert not any("rolled back" in m for m in committed.messages)
    assert await committed_rows(ws, "select stock from items where id = 1") == [(8,)]


# -- lock refusals: NOWAIT is no timeout -----------------------------------------------------


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_for_update_nowait_does_not_say_a_timeout_expired(backend):
    ws = await open_server(backend)
    try:
        await ok(ws, "B", "select * from items where id = 1 for update")
        refused = await ws.run("A", "select * from items where id = 1 for update nowait")
        assert refused.status == "error"
        hint = refused.error.hint or ""
        assert "NOWAIT does not wait" in hint and "nothing waited" in hint
        assert "expired" not in hint and "timeout" not in hint
        if backend == "postgresql":
            assert "PostgreSQL aborted the transaction" in hint
            assert status_of(ws)[0] == "failed"
        else:
            assert "only this statement failed" in hint
            assert status_of(ws)[0] == "active"
        await ok(ws, "A", "rollback")
        await ok(ws, "B", "rollback")
    finally:
        await ws.close()


def test_mysql8_nowait_refusal_3572_is_no_timeout_either():
    """MySQL 8 answers NOWAIT with errno 3572 (no MySQL 8 server here: the driver's own error)."""
    DriverError = pytest.importorskip("asyncmy.errors", reason="the mysql driver asyncmy is not installed").OperationalError
    from sqlalchemy.exc import OperationalError

    from playground.engine.errors import Aftermath, hint_for

    refused = DriverError(3572, "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is set.")
    wrapped = OperationalError("select * from items where id = 1 for update nowait", None, refused)
    hint = hint_for(wrapped, Aftermath(resolve("mysql://root@localhost/test"), True, None))
    assert "NOWAIT does not wait" in hint and "only this statement failed" in hint and "expired" not in hint


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_real_lock_wait_that_times_out_still_says_the_timeout_expired(backend):
    ws = await open_server(backend)
    try:
        await ok(ws, "A", "\\timeout 0.2")
        await ok(ws, "B", "update items set stock = 1 where id = 1")
        refused = await ws.run("A", "update items set stock = 2 where id = 1")
        assert refused.status == "error" and "expired" in (refused.error.hint or "")
        assert "NOWAIT" not in refused.error.hint
        await ok(ws, "A", "rollback")
        await ok(ws, "B", "rollback")
    finally:
        await ws.close()


# -- the lock timeout survives the transaction -----------------------------------------------


async def test_timeout_set_inside_a_transaction_survives_its_rollback(any_workspace):
    ws = any_workspace
    backend = ws.backend.name
    await ok(ws, "A", "update items set stock = 3 where id = 1")
    await ok(ws, "A", "\\timeout 0.5" if backend != "mysql" else "\\timeout 1")
    await ok(ws, "A", "rollback")
    assert (await ok(ws, "A", TIMEOUT_QUERY[backend])).rows == (TIMEOUT_SHOWN[backend],)
    shown = dict(ws.snapshot().session("A").settings)["lock timeout"]
    assert shown == ("1 s" if backend == "mysql" else "0.5 s")
    await ok(ws, "A", "rollback")
    # A real wait now ends at the new timeout: the holder keeps its lock past it.
    await ok(ws, "B", "update items set stock = 4 where id = 1")
    refused = await ws.run("A", "update items set stock = 5 where id = 1")
    assert refused.status == "error"
    assert "lock" in refused.error.message.lower()
    await ok(ws, "A", "rollback")
    await ok(ws, "B", "rollback")


@pytest.mark.parametrize("ending", ["session.close()", "\\rollback", "session.rollback()", "ROLLBACK"])
async def test_postgresql_timeout_survives_every_way_a_transaction_is_rolled_back(ending):
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "update items set stock = 3 where id = 1")
        await ok(ws, "A", "\\timeout 0.5")
        await ok(ws, "A", ending)
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        await ok(ws, "A", "rollback")
    finally:
        await ws.close()


async def test_postgresql_timeout_inside_a_savepoint_survives_rollback_to_it():
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "select 1")
        await ok(ws, "A", "savepoint s1")
        await ok(ws, "A", "\\timeout 0.5")
        rolled = await ok(ws, "A", "rollback to s1")
        assert any("lock timeout set again" in m for m in rolled.messages), rolled.messages
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        await ok(ws, "A", "rollback")
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        await ok(ws, "A", "rollback")
    finally:
        await ws.close()


async def test_postgresql_timeout_in_an_aborted_transaction_is_shown_as_pending_then_applied():
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "select 1")
        assert (await ws.run("A", "select 1/0")).status == "error"
        later = await ok(ws, "A", "\\timeout 0.5")
        assert "after `rollback`" in later.messages[0]
        assert dict(ws.snapshot().session("A").settings)["lock timeout"] == "5 s (0.5 s after rollback)"
        await ok(ws, "A", "rollback")
        assert dict(ws.snapshot().session("A").settings)["lock timeout"] == "0.5 s"
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        await ok(ws, "A", "rollback")
    finally:
        await ws.close()


async def test_postgresql_a_new_connection_carries_the_timeout_set_since_the_pane_opened(private_servers):
    # It ends a connection with pg_terminate_backend: on a server of its own.
    ws = await open_server("postgresql", private_servers.get("postgresql").url)
    try:
        await ok(ws, "A", "\\timeout 0.5")
        await ok(ws, "A", "select 1")
        victim = ws.sessions["A"].server_id
        await ok(ws, "B", f"select pg_terminate_backend({victim}, 10000)")
        await ok(ws, "B", "rollback")
        assert (await ws.run("A", "select 1")).status == "error"
        await ok(ws, "A", "rollback")
        assert (await ok(ws, "A", "show lock_timeout")).rows == (("500ms",),)
        assert ws.sessions["A"].server_id != victim
        assert dict(ws.snapshot().session("A").settings)["lock timeout"] == "0.5 s"
        await ok(ws, "A", "rollback")
    finally:
        await ws.close()


# -- the property: `failed` is exactly "the next statement is refused until a rollback" ------

COMMON_STEPS = [
    "select 1",
    "update items set stock = stock + 1 where id = 2",
    "update items set stock = -1 where id = 2",  # the stock >= 0 check refuses it
    SQL_DUPLICATE,
    "insert into jobs (payload) values ('p')",
    "selec 1",
    "select 1/0",
    "session.execute(text('select :x'))",
    "session.execute(text('select name from items where id = :x'), {'x': 'abc'})",
    ORM_DUPLICATE,
    "session.add(Job(payload='j'))",
    "session.flush()",
    "1/0",
    "\\release nosuch",
    "begin",
    "commit",
    "rollback",
    "savepoint s1",
    "rollback to s1",
    "release s1",
    "session.begin_nested()",
    "try:\n    session.flush()\nexcept Exception:\n    pass",
    "\\timeout 3",
    "\\mode async",
    "\\mode sync",
    "it = (await session.execute(select(Item).where(Item.id == 1))).scalar_one()",
    "await session.commit()",
    "it.stock",
]
EXTRA_STEPS = {"postgresql": ["insert into child (id, parent_id) values (7, 99)"]}
PROPERTY_SETUP = {"postgresql": "create table child (id int primary key, parent_id int references items (id) deferrable initially deferred)"}
EXAMPLES = {"sqlite": 300, "postgresql": 250, "mysql": 250}


async def _check_step(ws: Workspace, text_: str) -> None:
    await ws.run("A", text_)
    status, badge = status_of(ws)
    assert (status == "failed") == (badge == FAILED_BADGE), (status, badge)
    ps = ws.sessions["A"]
    unflushed = bool(ps.sync.new or ps.sync.dirty or ps.sync.deleted)
    probe = await ws.run("A", "select 1")
    if status == "failed":
        assert rollback_required(probe), f"said failed after {text_!r}, but select 1 gave {probe.status} {probe.error}"
    elif not (unflushed and probe.error is not None and probe.error.type == "IntegrityError"):
        # An autoflush of what the steps added may fail: that is the new statement's own error.
        assert probe.status == "ok", f"said {status} after {text_!r}, but select 1 failed: {probe.error}"
    if status == "idle" and probe.status == "ok":
        await ok(ws, "A", "rollback")  # back to idle, as before the probe


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_means_the_next_statement_is_refused_until_a_rollback(backend):
    url = None if backend == "sqlite" else server_url(backend)
    loop = asyncio.new_event_loop()
    ws = loop.run_until_complete(Workspace.open(DEMO_KIT, url, sessions=("A",), isolate=True, defaults=SessionSettings(lock_timeout=3.0)))
    try:
        if backend in PROPERTY_SETUP:
            loop.run_until_complete(ws.run_outside(PROPERTY_SETUP[backend]))
        steps = COMMON_STEPS + EXTRA_STEPS.get(backend, [])

        @settings(max_examples=EXAMPLES[backend], deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(st.sampled_from(steps), min_size=1, max_size=8))
        def run(texts: list[str]) -> None:
            try:
                for text_ in texts:
                    loop.run_until_complete(_check_step(ws, text_))
            finally:
                for reset in ("rollback", "\\mode sync"):
                    assert loop.run_until_complete(ws.run("A", reset)).status == "ok"

        run()
    finally:
        loop.run_until_complete(ws.close())
        loop.close()
