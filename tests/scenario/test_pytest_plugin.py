"""The pytest plugin as a user meets it: pytest, in a subprocess, on a project of its own with `.txp`
tests; and `txplay export`'s module run by pytest. txplay's own suite collects none of its scenarios."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from playground.pytest_plugin import DEFAULT_PATTERNS, collects
from tests.conftest import server_url

REPO = Path(__file__).resolve().parents[2]

PASSING = """\
title: a rollback undoes the insert
sessions: A B
setup:
    create table t (id int primary key, v int);

A: insert into t (id, v) values (1, 10)
A: rollback
B: select count(*) from t
=> rows [(0,)]
"""

FAILING = """\
title: the insert was never committed
sessions: A B
markers: slow
setup:
    create table t (id int primary key, v int);

A: insert into t (id, v) values (1, 10)
A: rollback
B: select v from t
=> rows [(10,)]
"""

ON_POSTGRESQL = """\
title: PostgreSQL's own view of the isolation level
backends: postgresql
sessions: A
A: show transaction_isolation
=> rows [('read committed',)]
"""


def project(tmp_path: Path, files: dict[str, str], ini: str = "") -> Path:
    """A user's project: its files, and a pytest.ini of its own (so txplay's settings stay out)."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers = slow: a slow scenario\n" + ini, encoding="utf-8")
    return tmp_path


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The timeout only turns a hang into a failure; nothing waits on it.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", *args], cwd=folder,
                          capture_output=True, text=True, timeout=300, encoding="utf-8")


def outcome(proc: subprocess.CompletedProcess[str]) -> str:
    """pytest's last line without the time: `1 failed, 1 passed`."""
    last = proc.stdout.strip().splitlines()[-1]
    return re.sub(r" in [\d.]+s.*$", "", last.strip("= "))


@pytest.fixture
def two_tests(tmp_path) -> Path:
    return project(tmp_path, {"tests/test_rollback.txp": PASSING, "tests/test_forgotten_commit.txp": FAILING,
                              "tests/notes.txp": FAILING})


def test_one_passes_one_fails_with_the_step_the_expectation_and_the_transcript(two_tests):
    proc = pytest_in(two_tests)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert outcome(proc) == "1 failed, 1 passed"  # notes.txp does not match test_*.txp
    out = proc.stdout
    assert "scenario: the insert was never committed" in out  # the failure's heading
    assert "step 3 (B, line 9): select v from t" in out
    assert "expected: rows [(10,)]\n  happened: got []" in out
    assert "transcript around it:" in out and "2 A> rollback   [ok]" in out
    assert "FAILED tests/test_forgotten_commit.txp::test_forgotten_commit" in out
    # --lf runs again only the one that failed.
    again = pytest_in(two_tests, "--lf")
    assert outcome(again) == "1 failed"
    assert "run-last-failure: rerun previous 1 failure" in again.stdout


def test_k_m_and_x_select_scenarios_as_any_test(two_tests):
    assert outcome(pytest_in(two_tests, "-k", "rollback")) == "1 passed, 1 deselected"
    assert outcome(pytest_in(two_tests, "-m", "slow")) == "1 failed, 1 deselected"  # the `markers:` header
    assert outcome(pytest_in(two_tests, "-m", "not txp")) == "2 deselected"
    assert outcome(pytest_in(two_tests, "-x", "tests/test_forgotten_commit.txp", "tests/test_rollback.txp")).startswith("1 failed")


def test_txp_files_chooses_the_names_and_a_named_file_is_always_collected(tmp_path):
    folder = project(tmp_path, {"checks/rollback_check.txp": PASSING, "checks/test_other.txp": FAILING},
                     ini="txp_files = *_check.txp\n")
    proc = pytest_in(folder, "--collect-only", "-q")
    assert "checks/rollback_check.txp::rollback_check" in proc.stdout
    assert "test_other" not in proc.stdout
    named = pytest_in(folder, "--collect-only", "-q", "checks/test_other.txp")
    assert "checks/test_other.txp::test_other" in named.stdout


def test_a_malformed_scenario_is_a_collection_error_with_its_line(tmp_path):
    folder = project(tmp_path, {"test_bad.txp": "title: t\ncolour: red\nA: select 1\n"})
    proc = pytest_in(folder)
    assert proc.returncode == 2
    assert "test_bad.txp:2: unknown header 'colour'" in proc.stdout


def test_txp_url_ini_option_and_its_command_line_override(tmp_path):
    url = server_url("postgresql")
    folder = project(tmp_path, {"test_pg.txp": ON_POSTGRESQL}, ini=f"txp_url = {url}\n")
    assert outcome(pytest_in(folder)) == "1 passed"
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert outcome(pytest_in(folder, "--txp-url", sqlite, "-rs")).startswith("1 skipped")


def test_an_exported_module_runs_by_itself(tmp_path):
    from playground.cli import main

    folder = project(tmp_path, {"scenarios/rollback.txp": PASSING, "scenarios/forgotten.txp": FAILING})
    assert main(["export", str(folder / "scenarios/rollback.txp"), "-o", str(folder / "tests/test_rollback.py")]) == 0
    assert main(["export", str(folder / "scenarios/forgotten.txp"), "-o", str(folder / "tests/test_forgotten.py")]) == 0
    for scenario in (folder / "scenarios").iterdir():
        scenario.unlink()  # the modules hold the scenarios
    proc = pytest_in(folder, "tests")
    assert outcome(proc) == "1 failed, 1 passed"
    assert re.search(r"expected: rows \[\(10,\)\]\n\S*\s+happened: got \[\]\n", proc.stdout)
    assert "forgotten.txp on sqlite: 1 expectation FAILED" in proc.stdout


def test_an_exported_module_holds_the_scenario_text_exactly(tmp_path, capsys):
    from playground.cli import main

    text = PASSING + 'A: "back\\\\slash \'\'\' quotes"\n=> value "back\\\\slash \'\'\' quotes"\n'
    path = tmp_path / "tricky.txp"
    path.write_text(text, encoding="utf-8")
    module = tmp_path / "elsewhere" / "test_tricky.py"
    assert main(["export", str(path), "-o", str(module)]) == 0
    namespace: dict = {"__file__": str(module)}
    exec(module.read_text(encoding="utf-8"), namespace)
    assert namespace["SCENARIO"] == text
    assert namespace["SOURCE"].resolve() == path.resolve()  # where a relative `models:` file is found
    # Printed, the module finds the scenario's folder from the current one.
    assert main(["export", str(path)]) == 0
    assert f"SOURCE = Path(__file__).parent / {os.path.relpath(path)!r}" in capsys.readouterr().out


# -- what it costs txplay's own suite ---------------------------------------------------------------


def test_txplays_own_scenarios_are_not_collected():
    scenarios = sorted(REPO.glob("**/*.txp"))
    assert scenarios, "the library's scenarios are .txp files"
    assert [p for p in scenarios if collects(p, DEFAULT_PATTERNS)] == []
    assert "txp_files" not in (REPO / "pyproject.toml").read_text(encoding="utf-8")


CHECK_LAZY = """
import sys, pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:randomly", sys.argv[1]])
heavy = sorted(m for m in sys.modules if m.split(".")[0] == "sqlalchemy" or m.startswith("playground."))
print("LOADED", heavy)
"""


def test_the_plugin_loads_nothing_of_txplay_in_a_project_without_scenarios(tmp_path):
    folder = project(tmp_path, {"test_plain.py": "def test_nothing():\n    pass\n"})
    proc = subprocess.run([sys.executable, "-c", CHECK_LAZY, str(folder)], cwd=folder, capture_output=True,
                          text=True, timeout=300, encoding="utf-8")
    assert "test_plain.py::test_nothing" in proc.stdout  # the plugin was there, and unused
    assert "LOADED ['playground.pytest_plugin']" in proc.stdout


def test_export_of_a_missing_file_says_so(tmp_path, capsys):
    from playground.cli import main

    assert main(["export", str(tmp_path / "nowhere.txp")]) == 2
    assert "does not exist" in capsys.readouterr().err
