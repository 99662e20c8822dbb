"""txplay's benchmarks: each figure is a ratio against a reference measured in the same run.

    python tests/bench/run.py [--runs 5] [--quick] [--only FIGURE] [--write]

Prints a table; with `--write` (every figure, no `--only`) it also puts the table at the top of
tests/bench/RESULTS.md, before the file's first `## ` section, and keeps those sections. Not
collected by pytest: performance goals are met here, never in timed tests. The long soak of the
app is tests/bench/soak.py.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.bench.in_app import Ticker, bench_cpu_bound, bench_keystroke_echo, bench_panel_refresh, bench_responsiveness  # noqa: E402

PY = sys.executable
ENV = {**os.environ, "TXPLAY_HEADLESS": "1", "PYTHONPATH": str(ROOT)}
# The start-up figures time the app up to its first step runnable and no further. Textual's
# headless driver is 80×25 while the console, without a terminal, says 80×24: the screen was laid
# out three times over as the two took turns, which no terminal does (its driver and console
# agree). The console is told the driver's size.
STARTUP_ENV = {**ENV, "TXPLAY_EXIT_WHEN_READY": "1", "COLUMNS": "80", "LINES": "25"}


def _timed(cmd: list[str], env: dict | None = None, stdout=subprocess.DEVNULL) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env or ENV, stdout=stdout, stderr=subprocess.DEVNULL, check=True, timeout=900)
    return time.perf_counter() - start


def _time_to_ready(cmd: list[str], env: dict) -> dict[str, float]:
    """Seconds from starting `cmd` to each moment it wrote to $TXPLAY_READY_FILE (`drawn T`,
    `runnable T` lines); a bare time, as the one-widget app writes, is both moments."""
    ready = Path(env["TXPLAY_READY_FILE"])
    ready.unlink(missing_ok=True)
    start = time.time()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=900)
    text = ready.read_text().split()
    if len(text) == 1:
        return {"drawn": float(text[0]) - start, "runnable": float(text[0]) - start}
    return {moment: float(at) - start for moment, at in zip(text[::2], text[1::2], strict=True)}


def _spread(values: list[float]) -> str:
    return f"{min(values):.3g}–{max(values):.3g}"


# -- start-up ---------------------------------------------------------------------------------


STARTUP_FIGURES = (("drawn", "start-up to panes drawn", 1.3), ("runnable", "start-up to first step runnable", 2.0))


def bench_startup(runs: int) -> list[dict]:
    """Two figures against the one-widget Textual app: the panes drawn, and the first step runnable."""
    # An installed copy has its bytecode (pip compiles it); so must the one timed here, even
    # where PYTHONDONTWRITEBYTECODE keeps Python from writing it on import.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "playground")], check=True)
    with tempfile.TemporaryDirectory() as data:
        env = {**STARTUP_ENV, "TXPLAY_DATA_DIR": data, "TXPLAY_READY_FILE": os.path.join(data, "ready")}
        app, ref = [], []
        for _ in range(runs):  # taken in turn, so a busy moment of the machine hits both
            app.append(_time_to_ready([PY, "-m", "playground"], env))
            ref.append(_time_to_ready([PY, str(HERE / "minimal_app.py")], env)["drawn"])
    reference = statistics.median(ref)
    figures = []
    for moment, name, target in STARTUP_FIGURES:
        times = [each[moment] for each in app]
        figures.append({"figure": name, "value": f"{statistics.median(times):.3f} s ({_spread(times)})",
                        "reference": f"{reference:.3f} s ({_spread(ref)})", "ratio": statistics.median(times) / reference,
                        "target": target})
    return figures


# -- step overhead ----------------------------------------------------------------------------


def generate_steps(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """ORM adds, updates, flushes, savepoints, releases, rollbacks and selects across A and B.

    The sessions take turns, one transaction each, so SQLite's single writer never waits.
    """
    rng = random.Random(seed)
    steps: list[tuple[str, str]] = [("A", "seq = 0"), ("B", "seq = 0")]
    session = "A"
    while len(steps) < n:
        ops = ["n = Item(name=f'b{seq}', stock=1); session.add(n); seq += 1", "n.stock = n.stock + 1", "session.flush()"]
        body = ops[:]
        for _ in range(rng.randint(1, 4)):
            body.append(rng.choice([
                "sp = session.begin_nested()\nsession.add(Item(name='in sp', stock=2))\nsp.commit()",
                "sp = session.begin_nested()\nsession.add(Item(name='undone', stock=2))\nsession.flush()\nsp.rollback()",
                "session.scalars(select(Item).where(Item.id < 5)).all()",
                "n.stock = n.stock + 1",
                "session.flush()",
            ]))
        body.append(rng.choice(["session.commit()", "session.rollback()", "session.commit()"]))
        steps.extend((session, text) for text in body)
        session = "B" if session == "A" else "A"
    return steps[:n]


def write_scenario(steps: list[tuple[str, str]], path: Path) -> None:
    lines = ["title: generated benchmark", "sessions: A B", ""]
    for session, text in steps:
        if "\n" in text:
            lines.append(f"{session}: |")
            lines.extend("    " + line for line in text.splitlines())
        else:
            lines.append(f"{session}: {text}")
    path.write_text("\n".join(lines) + "\n")


REFERENCE = '''
import asyncio, sys, tempfile, os
sys.path.insert(0, {root!r})
from sqlalchemy import event, select, insert
from sqlalchemy.ext.asyncio import create_async_engine, AsyncSession
from playground.demo import Base, Item
from playground.demo.data import create_demo
STEPS = {steps!r}

async def main():
    folder = tempfile.mkdtemp()
    engines, sessions, namespaces = {{}}, {{}}, {{}}
    for name in ("A", "B"):
        engine = create_async_engine(f"sqlite+aiosqlite:///{{folder}}/ref.db", pool_size=1, max_overflow=0)
        @event.listens_for(engine.sync_engine, "connect")
        def _c(dbapi, rec):
            dbapi.isolation_level = None
        @event.listens_for(engine.sync_engine, "begin")
        def _b(conn):
            conn.exec_driver_sql("BEGIN")
        engines[name] = engine
    async with engines["A"].begin() as conn:
        await conn.run_sync(create_demo)
    for name in ("A", "B"):
        sessions[name] = AsyncSession(engines[name])
        namespaces[name] = {{"select": select, "Item": Item, "session": sessions[name].sync_session}}
    compiled = [(s, compile(t, "<step>", "exec")) for s, t in STEPS]
    for name, code in compiled:
        ns = namespaces[name]
        await sessions[name].run_sync(lambda s: exec(code, ns))
    for name in ("A", "B"):
        await sessions[name].close()
        await engines[name].dispose()

asyncio.run(main())
'''


def bench_steps(runs: int, n: int) -> dict:
    steps = generate_steps(n)
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "bench.txp"
        write_scenario(steps, scenario)
        reference = Path(folder) / "reference.py"
        reference.write_text(REFERENCE.format(root=str(ROOT), steps=steps))
        app, ref = [], []
        for _ in range(runs):  # taken in turn, so a busy moment of the machine hits both
            app.append(_timed([PY, "-m", "playground", "run", str(scenario), "--format", "text"]))
            ref.append(_timed([PY, str(reference)]))
    ratio = statistics.median(app) / statistics.median(ref)
    per_step = statistics.median(app) / n * 1000
    return {"figure": f"step overhead ({n} steps)", "value": f"{statistics.median(app):.2f} s ({_spread(app)}), {per_step:.2f} ms/step",
            "reference": f"{statistics.median(ref):.2f} s ({_spread(ref)})", "ratio": ratio, "target": 1.3}


# -- on the servers: lock-wait detection, quitting while a statement waits ----------------------


def _servers() -> list[tuple[str, str]]:
    """(backend, URL) of the test servers that are running, as the tests find them."""
    from tests.conftest import SERVERS, _reachable, missing_driver

    return [(name, url) for name, url in SERVERS.items() if _reachable(url) and not missing_driver(name)]


def _per_backend(samples: dict[str, list[float]]) -> str:
    return "; ".join(f"{name} p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms" for name, ms in samples.items())


async def bench_lock_wait(runs: int) -> dict:
    """From submitting a statement that blocks to the workspace reporting the wait, and its holder."""
    from playground.demo.kit import DEMO_KIT
    from playground.engine import SessionSettings, StepWaiting, Workspace

    samples: dict[str, list[float]] = {}
    for name, url in _servers():
        ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=True, defaults=SessionSettings(lock_timeout=20),
                                  setup="create table t (id int primary key, v int); insert into t values (1, 10)")
        reported = asyncio.Event()
        ws.subscribe(lambda event, reported=reported: reported.set() if isinstance(event, StepWaiting) else None)
        try:
            for i in range(runs * 4):
                await ws.run("A", f"update t set v = {i} where id = 1")
                reported.clear()
                start = time.perf_counter()
                waiting = ws.submit("B", f"update t set v = {-i} where id = 1")
                await asyncio.wait_for(reported.wait(), 20)
                samples.setdefault(name, []).append((time.perf_counter() - start) * 1000)
                await ws.run("A", "rollback")
                await waiting.done.wait()
                await ws.run("B", "rollback")
        finally:
            await ws.close()
    if not samples:
        return {"figure": "lock-wait detection", "value": "no server running", "reference": "0.5 s", "ratio": 0.0, "target": 1.0}
    worst = max(max(ms) for ms in samples.values())
    return {"figure": "lock-wait detection (submit → wait reported)", "value": _per_backend(samples),
            "reference": "500 ms", "ratio": worst / 500, "target": 1.0}


async def bench_quit_while_waiting(runs: int) -> dict:
    """ctrl+q's quit in the app while B waits on A's row lock, until the app has ended."""
    from playground.ui.app import make_app

    samples: dict[str, list[float]] = {}
    for name, url in _servers():
        for _ in range(runs):
            app = make_app(url=url, history_dir=Path(tempfile.mkdtemp()))
            async with app.run_test(size=(160, 50)) as pilot:
                await app.waits.opened.wait()  # the panes are drawn first, the database opens behind them
                await pilot.pause()
                ws = app.workspace
                await ws.run("A", "update items set stock = 0 where id = 2")
                waiting = ws.submit("B", "update items set stock = 1 where id = 2")
                await ws.settle()
                assert waiting.wait is not None, "B should wait on A"
                start = time.perf_counter()
                await app.action_quit()
            samples.setdefault(name, []).append((time.perf_counter() - start) * 1000)
    if not samples:
        return {"figure": "quit while waiting", "value": "no server running", "reference": "2 s", "ratio": 0.0, "target": 1.0}
    worst = max(max(ms) for ms in samples.values())
    return {"figure": "quit while a statement waits (app ended)", "value": _per_backend(samples),
            "reference": "2000 ms", "ratio": worst / 2000, "target": 1.0}


# -- memory -----------------------------------------------------------------------------------

MEMORY_APP = '''
import asyncio, re, sys, tempfile
from pathlib import Path
sys.path.insert(0, {root!r})
from playground.ui.app import make_app

async def main():
    app = make_app(sessions=4, history_dir=Path(tempfile.mkdtemp()))
    async with app.run_test(size=(200, 60)) as pilot:
        await app.waits.opened.wait()  # the panes are drawn first, the database opens behind them
        await pilot.pause()
        ws = app.workspace
        await ws.run("A", "insert into items (id, name, stock) with recursive c(x) as (select 100 union all "
                     "select x + 1 from c where x < {last}) select x, 'item ' || x, x from c")
        await ws.run("A", "commit")
        for name in "ABCD":
            await ws.run(name, "held = session.scalars(select(Item)).all()")
        app._latest = ws.snapshot()
        app._draw()
        await pilot.pause()
        print(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

asyncio.run(main())
'''

MEMORY_REF = '''
import asyncio, re, sys, tempfile
sys.path.insert(0, {root!r})
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine, AsyncSession
from playground.demo import Item
from playground.demo.data import create_demo

async def main():
    folder = tempfile.mkdtemp()
    engine = create_async_engine(f"sqlite+aiosqlite:///{{folder}}/m.db")
    async with engine.begin() as conn:
        await conn.run_sync(create_demo)
        await conn.execute(text("insert into items (id, name, stock) with recursive c(x) as (select 100 union all "
                                "select x + 1 from c where x < {last}) select x, 'item ' || x, x from c"))
    sessions, held = [], []
    for _ in range(4):
        session = AsyncSession(engine)
        sessions.append(session)
        held.append((await session.scalars(select(Item))).all())
    print(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

asyncio.run(main())
'''


def bench_memory(runs: int, n: int) -> dict:
    def peak(source: str) -> float:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
            handle.write(source.format(root=str(ROOT), n=n, last=99 + n))
        out = subprocess.run([PY, handle.name], capture_output=True, text=True, check=True, timeout=600, env=ENV)
        return int(out.stdout.strip().splitlines()[-1]) / 1024

    app, ref = [], []
    for _ in range(runs):  # taken in turn, so a busy moment of the machine hits both
        app.append(peak(MEMORY_APP))
        ref.append(peak(MEMORY_REF))
    return {"figure": f"memory (4 panes × {n} objects)", "value": f"{statistics.median(app):.0f} MiB peak RSS ({_spread(app)})",
            "reference": f"{statistics.median(ref):.0f} MiB ({_spread(ref)})", "ratio": statistics.median(app) / statistics.median(ref),
            "target": 1.3}


# -- committed view ---------------------------------------------------------------------------


async def bench_committed(n: int) -> dict:
    """The committed-data view of the app scrolled from the first row to the last, a page a frame.

    Like dragging the scrollbar: each position needs rows that have not been read. A 5 ms ticker
    measures the longest stall of the event loop (the slowest frame); the latency is from the
    scroll to its rows being on screen.
    """
    from playground.ui.app import make_app
    from tests.ui.conftest import show_big_table

    app = make_app(history_dir=Path(tempfile.mkdtemp()))
    stalls: list[float] = []
    latencies: list[float] = []
    held = 0
    async with app.run_test(size=(200, 60)) as pilot:
        await app.waits.opened.wait()  # the panes are drawn first, the database opens behind them
        await pilot.pause()
        view = await show_big_table(pilot, n)
        view.focus()
        await pilot.pause()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        async def drawn() -> None:
            """Wait for the next frame to have been drawn."""
            done = asyncio.get_running_loop().create_future()
            view.call_after_refresh(done.set_result, None)
            await done

        ticker = Ticker(0.005, stalls)
        for top in range(0, n, view.PAGE):
            start = time.perf_counter()
            view.scroll_to(0, top, animate=False, immediate=True)
            await drawn()  # the rows not read yet are shown as … and asked for
            await view.settled.wait()
            await drawn()
            latencies.append((time.perf_counter() - start) * 1000)
            assert view.line_text(1).split()[0] == str(top + 1)
            held = max(held, view.rows_held)
        for key in ("home", "end"):
            await pilot.press(key)
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            await view.settled.wait()
        assert view.line_text(view.size.height - 1).split()[0] == str(n), "the last row is not shown"
        await ticker.stop()
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    worst = max(stalls)
    return {"figure": f"committed view ({n} rows, scrolled end to end in the app)",
            "value": f"slowest frame {worst:.1f} ms; rows on screen p50 {statistics.median(latencies):.1f} ms after the scroll; "
                     f"{len(latencies)} positions, at most {held} rows held, RSS +{grown:.0f} MiB",
            "reference": "50 ms per frame", "ratio": worst / 50.0, "target": 1.0}


# -- report -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each figure (median and spread)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--only", action="append", metavar="FIGURE", help="run only this figure (repeatable)")
    parser.add_argument("--write", action="store_true", help="put the table in tests/bench/RESULTS.md (every figure only)")
    args = parser.parse_args()
    if args.write and args.only:
        parser.error("--write records every figure: leave out --only")
    steps, objects, committed = (500, 2000, 10_000) if args.quick else (5000, 10_000, 100_000)
    figures = []
    plan = [
        ("start-up", lambda: bench_startup(args.runs)),
        ("step overhead", lambda: bench_steps(args.runs, steps)),
        ("panel refresh", lambda: asyncio.run(bench_panel_refresh(args.runs, objects))),
        ("responsiveness", lambda: asyncio.run(bench_responsiveness(args.runs))),
        ("cpu-bound session", lambda: asyncio.run(bench_cpu_bound(args.runs))),
        ("keystroke echo", lambda: asyncio.run(bench_keystroke_echo(args.runs))),
        ("lock-wait detection", lambda: asyncio.run(bench_lock_wait(args.runs))),
        ("quit while waiting", lambda: asyncio.run(bench_quit_while_waiting(args.runs))),
        ("memory", lambda: bench_memory(args.runs, objects)),
        ("committed view", lambda: asyncio.run(bench_committed(committed))),
    ]
    if args.only:
        unknown = set(args.only) - {name for name, _ in plan}
        if unknown:
            parser.error(f"no figure named {', '.join(sorted(unknown))}; figures: {', '.join(name for name, _ in plan)}")
        plan = [(name, run) for name, run in plan if name in args.only]
    for number, (name, run) in enumerate(plan, 1):
        print(f"[{number}/{len(plan)}] {name}…", file=sys.stderr, flush=True)
        result = run()
        figures.extend(result if isinstance(result, list) else [result])
    rows = ["| figure | txplay | reference | ratio | target | met |", "|---|---|---|---|---|---|"]
    for f in figures:
        met = "yes" if f["ratio"] <= f["target"] else "no"
        rows.append(f"| {f['figure']} | {f['value']} | {f['reference']} | {f['ratio']:.2f}× | ≤ {f['target']}× | {met} |")
    table = "\n".join(rows)
    print(table)
    if args.write:
        write_results(table, args, HERE / "RESULTS.md")


def write_results(table: str, args: argparse.Namespace, results: Path) -> None:
    """Put the table at the top of `results`, keeping the sections below it (other benchmarks')."""
    old = results.read_text() if results.exists() else ""
    sections = old[old.index("\n## ") + 1:] if "\n## " in old else ""
    header = [
        "# Benchmark results",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}; runs per figure: {args.runs}{' (quick sizes)' if args.quick else ''}",
        f"- command: `python tests/bench/run.py --write{' --quick' if args.quick else ''}`",
        "",
        "Each figure is a median (spread: min–max) and a ratio against a reference measured in the same run.",
        "",
        "",
    ]
    results.write_text("\n".join(header) + table + "\n" + (f"\n{sections}" if sections else ""))


if __name__ == "__main__":
    main()
