"""The `txplay` command as a user runs it: --version, --help, `txplay run` and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import playground
from playground.scenario import library

REPO = Path(__file__).resolve().parents[2]
LIBRARY = Path(playground.__file__).parent / "scenario" / "library"


def txplay(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # The timeout only turns a hang into a failure; nothing waits on it.
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def json_lines(stdout: str) -> list[dict]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "no output"
    return [json.loads(line) for line in lines]


# -- --version, --help ----------------------------------------------------------------------


def test_version():
    proc = txplay("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"txplay {playground.__version__}"
    assert proc.stderr == ""


def test_help():
    proc = txplay("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: txplay")
    for option in ("--url", "--sessions", "--scenario", "--version", "run"):
        assert option in proc.stdout
    assert proc.stderr == ""


def test_run_help():
    proc = txplay("run", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: txplay run")
    for option in ("--format", "--list", "--sql-only"):
        assert option in proc.stdout


def test_unknown_option_exits_2():
    proc = txplay("run", "--colour")
    assert proc.returncode == 2
    assert "--colour" in proc.stderr


def test_run_without_a_scenario_exits_2_with_a_message():
    proc = txplay("run")
    assert proc.returncode == 2
    assert "--list" in proc.stderr


# -- the built-in library -------------------------------------------------------------------


def test_run_list_names_every_file_in_the_library():
    proc = txplay("run", "--list")
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    files = sorted(p.stem for p in LIBRARY.glob("*.txp"))
    assert files, "the library is empty"
    assert listed == files
    assert sorted(library.names()) == files
    for name in files:
        line = next(line for line in proc.stdout.splitlines() if line.split()[0] == name)
        assert library.load(name).title in line


@pytest.mark.parametrize("name", library.names())
def test_each_built_in_scenario_passes(name):
    proc = txplay("run", name)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    if name.startswith("matrix_"):
        # The isolation matrix's tests carry no expectations: what they show differs by database and
        # level, and the matrix's own rule decides it (tests/matrix checks each against its run).
        assert proc.stdout.rstrip().endswith("none with an expectation; nothing checked")
    elif library.load(name).runs_on("sqlite"):
        assert proc.stdout.rstrip().endswith(" held") and "FAILED" not in proc.stdout
    else:  # a server-only scenario is skipped on the default SQLite file, exit 0
        assert "skipped: this scenario runs on" in proc.stdout


@pytest.mark.parametrize("name", library.names())
def test_each_built_in_scenario_passes_in_json(name):
    proc = txplay("run", name, "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = json_lines(proc.stdout)
    assert events[0]["event"] == "scenario"
    assert events[-1]["event"] == "summary"
    assert events[-1]["failed"] == 0 and events[-1]["exit"] == 0
    assert events[-1]["skipped"] is (not library.load(name).runs_on("sqlite"))
    assert all(check["passed"] for e in events for check in e.get("expect", []))


# -- --format -------------------------------------------------------------------------------

PASSING = """
    title: Passing
    sessions: A B
    A: insert into items (id, name, stock) values (10, 'mug', 3)
    => ok
    B: select count(*) from items where id = 10
    => rows [(0,)]
"""


def test_format_json_prints_one_object_per_line_ending_with_a_summary(tmp_path):
    path = write(tmp_path, "passing.txp", PASSING)
    proc = txplay("run", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert all(isinstance(e, dict) and "event" in e for e in events)
    assert events[0]["event"] == "scenario" and events[0]["title"] == "Passing"
    assert events[0]["backend"] == "sqlite" and events[0]["sessions"] == ["A", "B"]
    assert [e["index"] for e in events if e["event"] == "step"] == [1, 2]
    assert events[-1] == {"event": "summary", "steps": 2, "passed": 2, "failed": 0, "skipped": False, "exit": 0}
    assert proc.stderr == ""


def test_format_text_and_markdown(tmp_path):
    path = write(tmp_path, "passing.txp", PASSING)
    text = txplay("run", str(path))
    assert text.returncode == 0
    assert text.stdout.startswith("Passing")
    assert "2 steps; all 2 expectations held" in text.stdout
    markdown = txplay("run", str(path), "--format", "markdown")
    assert markdown.returncode == 0
    assert markdown.stdout.startswith("# Passing")
    assert "```" in markdown.stdout
    assert markdown.stdout.rstrip().endswith("**2 steps; all 2 expectations held**")


def test_unknown_format_exits_2(tmp_path):
    path = write(tmp_path, "passing.txp", PASSING)
    proc = txplay("run", str(path), "--format", "yaml")
    assert proc.returncode == 2
    assert "yaml" in proc.stderr


# -- exit codes -----------------------------------------------------------------------------


def test_invalid_file_exits_2_with_file_and_line(tmp_path):
    path = write(tmp_path, "invalid.txp", """
        title: Invalid
        sessions: A B
        A: select 1
        => rows [(1,
    """)
    proc = txplay("run", str(path))
    assert proc.returncode == 2
    assert f"{path}:4:" in proc.stderr
    assert "rows" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_invalid_utf8_file_exits_2_with_file_and_line(tmp_path):
    path = tmp_path / "latin1.txp"
    path.write_bytes("title: t\nA: select 'caf\xe9'\n".encode("latin-1"))
    proc = txplay("run", str(path))
    assert proc.returncode == 2
    assert f"{path}:2:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path):
    path = tmp_path / "does-not-exist.txp"
    proc = txplay("run", str(path))
    assert proc.returncode == 2
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_scenario_name_exits_2():
    proc = txplay("run", "no_such_built_in_scenario")
    assert proc.returncode == 2
    assert "no_such_built_in_scenario" in proc.stderr


def test_failing_expectation_exits_1(tmp_path):
    path = write(tmp_path, "failing.txp", """
        sessions: A
        A: select stock from items where id = 1
        => rows [(11,)]
    """)
    proc = txplay("run", str(path), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    events = json_lines(proc.stdout)
    assert events[-1]["event"] == "summary" and events[-1]["failed"] == 1 and events[-1]["exit"] == 1
    (step,) = [e for e in events if e["event"] == "step"]
    assert step["expect"][0]["passed"] is False


def test_failing_expectation_in_text_format_says_so(tmp_path):
    path = write(tmp_path, "failing.txp", """
        sessions: A
        A: select stock from items where id = 1
        => rows [(11,)]
    """)
    proc = txplay("run", str(path))
    assert proc.returncode == 1
    assert "1 step; 1 expectation FAILED, 0 held" in proc.stdout
    assert "✗ expected rows [(11,)]: FAILED (got [(10,)])" in proc.stdout


def test_scenario_for_another_backend_is_skipped_with_exit_0(tmp_path):
    path = write(tmp_path, "pg.txp", """
        backends: postgresql
        A: select pg_backend_pid()
        => rows [(0,)]
    """)
    proc = txplay("run", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    assert [e["event"] for e in events] == ["scenario", "skipped", "summary"]
    assert events[-1]["skipped"] is True


def test_waits_then_ok_in_the_json_transcript(tmp_path):
    path = write(tmp_path, "wait.txp", """
        sessions: A B
        lock-timeout: 30
        A: update items set stock = 9 where id = 1
        B: update items set stock = 8 where id = 2
        => waits, then ok
        A: commit
    """)
    proc = txplay("run", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stdout
    events = json_lines(proc.stdout)
    step = next(e for e in events if e["event"] == "step" and e["index"] == 2)
    assert step["status"] == "waiting" and step["waiting_for"] == ["A"]
    (completed,) = [e for e in events if e["event"] == "completed"]
    assert completed["index"] == 2 and completed["after"] == 3 and completed["status"] == "ok"


def test_python_exit_in_a_scenario_is_a_failed_step_not_a_passing_run(tmp_path):
    """`exit()` in a step must not end `txplay run` with exit 0 as if every expectation held."""
    path = write(tmp_path, "exit.txp", """
        sessions: A
        A: exit()
        => ok
        A: select 1
        => rows [(1,)]
    """)
    proc = txplay("run", str(path), "--format", "json")
    assert proc.returncode == 1, f"exit {proc.returncode}; stderr: {proc.stderr.strip().splitlines()[-1:]}"
    events = json_lines(proc.stdout)
    assert events[-1]["event"] == "summary" and events[-1]["failed"] == 1 and events[-1]["passed"] == 1


def test_capitalised_waits_then_is_not_a_crash(tmp_path):
    path = write(tmp_path, "caps.txp", """
        sessions: A
        A: select 1
        => Waits, Then ok
    """)
    proc = txplay("run", str(path))
    assert "Traceback" not in proc.stderr, proc.stderr.strip().splitlines()[-1:]
    # Either accepted as `waits, then ok` (which fails: the step did not wait) or refused with file:line.
    assert proc.returncode in (1, 2)
    if proc.returncode == 2:
        assert f"{path}:3:" in proc.stderr


# -- --sql-only -----------------------------------------------------------------------------


def test_sql_only_refuses_a_scenario_with_a_python_step(tmp_path):
    path = write(tmp_path, "python.txp", """
        sessions: A
        A: select 1
        => ok
        A: session.get(User, 1).name
        => value 'ann'
    """)
    proc = txplay("run", str(path), "--sql-only")
    assert proc.returncode == 2
    assert f"{path}:4:" in proc.stderr
    assert "Python" in proc.stderr or "python" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing ran: the refusal comes before the first step.
    assert "select 1" not in proc.stdout
    # Without --sql-only the same file runs and passes.
    assert txplay("run", str(path)).returncode == 0


def test_sql_only_refuses_a_python_block(tmp_path):
    path = write(tmp_path, "block.txp", """
        sessions: A
        A: select 1
        A: |
            for i in range(2):
                session.execute(text('select 1'))
    """)
    proc = txplay("run", str(path), "--sql-only")
    assert proc.returncode == 2
    assert f"{path}:3:" in proc.stderr


def test_sql_only_accepts_a_sql_only_scenario(tmp_path):
    path = write(tmp_path, "sql.txp", """
        sessions: A B
        setup:
            create table test (id int primary key, value int);
            insert into test (id, value) values (1, 10);
        A: begin
        A: update test set value = 11 where id = 1
        => ok
        A: savepoint sp1
        A: update test set value = 12 where id = 1
        A: rollback to savepoint sp1
        A: \\release sp1
        A: commit
        => ok
        B: select value from test
        => rows [(11,)]
    """)
    proc = txplay("run", str(path), "--sql-only", "--format", "json")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    events = json_lines(proc.stdout)
    assert events[-1]["event"] == "summary" and events[-1]["passed"] == 3 and events[-1]["failed"] == 0


def test_exit_when_ready_notes_when_the_panes_were_drawn(tmp_path):
    """The start-up benchmark's switches: the app leaves once its first step can run, and writes when
    its panes were drawn and when that was."""
    import os
    import time

    ready = tmp_path / "ready"
    env = {**os.environ, "TXPLAY_HEADLESS": "1", "TXPLAY_EXIT_WHEN_READY": "1", "TXPLAY_READY_FILE": str(ready),
           "TXPLAY_DATA_DIR": str(tmp_path / "data")}
    start = time.time()
    done = subprocess.run([sys.executable, "-m", "playground"], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    moments = [line.split() for line in ready.read_text().splitlines()]
    assert [moment for moment, _ in moments] == ["drawn", "runnable"]
    drawn, runnable = (float(at) for _, at in moments)
    assert start < drawn <= runnable < time.time()


def test_record_says_when_nothing_was_recorded(tmp_path):
    """`txplay --record FILE` reaches the app: quitting before any step writes no (stepless) scenario, and says so."""
    import os

    env = {**os.environ, "TXPLAY_HEADLESS": "1", "TXPLAY_EXIT_WHEN_READY": "1", "TXPLAY_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "session.txp"
    done = subprocess.run([sys.executable, "-m", "playground", "--record", str(out)], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert f"nothing recorded (no step was run), so {out} was not written" in done.stderr and not out.exists()
