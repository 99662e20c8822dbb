"""txplay's own mysqltest files, run through the real `mysqltest` and through txplay on MariaDB:
the two `.result` texts must be the same, byte for byte up to trailing white space."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.suites.compare import compare
from tests.suites.mysqltest_support import HERE, differential

FILES = sorted(HERE.glob("*.test"))


def test_mysqltest_own_files_cover_the_briefed_scenarios():
    names = {path.stem for path in FILES}
    assert {"deadlock", "nowait_skip_locked", "gap_locks", "savepoints", "fk_locking", "error_lists",
            "send_reap", "variables", "output_switches"} <= names


@pytest.mark.parametrize("test", FILES, ids=[f"mysqltest-{path.stem}" for path in FILES])
async def test_mysqltest_own_file_prints_what_mysqltest_records(test: Path):
    result, expected = await differential(test)
    same, diff = compare(result.output, expected)
    assert result.exit_code == 0, result.error
    assert same, diff
