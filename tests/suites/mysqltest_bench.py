"""Wall time of txplay's mysqltest runner and of the real `mysqltest` on the same files, measured in
one run (each file on a fresh database, the real tool first):

    python -m tests.suites.mysqltest_bench

txplay is timed twice: in this process (the runner alone) and as `txplay run FILE.test` (a process
with Python's start-up, as the real tool is timed). Not collected by pytest."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from sqlalchemy.engine import make_url

from tests.suites.mysqltest_support import HERE, _recorded, admin_query, need_tools, new_database, run_txplay
from tests.suites.test_mysqltest_upstream import UPSTREAM


async def measure() -> list[tuple[str, float, float, float]]:
    """(file, real mysqltest seconds, txplay runner seconds, `txplay run` seconds) for txplay's own
    files and the upstream list."""
    tool, suite, url = need_tools()
    files = sorted(HERE.glob("*.test")) + [suite / name for name in UPSTREAM]
    rows: list[tuple[str, float, float, float]] = []
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
            await admin_query(url, f"DROP DATABASE {database}")
            await admin_query(url, f"CREATE DATABASE {database}")
            target = make_url(url).set(database=database).render_as_string(hide_password=False)
            command = [sys.executable, "-m", "playground", "run", str(test), "--url", target, "--format", "mysqltest"]
            started = time.perf_counter()
            done = await asyncio.to_thread(subprocess.run, command, capture_output=True)
            cli = time.perf_counter() - started
            if result.exit_code == 0 and done.returncode == 0:
                rows.append((test.name, real, ours, cli))
        finally:
            await admin_query(url, f"DROP DATABASE IF EXISTS {database}")
    return rows


def main() -> None:
    """Print one line a file and the totals."""
    rows = asyncio.run(measure())
    for name, real, ours, cli in rows:
        print(f"{name:40} mysqltest {real:6.2f} s   runner {ours:6.2f} s   txplay run {cli:6.2f} s")
    real_total = sum(row[1] for row in rows)
    ours_total = sum(row[2] for row in rows)
    cli_total = sum(row[3] for row in rows)
    print(f"{len(rows)} files: mysqltest {real_total:.2f} s; runner {ours_total:.2f} s ({ours_total / real_total:.2f}x); "
          f"txplay run {cli_total:.2f} s ({cli_total / real_total:.2f}x)")


if __name__ == "__main__":
    main()
