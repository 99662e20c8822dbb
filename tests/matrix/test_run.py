"""The matrix's runner: cells at once, the facts and legend under the table, bad input, Ctrl+C."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import signal
import subprocess
import sys

import pytest

from playground.cli import main
from playground.matrix import SUITE, run_cell
from playground.matrix.run import Column, run_matrix
from playground.matrix.table import write_table
from tests.conftest import server_url

G0, G1A = SUITE[0], SUITE[1]


async def test_cells_run_at_once_and_the_table_keeps_its_order(monkeypatch):
    import playground.scenario.runner as runner

    running, most = 0, 0
    real = runner.run_scenario

    async def counted(*args, **kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await real(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(runner, "run_scenario", counted)
    finished: list[tuple[str, str]] = []
    run = await run_matrix([None], lambda column, test, cell: finished.append((column.title, test.name)), tests=(G0, G1A))
    assert most > 1  # several cells were running at the same moment
    assert len(finished) == len(run.cells) == 2 * len(run.columns)
    out = io.StringIO()
    write_table(run, "markdown", out, tests=(G0, G1A))
    rows = out.getvalue().splitlines()
    assert rows[0] == "| test | anomaly | " + " | ".join(c.title for c in run.columns) + " |"
    assert [r.split(" | ")[0] for r in rows[2:4]] == ["| G0", "| G1a"]  # the suite's order, whatever finished first
    assert [c.journal_mode for c in run.columns] == sorted(c.journal_mode for c in run.columns)  # delete, then wal


async def test_mariadb_cells_at_once_each_see_their_waits():
    """Several lock monitors reading MariaDB's InnoDB cache less than 0.1 s apart keep it from
    being refilled: the second writer's wait would go unseen and end in a lock timeout (1205)."""
    url = server_url("mysql")
    verdicts = await asyncio.gather(*(run_cell(G0, "READ COMMITTED", url) for _ in range(4)))
    assert [(v.how, v.error_code) for v in verdicts] == [("wait", None)] * 4, verdicts


@pytest.mark.parametrize(("backend", "expected"), [
    ("sqlite", {"journal modes": "delete, wal (a column each)", "busy timeout (ms)": "3000", "default isolation": "SERIALIZABLE"}),
    ("postgresql", {"deadlock_timeout": "1s", "lock_timeout": "3s"}),
    ("mysql", {"innodb_lock_wait_timeout": "3"}),
])
async def test_the_facts_are_read_in_a_session_with_the_scenarios_lock_timeout(backend, expected):
    url = None if backend == "sqlite" else server_url(backend)
    run = await run_matrix([url], tests=(G1A,))
    facts = dict(run.databases[0].facts)
    assert {k: facts.get(k) for k in expected} == expected, facts
    assert run.lock_timeouts == (3.0,)
    if backend == "mysql":
        assert "innodb_lock_wait_timeout (server)" in facts
    out = io.StringIO()
    write_table(run, "text", out, tests=(G1A,))
    text = out.getvalue()
    assert f"{run.databases[0].backend} {run.columns[0].server_version} (" in text  # under "measured on:"
    assert "every scenario sets lock-timeout: 3 s" in text


def test_the_legend_explains_each_test_and_each_word(capsys):
    assert main(["matrix"]) == 0
    out = capsys.readouterr().out
    legend = out[out.index("tests:"):]
    for test in SUITE:
        assert f"{test.name} ({test.anomaly}): {test.explanation}" in legend
    for word in ("wait:", "error CODE:", "snapshot:", "OCCURS:"):
        assert f"\n  {word}" in legend
    assert "journal modes delete, wal (a column each)" in out and "busy timeout (ms) 3000" in out


def test_the_json_summary_names_each_database_with_its_facts(capsys):
    assert main(["matrix", "--format", "json", "--test", "G0"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    (database,) = summary["databases"]
    assert database["backend"] == "sqlite" and database["problem"] is None
    assert database["facts"]["busy timeout (ms)"] == "3000"
    assert summary["lock_timeout"] == [3.0] and summary["interrupted"] is False


async def test_an_unreachable_database_is_a_column_saying_why(tmp_path):
    told: list[list[Column]] = []
    run = await run_matrix(["postgresql://nobody@127.0.0.1:1/x", f"sqlite:///{tmp_path}/m.db"], tests=(G1A,),
                           on_columns=told.append)
    assert told[0][0].problem is not None and "ConnectionRefusedError" in told[0][0].problem
    out = io.StringIO()
    write_table(run, "markdown", out, tests=(G1A,))
    header, _, row = out.getvalue().splitlines()[:3]
    assert header.startswith("| test | anomaly | postgresql: ConnectionRefusedError")
    assert row.split(" | ")[2] == "not run"  # that column, in the table
    assert row.split(" | ")[3] == "snapshot"  # the other database still ran
    assert run.exit_code == 1


def test_a_url_txplay_has_no_strategy_for_is_refused(capsys):
    assert main(["matrix", "--url", "sqlite:///x.db", "--url", "oracle+oracledb_async://scott:tiger@db/x"]) == 2
    err = capsys.readouterr().err
    assert "no strategy for oracle+oracledb_async" in err and "scott:***@db" in err and "tiger" not in err


async def _pg(url: str, *statements: str) -> list[str]:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database)
    try:
        rows: list[str] = []
        for sql in statements:
            rows = [r[0] for r in await conn.fetch(sql)]
        return rows
    finally:
        await conn.close()


async def test_ctrl_c_keeps_the_cells_done_and_drops_every_schema_it_made():
    base = server_url("postgresql")
    name = f"matrix_sigint_{secrets.token_hex(4)}"  # a database of the test's own: only this run's schemas are in it
    await _pg(base, f"CREATE DATABASE {name}")
    try:
        url = base.rsplit("/", 1)[0] + f"/{name}"
        # Unbuffered: communicate() reads the pipe itself, so a line a buffered readline() had read
        # ahead (two cells ending together) was lost to the test, though the run printed it.
        proc = subprocess.Popen([sys.executable, "-m", "playground", "matrix", "--url", url, "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        first = proc.stdout.readline().decode() if proc.stdout else ""
        proc.send_signal(signal.SIGINT)
        rest, err = (out.decode() for out in proc.communicate(timeout=30))
        lines = [json.loads(line) for line in [first, *rest.splitlines()]]
        cells, summary = lines[:-1], lines[-1]
        assert proc.returncode == 130, err
        assert summary["interrupted"] is True and summary["exit"] == 130
        assert 1 <= len(cells) == summary["cells"] < len(SUITE) * summary["columns"]
        assert all(c["how"] in ("wait", "error", "snapshot", "occurs") for c in cells), cells
        assert await _pg(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'txplay%'") == []
    finally:
        await _pg(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_test_runs_only_the_tests_named_in_the_suites_order(capsys):
    assert main(["matrix", "--format", "markdown", "--test", "p4", "--test", "G1a"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[0].lstrip("| ") for line in out.splitlines() if line.startswith("| G") or line.startswith("| P")]
    assert rows == ["G1a", "P4"]
    legend = out[out.index("tests:"):]
    assert "G1a (aborted read)" in legend and "P4 (lost update)" in legend and "G0 (" not in legend


def test_an_unknown_test_is_refused_with_the_names(capsys):
    assert main(["matrix", "--test", "G9"]) == 2
    err = capsys.readouterr().err
    assert "no matrix test 'G9'" in err and "G-single-write-1" in err
