"""The mysqltest runner on MariaDB: how a failing test ends, that a run never hangs, that the shared
server's global variables and connections are left as found, and the events it reports."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from playground.suites import SuiteError
from playground.suites.mysqltest import load, run_mysqltest
from playground.suites.mysqltest_client import Client
from tests.conftest import server_url
from tests.suites import mysqltest_support
from tests.suites.mysqltest_support import admin_query, endpoint

mysql_database = mysqltest_support.mysql_database


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.test"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


async def run(tmp_path: Path, url: str, text: str, **options):
    return await run_mysqltest(load(write(tmp_path, text)), url, **options)


async def global_value(url: str, name: str) -> str:
    client = await Client.open("check", endpoint(url), endpoint(url).user, endpoint(url).password, None)
    try:
        results, error = await client.query(f"SELECT @@GLOBAL.{name}", 30)
        assert error is None
        return str(results[0].rows[0][0])
    finally:
        await client.close()


async def test_mysqltest_run_prints_and_streams_the_result_text(tmp_path, mysql_database):
    out = io.StringIO()
    result = await run(tmp_path, mysql_database, """
        CREATE TABLE t (a INT);
        INSERT INTO t VALUES (1),(NULL);
        SELECT a FROM t ORDER BY a;
        echo done;
        """, out=out)
    expected = "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1),(NULL);\nSELECT a FROM t ORDER BY a;\na\nNULL\n1\ndone\n"
    assert (result.exit_code, result.error) == (0, None)
    assert result.output == expected
    assert out.getvalue() == expected


async def test_mysqltest_bytes_that_are_not_utf8_reach_a_strict_stream_raw(tmp_path, mysql_database):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    result = await run(tmp_path, mysql_database, "SELECT UNHEX('FF') AS b;\n", out=stream)
    stream.flush()
    assert result.exit_code == 0
    assert raw.getvalue() == b"SELECT UNHEX('FF') AS b;\nb\n\xff\n"
    assert result.output.encode("utf-8", "surrogateescape") == raw.getvalue()


async def test_mysqltest_unexpected_error_fails_the_run_where_mysqltest_stops(tmp_path, mysql_database):
    result = await run(tmp_path, mysql_database, """
        SELECT 1 AS one;
        SELECT * FROM nosuch;
        echo never;
        """)
    assert result.exit_code == 1
    assert "At line 2: query 'SELECT * FROM nosuch' failed: ER_NO_SUCH_TABLE (1146)" in result.error
    assert result.output == "SELECT 1 AS one;\none\n1\nSELECT * FROM nosuch;\n"


async def test_mysqltest_expected_error_that_does_not_come_fails_the_run(tmp_path, mysql_database):
    result = await run(tmp_path, mysql_database, "--error ER_NO_SUCH_TABLE\nSELECT 1;\n")
    assert result.exit_code == 1
    assert "succeeded - should have failed with error ER_NO_SUCH_TABLE (1146)" in result.error


async def test_mysqltest_wrong_error_fails_the_run(tmp_path, mysql_database):
    result = await run(tmp_path, mysql_database, "--error ER_DUP_ENTRY\nSELECT * FROM nosuch;\n")
    assert result.exit_code == 1
    assert "failed with wrong errno ER_NO_SUCH_TABLE (1146)" in result.error
    assert result.output.endswith("ERROR 42S02: Table '" + make_url(mysql_database).database + ".nosuch' doesn't exist\n")


async def test_mysqltest_reap_that_waits_too_long_fails_the_run_and_ends_the_statement(tmp_path, mysql_database):
    result = await run(tmp_path, mysql_database, """
        CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;
        INSERT INTO t VALUES (1);
        BEGIN;
        SELECT * FROM t WHERE id = 1 FOR UPDATE;
        connect (other,localhost,root,,);
        SET SESSION innodb_lock_wait_timeout = 30;
        send SELECT * FROM t WHERE id = 1 FOR UPDATE;
        reap;
        """, timeout=1.0)
    assert result.exit_code == 1
    assert "At line 8: no answer to the statement on connection 'other' within 1 s" in result.error
    # the waiting statement was killed: the table can be dropped at once
    await admin_query(server_url("mysql"), f"DROP TABLE {make_url(mysql_database).database}.t")


async def test_mysqltest_global_variables_are_set_back_even_when_the_test_fails(tmp_path, mysql_database):
    before = await global_value(mysql_database, "innodb_lock_wait_timeout")
    changed = "7" if before != "7" else "8"
    result = await run(tmp_path, mysql_database, f"""
        SET GLOBAL innodb_lock_wait_timeout = {changed};
        SELECT * FROM nosuch;
        """)
    assert result.exit_code == 1
    assert result.restored == ["innodb_lock_wait_timeout"]
    assert await global_value(mysql_database, "innodb_lock_wait_timeout") == before


async def test_mysqltest_exit_stops_and_skip_skips(tmp_path, mysql_database):
    result = await run(tmp_path, mysql_database, "echo a;\nexit;\necho b;\n")
    assert (result.exit_code, result.output) == (0, "a\n")
    result = await run(tmp_path, mysql_database, "echo a;\nskip not here;\necho b;\n")
    assert (result.exit_code, result.skipped, result.output) == (0, "not here", "a\n")


async def test_mysqltest_events_name_sessions_steps_and_completions(tmp_path, mysql_database):
    events: list[dict] = []
    result = await run(tmp_path, mysql_database, """
        connect (con1,localhost,root,,);
        send SELECT 1 AS one;
        connection default;
        --error ER_NO_SUCH_TABLE
        SELECT * FROM nosuch;
        connection con1;
        reap;
        """, emit=events.append)
    assert result.exit_code == 0
    assert events[0] == {"event": "suite", "kind": "mysqltest", "source": str(tmp_path / "t.test"), "sessions": ["default", "con1"]}
    steps = [(e["event"], e["session"], e["status"], e.get("sql"), e["output"]) for e in events[1:]]
    assert steps == [
        ("step", "con1", "sent", "SELECT 1 AS one", ""),
        ("step", "default", "error", "SELECT * FROM nosuch", "ERROR 42S02: Table '" + make_url(mysql_database).database + ".nosuch' doesn't exist\n"),
        ("completed", "con1", "ok", None, "one\n1\n"),
    ]
    assert events[1]["line"] == 2
    assert result.steps == 3


async def test_mysqltest_runs_against_mariadb_only(tmp_path):
    with pytest.raises(SuiteError) as info:
        await run(tmp_path, "sqlite+aiosqlite:///x.db", "SELECT 1;\n")
    assert (info.value.source, info.value.line) == (str(tmp_path / "t.test"), 1)
    assert "runs on MySQL or MariaDB, not on sqlite" in info.value.reason


async def test_mysqltest_server_that_cannot_be_reached_fails_the_run(tmp_path):
    result = await run(tmp_path, "mysql+asyncmy://root@127.0.0.1:1/x", "SELECT 1;\n")
    assert result.exit_code == 1 and "Could not open connection 'default'" in result.error


async def test_mysqltest_before_is_awaited_before_each_statement(tmp_path, mysql_database):
    seen: list[tuple] = []

    async def before(step: dict) -> None:
        seen.append((step["session"], step["kind"], step["sql"], step["line"]))

    result = await run(tmp_path, mysql_database, """
        echo not a statement;
        connect (con1,localhost,root,,);
        send SELECT 1;
        connection default;
        SELECT 2;
        connection con1;
        reap;
        """, before=before)
    assert result.exit_code == 0
    assert seen == [("con1", "send", "SELECT 1", 3), ("default", "query", "SELECT 2", 5), ("con1", "reap", None, 7)]
