"""MariaDB's own multi-connection mysqltest files (from the installed suite, never copied here):
txplay's run of each must print what the real `mysqltest` records for it on this machine's MariaDB.

The suite is found through TXPLAY_MARIADB_SUITE_DIR, else at /usr/share/mysql/mysql-test (Debian's
mariadb-test package); where it or the real tool is absent, these tests skip and say why."""

from __future__ import annotations

import pytest

from playground.suites.compare import compare
from tests.suites.mysqltest_support import differential, need_tools

# Files that use connect with send/reap (or several connections), need no debug build, no server
# options of their own and no mysql-test-run helpers (mtr.add_suppression, $MYSQLTEST_VARDIR).
UPSTREAM = [
    "main/deadlock_innodb.test",
    "main/delete_innodb.test",
    "main/dirty_close.test",
    "main/flush_block_commit.test",
    "main/sp-lock.test",
    "main/synchronization.test",
    "main/unsafe_binlog_innodb.test",
    "main/update_innodb.test",
    "suite/innodb/t/innodb_i_s_innodb_locks.test",
    "suite/innodb/t/innodb_notembedded.test",
    "suite/innodb/t/snapshot_isolation_race.test",
    "suite/innodb/t/innodb_bug51920.test",
    "suite/innodb/t/auto_increment_lock_mode.test",
    "suite/innodb/t/innodb-autoinc-61209.test",
]


def test_mysqltest_upstream_list_has_at_least_ten_files():
    assert len(set(UPSTREAM)) >= 10


@pytest.mark.parametrize("name", UPSTREAM, ids=[name.replace("/", "-") for name in UPSTREAM])
async def test_mysqltest_upstream_file_prints_what_mysqltest_records(name: str):
    _, suite, _ = need_tools()
    test = suite / name
    if not test.is_file():
        pytest.skip(f"{name} is not in the installed suite {suite}")
    result, expected = await differential(test)
    same, diff = compare(result.output, expected)
    assert result.exit_code == 0, result.error
    assert same, diff
