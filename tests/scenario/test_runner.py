"""The headless runner (DESIGN §4): expectations, lock waits, backends, setup/teardown, determinism."""

from __future__ import annotations

import sqlite3
import textwrap
from typing import Any

from playground.scenario import parse, run_scenario
from playground.scenario.transcript import session_states

# Fields that measure time rather than describe what happened.
TIMING_FIELDS = {"waited", "started", "finished", "elapsed", "duration"}


def txp(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


async def run(text: str, **kwargs: Any):
    events: list[dict[str, Any]] = []
    report = await run_scenario(parse(txp(text), "test.txp"), on_event=events.append, **kwargs)
    return report, events


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def step(events: list[dict[str, Any]], index: int) -> dict[str, Any]:
    (found,) = [e for e in events if e["event"] == "step" and e["index"] == index]
    return found


def checks(event: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(c["text"], c["passed"]) for c in event["expect"]]


# -- expectations that hold and that fail ---------------------------------------------------


async def test_expectations_that_hold_exit_0():
    report, events = await run("""
        title: Holds
        sessions: A B
        A: insert into items (id, name, stock) values (10, 'mug', 3)
        => ok
        A: select name, stock from items where id = 10
        => rows [('mug', 3)]
        A: session.get(Item, 10).stock
        => value 3
        A: session.get(Item, 1)
        => value Item(id=1, name='book', stock=10)
        A: insert into items (id, name, stock) values (10, 'dup', 1)
        => error UNIQUE constraint failed
        => error integrityerror
        B: select count(*) from items where id = 10
        => rows [(0,)]
    """)
    assert report.exit_code == 0
    assert (report.passed, report.failed) == (7, 0)
    assert [e["event"] for e in events][0] == "scenario"
    assert events[-1] == {"event": "summary", "steps": 6, "passed": 7, "failed": 0, "skipped": False, "exit": 0}
    steps = of(events, "step")
    assert [s["index"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert all(passed for s in steps for _, passed in checks(s))
    assert steps[1]["rows"] == [["mug", 3]]
    assert steps[2]["value"] == "3"
    assert steps[4]["status"] == "error" and steps[4]["error"]["type"] == "IntegrityError"


async def test_step_event_carries_the_contract_fields():
    _, events = await run("""
        sessions: A
        A: select id, name from users where id = 1
        => rows [(1, 'ann')]
    """)
    event = step(events, 1)
    for key in ("event", "index", "session", "input", "kind", "status", "error", "rows", "value", "sql", "expect"):
        assert key in event, key
    assert event["session"] == "A" and event["kind"] == "sql" and event["status"] == "ok"
    assert event["input"] == "select id, name from users where id = 1"
    assert event["error"] is None and event["value"] is None
    assert event["rows"] == [[1, "ann"]]
    assert event["sql"][-1] == "select id, name from users where id = 1"
    assert event["expect"] == [{"text": "rows [(1, 'ann')]", "passed": True}]
    state = [e for e in events if e["event"] == "state" and e["after"] == 1][0]
    assert state["sessions"]["A"]["status"] == "active"


async def test_expectations_that_fail_exit_1_and_say_why():
    report, events = await run("""
        sessions: A
        A: insert into items (id, name, stock) values (10, 'mug', 3)
        => error IntegrityError
        A: select stock from items where id = 10
        => rows [(4,)]
        A: session.get(Item, 10).stock
        => value 4
        A: select * from nosuch
        => ok
        A: select 1
        => waits
        A: select 2
        => rows [(2,)]
    """)
    assert report.exit_code == 1
    assert (report.passed, report.failed) == (1, 5)
    assert events[-1]["event"] == "summary"
    assert events[-1]["exit"] == 1 and events[-1]["failed"] == 5 and events[-1]["passed"] == 1
    reasons = {s["index"]: s["expect"][0] for s in of(events, "step")}
    assert reasons[1]["passed"] is False and "succeeded" in reasons[1]["reason"]
    assert reasons[2]["passed"] is False and "[(3,)]" in reasons[2]["reason"]
    assert reasons[3]["passed"] is False and reasons[3]["reason"] == "got 3"
    assert reasons[4]["passed"] is False and "no such table" in reasons[4]["reason"]
    assert reasons[5]["passed"] is False and "did not wait" in reasons[5]["reason"]
    assert reasons[6] == {"text": "rows [(2,)]", "passed": True}


async def test_an_error_expectation_does_not_match_another_error():
    report, events = await run("""
        sessions: A
        A: select * from nosuch
        => error IntegrityError
    """)
    assert report.exit_code == 1
    check = step(events, 1)["expect"][0]
    assert check["passed"] is False and "OperationalError" in check["reason"]


async def test_a_step_without_expectations_is_not_checked():
    report, events = await run("""
        sessions: A
        A: select * from nosuch
        A: select 1
        => ok
    """)
    assert report.exit_code == 0
    assert (report.passed, report.failed) == (1, 0)
    assert step(events, 1)["status"] == "error" and step(events, 1)["expect"] == []


# -- lock waits -----------------------------------------------------------------------------

WAIT_SCENARIO = """
    title: B waits for A's write lock
    sessions: A B
    lock-timeout: 30
    A: update items set stock = 9 where id = 1
    => ok
    B: update items set stock = 8 where id = 2
    => waits, then ok
    A: commit
    => ok
    B: commit
    => ok
    B: select id, stock from items where id in (1, 2) order by id
    => rows [(1, 9), (2, 8)]
"""


async def test_waits_then_ok_reports_the_wait_and_the_completion_after_the_commit():
    report, events = await run(WAIT_SCENARIO)
    assert report.exit_code == 0, [e for e in events if e.get("expect")]
    assert (report.passed, report.failed) == (5, 0)

    waiting = step(events, 2)
    assert waiting["session"] == "B"
    assert waiting["status"] == "waiting"
    assert waiting["waiting_for"] == ["A"]
    assert waiting["expect"] == []  # `waits, then ok` is checked when the step completes

    state_after_2 = [e for e in events if e["event"] == "state" and e["after"] == 2][0]
    assert state_after_2["sessions"]["B"]["status"] == "waiting"
    assert state_after_2["sessions"]["B"]["waiting_for"] == ["A"]

    commit = step(events, 3)
    assert commit["session"] == "A" and commit["input"] == "commit" and commit["status"] == "ok"
    (completed,) = of(events, "completed")
    assert completed["index"] == 2
    assert completed["after"] == commit["index"] == 3
    assert completed["status"] == "ok"
    assert completed["error"] is None
    assert completed["expect"] == [{"text": "waits, then ok", "passed": True}]
    assert any("update items set stock = 8" in sql for sql in completed["sql"])
    # The completion is reported after the commit that released the lock, before the next step.
    order = [(e["event"], e.get("index")) for e in events if e["event"] in ("step", "completed")]
    assert order == [("step", 1), ("step", 2), ("step", 3), ("completed", 2), ("step", 4), ("step", 5)]


async def test_plain_ok_fails_on_a_step_that_waited():
    report, events = await run("""
        sessions: A B
        lock-timeout: 30
        A: update items set stock = 9 where id = 1
        B: update items set stock = 8 where id = 2
        => ok
        A: commit
    """)
    assert report.exit_code == 1
    assert (report.passed, report.failed) == (0, 1)
    check = step(events, 2)["expect"][0]
    assert check["passed"] is False and "waited" in check["reason"] and "A" in check["reason"]
    (completed,) = of(events, "completed")
    assert completed["status"] == "ok" and completed["after"] == 3


async def test_waits_alone_holds_and_the_run_waits_for_the_step_to_finish():
    report, events = await run("""
        sessions: A B
        lock-timeout: 30
        A: delete from jobs where id = 1
        B: delete from jobs where id = 2
        => waits
        A: rollback
    """)
    assert report.exit_code == 0
    assert (report.passed, report.failed) == (1, 0)
    assert step(events, 2)["expect"] == [{"text": "waits", "passed": True}]
    (completed,) = of(events, "completed")
    assert completed["index"] == 2 and completed["after"] == 3 and completed["status"] == "ok"


async def test_waits_then_rows_is_checked_on_the_completed_result():
    report, events = await run("""
        sessions: A B
        lock-timeout: 30
        A: update items set stock = 9 where id = 1
        B: update items set stock = 1 where id = 1 returning stock
        => waits, then rows [(2,)]
        A: commit
    """)
    assert report.exit_code == 1
    (completed,) = of(events, "completed")
    assert completed["rows"] == [[1]]
    assert completed["expect"][0]["passed"] is False and "[(1,)]" in completed["expect"][0]["reason"]


# -- backends -------------------------------------------------------------------------------


async def test_a_scenario_for_another_backend_is_skipped_with_exit_0():
    report, events = await run("""
        title: Server only
        backends: postgresql
        A: select pg_backend_pid()
        => value 1
        => error never checked
    """)
    assert report.skipped is True
    assert report.exit_code == 0
    assert [e["event"] for e in events] == ["scenario", "skipped", "summary"]
    assert "postgresql" in events[1]["reason"]
    assert events[-1] == {"event": "summary", "steps": 0, "passed": 0, "failed": 0, "skipped": True, "exit": 0}


async def test_a_scenario_listing_sqlite_runs():
    report, events = await run("""
        backends: postgresql sqlite
        A: select 1
        => rows [(1,)]
    """)
    assert report.skipped is False and report.exit_code == 0 and report.passed == 1


async def test_per_backend_expectations_apply_only_on_their_backend():
    report, events = await run("""
        sessions: A
        A: select 1
        => [postgresql] error x
        => [mysql] rows [(999,)]
        => [sqlite] rows [(1,)]
        A: select 2
        => [postgresql] ok
    """)
    assert report.exit_code == 0
    assert (report.passed, report.failed) == (1, 0)
    assert checks(step(events, 1)) == [("[sqlite] rows [(1,)]", True)]
    assert step(events, 2)["expect"] == []


async def test_a_failing_sqlite_expectation_fails_the_run():
    report, events = await run("""
        sessions: A
        A: select 1
        => [postgresql] rows [(1,)]
        => [sqlite] rows [(2,)]
    """)
    assert report.exit_code == 1
    assert checks(step(events, 1)) == [("[sqlite] rows [(2,)]", False)]


# -- setup and teardown ---------------------------------------------------------------------


async def test_setup_replaces_the_demo_schema():
    report, events = await run("""
        sessions: A
        setup:
            create table test (id int primary key, value int);
            insert into test (id, value) values (1, 10), (2, 20);
        A: select name from sqlite_master where type = 'table' order by name
        => rows [('test',)]
        A: select * from test order by id
        => rows [(1, 10), (2, 20)]
        A: select * from users
        => error no such table: users
    """)
    assert report.exit_code == 0, [e["expect"] for e in of(events, "step")]
    assert (report.passed, report.failed) == (3, 0)


async def test_teardown_runs_after_sessions_are_rolled_back_even_when_an_expectation_failed(tmp_path):
    db = tmp_path / "teardown.db"
    report, events = await run("""
        sessions: A B
        setup:
            create table test (id int primary key, value int);
            insert into test (id, value) values (1, 10), (2, 20);
        A: insert into test (id, value) values (3, 30)
        => ok
        A: select count(*) from test
        => rows [(99,)]
        teardown:
            create table teardown_log (n int);
            insert into teardown_log select count(*) from test;
    """, url=f"sqlite+aiosqlite:///{db}")
    assert report.exit_code == 1 and report.failed == 1
    assert report.error is None
    assert events[-1]["event"] == "summary" and events[-1]["exit"] == 1
    with sqlite3.connect(db) as conn:
        # A's open transaction was rolled back before teardown ran: it counted 2 rows, not 3.
        assert conn.execute("select n from teardown_log").fetchall() == [(2,)]
        assert conn.execute("select count(*) from test").fetchall() == [(2,)]


async def test_a_failing_teardown_fails_the_run():
    report, events = await run("""
        sessions: A
        A: select 1
        => ok
        teardown:
            drop table no_such_table;
    """)
    assert report.exit_code == 1
    errors = of(events, "error")
    assert errors and "teardown" in errors[0]["message"]
    assert events[-1]["event"] == "summary" and events[-1]["exit"] == 1


# -- headers reach the sessions -------------------------------------------------------------


async def test_isolation_header_sets_every_sessions_isolation():
    report, events = await run("""
        sessions: A B
        isolation: read uncommitted
        A: select 1
    """)
    assert report.exit_code == 0
    last = list(session_states(events).values())[-1]
    assert {name: s["isolation"] for name, s in last.items()} == {"A": "READ UNCOMMITTED", "B": "READ UNCOMMITTED"}


async def test_mode_header_runs_python_in_async_mode():
    report, events = await run("""
        sessions: A
        mode: async
        A: (await session.execute(select(User.name).where(User.id == 2))).scalar_one()
        => value 'bob'
    """)
    assert report.exit_code == 0, step(events, 1)


async def test_notes_are_emitted_before_their_step():
    _, events = await run("""
        sessions: A
        note: first note
        A: select 1
        note: closing note
    """)
    kinds = [(e["event"], e.get("text") or e.get("index")) for e in events if e["event"] in ("note", "step")]
    assert kinds == [("note", "first note"), ("step", 1), ("note", "closing note")]


# -- determinism ----------------------------------------------------------------------------

DETERMINISM_SCENARIO = """
    title: Deterministic
    sessions: A B C
    lock-timeout: 30
    A: u = session.get(User, 1)
    A: u.name = 'annie'
    A: session.flush()
    => ok
    B: update users set name = 'bee' where id = 2
    => waits, then ok
    C: select name from users order by id
    => rows [('ann',), ('bob',), ('cy',)]
    C: rollback
    A: insert into users (id, name, email) values (9, 'x', 'bob@example.com')
    => error UNIQUE
    A: \\savepoint sp1
    A: insert into items (id, name, stock) values (10, 'mug', 1)
    A: rollback to savepoint sp1
    A: session.commit()
    B: select name from users order by id
    => rows [('annie',), ('bee',), ('cy',)]
    B: commit
"""


def _comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        if event["event"] in ("step", "completed", "summary"):
            out.append({k: v for k, v in event.items() if k not in TIMING_FIELDS})
    return out


async def test_transcripts_are_deterministic():
    first_report, first = await run(DETERMINISM_SCENARIO)
    second_report, second = await run(DETERMINISM_SCENARIO)
    assert first_report.exit_code == 0, [e["expect"] for e in first if e.get("expect")]
    assert of(first, "completed"), "the scenario should contain a lock wait"
    assert _comparable(first) == _comparable(second)
    assert second_report.exit_code == 0
