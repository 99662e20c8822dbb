"""txplay's `.spec` runner against PostgreSQL's own isolationtester: wall time on the same specs.

    python tests/bench/suites.py [--runs 3] [--url postgresql://postgres@127.0.0.1:5432/postgres]

Runs each spec (txplay's own, and a few of PostgreSQL 15's where $TXPLAY_PG_ISOLATION_DIR points
at them) through both tools, each run on a fresh database whose creation is not timed, the two
tools taking turns so that a busy moment of the machine hits both. txplay is timed twice: as
`txplay run SPEC --format isolation` (a process per spec, as isolationtester), and through
`playground.suites.isolation.run_spec` in this process (the runner without Python's start-up and
txplay's imports). Prints each spec's median time per tool, the medians of the whole set's
totals, and their ratios (target: txplay at most 1.5× isolationtester), and whether the tools
printed the same. Not collected by pytest; it writes
nothing: the figures go into RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.suites.pgtools import (  # noqa: E402  (after the path is set)
    PgDatabase,
    Run,
    find_isolationtester,
    find_upstream_dir,
    fresh_database,
    isolationtester_run,
    output_diff,
    own_specs,
    txplay_run,
)

UPSTREAM = ["deadlock-hard", "eval-plan-qual", "insert-conflict-do-update", "receipt-report", "skip-locked",
            "alter-table-1"]
"""PostgreSQL's own specs in the set: long ones and short ones, with waits and without."""

TARGET = 1.5


def spec_set() -> list[Path]:
    """The specs to time: the own ones, then the upstream ones that are there."""
    specs = own_specs()
    folder = find_upstream_dir()
    if folder is None:
        print("(PostgreSQL's own specs left out: $TXPLAY_PG_ISOLATION_DIR is not set)")
    else:
        specs += [folder / "specs" / f"{name}.spec" for name in UPSTREAM]
    return specs


def _timed(run, *args) -> tuple[float, Run]:
    start = time.perf_counter()
    done = run(*args)
    return time.perf_counter() - start, done


def bench(server_url: str, runs: int) -> int:
    tool = find_isolationtester()
    if tool is None:
        print("no isolationtester (pg_config --pgxs): nothing to compare with")
        return 1
    specs = spec_set()
    # An installed copy has its bytecode (pip compiles it); so must the one timed here, even
    # where PYTHONDONTWRITEBYTECODE keeps Python from writing it on import.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "playground")], check=True)
    times: dict[str, dict[Path, list[float]]] = {"isolationtester": {}, "txplay": {}, "in-process": {}}
    same: dict[Path, bool] = {}
    failed: set[Path] = set()

    def real(spec: Path, db: PgDatabase) -> Run:
        return isolationtester_run(tool, spec, db)

    def in_process(spec: Path, db: PgDatabase) -> Run:
        from playground.suites.isolation import run_spec
        from playground.suites.spec import load

        out = io.StringIO()
        done = run_spec(load(str(spec)), db.url, out=out)
        return Run(done.exit_code, out.getvalue(), done.error or "")

    for _ in range(runs):
        for spec in specs:
            outputs = {}
            for name, runner in (("isolationtester", real), ("txplay", txplay_run), ("in-process", in_process)):
                with fresh_database(server_url) as db:
                    took, done = _timed(runner, spec, db)
                times[name].setdefault(spec, []).append(took)
                outputs[name] = done.stdout if done.exit == 0 else f"exit {done.exit}: {done.stderr}"
                if done.exit != 0:
                    failed.add(spec)
            same[spec] = same.get(spec, True) and not any(
                output_diff(outputs["isolationtester"], outputs[name]) for name in ("txplay", "in-process"))

    print(f"{'spec':28} {'isolationtester':>15} {'txplay run':>11} {'ratio':>6} {'in-process':>11} {'ratio':>6}  same")
    for spec in specs:
        ref, cli, api = (statistics.median(times[name][spec]) for name in times)
        print(f"{spec.stem:28} {ref:13.3f} s {cli:9.3f} s {cli / ref:5.2f}× {api:9.3f} s {api / ref:5.2f}×  "
              f"{'yes' if same[spec] else 'NO'}")
    totals = {name: statistics.median(sum(per[spec][i] for spec in specs) for i in range(runs))
              for name, per in times.items()}
    print(f"\n{len(specs)} specs, median of {runs} runs of the whole set (target ≤ {TARGET}× isolationtester):")
    print(f"  isolationtester          {totals['isolationtester']:6.2f} s")
    for name, label in (("txplay", "txplay run (a process)"), ("in-process", "txplay's runner (API)")):
        ratio = totals[name] / totals["isolationtester"]
        print(f"  {label:24} {totals[name]:6.2f} s  {ratio:.2f}× {'met' if ratio <= TARGET else 'NOT met'}")
    print(f"  specs where the outputs differ: {sum(not ok for ok in same.values())}")
    if failed:
        print(f"  a tool failed on {len(failed)} specs ({', '.join(sorted(spec.stem for spec in failed))}): "
              "their times say nothing")
        return 1
    return 0


def main() -> int:
    from tests.conftest import SERVERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=SERVERS["postgresql"], help="the PostgreSQL server (its database is not used)")
    args = parser.parse_args()
    return bench(args.url, args.runs)


if __name__ == "__main__":
    sys.exit(main())
