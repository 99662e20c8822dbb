"""`txplay convert FILE.spec`: each permutation as a .txp scenario that means the same in txplay's
SQLAlchemy sessions, checked by running the scenarios it writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from playground.cli import main
from playground.scenario.parser import parse_file
from playground.scenario.runner import run_scenario
from tests.suites.test_isolation_cli import DEADLOCK, EXPECTED

WRITE_SKEW = """
# Two doctors go off call, each having checked that the other is on call: SERIALIZABLE stops it.
setup { CREATE TABLE doctors (name text PRIMARY KEY, on_call bool NOT NULL); }
setup { INSERT INTO doctors VALUES ('alice', true), ('bob', true); }
teardown { DROP TABLE doctors; }

session a
step a_begin { BEGIN ISOLATION LEVEL SERIALIZABLE; }
step a_count { SELECT count(*) AS n FROM doctors WHERE on_call; }
step a_off { UPDATE doctors SET on_call = false WHERE name = 'alice'; }
step a_commit { COMMIT; }

session b
step b_begin { START TRANSACTION ISOLATION LEVEL SERIALIZABLE; }
step b_count { SELECT count(*) AS n FROM doctors WHERE on_call; }
step b_off { UPDATE doctors SET on_call = false WHERE name = 'bob'; }
step b_off_alice { UPDATE doctors SET on_call = false WHERE name = 'alice'; }
step b_commit { COMMIT; }
step b_dup { INSERT INTO doctors VALUES ('alice', true); }
step b_read { SELECT name FROM doctors WHERE on_call ORDER BY name; }

permutation a_begin b_begin a_count b_count a_off b_off a_commit b_commit b_dup b_read
permutation a_begin a_count a_off b_begin b_count b_off_alice(*) a_commit b_commit b_dup b_read
"""


def test_a_spec_converts_from_its_expected_output_without_a_database(tmp_path):
    spec = tmp_path / "deadlock.spec"
    spec.write_text(DEADLOCK)
    (tmp_path / "deadlock.out").write_text(EXPECTED)  # found beside the spec
    assert main(["convert", str(spec), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "deadlock-1.txp").read_text()
    assert "sessions: S1 S2\n" in text
    assert "S1: UPDATE acct SET balance = balance + 1 WHERE id = 2\n=> waits, then ok\n" in text
    assert "S2: UPDATE acct SET balance = balance + 1 WHERE id = 1\n=> waits, then error deadlock detected\n" in text
    # Outside a transaction a statement commits by itself; a SELECT keeps its rows.
    assert ("S2: SELECT id, owner, balance FROM acct ORDER BY id; COMMIT\n"
            "=> rows [(1, 'ann', 9), (2, 'bob', 21)]\n") in text
    parse_file(tmp_path / "out" / "deadlock-1.txp")  # a valid scenario


def test_converted_scenarios_replay_what_the_spec_did(pg_database, tmp_path):
    spec = tmp_path / "write_skew.spec"
    spec.write_text(WRITE_SKEW)
    assert main(["convert", str(spec), "--url", pg_database, "--out", str(tmp_path)]) == 0
    first = (tmp_path / "write_skew-1.txp").read_text()
    assert "sessions: A B\n" in first
    assert "A: BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE\n" in first
    assert "B: BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE\n" in first
    assert "=> error could not serialize access" in first
    # The failed COMMIT and the failed autocommit INSERT each ended the server's transaction;
    # the Session's needs the ROLLBACK the spec never wrote.
    assert first.count("B: ROLLBACK\n") == 2
    assert "=> rows [('bob',)]" in first
    second = (tmp_path / "write_skew-2.txp").read_text()
    assert "no wait is asserted" in second
    for name in ("write_skew-1.txp", "write_skew-2.txp"):
        report = asyncio.run(run_scenario(parse_file(tmp_path / name), pg_database))
        failed = [(r.step.input, c.text, c.reason) for r in report.steps for c in r.checks if not c.passed]
        assert report.exit_code == 0 and not failed, (name, failed)


@pytest.mark.parametrize(("spec", "reason"), [
    ("session s\nstep v { VACUUM; }\n", "`VACUUM …` cannot run inside a transaction block"),
    ("".join(f"session s{i}\nstep x{i} {{ SELECT {i}; }}\n" for i in range(7)), "at most 6 sessions"),
    ("setup { CREATE TABLE t (); VACUUM t; }\nsession s\nstep v { SELECT 1; }\n", "the setup's `VACUUM …` cannot run"),
])
def test_what_cannot_be_converted_says_why(tmp_path, capsys, spec, reason):
    path = tmp_path / "x.spec"
    path.write_text(spec)
    (tmp_path / "x.out").write_text("Parsed test spec with 1 sessions\n\nstarting permutation: v\nstep v: VACUUM;\n"
                                    "step v: SELECT 1;\n")
    assert main(["convert", str(path), "--out", str(tmp_path)]) == 2
    assert reason in capsys.readouterr().err
    assert not list(tmp_path.glob("*.txp"))


def test_without_expectations_convert_asks_for_them(tmp_path, capsys):
    path = tmp_path / "lonely.spec"
    path.write_text("session s\nstep a { SELECT 1; }\n")
    assert main(["convert", str(path)]) == 2
    assert "give --expected FILE.out, or --url to run the spec" in capsys.readouterr().err


def test_a_txp_file_is_not_a_spec(tmp_path, capsys):
    path = Path(tmp_path / "x.txp")
    path.write_text("A: select 1\n")
    assert main(["convert", str(path)]) == 2
    assert "takes a PostgreSQL isolation .spec or a mysqltest .test file" in capsys.readouterr().err


def test_a_fatal_error_in_the_expected_output_is_the_steps_error():
    from playground.suites.convert import outcomes_from_expected
    from playground.suites.spec import parse

    spec = parse("session s\nstep bye { SELECT pg_terminate_backend(pg_backend_pid()); }\n")
    text = ("Parsed test spec with 1 sessions\n\nstarting permutation: bye\n"
            "step bye: SELECT pg_terminate_backend(pg_backend_pid());\n"
            "FATAL:  terminating connection due to administrator command\n"
            "server closed the connection unexpectedly\n")
    [[outcome]] = outcomes_from_expected(spec, text, "x.out")
    assert outcome.error == "terminating connection due to administrator command"


MYSQLTEST_FILES = Path(__file__).parent / "mysqltest"


@pytest.mark.parametrize("name", ["deadlock", "gap_locks", "savepoints", "nowait_skip_locked", "fk_locking", "send_reap"])
def test_a_converted_mysqltest_file_replays_on_mariadb(tmp_path, name):
    """A mysqltest file's run becomes one .txp (a session a connection, autocommit statements ending
    with COMMIT, lock wait timeouts as waits, a ROLLBACK after a deadlock), which replays on MariaDB."""
    from tests.conftest import server_url
    from tests.suites.mysqltest_support import admin_query, new_database, suite_dir

    url = server_url("mysql")
    if suite_dir() is None:
        pytest.skip("MariaDB's mysql-test suite is not installed (Debian package mariadb-test): "
                    "the files source its include/have_innodb.inc")
    database = new_database()
    asyncio.run(admin_query(url, f"CREATE DATABASE {database}"))
    try:
        run_url = url.rsplit("/", 1)[0] + f"/{database}"
        assert main(["convert", str(MYSQLTEST_FILES / f"{name}.test"), "--url", run_url, "--out", str(tmp_path)]) == 0
    finally:
        asyncio.run(admin_query(url, f"DROP DATABASE IF EXISTS {database}"))
    scenario = parse_file(tmp_path / f"{name}.txp")
    assert scenario.backends == ("mysql",) and not scenario.demo
    text = (tmp_path / f"{name}.txp").read_text()
    if name == "deadlock":
        assert "=> error Deadlock found" in text and "Con1: ROLLBACK\n" in text
    if name == "gap_locks":
        assert "=> waits, then error Lock wait timeout exceeded" in text
    report = asyncio.run(run_scenario(scenario, url))
    failed = [(r.step.input, c.text, c.reason) for r in report.steps for c in r.checks if not c.passed]
    assert report.exit_code == 0 and not failed, failed


def test_a_mysqltest_file_is_converted_from_a_run(capsys, tmp_path):
    test = tmp_path / "plain.test"
    test.write_text("CREATE TABLE t1 (id INT PRIMARY KEY);\nDROP TABLE t1;\n")
    assert main(["convert", str(test)]) == 2
    assert "a mysqltest file is converted from a run: give --url mysql://" in capsys.readouterr().err
