"""A mysqltest file stepped through live (LiveMysqltest) on the MariaDB test server, each test on a
database of its own: the statements held at the runner's hook, panes as connections open, lock
waits with their holders, KILL QUERY on a waiting statement, the live comparison with the
`.result` file, restart and close leaving the server as found."""

from __future__ import annotations

import io
import shutil
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from playground.suites import SuiteError
from playground.suites.expected import expected_file_for
from playground.suites.live import Phase, SessionState, StepStatus
from playground.suites.live_mysqltest import LiveMysqltest
from playground.suites.mysqltest import load, run_mysqltest
from playground.suites.mysqltest_client import Client
from tests.suites import mysqltest_support
from tests.conftest import server_url
from tests.suites.mysqltest_support import HERE, admin_query, endpoint, suite_dir

mysql_database = mysqltest_support.mysql_database

FOREGROUND_WAIT = """
CREATE TABLE t1 (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
INSERT INTO t1 VALUES (1,10);
connect (con1,localhost,root,,);
BEGIN;
SELECT v FROM t1 WHERE id=1 FOR UPDATE;
connection default;
--error ER_QUERY_INTERRUPTED,ER_LOCK_WAIT_TIMEOUT
UPDATE t1 SET v=11 WHERE id=1;
connection con1;
COMMIT;
connection default;
SELECT * FROM t1;
DROP TABLE t1;
"""
"""default's UPDATE waits on con1's row lock in the foreground: only KILL QUERY (or the server's
lock wait timeout, 50 s by default) ends it."""

FOREGROUND_WAIT_RESULT = """\
CREATE TABLE t1 (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
INSERT INTO t1 VALUES (1,10);
connect  con1,localhost,root,,;
BEGIN;
SELECT v FROM t1 WHERE id=1 FOR UPDATE;
v
10
connection default;
UPDATE t1 SET v=11 WHERE id=1;
Got one of the listed errors
connection con1;
COMMIT;
connection default;
SELECT * FROM t1;
id\tv
1\t10
DROP TABLE t1;
"""


def deadlock_suite(tmp_path: Path) -> Path:
    """deadlock.test laid out as MariaDB's suite is (t/NAME.test, its includes), or a skip."""
    if suite_dir() is None:
        pytest.skip("MariaDB's mysql-test suite is not installed (deadlock.test sources include/have_innodb.inc)")
    (tmp_path / "t").mkdir()
    (tmp_path / "r").mkdir()
    shutil.copy(HERE / "deadlock.test", tmp_path / "t" / "deadlock.test")
    shutil.copytree(HERE / "include", tmp_path / "t" / "include")
    return tmp_path / "t" / "deadlock.test"


async def record_result(test: Path, url: str, result: Path) -> str:
    """Run `test` through txplay's runner (held to the real mysqltest by the differential tests)
    and write what it prints as `result`."""
    out = io.StringIO()
    run = await run_mysqltest(load(test), url, out=out)
    assert run.exit_code == 0, run.error
    result.write_text(out.getvalue())
    return out.getvalue()


def write(tmp_path: Path, text: str, name: str = "wait.test") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def settle(live: LiveMysqltest) -> None:
    """Wait until the run stands before a statement again (or has ended)."""
    deadline = time.monotonic() + 10
    while live.snapshot().at is None and live.phase == Phase.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)


def view(live: LiveMysqltest, name: str):
    return next(v for v in live.snapshot().sessions if v.name == name)


def step_until(live: LiveMysqltest, done, limit: int = 40) -> None:
    """F10 until `done(snapshot)` holds."""
    for _ in range(limit):
        if done(live.snapshot()):
            return
        live.step()
    raise AssertionError(f"never reached; at {live.snapshot().at}, phase {live.phase}")


async def our_connections(url: str) -> int:
    """How many connections have the test's database selected."""
    client = await Client.open("probe", endpoint(url), endpoint(url).user, endpoint(url).password, None)
    try:
        results, error = await client.query(
            f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{make_url(url).database}'", 30)
        assert error is None
        return int(results[0].rows[0][0] or 0)
    finally:
        await client.close()


@pytest.mark.parametrize("name", sorted(p.name for p in HERE.glob("*.test")))
async def test_mysql_live_stepping_a_file_to_its_end_prints_what_a_plain_run_prints(name, mysql_database):
    """Held at every statement, send and reap (and its lock waits looked at), a run prints the same."""
    if suite_dir() is None:
        pytest.skip("MariaDB's mysql-test suite is not installed (the files source its include/have_*.inc)")
    database = make_url(mysql_database).database
    out = io.StringIO()
    plain = await run_mysqltest(load(HERE / name), mysql_database, out=out)
    await admin_query(server_url("mysql"), f"DROP DATABASE {database}")
    await admin_query(server_url("mysql"), f"CREATE DATABASE {database}")
    live = LiveMysqltest(HERE / name, mysql_database)
    live.open()
    try:
        steps = 0
        while live.phase == Phase.RUNNING:
            assert live.snapshot().at is not None, "a statement of our files waits for nothing that the file does not end"
            live.step()
            settle(live)
            steps += 1
        snap = live.snapshot()
    finally:
        live.close()
    assert (snap.phase, snap.error) == (Phase.FINISHED, None)
    assert snap.output == out.getvalue() == plain.output and steps == plain.steps


def test_mysql_live_expected_file_is_found_in_r_next_to_t_or_beside_the_test(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "r").mkdir()
    test = tmp_path / "t" / "x.test"
    test.write_text("SELECT 1;\n")
    assert expected_file_for(test) is None
    (tmp_path / "t" / "x.result").write_text("")
    assert expected_file_for(test) == tmp_path / "t" / "x.result"
    (tmp_path / "r" / "x.result").write_text("")
    assert expected_file_for(test) == tmp_path / "r" / "x.result"


def test_mysql_live_refuses_another_database_before_anything_runs(tmp_path):
    test = write(tmp_path, "SELECT 1;\n")
    with pytest.raises(SuiteError, match=r"wait.test:1: a mysqltest file runs on MySQL or MariaDB, not on postgresql"):
        LiveMysqltest(test, "postgresql://root@127.0.0.1/x")


async def test_mysql_live_steps_a_send_that_waits_on_its_holder_and_compares_with_the_result(tmp_path, mysql_database):
    test = deadlock_suite(tmp_path)
    expected = await record_result(test, mysql_database, tmp_path / "r" / "deadlock.result")
    live = LiveMysqltest(test, mysql_database)
    live.open()
    try:
        snap = live.snapshot()
        assert [v.name for v in snap.sessions] == ["default"]  # con1 and con2 come as connect runs
        assert snap.upcoming[0].sql.startswith("CREATE TABLE t1") and snap.at == "deadlock.test:5"
        step_until(live, lambda s: any(v.name == "con2" and v.state == SessionState.WAITING for v in s.sessions))
        snap = live.snapshot()
        assert [v.name for v in snap.sessions] == ["default", "con1", "con2"]
        con2 = view(live, "con2")
        assert con2.waiting_for == ("con1",) and con2.log[-1].status == StepStatus.SENT
        assert view(live, "con1").state == SessionState.IN_TRANSACTION
        (edge,) = snap.edges
        assert (edge.waiter, edge.holders, edge.statement) == ("con2", ("con1",), "UPDATE t1 SET v=12 WHERE id=1")
        assert "RECORD" in edge.lock and "t1" in edge.lock
        assert snap.comparison is not None and snap.comparison.matches and not snap.comparison.complete
        assert snap.upcoming[0].session == "con1" and snap.upcoming[0].sql == "UPDATE t1 SET v=22 WHERE id=2"

        live.step()  # con1's UPDATE: the deadlock, con1 the victim; con2's update goes through
        settle(live)
        con1 = view(live, "con1")
        assert con1.log[-1].status == StepStatus.ERROR and con1.state == SessionState.ERROR  # the file expects it
        assert con1.log[-1].output.startswith("ERROR 40001: Deadlock found")
        step_until(live, lambda s: s.phase != Phase.RUNNING)
        snap = live.snapshot()
        assert snap.phase == Phase.FINISHED and snap.error is None
        assert snap.output == expected
        assert snap.comparison is not None and snap.comparison.matches and snap.comparison.complete
        assert all(v.state == SessionState.CLOSED for v in snap.sessions)
        reaped = next(e for e in view(live, "con2").log if e.reaped)
        assert reaped.waited and reaped.waiting_for == ("con1",)
    finally:
        live.close()
    assert await our_connections(mysql_database) == 0


async def test_mysql_live_a_wrong_result_shows_the_first_differing_line(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    test.with_suffix(".result").write_text(FOREGROUND_WAIT_RESULT.replace("v\n10\n", "v\n99\n"))
    live = LiveMysqltest(test, mysql_database)
    live.open()
    try:
        step_until(live, lambda s: s.position == 4)  # the SELECT ... FOR UPDATE has printed 10
        comparison = live.snapshot().comparison
        assert comparison is not None and not comparison.matches
        assert (comparison.line, comparison.expected, comparison.got) == (7, "99", "10")
    finally:
        live.close()


async def test_mysql_live_a_statement_waiting_in_the_foreground_is_shown_and_killed_by_cancel(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    test.with_suffix(".result").write_text(FOREGROUND_WAIT_RESULT)
    live = LiveMysqltest(test, mysql_database)
    live.open()
    try:
        step_until(live, lambda s: s.upcoming and s.upcoming[0].sql == "UPDATE t1 SET v=11 WHERE id=1")
        started = time.monotonic()
        live.step()  # returns once the UPDATE waits: the run is held inside it
        assert time.monotonic() - started < 10
        snap = live.snapshot()
        default = view(live, "default")
        assert default.state == SessionState.WAITING and default.waiting_for == ("con1",)
        assert default.log[-1].status == StepStatus.WAITING and default.log[-1].sql == "UPDATE t1 SET v=11 WHERE id=1"
        assert snap.at is None and [(e.waiter, e.holders) for e in snap.edges] == [("default", ("con1",))]
        live.step()  # nothing to let go while the statement waits
        assert view(live, "default").state == SessionState.WAITING

        assert live.cancel() == ["default"]  # KILL QUERY: ER_QUERY_INTERRUPTED, which the file expects
        settle(live)
        assert view(live, "default").state == SessionState.ERROR and not live.snapshot().edges
        assert view(live, "default").log[-1].output == "Got one of the listed errors\n"
        step_until(live, lambda s: s.phase != Phase.RUNNING)
        snap = live.snapshot()
        assert snap.phase == Phase.FINISHED, snap.error
        assert snap.comparison is not None and snap.comparison.complete, snap.comparison
    finally:
        live.close()


async def test_mysql_live_restart_and_close_end_the_run_and_close_its_connections(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    live = LiveMysqltest(test, mysql_database)
    live.open()
    try:
        step_until(live, lambda s: s.upcoming and s.upcoming[0].sql == "UPDATE t1 SET v=11 WHERE id=1")
        live.step()  # waiting in the foreground
        assert await our_connections(mysql_database) == 2  # default, con1
        live.restart()  # the wait killed, the connections closed, t1 dropped, a fresh run
        snap = live.snapshot()
        assert snap.phase == Phase.RUNNING and snap.position == 0 and [v.name for v in snap.sessions] == ["default"]
        assert not snap.output and snap.at is not None and snap.error is None
        assert await our_connections(mysql_database) == 1  # the fresh run's default
        step_until(live, lambda s: s.position == 3)  # CREATE TABLE t1 runs again: the table was dropped
        assert view(live, "default").log[0].status == StepStatus.OK and live.snapshot().error is None
    finally:
        live.close()
    assert live.phase == Phase.CLOSED
    assert await our_connections(mysql_database) == 0
