"""Wall time of txplay's mysqltest runner and of the real `mysqltest` on the same files, measured in
one run (each file on a fresh database, the real tool first):

    python -m tests.suites.mysqltest_bench

txplay is timed in this process (the runner, without Python's start-up); the real tool as the
process it is. Not collected by pytest."""

from __future__ import annotations

import asyncio
import time

from tests.suites.mysqltest_support import HERE, _recorded, admin_query, need_tools, new_database, run_txplay
from tests.suites.test_mysqltest_upstream import UPSTREAM


async def measure() -> list[tuple[str, float, float]]:
    """(file, real mysqltest seconds, txplay seconds) for txplay's own files and the upstream list."""
    tool, suite, url = need_tools()
    files = sorted(HERE.glob("*.test")) + [suite / name for name in UPSTREAM]
    rows: list[tuple[str, float, float]] = []
    for test in files:
        database = new_database()
        await admin_query(url, f"CREATE DATABASE {database}")
        try:
            started = time.perf_counter()
            code, _, stderr = await _recorded(tool, suite, url, test, database)
            real = time.perf_counter() - started
            if code != 0:
                continue
            await admin_query(url, f"DROP DATABASE {database}")
            await admin_query(url, f"CREATE DATABASE {database}")
            started = time.perf_counter()
            result = await run_txplay(url, test, database, suite)
            ours = time.perf_counter() - started
            if result.exit_code == 0:
                rows.append((test.name, real, ours))
        finally:
            await admin_query(url, f"DROP DATABASE IF EXISTS {database}")
    return rows


def main() -> None:
    """Print one line a file and the totals."""
    rows = asyncio.run(measure())
    for name, real, ours in rows:
        print(f"{name:45} mysqltest {real:7.2f} s   txplay {ours:7.2f} s")
    real_total = sum(real for _, real, _ in rows)
    ours_total = sum(ours for _, _, ours in rows)
    print(f"{len(rows)} files: mysqltest {real_total:.2f} s, txplay {ours_total:.2f} s, ratio {ours_total / real_total:.2f}")


if __name__ == "__main__":
    main()
