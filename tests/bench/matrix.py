"""`txplay matrix` against its cells run one process each through `txplay run`: wall time per database.

    python tests/bench/matrix.py [--runs 3] [--url URL ...]

For each database (default: this machine's PostgreSQL and MariaDB test servers), times the whole
matrix as a user runs it (`txplay matrix --url URL --format json`, one process), and the
reference: the same cells as `txplay run matrix_X --isolation LEVEL --url URL`, one process a
cell, one after another. The two take turns in each run, so that a busy moment of the machine
hits both. Then, in this process, where the time of one matrix goes: the cells' own durations
(their sum, the slowest ones, those that ended in a lock timeout), against the run's wall time.
Prints medians and the ratio; targets (issue 16): PostgreSQL under 10 s, MariaDB under 15 s for
the full suite. Not collected by pytest; it writes nothing: the figures go into RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playground.matrix import SUITE  # noqa: E402  (after the path is set)
from playground.matrix.run import PARALLEL, columns_for  # noqa: E402

SERVERS = {"postgresql://postgres@127.0.0.1:5432/test": 10.0, "mysql://root@127.0.0.1:3306/test": 15.0}
"""The default databases and the issue's target for each (seconds, for the full suite of 15 tests)."""
FULL_SUITE = 15


def _txplay(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def matrix_once(url: str) -> tuple[float, dict[tuple[str, str], str]]:
    """`txplay matrix` as one process: its wall time and each cell's answer."""
    took, done = _txplay("matrix", "--url", url, "--format", "json")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    if done.returncode != 0:
        raise SystemExit(f"txplay matrix --url {url} failed ({done.returncode}): {done.stderr[-2000:]}")
    return took, {(c["level"], c["test"]): f"{c['how']} {c['error_code'] or ''}".strip() for c in lines[:-1]}


def reference_once(url: str, levels: list[str]) -> float:
    """The same cells as `txplay run SCENARIO --isolation LEVEL`, a process each, one after another."""
    total = 0.0
    for level in levels:
        for test in SUITE:
            took, done = _txplay("run", test.scenario, "--isolation", level, "--url", url, "--format", "json")
            if done.returncode not in (0, 1):
                raise SystemExit(f"txplay run {test.scenario} --isolation {level!r} failed: {done.stderr[-2000:]}")
            total += took
    return total


async def where_the_time_goes(url: str) -> dict[str, object]:
    """One matrix in this process, each cell timed: their sum against the wall time, the slowest."""
    import playground.matrix.run as run_module

    durations: list[tuple[float, str, str]] = []
    real = run_module.run_cell_at

    async def timed(column, test):
        start = time.perf_counter()
        cell = await real(column, test)
        durations.append((time.perf_counter() - start, f"{test.name} at {column.level}", run_module.cell_text(cell)))
        return cell

    run_module.run_cell_at = timed  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        await run_module.run_matrix([url])
        wall = time.perf_counter() - start
    finally:
        run_module.run_cell_at = real  # type: ignore[assignment]
    durations.sort(reverse=True)
    timeouts = [d for d in durations if d[2] in ("error 1205", "error 55P03")]  # a lock timeout, by its code
    return {"wall": wall, "cells": len(durations), "sum": sum(d[0] for d in durations),
            "median cell": statistics.median(d[0] for d in durations), "slowest": durations[:3],
            "lock timeouts": [(round(d[0], 2), d[1]) for d in timeouts]}


def _differences(answers: set[tuple[tuple[tuple[str, str], str], ...]]) -> dict[tuple[str, str], set[str]]:
    """The cells whose answer was not the same in every run, with the answers they got."""
    seen: dict[tuple[str, str], set[str]] = {}
    for run in answers:
        for cell, answer in run:
            seen.setdefault(cell, set()).add(answer)
    return {cell: answers for cell, answers in seen.items() if len(answers) > 1}


def bench(urls: list[str], runs: int) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "playground")], check=True)
    print(f"suite: {len(SUITE)} tests; cells at once per database: {PARALLEL}; runs: {runs}")
    for url in urls:
        levels = [c.level for c in asyncio.run(columns_for(url))]
        matrix_times, reference_times = [], []
        answers: set[tuple[tuple[tuple[str, str], str], ...]] = set()
        for _ in range(runs):
            took, cells = matrix_once(url)
            matrix_times.append(took)
            answers.add(tuple(sorted(cells.items())))
            reference_times.append(reference_once(url, levels))
        mine, ref = statistics.median(matrix_times), statistics.median(reference_times)
        target = SERVERS.get(url)
        projected = mine * FULL_SUITE / len(SUITE)
        print(f"\n{url}: {len(levels)} levels × {len(SUITE)} tests = {len(levels) * len(SUITE)} cells")
        print(f"  txplay matrix (one process):  median {mine:.2f} s (min {min(matrix_times):.2f}, max {max(matrix_times):.2f})")
        print(f"  txplay run, a process a cell: median {ref:.2f} s (min {min(reference_times):.2f}, max {max(reference_times):.2f})")
        print(f"  ratio: {mine / ref:.2f}×; every run gave the same answers: {len(answers) == 1}")
        for cell, seen in _differences(answers).items():
            print(f"    differed: {cell[1]} at {cell[0]}: {' / '.join(sorted(seen))}")
        if target is not None:
            print(f"  projected for {FULL_SUITE} tests at this time per cell: {projected:.1f} s (target under {target:g} s)")
        print(f"  in-process, one run: {json.dumps(asyncio.run(where_the_time_goes(url)), default=str)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", action="append", help="a database (repeatable; default: the test servers)")
    args = parser.parse_args()
    bench(args.url or list(SERVERS), args.runs)


if __name__ == "__main__":
    main()
