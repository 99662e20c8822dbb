"""What a COMMIT, and the statements before it, really do after the server gave up on a
transaction (issue 13, item 8): PostgreSQL answers COMMIT with ROLLBACK; MariaDB has rolled the
deadlock victim back and runs its next statements in a new transaction the Session does not
know of. An ok step that did not do what it says carries a warning, shown everywhere."""

from __future__ import annotations

from playground.engine.session import COMMIT_WARNINGS
from playground.scenario.parser import parse
from playground.scenario.runner import run_scenario
from playground.scenario.transcript import outcome_word
from tests.conftest import committed_rows, deadlock, ok, server_url
from tests.engine.test_status_truth import open_server


async def test_postgresql_commit_of_an_aborted_transaction_is_ok_with_a_warning():
    ws = await open_server("postgresql")
    try:
        await ok(ws, "A", "update items set stock = 5 where id = 1")
        refused = await ws.run("A", "insert into users (name, email) values ('x', 'ann@example.com')")
        assert refused.status == "error"
        committed = await ws.run("A", "commit")
        assert committed.status == "ok"  # SQLAlchemy raised nothing: asyncpg saw the ROLLBACK tag
        assert committed.warning == COMMIT_WARNINGS["commit-after-server-aborted"]
        assert ws.snapshot().timeline[-1].outcome == "warning"
        assert await committed_rows(ws, "select stock from items where id = 1") == [(10,)]
    finally:
        await ws.close()


async def test_a_plain_commit_has_no_warning(any_workspace):
    await ok(any_workspace, "A", "update items set stock = 5 where id = 1")
    committed = await ok(any_workspace, "A", "commit")
    assert committed.warning is None
    assert any_workspace.snapshot().timeline[-1].outcome == "ok"


async def test_mariadb_victim_runs_later_statements_in_a_new_transaction_and_commits_them():
    ws = await open_server("mysql")
    try:
        victim, survivor = await deadlock(ws)
        await ok(ws, survivor, "commit")
        later = await ok(ws, victim, "update items set stock = 77 where id = 3")
        assert any(getattr(m, "topic", "") == "ran-after-server-rollback" for m in later.messages), later.messages
        again = await ok(ws, victim, "update items set stock = 78 where id = 3")
        assert not any(getattr(m, "topic", "") == "ran-after-server-rollback" for m in again.messages)  # said once
        committed = await ok(ws, victim, "commit")
        assert committed.warning == COMMIT_WARNINGS["commit-after-server-rollback"]
        # What ran before the deadlock is gone; what ran after it was committed.
        rows = dict(await committed_rows(ws, "select id, stock from items order by id"))
        assert rows[3] == 78
        assert rows[1] == (34 if survivor == "B" else 31) and rows[2] == (32 if survivor == "B" else 33)
    finally:
        await ws.close()


async def test_mariadb_victim_that_commits_at_once_committed_nothing():
    ws = await open_server("mysql")
    try:
        before = await committed_rows(ws, "select id, stock from items order by id")
        victim, survivor = await deadlock(ws)
        await ok(ws, survivor, "rollback")
        committed = await ok(ws, victim, "commit")
        assert committed.warning == COMMIT_WARNINGS["commit-after-server-ended"]
        assert await committed_rows(ws, "select id, stock from items order by id") == before
    finally:
        await ws.close()


async def test_the_transcript_shows_the_warning_as_part_of_the_outcome():
    scenario = parse(
        "sessions: A\n\n"
        "A: insert into users (name, email) values ('x', 'ann@example.com')\n"
        "A: commit\n",
        "aborted.txp",
    )
    events: list[dict] = []
    await run_scenario(scenario, server_url("postgresql"), on_event=events.append)
    commit = [e for e in events if e.get("event") == "step" and e["input"] == "commit"][0]
    assert commit["status"] == "ok" and commit["warning"] == COMMIT_WARNINGS["commit-after-server-aborted"]
    assert outcome_word(commit) == f"[ok, but {commit['warning']}]"


def test_the_pane_log_shows_the_warning():
    from rich.console import Console

    from playground.engine.snapshot import StepResult
    from playground.ui import render

    result = StepResult(index=3, session="A", input="commit", kind="sql", status="ok",
                        warning=COMMIT_WARNINGS["commit-after-server-aborted"])
    console = Console(width=200, record=True)
    for part in render.step_result(result, show_input=False):
        console.print(part)
    assert f"⚠ {result.warning}" in console.export_text()
