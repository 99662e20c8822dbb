"""PostgreSQL 15's own isolation specs through txplay, checked against their expected outputs.

The specs and expected files are read where `scripts/upstream_suites.sh` unpacked them
($TXPLAY_PG_ISOLATION_DIR); the tests skip, saying so, where they are absent. Each spec listed
here passes the real isolationtester against a fresh database on this machine's server, needs
no prepared transactions, extension or alternative expected file, and does not depend on what
other databases do meanwhile (no VACUUM, no concurrent index builds, no statistics).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suites.pgtools import (
    fresh_database,
    output_diff,
    require_isolationtester,
    require_server,
    require_upstream_dir,
    run_isolationtester,
    txplay_run,
)

UPSTREAM_SPECS = [
    # deadlocks
    "deadlock-simple", "deadlock-hard", "deadlock-soft", "deadlock-soft-2",
    # NOWAIT and SKIP LOCKED
    "nowait", "nowait-2", "nowait-3", "nowait-5", "skip-locked", "skip-locked-2", "skip-locked-3",
    # serializable snapshot isolation
    "simple-write-skew", "read-write-unique", "read-write-unique-2", "read-write-unique-3", "read-write-unique-4",
    "read-only-anomaly", "read-only-anomaly-2", "read-only-anomaly-3", "classroom-scheduling", "project-manager",
    "receipt-report", "total-cash", "temporal-range-integrity", "referential-integrity", "ri-trigger", "two-ids",
    # foreign keys
    "fk-contention", "fk-partitioned-1", "fk-partitioned-2",
    # INSERT ON CONFLICT
    "insert-conflict-do-nothing", "insert-conflict-do-nothing-2", "insert-conflict-do-update",
    "insert-conflict-do-update-2", "insert-conflict-do-update-3",
    # row locks and updates of locked rows
    "tuplelock-conflict", "tuplelock-update", "lock-committed-update", "lock-update-traversal",
    "update-locked-tuple", "propagate-lock-delete", "aborted-keyrevoke", "multiple-row-versions",
    # savepoints, re-checked updates, MERGE
    "delete-abort-savept", "delete-abort-savept-2", "eval-plan-qual", "merge-update", "merge-delete",
    # notifications, timeouts, DDL
    "async-notify", "timeouts", "truncate-conflict", "alter-table-1",
]


def test_the_list_is_long_enough_and_has_no_repeats() -> None:
    """At least 30 of PostgreSQL's own specs, each once."""
    assert len(UPSTREAM_SPECS) >= 30
    assert len(set(UPSTREAM_SPECS)) == len(UPSTREAM_SPECS)


def _files(name: str) -> tuple[Path, Path]:
    folder = require_upstream_dir()
    spec, expected = folder / "specs" / f"{name}.spec", folder / "expected" / f"{name}.out"
    assert spec.is_file() and expected.is_file(), f"PostgreSQL's suite in {folder} has no {name}.spec/.out"
    return spec, expected


@pytest.mark.parametrize("name", UPSTREAM_SPECS)
def test_txplay_passes_postgresqls_own_spec(name: str) -> None:
    """`txplay run NAME.spec --format isolation --expected NAME.out` exits 0: txplay printed
    what PostgreSQL's expected file holds."""
    spec, expected = _files(name)
    with fresh_database(require_server()) as db:
        run = txplay_run(spec, db, expected=expected)
    assert run.exit == 0, f"txplay on {name}.spec exited {run.exit}:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"


def test_a_wrong_expected_file_fails_with_a_diff(tmp_path: Path) -> None:
    """An expected file that differs from the run by one line: exit 1 and a unified diff that
    names the line as expected and as printed."""
    spec, expected = _files("nowait")
    wrong = tmp_path / "nowait.out"
    text = expected.read_text()
    assert "could not obtain lock on row" in text
    wrong.write_text(text.replace('could not obtain lock on row in relation "foo"', "this line is wrong", 1))
    with fresh_database(require_server()) as db:
        run = txplay_run(spec, db, expected=wrong)
    assert run.exit == 1, f"exited {run.exit}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    shown = run.stdout + run.stderr
    assert "-ERROR:  this line is wrong" in shown, shown[-3000:]
    assert '+ERROR:  could not obtain lock on row in relation "foo"' in shown, shown[-3000:]
    assert "@@" in shown, "a unified diff has hunk headers"


def test_the_real_tool_agrees_with_the_expected_files_here() -> None:
    """A sample of the list through the real isolationtester on this server: the expected files
    fit this machine's PostgreSQL, so a failure above is txplay's."""
    tool = require_isolationtester()
    for name in ("deadlock-hard", "insert-conflict-do-update", "async-notify", "timeouts"):
        spec, expected = _files(name)
        with fresh_database(require_server()) as db:
            printed = run_isolationtester(tool, spec, db)
        diff = output_diff(expected.read_text(), printed, f"{name}.out", "isolationtester")
        assert not diff, f"the real isolationtester does not pass {name} here:\n{diff}"
