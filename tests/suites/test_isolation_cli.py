"""`txplay run FILE.spec`: formats, --expected, and bad input refused before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.cli import main

DEADLOCK = """
setup { CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric); INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20); }
teardown { DROP TABLE acct; }

session s1
setup { BEGIN; SET deadlock_timeout = '10s'; }
step s1a { UPDATE acct SET balance = balance - 1 WHERE id = 1; }
step s1b { UPDATE acct SET balance = balance + 1 WHERE id = 2; }
step s1c { COMMIT; }

session s2
setup { BEGIN; SET deadlock_timeout = '200ms'; }
step s2a { UPDATE acct SET balance = balance - 1 WHERE id = 2; }
step s2b { UPDATE acct SET balance = balance + 1 WHERE id = 1; }
step s2c { COMMIT; }
step s2r { SELECT id, owner, balance FROM acct ORDER BY id; }

permutation s1a s2a s1b s2b s1c s2c s2r
"""

EXPECTED = """Parsed test spec with 2 sessions

starting permutation: s1a s2a s1b s2b s1c s2c s2r
step s1a: UPDATE acct SET balance = balance - 1 WHERE id = 1;
step s2a: UPDATE acct SET balance = balance - 1 WHERE id = 2;
step s1b: UPDATE acct SET balance = balance + 1 WHERE id = 2; <waiting ...>
step s2b: UPDATE acct SET balance = balance + 1 WHERE id = 1; <waiting ...>
step s1b: <... completed>
step s2b: <... completed>
ERROR:  deadlock detected
step s1c: COMMIT;
step s2c: COMMIT;
step s2r: SELECT id, owner, balance FROM acct ORDER BY id;
id|owner|balance
--+-----+-------
 1|ann  |      9
 2|bob  |     21
(2 rows)

"""


@pytest.fixture
def deadlock_spec(tmp_path: Path) -> Path:
    path = tmp_path / "deadlock.spec"
    path.write_text(DEADLOCK)
    return path


def test_isolation_format_prints_what_isolationtester_prints(pg_database, deadlock_spec, capsys):
    assert main(["run", str(deadlock_spec), "--url", pg_database, "--format", "isolation"]) == 0
    assert capsys.readouterr().out == EXPECTED


def test_expected_file_sets_the_exit_code_and_shows_a_diff(pg_database, deadlock_spec, tmp_path, capsys):
    good = tmp_path / "good.out"
    good.write_text(EXPECTED.replace("\n", "   \n"))  # trailing whitespace does not count
    assert main(["run", str(deadlock_spec), "--url", pg_database, "--format", "isolation", "--expected", str(good)]) == 0
    bad = tmp_path / "bad.out"
    bad.write_text(EXPECTED.replace("ERROR:  deadlock detected", "ERROR:  something else"))
    capsys.readouterr()
    assert main(["run", str(deadlock_spec), "--url", pg_database, "--expected", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "-ERROR:  something else\n+ERROR:  deadlock detected\n" in captured.err
    assert f"output DIFFERS from {bad}" in captured.out


def test_json_events_say_who_waits_on_whom_and_what_each_step_printed(pg_database, deadlock_spec, capsys):
    assert main(["run", str(deadlock_spec), "--url", pg_database, "--format", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "suite", "kind": "isolation", "source": str(deadlock_spec), "sessions": ["s1", "s2"]}
    assert events[1]["event"] == "permutation"
    steps = {(e["event"], e["name"]): e for e in events if e["event"] in ("step", "completed")}
    assert steps["step", "s1b"]["status"] == "waiting"
    assert steps["step", "s1b"]["waiting_for"] == ["s2"]  # pg_blocking_pids, named
    assert steps["step", "s2b"]["status"] == "waiting"
    assert steps["step", "s2b"]["waiting_for"] == ["s1"]
    assert steps["completed", "s1b"]["status"] == "ok"
    assert steps["completed", "s2b"]["status"] == "error"
    assert steps["completed", "s2b"]["output"] == "ERROR:  deadlock detected\n"
    assert "2|bob  |     21" in steps["step", "s2r"]["output"]
    assert events[-1] == {"event": "summary", "permutations": 1, "steps": 7, "exit": 0}


def test_text_format_tells_the_steps_and_the_waits(pg_database, deadlock_spec, capsys):
    assert main(["run", str(deadlock_spec), "--url", pg_database]) == 0
    out = capsys.readouterr().out
    assert "  s1 s1b> UPDATE acct SET balance = balance + 1 WHERE id = 2;   [waiting on s2]" in out
    assert "    ↳ s2 s2b finished [error]\n      | ERROR:  deadlock detected\n" in out
    assert "    ↳ s1 s1b finished [ok]" in out


def _refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_a_syntax_error_is_refused_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "broken.spec"
    path.write_text("session s1\nstep a { SELECT 1; }\nstep b SELECT 2;\n")
    err = _refused(["run", str(path), "--url", "postgresql://nobody@127.0.0.1:1/x"], capsys)
    assert f"{path}:3: syntax error" in err


def test_an_unknown_step_in_a_permutation_is_refused_before_connecting(tmp_path, capsys):
    path = tmp_path / "unknown.spec"
    path.write_text("session s1\nstep a { SELECT 1; }\n\npermutation a nosuch\n")
    # Port 1: had it tried to connect, the message would be about the connection.
    err = _refused(["run", str(path), "--url", "postgresql://nobody@127.0.0.1:1/x"], capsys)
    assert err == f'txplay: {path}:4: undefined step "nosuch" specified in permutation\n'


def test_a_spec_run_against_mariadb_is_refused_before_anything_runs(deadlock_spec, capsys):
    err = _refused(["run", str(deadlock_spec), "--url", "mysql://root@127.0.0.1:1/test"], capsys)
    assert f"{deadlock_spec}:1: isolationtester specs run on PostgreSQL, not mysql" in err


def test_a_spec_needs_a_server_url(deadlock_spec, capsys):
    assert "give --url postgresql://" in _refused(["run", str(deadlock_spec)], capsys)


def test_formats_belong_to_their_files(deadlock_spec, tmp_path, capsys):
    err = _refused(["run", str(deadlock_spec), "--url", "postgresql://x@127.0.0.1:1/x", "--format", "mysqltest"], capsys)
    assert "--format mysqltest is for .test files" in err
    txp = tmp_path / "a.txp"
    txp.write_text("A: select 1\n")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(txp), "--format", "isolation"])
    assert exited.value.code == 2
    assert "--format isolation is for PostgreSQL .spec and mysqltest .test files" in capsys.readouterr().err


def test_a_missing_expected_file_is_refused(deadlock_spec, capsys):
    err = _refused(["run", str(deadlock_spec), "--url", "postgresql://x@127.0.0.1:1/x", "--expected", "nope.out"], capsys)
    assert "the expected file nope.out does not exist" in err
