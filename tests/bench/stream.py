"""Memory of a long headless run: `txplay run --format json` against `--format text`.

    python tests/bench/stream.py [--steps 50000]

Generates a scenario of N steps (two sessions, ORM and SQL steps on a few objects, every
transaction ended so the database stays the same size), runs it with `txplay run` in a
subprocess once per format, and reads the child's resident set size from /proc as its
transcript reaches 10 %, 50 % and 100 % of the steps; its peak is the kernel's high-water mark
(VmHWM) just before it exits. Prints each, the growth between 10 % and 100 % per 1,000 steps,
and the ratio of the peaks json / text against the 1.5× target. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
TARGET = 1.5  # json's peak RSS at most this many times text's
MARKS = (0.10, 0.50, 1.00)

# One cycle: A changes an object in a transaction it commits, B changes one and undoes it in a
# savepoint and a rollback; plain SQL reads in between. Texts repeat, as a long script's would.
CYCLE = [
    ("A", "u = session.get(User, 1)"),
    ("A", "u.name = 'alice ' + str(len(u.name) % 7)"),
    ("A", "session.flush()"),
    ("A", "select id, name from users order by id"),
    ("A", "commit"),
    ("B", "it = session.get(Item, 1)"),
    ("B", "sp = session.begin_nested()"),
    ("B", "it.stock = it.stock + 1"),
    ("B", "session.flush()"),
    ("B", "sp.rollback()"),
    ("B", "select count(*) from items"),
    ("B", "rollback"),
]


def write_scenario(n: int, path: Path) -> None:
    """A scenario of `n` steps, CYCLE repeated."""
    lines = ["title: streamed transcript benchmark", "sessions: A B", ""]
    lines += [f"{CYCLE[i % len(CYCLE)][0]}: {CYCLE[i % len(CYCLE)][1]}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def measure(scenario: Path, n: int, fmt: str) -> dict:
    """Run the scenario in `fmt`; RSS (MB) at each mark, peak RSS, seconds, and the exit code."""
    proc = subprocess.Popen(
        [PY, "-m", "playground", "run", str(scenario), "--format", fmt],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(proc.stderr or ()), daemon=True)
    reader.start()
    marks = {int(n * m): m for m in MARKS}
    at: dict[float, float] = {}
    peak = 0
    start = time.perf_counter()
    step_marker = '"event": "step"' if fmt == "json" else None
    seen = 0
    for line in proc.stdout:
        if step_marker is not None:
            counted = step_marker in line
        else:  # text: a step's first line is its index, right-aligned, then `A> ` or `B> `
            head = line[:12].lstrip()
            counted = head[:1].isdigit() and ("A> " in line[:16] or "B> " in line[:16])
        if not counted:
            continue
        seen += 1
        if seen in marks:
            status = _status(proc.pid)
            at[marks[seen]] = status["VmRSS"] / 1024
            peak = max(peak, status["VmHWM"])
    # The summary and teardown come after the last step: the high-water mark as the process ends
    # (an exited process, not yet reaped, has no memory figures left).
    while proc.poll() is None:
        try:
            peak = max(peak, _status(proc.pid).get("VmHWM", 0))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    proc.wait()
    reader.join(timeout=5)
    return {"format": fmt, "at": at, "peak": peak / 1024, "seconds": time.perf_counter() - start,
            "exit": proc.returncode, "steps": seen, "stderr": "".join(errors)[-2000:]}


def main() -> int:
    """Run both formats and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    args = parser.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "stream.txp"
        write_scenario(n, scenario)
        runs = {fmt: measure(scenario, n, fmt) for fmt in ("text", "json")}
    print(f"{n} steps, two sessions; RSS in MB at 10 % / 50 % / 100 % of the steps, peak (VmHWM)")
    for fmt, run in runs.items():
        at = run["at"]
        marks = " / ".join(f"{at.get(m, float('nan')):.1f}" for m in MARKS)
        growth = (at.get(1.0, float("nan")) - at.get(0.1, float("nan"))) / (0.9 * n / 1000)
        print(f"  {fmt:<5} {marks}   peak {run['peak']:.1f}   growth {growth:+.3f} MB per 1,000 steps   "
              f"{run['seconds']:.0f} s, exit {run['exit']}, {run['steps']} steps seen")
        if run["exit"] not in (0, 1) or run["steps"] != n:
            print(f"  {fmt} run did not finish cleanly:\n{run['stderr']}")
    ratio = runs["json"]["peak"] / runs["text"]["peak"]
    print(f"peak json / text: {ratio:.2f}× (target ≤ {TARGET}×: {'met' if ratio <= TARGET else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
