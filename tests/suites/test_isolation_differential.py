"""Our own isolation specs through the real isolationtester and through txplay: the same output.

Each spec runs on two fresh databases, one per tool, and the outputs must agree line by line
(trailing white space aside). The specs cover what the brief of issue 15 lists: deadlocks,
NOWAIT, SKIP LOCKED, serialization failures, foreign-key locks, INSERT ON CONFLICT, savepoints,
advisory locks, notices and notifications, every blocker marker, all interleavings, and the
spec language's corners (several setups, quoted names, comments, result tables).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suites.pgtools import (
    fresh_database,
    isolationtester_run,
    output_diff,
    own_specs,
    require_isolationtester,
    require_server,
    run_isolationtester,
    txplay_run,
)

SPECS = own_specs()


def _ids(spec: Path) -> str:
    return spec.stem


def test_the_own_specs_are_there() -> None:
    """The folder of specs is not empty (a parametrized test over nothing would pass silently)."""
    assert len(SPECS) >= 12, [spec.name for spec in SPECS]


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_txplay_prints_what_isolationtester_prints(spec: Path) -> None:
    """`txplay run SPEC --format isolation` prints what isolationtester prints for the spec."""
    tool = require_isolationtester()
    server = require_server()
    with fresh_database(server) as db:
        reference = run_isolationtester(tool, spec, db)
    with fresh_database(server) as db:
        run = txplay_run(spec, db)
    assert run.exit == 0, f"txplay failed on {spec.name} ({run.exit}):\n{run.stderr}\n{run.stdout[-2000:]}"
    diff = output_diff(reference, run.stdout)
    assert not diff, f"txplay's output for {spec.name} differs from isolationtester's:\n{diff}"


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_isolationtester_prints_the_same_every_time(spec: Path) -> None:
    """Each spec is deterministic: two runs of the real tool print the same thing, so a
    difference in the test above is txplay's, never the spec's."""
    tool = require_isolationtester()
    server = require_server()
    outputs = []
    for _ in range(2):
        with fresh_database(server) as db:
            outputs.append(run_isolationtester(tool, spec, db))
    diff = output_diff(outputs[0], outputs[1], "first run", "second run")
    assert not diff, f"isolationtester's output for {spec.name} changes from run to run:\n{diff}"


def test_the_comparison_sees_a_changed_line(tmp_path: Path) -> None:
    """The harness itself: the comparison ignores trailing white space and nothing else, and
    the real tool's failure on a broken spec is reported, not compared."""
    assert output_diff("a|b  \nc\n", "a|b\nc") == ""
    diff = output_diff("step s1: SELECT 1;\n", "step s1: SELECT 2;\n")
    assert "-step s1: SELECT 1;" in diff and "+step s1: SELECT 2;" in diff
    assert output_diff("x\n\n", "x\n") != "", "a missing blank line is a difference"

    tool = require_isolationtester()
    broken = tmp_path / "broken.spec"
    broken.write_text("session s1\nstep a { SELECT 1; }\npermutation a nosuchstep\n")
    with fresh_database(require_server()) as db:
        run = isolationtester_run(tool, broken, db)
    assert run.exit == 1 and 'undefined step "nosuchstep"' in run.stderr
