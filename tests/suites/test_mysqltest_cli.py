"""`txplay run FILE.test` on MariaDB: --format mysqltest, --expected, other formats, and files or
URLs refused (exit 2) before anything runs."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from playground.cli import main
from tests.conftest import server_url
from tests.suites.mysqltest_support import admin_query, new_database

TEST = """
CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10);
connect (con1,localhost,root,,);
BEGIN;
UPDATE t SET v = 11 WHERE id = 1;
connection default;
SET SESSION innodb_lock_wait_timeout = 1;
--error ER_LOCK_WAIT_TIMEOUT
UPDATE t SET v = 12 WHERE id = 1;
connection con1;
COMMIT;
connection default;
SELECT * FROM t;
DROP TABLE t;
"""

RESULT = """CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10);
connect  con1,localhost,root,,;
BEGIN;
UPDATE t SET v = 11 WHERE id = 1;
connection default;
SET SESSION innodb_lock_wait_timeout = 1;
UPDATE t SET v = 12 WHERE id = 1;
ERROR HY000: Lock wait timeout exceeded; try restarting transaction
connection con1;
COMMIT;
connection default;
SELECT * FROM t;
id\tv
1\t11
DROP TABLE t;
"""


@pytest.fixture
def mysql_url():
    """A fresh database on the MariaDB test server, dropped afterwards: its URL."""
    url = server_url("mysql")
    name = new_database()
    asyncio.run(admin_query(url, f"CREATE DATABASE {name}"))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_query(url, f"DROP DATABASE IF EXISTS {name}"))


def files(tmp_path: Path, text: str = TEST, result: str = RESULT) -> tuple[str, str]:
    test = tmp_path / "wait.test"
    test.write_text(textwrap.dedent(text).lstrip("\n"))
    expected = tmp_path / "wait.result"
    expected.write_text(result)
    return str(test), str(expected)


def run_cli(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:
        return int(exit.code or 0)


def test_mysqltest_cli_prints_the_result_text_and_matches_expected(tmp_path, mysql_url, capsys):
    test, expected = files(tmp_path)
    code = run_cli(["run", test, "--url", mysql_url, "--format", "mysqltest", "--expected", expected])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == RESULT


def test_mysqltest_cli_difference_from_expected_exits_1_with_a_diff(tmp_path, mysql_url, capsys):
    test, expected = files(tmp_path, result=RESULT.replace("1\t11", "1\t99"))
    code = run_cli(["run", test, "--url", mysql_url, "--format", "mysqltest", "--expected", expected])
    _, err = capsys.readouterr()
    assert code == 1
    assert "-1\t99" in err and "+1\t11" in err


def test_mysqltest_cli_json_reports_steps_and_summary(tmp_path, mysql_url, capsys):
    test, _ = files(tmp_path)
    code = run_cli(["run", test, "--url", mysql_url, "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "con1" in out and "summary" in out


def test_mysqltest_cli_refuses_an_unsupported_command_before_running(tmp_path, mysql_url, capsys):
    test, _ = files(tmp_path, text="CREATE TABLE never (a INT);\n--exec ls\n")
    code = run_cli(["run", test, "--url", mysql_url, "--format", "mysqltest"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert f"{test}:2: unsupported mysqltest command 'exec'" in err
    asyncio.run(admin_query(mysql_url, f"CREATE TABLE {make_url(mysql_url).database}.never (a INT)"))  # it was not created


def test_mysqltest_cli_refuses_a_url_that_is_not_mariadb(tmp_path, capsys):
    test, _ = files(tmp_path)
    code = run_cli(["run", test, "--url", "postgresql://x@127.0.0.1:1/x", "--format", "mysqltest"])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"{test}:1: a mysqltest file runs on MySQL or MariaDB, not on postgresql" in err

