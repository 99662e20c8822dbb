"""What the built-in scenarios teach, checked against the databases themselves (issue 13).

Each test provokes the situation a scenario narrates and asserts what the database or SQLAlchemy
really did, on each backend and PostgreSQL driver the claim concerns.
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from dataclasses import fields

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.scenario import library, parse
from playground.scenario.runner import RunReport, StepRecord, run_scenario
from tests.conftest import committed_rows, ok, server_url, value

POSTGRES_DRIVERS = ["asyncpg", "psycopg"]


def postgres_url(driver: str) -> str:
    """The test PostgreSQL server through one driver (a skip when it is absent)."""
    from sqlalchemy.engine import make_url

    pytest.importorskip(driver)
    url = make_url(server_url("postgresql")).set(drivername=f"postgresql+{driver}")
    return url.render_as_string(hide_password=False)


def notes(name: str) -> str:
    """Every narration line of a built-in scenario, as one text."""
    sc = library.load(name)
    return "\n".join([sc.title, sc.description, *(n for s in sc.steps for n in s.notes), *sc.trailing_notes])


def records(report: RunReport, text: str) -> list[StepRecord]:
    """The steps whose input is `text`."""
    return [r for r in report.steps if r.step.input.strip() == text]


def sql_of(record: StepRecord) -> list[str]:
    """The statements a step sent, upper-cased and without their parameters."""
    assert record.result is not None
    return [e.statement.upper() for e in record.result.sql]


def expect_passed(report: RunReport) -> None:
    failed = [(r.step.line, c.text, c.reason) for r in report.steps for c in r.checks if not c.passed]
    assert report.exit_code == 0 and not report.skipped and not failed, (report.error, failed)


# -- item 1: the deadlock victim is the one the narration names, at a presenter's pace ------


@pytest.mark.slow
@pytest.mark.xdist_group("mysql")  # it runs on MariaDB too: in the worker of every MySQL test (tests/conftest.py)
async def test_deadlock_victim_at_pace_2_is_b_as_the_narration_says():
    urls = [postgres_url("asyncpg"), postgres_url("psycopg"), server_url("mysql")]
    reports = await asyncio.gather(*(run_scenario(library.load("deadlock"), u, states=False, pace=2) for u in urls))
    for url, report in zip(urls, reports, strict=False):
        expect_passed(report)
        victims = [r.step.session for r in report.steps if r.result and r.result.error
                   and any(w in r.result.error.message.lower() for w in ("deadlock detected", "deadlock found"))]
        assert victims == ["B"], url
    said = notes("deadlock")
    assert "B is rolled back" in said and "lighter transaction" in said


# -- item 2: READ UNCOMMITTED on PostgreSQL (per driver) and SQLite ---------------------------


@pytest.mark.parametrize("driver", POSTGRES_DRIVERS)
async def test_dirty_read_holds_with_each_postgres_driver(driver):
    report = await run_scenario(library.load("dirty_read"), postgres_url(driver), states=False)
    expect_passed(report)
    (level,) = records(report, r"\isolation READ UNCOMMITTED")
    # asyncpg's dialect refuses the level; psycopg's passes it on and PostgreSQL reads committed data.
    assert (level.result.status == "ok") is (driver == "psycopg")
    assert [tuple(r) for r in records(report, "select balance from balances where id = 1")[0].result.rows] == [(100,)]


def test_sqlite_read_uncommitted_reads_dirty_data_only_through_a_shared_cache(tmp_path):
    path = tmp_path / "x.db"

    def dirty_read(uri: str) -> int:
        writer = sqlite3.connect(uri, uri=True, isolation_level=None)
        reader = sqlite3.connect(uri, uri=True, isolation_level=None)
        writer.execute("create table if not exists t (id int primary key, v int)")
        writer.execute("insert or replace into t values (1, 100)")
        reader.execute("pragma read_uncommitted = 1")
        writer.execute("begin")
        writer.execute("update t set v = 0 where id = 1")
        try:
            return reader.execute("select v from t").fetchone()[0]
        finally:
            writer.execute("rollback")
            writer.close()
            reader.close()

    assert dirty_read(f"file:{path}?cache=shared") == 0
    assert dirty_read(f"file:{path}") == 100
    assert "shared-cache mode" in notes("dirty_read") and "and SQLite never" not in notes("dirty_read")


# -- item 3: MariaDB's innodb_snapshot_isolation, and a retry set that covers it ------------


async def test_mariadb_snapshot_isolation_scenario_shows_both_cases():
    report = await run_scenario(library.load("mariadb_snapshot_isolation"), server_url("mysql"), states=False)
    expect_passed(report)
    errors = [r.result.error.message for r in report.steps if r.result and r.result.error]
    assert len(errors) == 1 and "1020" in errors[0]


async def test_serialization_retry_retries_mariadbs_record_changed_error():
    """pay() as the scenario defines it, run where MariaDB refuses the stale write with 1020."""
    definitions = library.load("serialization_retry").steps[0].input
    ws = await Workspace.open(DEMO_KIT, server_url("mysql"), sessions=("A", "B"), defaults=SessionSettings(lock_timeout=10), isolate=True,
                              setup="create table wallet (id int primary key, balance int);"
                                    "insert into wallet (id, balance) values (1, 100);")
    try:
        await ok(ws, "A", definitions)
        await ok(ws, "A", r"\isolation REPEATABLE READ")
        await ok(ws, "A", "set session innodb_snapshot_isolation = ON")
        await ok(ws, "A", "select balance from wallet where id = 1")
        await ok(ws, "B", "update wallet set balance = balance + 50 where id = 1")
        await ok(ws, "B", "commit")
        assert await value(ws, "A", "pay(session, 30)") == 1
        assert await committed_rows(ws, "select balance from wallet") == [(120,)]
    finally:
        await ws.close()


REQUIRES = """
    sessions: A
    requires: [sqlite] {}
    A: select 1
    => rows [(1,)]
"""


async def test_requires_holds_and_is_said_or_skips_with_the_reason():
    events: list[dict] = []
    held = await run_scenario(parse(textwrap.dedent(REQUIRES.format("1 + 1"))), on_event=events.append)
    assert held.exit_code == 0 and not held.skipped and held.passed == 1
    assert any(e["event"] == "note" and "`1 + 1` is 2" in e["text"] for e in events)
    for unmet, reason in (("1 = 0", "which is 0"), ("no_such_function()", "refuses")):
        events.clear()
        report = await run_scenario(parse(textwrap.dedent(REQUIRES.format(unmet))), on_event=events.append)
        assert report.skipped and report.exit_code == 0 and not report.steps
        (skip,) = [e for e in events if e["event"] == "skipped"]
        assert reason in skip["reason"] and unmet in skip["reason"]


async def test_requires_reads_a_literal_with_a_colon_as_written():
    report = await run_scenario(parse(textwrap.dedent(REQUIRES.format("'at :noon' = 'at :noon'"))))
    assert report.exit_code == 0 and not report.skipped and report.passed == 1


async def test_requires_for_another_backend_is_not_checked():
    report = await run_scenario(parse(textwrap.dedent(REQUIRES.replace("[sqlite]", "[mysql]").format("no_such()"))))
    assert report.exit_code == 0 and not report.skipped


# -- item 4: row-level security --------------------------------------------------------------


@pytest.mark.parametrize("driver", POSTGRES_DRIVERS)
async def test_rls_tenant_role_without_a_tenant_sees_no_rows_and_the_owner_sees_all(driver):
    report = await run_scenario(library.load("row_level_security"), postgres_url(driver), states=False)
    expect_passed(report)
    counts = records(report, "select count(*) from tenant_docs")
    steps = report.steps
    as_tenant = [r for r in counts if steps[steps.index(r) - 1].step.input == "set local role txplay_tenant"]
    as_owner = [r for r in counts if r not in as_tenant]
    assert [tuple(r.result.rows[0]) for r in as_tenant] == [(0,)]
    assert [tuple(r.result.rows[0]) for r in as_owner] == [(3,)]
    assert "FORCE ROW LEVEL SECURITY" in notes("row_level_security")


# -- item 5: partial_rollback_pattern without the seed's inner commit ------------------------

WITHOUT_INNER_COMMIT = """\
def partial_rollback_pattern(session, payload):
    with session.begin():
        session.add(User(name="primary_user"))
        try:
            with session.begin_nested():
                session.execute(text("INSERT INTO audit_log (data) VALUES (:d)"), {"d": payload})
                raise IntegrityError("duplicate key", {}, Exception())
        except IntegrityError:
            session.rollback()
"""


async def test_partial_rollback_pattern_without_its_inner_commit_loses_the_outer_work_silently(any_workspace):
    ws = any_workspace
    await ok(ws, "A", WITHOUT_INNER_COMMIT)
    await ok(ws, "A", "partial_rollback_pattern(session, 'x')")  # no error at all
    assert await committed_rows(ws, "select count(*) from users where name = 'primary_user'") == [(0,)]


async def test_partial_rollback_pattern_scenario_shows_the_silent_loss():
    report = await run_scenario(library.load("partial_rollback_pattern"), states=False)
    expect_passed(report)
    calls = records(report, "partial_rollback_pattern(session, '{\"order\": 1}')")
    assert [r.result.status for r in calls] == ["error", "ok"]
    assert "session.commit()" in calls[0].result.error.message or "closed transaction" in calls[0].result.error.message
    assert "nothing left to commit" not in notes("partial_rollback_pattern")


# -- item 6: process_payment sends no SAVEPOINT on its failure path ---------------------------


async def test_process_payment_failure_path_sends_no_savepoint(backend_url):
    report = await run_scenario(library.load("process_payment"), backend_url, states=False)
    expect_passed(report)
    failed, succeeded = records(report, "process_payment(session, 1, 30)")[0], records(report, "process_payment(session, 2, 20)")[0]
    assert any(s.startswith("INSERT INTO PAYMENT_LOG") for s in sql_of(failed))
    assert not any("SAVEPOINT" in s for s in sql_of(failed))
    assert any(s.startswith("SAVEPOINT") for s in sql_of(succeeded))
    assert "Only the savepoint is rolled back" not in notes("process_payment")


async def test_mariadb_reader_that_stays_in_its_transaction_misses_the_next_payment():
    """Why process_payment's B rolls back on MariaDB too: its REPEATABLE READ snapshot."""
    text = library.source("process_payment")
    first_rollback = text.index("B: rollback")
    stale = parse(text[:first_rollback] + text[first_rollback:].replace("B: rollback\n", "", 1), "stale.txp")
    report = await run_scenario(stale, server_url("mysql"), states=False)
    (payments,) = records(report, "select user_id, confirmation from payments")
    assert [tuple(r) for r in payments.result.rows] == []
    assert "MariaDB" in notes("process_payment")


# -- item 9 and the new scenarios: claims checked against what was sent ----------------------


async def test_sqlite_has_no_for_update_and_no_narration_says_it_works_everywhere(workspace):
    result = await workspace.run("A", "select stock from items where id = 1 for update")
    assert result.status == "error"
    for name in library.names():
        said = notes(name).lower()
        assert "fixes it everywhere" not in said, name
        if "for update" in said:
            assert not library.load(name).runs_on("sqlite") or "sqlite has none" in said, name


async def test_begin_nested_flushes_first_and_sends_its_savepoint_lazily(backend_url):
    report = await run_scenario(library.load("begin_nested_is_lazy"), backend_url, states=False)
    expect_passed(report)
    opened = records(report, "sp = session.begin_nested()")[0]
    assert any(s.startswith("INSERT INTO USERS") for s in sql_of(opened))
    assert not any("SAVEPOINT" in s for s in sql_of(opened))
    assert sql_of(records(report, 'u.name = "dee2"; session.flush()')[0])[0].startswith("SAVEPOINT")
    assert sql_of(records(report, "empty = session.begin_nested(); empty.rollback()")[0]) == []


async def test_after_a_deadlock_the_victims_commit_raises_nothing_and_keeps_what_the_server_says():
    urls = {"postgresql": postgres_url("psycopg"), "mysql": server_url("mysql")}
    reports = await asyncio.gather(*(run_scenario(library.load("after_a_deadlock"), u, states=False) for u in urls.values()))
    for backend, report in zip(urls, reports, strict=False):
        expect_passed(report)
        (commit,) = [r for r in report.steps if r.step.session == "B" and r.step.input == "commit"]
        assert commit.result.status == "ok", backend  # SQLAlchemy raised nothing on either server
        (logged,) = records(report, "select count(*) from transfer_log")
        assert [tuple(r) for r in logged.result.rows] == [(0,) if backend == "postgresql" else (1,)]


# -- the driver matrix: psycopg sessions are named, placed and timed as asyncpg's are ---------


async def test_psycopg_sessions_carry_their_name_schema_and_lock_timeout():
    ws = await Workspace.open(DEMO_KIT, postgres_url("psycopg"), sessions=("A",), defaults=SessionSettings(lock_timeout=3), isolate=True)
    try:
        name, lock_timeout = (await ok(ws, "A", "select current_setting('application_name'), current_setting('lock_timeout')")).rows[0]
        assert (name, lock_timeout) == ("txplay A", "3s")
        assert (await ok(ws, "A", "select current_schema()")).rows[0][0] == ws.backend.namespace
        assert (await ok(ws, "A", "select count(*) from items")).rows == ((3,),)
    finally:
        await ws.close()


async def test_a_psycopg_session_connection_starts_outside_any_transaction():
    """The connect hook's server-id query must not leave psycopg inside a transaction, where an
    isolation change is refused ("can't change 'autocommit' now: connection in transaction")."""
    from psycopg.pq import TransactionStatus

    from playground.engine.backends import ConnectionHooks, create_session_engine, resolve

    ids = []
    callbacks = {f.name: (lambda *args: None) for f in fields(ConnectionHooks)}
    callbacks.update(name="A", lock_timeout=lambda: 3.0, begin_mode=lambda: "deferred", journal_mode=lambda: "delete",
                     on_connect=lambda dbapi, record, server_id: ids.append(server_id))
    hooks = ConnectionHooks(**callbacks)
    engine = create_session_engine(resolve(postgres_url("psycopg")), hooks)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection.info.transaction_status == TransactionStatus.IDLE
            assert ids and isinstance(ids[0], int)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("driver", POSTGRES_DRIVERS)
async def test_an_isolation_change_as_a_sessions_first_step_is_applied(driver):
    """The connect hook's server-id query must not leave the connection inside a transaction."""
    ws = await Workspace.open(DEMO_KIT, postgres_url(driver), sessions=("A",), defaults=SessionSettings(lock_timeout=3), isolate=True)
    try:
        await ok(ws, "A", r"\isolation SERIALIZABLE")
        assert (await ok(ws, "A", "show transaction_isolation")).rows[0][0] == "serializable"
    finally:
        await ws.close()
