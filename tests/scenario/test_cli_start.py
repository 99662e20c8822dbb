"""`txplay` start-up failures as a user meets them: exit code, message on stderr, no screen drawn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from playground.cli import database_problem
from tests.conftest import missing_driver, server_url

REPO = Path(__file__).resolve().parents[2]
ALTERNATE_SCREEN = "\x1b[?1049h"


def txplay(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # stdin closed, as from a script; the timeout only turns a hang into a failure.
    return subprocess.run([sys.executable, "-m", "playground", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd, timeout=120, env={**os.environ, **(env or {})})


def assert_refused_before_any_screen(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, f"exit {proc.returncode}; stderr: {proc.stderr!r}"
    assert proc.stderr.startswith("txplay: "), proc.stderr
    assert "Traceback" not in proc.stderr
    # Textual writes to stderr; neither stream may carry the switch to the alternate screen.
    assert ALTERNATE_SCREEN not in proc.stdout and ALTERNATE_SCREEN not in proc.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- --url: the database is tried before the screen opens -----------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_unreachable_server_exits_2_with_the_masked_url_on_stderr(scheme):
    port = closed_port()
    proc = txplay("--url", f"{scheme}://learner:s3cret-pw@127.0.0.1:{port}/shop")
    assert_refused_before_any_screen(proc)
    assert f"cannot open {scheme}+" in proc.stderr
    assert f"learner:***@127.0.0.1:{port}/shop" in proc.stderr
    assert "s3cret-pw" not in proc.stderr
    assert proc.stdout == ""


def test_missing_postgresql_database_exits_2():
    url = make_url(server_url("postgresql")).set(database="txplay_no_such_database", password="s3cret-pw")
    proc = txplay("--url", url.render_as_string(hide_password=False))
    assert_refused_before_any_screen(proc)
    assert 'database "txplay_no_such_database" does not exist' in proc.stderr
    assert "s3cret-pw" not in proc.stderr


def test_missing_mariadb_database_exits_2():
    url = make_url(server_url("mysql")).set(database="txplay_no_such_database")
    proc = txplay("--url", url.render_as_string(hide_password=False))
    assert_refused_before_any_screen(proc)
    assert "Unknown database 'txplay_no_such_database'" in proc.stderr


def test_sqlite_file_in_a_missing_folder_exits_2(tmp_path):
    proc = txplay("--url", f"sqlite:///{tmp_path}/no/such/folder/demo.db")
    assert_refused_before_any_screen(proc)
    assert "unable to open database file" in proc.stderr


def test_a_server_that_never_answers_is_given_up_on():
    """A host that accepts the connection and says nothing must not hold the start for a minute."""
    if reason := missing_driver("postgresql"):  # asyncpg itself opens the connection
        pytest.skip(reason)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        problem = database_problem(f"postgresql://learner:pw@127.0.0.1:{port}/shop", timeout=0.5)
    assert problem is not None
    assert problem.startswith(f"cannot open postgresql+asyncpg://learner:***@127.0.0.1:{port}/shop: no answer within 0.5 s")


def test_a_reachable_database_has_no_problem(tmp_path):
    assert database_problem(f"sqlite:///{tmp_path}/demo.db") is None


def test_a_scenario_on_a_sqlite_file_neither_tries_nor_creates_the_file(tmp_path):
    """The scenario runs on a temporary file, so the start-up check leaves the user's path alone."""
    mine = tmp_path / "mine.db"
    proc = txplay("--url", f"sqlite:///{mine}", "--scenario", "flush_is_not_commit",
                  env={"TXPLAY_HEADLESS": "1", "TXPLAY_EXIT_WHEN_READY": "1", "TXPLAY_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 0, f"exit {proc.returncode}; stderr: {proc.stderr!r}"
    assert not mine.exists()


# -- a failure inside the app still ends the process with a non-zero code --------------------


def test_a_workspace_that_cannot_be_opened_inside_the_app_exits_2(tmp_path):
    scenario = tmp_path / "bad_setup.txp"
    scenario.write_text(textwrap.dedent("""\
        sessions: A
        setup:
            create tabel broken (id int);
        A: select 1
    """), encoding="utf-8")
    proc = txplay("--scenario", str(scenario), env={"TXPLAY_HEADLESS": "1", "TXPLAY_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 2, f"exit {proc.returncode}; stderr: {proc.stderr!r}"
    assert proc.stderr.startswith(f"txplay: cannot open the temporary SQLite database for {scenario}: OperationalError")
    assert 'near "tabel": syntax error' in proc.stderr


# -- scenario names and paths -----------------------------------------------------------------


@pytest.mark.parametrize("how", [("run",), ("--scenario",)], ids=["run", "--scenario"])
def test_an_unknown_scenario_name_says_there_is_no_such_built_in(how):
    proc = txplay(*how, "no_such_scenario")
    assert_refused_before_any_screen(proc)
    assert "no built-in scenario named 'no_such_scenario'" in proc.stderr
    assert "txplay run --list" in proc.stderr
    assert "cannot read" not in proc.stderr and ":0:" not in proc.stderr


@pytest.mark.parametrize("how", [("run",), ("--scenario",)], ids=["run", "--scenario"])
def test_a_mistyped_scenario_name_lists_the_close_ones(how):
    proc = txplay(*how, "lost_updat")
    assert_refused_before_any_screen(proc)
    assert "did you mean lost_update" in proc.stderr  # first of the close names (lost_update_fixes too)


@pytest.mark.parametrize("path", ["missing.txp", "cases/missing", "lost_update.txp"])
def test_a_missing_file_says_the_file_does_not_exist(tmp_path, path):
    proc = txplay("run", path, cwd=tmp_path)
    assert_refused_before_any_screen(proc)
    assert f"the file {path} does not exist" in proc.stderr
    assert "built-in scenario named" not in proc.stderr
    if path == "lost_update.txp":
        assert "the built-in scenario of that name is `lost_update`" in proc.stderr


def test_a_file_without_the_txp_ending_still_runs(tmp_path):
    (tmp_path / "case").write_text("sessions: A\nA: select 1\n=> rows [(1,)]\n", encoding="utf-8")
    proc = txplay("run", "case", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_password_the_driver_repeats_is_masked_too(monkeypatch):
    from playground.engine.backends import PostgresBackend

    def refuse(backend, timeout):
        raise ConnectionError("server said: bad password 'hunter2-x' for learner (pw)")

    monkeypatch.setattr(PostgresBackend, "check_reachable", refuse)
    problem = database_problem("postgresql://learner:hunter2-x@db.example/shop")
    assert problem == ("cannot open postgresql+asyncpg://learner:***@db.example/shop: "
                       "ConnectionError: server said: bad password '***' for learner (pw)")


def test_a_folder_is_not_a_scenario(tmp_path):
    (tmp_path / "cases").mkdir()
    proc = txplay("run", "cases", cwd=tmp_path)
    assert_refused_before_any_screen(proc)
    assert proc.stderr.strip() == "txplay: cases is a folder, not a scenario file"
