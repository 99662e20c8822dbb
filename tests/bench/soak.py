"""A soak of the real app: thousands of steps typed into 4 panes, and what grows (issue 19).

    python tests/bench/soak.py [--steps 10000] [--seed 19] [--url URL] [--stretch 200] [--minutes M] [--json FILE]

Drives the app through Pilot as a user would: focus a pane, paste a step into its input (`--keys`
types it key by key instead), press Enter, and wait for the step's echo on screen. The steps are
random but seeded: ORM code, SQL, savepoints (`\\savepoint`, `\\rollback-to`, `\\release`,
`begin_nested()`), and lock waits (one pane holds a write, another waits on it, the first
commits and the second goes on). Each pane's transaction ends before another pane writes, so
SQLite's single writer waits only where a lock wait is meant.

Prints a progress line every 1,000 steps (stderr; `--every`) and a table at the end (stdout):
- RSS and Python's object count after the first 1,000 steps, and their growth per 1,000 after;
- the longest step (Enter to its echo on screen) and the longest stall of the event loop (a
  10 ms ticker's lag), with p99, while the Timeline tab is hidden;
- step time with the Timeline tab hidden, then shown, for `--stretch` steps each at the full
  history (the last 2 × stretch steps of the run), and how long showing the tab took; each step's
  CPU time too (the process's, every thread), steadier than wall time on a busy machine;
- on a server (`--url`): connections opened per 1,000 steps, as the server counts them
  (PostgreSQL: `pg_stat_database.sessions` of a database made for the run; MariaDB: the
  server-wide `Connections` status, which counts other clients of a shared server too).
Not collected by pytest: figures are printed, never asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.in_app import Ticker, _send_keys, percentile  # noqa: E402

PANES = "ABCD"
FIRST = 1000  # the steps after which memory is a baseline, and growth is measured from
STEP_TIMEOUT = 120.0  # a guard: a step that takes this long ends the soak with an error


# -- the steps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One input typed into a pane; `kind` says what it exercises."""

    pane: str
    text: str
    kind: str  # orm, sql, savepoint, end (commit/rollback), hold, wait, release


def _transaction(rng: random.Random, pane: str, serial: Iterator[int]) -> Iterator[Step]:
    """A transaction of 2-8 steps in one pane, ended by a commit or a rollback."""
    savepoints = 0
    for _ in range(rng.randint(2, 8)):
        roll = rng.random()
        n = next(serial)
        item = rng.randint(1, 3)
        if roll < 0.40:
            yield Step(pane, rng.choice([
                f"session.add(Item(name='orm {n}', stock={n % 50}))",
                f"it = session.get(Item, {item}); it.stock = it.stock + 1",
                "session.flush()",
                "rows = session.scalars(select(Item).where(Item.id < 5)).all()",
                "u = session.get(User, 1); u.name",
            ]), "orm")
        elif roll < 0.75:
            yield Step(pane, rng.choice([
                "select count(*) from items",
                f"update items set stock = stock + 1 where id = {item}",
                f"insert into items (name, stock) values ('sql {n}', 1)",
                "select id, name, stock from items where id <= 3",
            ]), "sql")
        elif savepoints and roll < 0.88:
            yield Step(pane, rng.choice(["\\release", "\\rollback-to"]), "savepoint")
            savepoints -= 1  # \rollback-to leaves it open: it is released with the transaction
        elif roll < 0.94:
            savepoints += 1
            yield Step(pane, "\\savepoint", "savepoint")
        else:
            yield Step(pane, rng.choice([
                f"sp = session.begin_nested(); session.add(Item(name='sp {n}', stock=2)); sp.commit()",
                f"sp = session.begin_nested(); session.add(Item(name='undone {n}', stock=2)); session.flush(); sp.rollback()",
            ]), "savepoint")
    yield Step(pane, rng.choice(["commit", "session.commit()", "rollback", "\\commit"]), "end")


def _lock_wait(rng: random.Random, holder: str, waiter: str) -> Iterator[Step]:
    """`holder` writes a row, `waiter` waits on it, `holder` commits and `waiter`'s step goes on."""
    row = rng.randint(1, 3)
    yield Step(holder, f"update items set stock = stock + 1 where id = {row}", "hold")
    yield Step(waiter, f"update items set stock = stock + 2 where id = {row}", "wait")
    yield Step(holder, rng.choice(["commit", "rollback"]), "release")
    yield Step(waiter, rng.choice(["commit", "rollback"]), "end")


def plan(seed: int, panes: str = PANES) -> Iterator[Step]:
    """Endless seeded steps: transactions in a pane (the same pane again half of the time), and now and then a lock wait."""
    rng = random.Random(seed)
    serial = iter(range(1, 10**9))
    pane = panes[0]
    while True:
        if rng.random() < 0.12:
            holder, waiter = rng.sample(panes, 2)
            yield from _lock_wait(rng, holder, waiter)
            pane = waiter
            continue
        if rng.random() < 0.5:
            pane = rng.choice(panes)
        yield from _transaction(rng, pane, serial)


# -- measuring -------------------------------------------------------------------------------


LOCK_KINDS = ("wait", "release")  # a lock wait's steps: the waiter's statement, and the holder's COMMIT/ROLLBACK


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Checkpoint:
    """What was measured after `steps` steps."""

    steps: int
    seconds: float
    rss_mb: float
    objects: int  # every object the cycle collector tracks, frozen ones included
    blocks: int  # memory blocks Python's allocator has handed out (its objects' memory, not C libraries')
    connections: int | None  # as the server counts them
    opened: int | None  # as this process's pools count them (exact; MariaDB's count is server-wide)


def _floats() -> array[float]:
    return array("d")


@dataclass
class Figures:
    """Everything the soak measured."""

    # The measurements are arrays of floats, 8 bytes each: as lists of float objects (and a tuple for
    # each of the collector's dozen passes a step) they grew 1.3 MB per 1,000 steps of the soak's own.
    steps: array[float] = field(default_factory=_floats)  # seconds from Enter to the echo, step by step
    cpu: array[float] = field(default_factory=_floats)  # the process's CPU seconds (every thread) over each of them
    kinds: list[str] = field(default_factory=list)  # the plan's kind names (the same few strings)
    lags: array[float] = field(default_factory=_floats)  # ms, timeline hidden
    lags_shown: array[float] = field(default_factory=_floats)  # ms, timeline shown
    checkpoints: list[Checkpoint] = field(default_factory=list)
    focus_switches: int = 0
    waits: int = 0  # lock-wait steps that did wait
    waits_missed: int = 0  # lock-wait steps that ran at once
    failed: dict[str, int] = field(default_factory=dict)  # kind -> steps whose result was an error
    first_failures: list[str] = field(default_factory=list)
    timeline_show_s: float = 0.0
    shown_from: int = 0  # index of the first step with the timeline shown
    hidden_from: int = 0  # index of the first step of the hidden stretch compared with it
    full_passes: array[float] = field(default_factory=_floats)  # ms of each pass of the collector over its oldest generation
    young_pass_max: list[float] = field(default_factory=lambda: [0.0])  # ms of the longest pass over a younger one
    # seconds from the holder's COMMIT/ROLLBACK ending to the waiter's step ending, lock wait by lock wait
    woken: array[float] = field(default_factory=_floats)


@contextlib.contextmanager
def collector_passes(full: array[float], young_max: list[float]) -> Iterator[None]:
    """Time every pass of Python's cycle collector (on whichever thread it runs): those over the
    oldest generation into `full`, the longest of the others into `young_max[0]`."""
    started: dict[int, float] = {}

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[info["generation"]] = time.perf_counter()
        elif info["generation"] in started:
            ms = (time.perf_counter() - started.pop(info["generation"])) * 1000
            if info["generation"] == 2:
                full.append(ms)
            elif ms > young_max[0]:
                young_max[0] = ms

    gc.callbacks.append(heard)
    try:
        yield
    finally:
        gc.callbacks.remove(heard)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (0 with fewer than two)."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


# -- connections on a server -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def server(url: str | None) -> AsyncIterator[tuple[str | None, Any]]:
    """The URL the app opens and a counter connection (None, None on SQLite).

    PostgreSQL gets a database made for the run, so that its `sessions` count only txplay's.
    """
    if url is None:
        yield None, None
        return
    from sqlalchemy import make_url

    from tests.bench.connections import admin, pg_database

    if make_url(url).get_backend_name() == "postgresql":
        async with pg_database(url) as own, admin(own) as counter:
            yield own, counter
    else:
        async with admin(url) as counter:
            yield url, counter


async def connections(counter: Any, url: str | None) -> tuple[int | None, int | None]:
    """Connections the server has counted so far, and those this process's pools opened (None, None on SQLite)."""
    if counter is None or url is None:
        return None, None
    from tests.bench.connections import OPENED, server_count

    return await server_count(counter, url), OPENED.count


# -- the soak --------------------------------------------------------------------------------


class Soak:
    """Types steps into the app and measures them."""

    def __init__(self, app: Any, pilot: Any, args: argparse.Namespace, counter: Any, url: str | None) -> None:
        self.app, self.pilot, self.args = app, pilot, args
        self.counter, self.url = counter, url
        self.figures = Figures()
        self.started = time.perf_counter()
        self.ticker: Ticker | None = None
        self.waiting: Any = None  # the handle of the step waiting on a lock, until its holder lets go

    async def _until(self, predicate: Any) -> None:
        deadline = time.perf_counter() + STEP_TIMEOUT
        while not predicate():
            if not self.app.is_running:
                raise RuntimeError("the app has ended (a SIGTERM? SIGUSR1 stops the soak and prints its figures)")
            if time.perf_counter() > deadline:
                raise TimeoutError("the app did not take the step")
            await asyncio.sleep(0.001)

    async def focus(self, pane: str) -> None:
        """Put the focus in a pane's input, as a click or F12 does."""
        field_ = self.app.pane(pane).input
        if self.app.focused is not field_:
            field_.focus()
            self.figures.focus_switches += 1
            await self._until(lambda: self.app.focused is field_)

    def _type(self, text: str) -> None:
        from textual import events

        if self.args.keys:
            _send_keys(self.app, [*text, "enter"])
            return
        paste = events.Paste(text)
        paste.set_sender(self.app)
        self.app._driver.send_message(paste)
        _send_keys(self.app, ["enter"])

    async def step(self, step: Step) -> float:
        """Type one step and wait until it has finished (or waits on a lock) and the screen shows it."""
        ws = self.app.workspace
        await self.focus(step.pane)
        before = ws.last_index
        start, cpu = time.perf_counter(), time.process_time()
        self._type(step.text)
        await self._until(lambda: ws.last_index > before)
        handle = ws.handle(ws.last_index)
        await asyncio.wait_for(self.app.waits.caught_up(), STEP_TIMEOUT)
        took = time.perf_counter() - start
        self.figures.cpu.append(time.process_time() - cpu)
        if step.kind == "wait":
            if handle.wait is not None:
                self.figures.waits += 1
                self.waiting = handle
            else:
                self.figures.waits_missed += 1
        elif step.kind == "release" and self.waiting is not None:
            waiter, self.waiting = self.waiting, None
            if handle.result is not None and waiter.result is not None:
                self.figures.woken.append(waiter.result.finished - handle.result.finished)
        if handle.done.is_set() and handle.result is not None and handle.result.status != "ok":
            self.figures.failed[step.kind] = self.figures.failed.get(step.kind, 0) + 1
            if len(self.figures.first_failures) < 5:
                self.figures.first_failures.append(f"{step.pane}: {step.text} -> {handle.result.error}")
        return took

    async def checkpoint(self, done: int) -> None:
        """Memory, objects and server connections after `done` steps; a progress line."""
        assert self.ticker is not None
        with self.ticker.excluded():
            gc.collect(0)
            objects = len(gc.get_objects()) + gc.get_freeze_count()
            blocks = sys.getallocatedblocks()
            rss = rss_mb()
            count, opened = await connections(self.counter, self.url)
        point = Checkpoint(done, time.perf_counter() - self.started, rss, objects, blocks, count, opened)
        self.figures.checkpoints.append(point)
        recent = self.figures.steps[-self.args.every:] or [0.0]
        lags = self.figures.lags_shown or self.figures.lags
        base = self.figures.checkpoints[0]
        conns = "" if count is None or opened is None else (
            f", connections opened: {count - (base.connections or 0)} (server's count), {opened - (base.opened or 0)} (txplay's pools)")
        print(f"[soak] {done} steps, {point.seconds:.0f} s: RSS {rss:.0f} MB, {objects} objects, {blocks} blocks, "
              f"step p50 {statistics.median(recent) * 1000:.1f} ms max {max(recent) * 1000:.0f} ms, "
              f"loop stall max {max(lags, default=0):.0f} ms{conns}", file=sys.stderr, flush=True)

    async def run(self) -> Figures:
        """The soak; cut short after `--minutes` (the timeline's stretches then run at the history
        reached) or on SIGUSR1 (it stops after the step under way)."""
        args, figures = self.args, self.figures
        total = args.steps
        figures.shown_from = shown_from = max(0, total - args.stretch)
        figures.hidden_from = max(0, shown_from - args.stretch)
        deadline = self.started + args.minutes * 60 if args.minutes else None
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, AttributeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stop.set)
        steps = plan(args.seed)
        self.ticker = Ticker(0.010, figures.lags)
        await self.checkpoint(0)
        done = 0
        while done < total and not stop.is_set():
            if done == shown_from and args.stretch:
                await self.show_timeline()
            step = next(steps)
            figures.steps.append(await self.step(step))
            figures.kinds.append(step.kind)
            done += 1
            if deadline is not None and time.perf_counter() > deadline and done < shown_from - args.stretch:
                # Out of time: the hidden stretch is the steps still to come, then the shown one.
                total = done + 2 * args.stretch
                shown_from = done + args.stretch
                figures.hidden_from, figures.shown_from = done, shown_from
                print(f"[soak] out of time after {done} steps: {2 * args.stretch} more, the Timeline hidden then shown",
                      file=sys.stderr, flush=True)
            if done % args.every == 0 or done in (shown_from, total) or stop.is_set():
                await self.checkpoint(done)
        await self.ticker.stop()
        figures.shown_from = min(figures.shown_from, done)
        figures.hidden_from = min(figures.hidden_from, figures.shown_from)
        return figures

    async def show_timeline(self) -> None:
        """Show the Timeline tab (timed until the screen has caught up) and measure the loop apart from now on."""
        assert self.ticker is not None
        await self.ticker.stop()
        start = time.perf_counter()
        self.app.bottom.active = "tab-timeline"
        await asyncio.wait_for(self.app.waits.caught_up(), STEP_TIMEOUT * 5)
        await self.pilot.pause()
        self.figures.timeline_show_s = time.perf_counter() - start
        self.ticker = Ticker(0.010, self.figures.lags_shown)


async def soak(args: argparse.Namespace) -> Figures:
    """Open the app (4 panes), run the soak, close the app."""
    from playground.ui.app import make_app

    async with server(args.url) as (url, counter):
        with tempfile.TemporaryDirectory() as data:
            kwargs: dict[str, Any] = {"sessions": len(PANES), "history_dir": Path(data)}
            if url is not None:
                kwargs.update(url=url, isolate=True)
            app = make_app(**kwargs)
            async with app.run_test(size=(240, 60)) as pilot:
                await asyncio.wait_for(app.waits.opened.wait(), 60)
                assert app.workspace is not None, app.failure
                for pane in PANES:  # a lock wait lasts as long as it takes, never a timeout
                    await app.workspace.run(pane, "\\timeout 60")
                await pilot.pause()
                soak_run = Soak(app, pilot, args, counter, url)
                with collector_passes(soak_run.figures.full_passes, soak_run.figures.young_pass_max):
                    figures = await soak_run.run()
                await app.action_quit()
    return figures


# -- the report ------------------------------------------------------------------------------


def summary(figures: Figures, args: argparse.Namespace) -> dict[str, Any]:
    """The figures as numbers (what `--json` writes)."""
    points = figures.checkpoints
    steps = len(figures.steps)
    hidden = figures.steps[: figures.shown_from]
    first = next((p for p in points if p.steps >= min(FIRST, steps)), points[-1])
    growth_points = [p for p in points if first.steps <= p.steps <= figures.shown_from]
    if len(growth_points) < 3:  # a short run: growth from its first reading after a step on
        growth_points = [p for p in points if 0 < p.steps <= figures.shown_from]
    before = figures.steps[figures.hidden_from: figures.shown_from]
    # The steps no lock wait is part of: a step that waits is on screen once the wait is seen, and
    # the holder's COMMIT once the waiter's step has gone on too (their own rows below).
    free = [t for t, kind in zip(hidden, figures.kinds, strict=False) if kind not in LOCK_KINDS]
    by_kind = {kind: [t for t, k in zip(hidden, figures.kinds, strict=False) if k == kind] for kind in LOCK_KINDS}
    shown = figures.steps[figures.shown_from:]
    out: dict[str, Any] = {
        "steps": steps, "seed": args.seed, "url": args.url or "sqlite", "panes": len(PANES),
        "seconds": points[-1].seconds,
        "rss_mb_at_first_1000": first.rss_mb,
        "growth_from": growth_points[0].steps if growth_points else 0,
        "growth_to": growth_points[-1].steps if growth_points else 0,
        "rss_mb_growth_per_1000": slope([(p.steps / 1000, p.rss_mb) for p in growth_points]),
        "objects_at_first_1000": first.objects,
        "objects_growth_per_1000": slope([(p.steps / 1000, p.objects) for p in growth_points]),
        "blocks_growth_per_1000": slope([(p.steps / 1000, p.blocks) for p in growth_points]),
        "step_ms_p50": statistics.median(free) * 1000 if free else 0.0,
        "step_ms_p99": percentile(free, 0.99) * 1000,
        "step_ms_max": max(free, default=0.0) * 1000,
        **{f"{kind}_step_ms_{name}": value * 1000 for kind, times in by_kind.items()
           for name, value in (("p50", statistics.median(times) if times else 0.0), ("max", max(times, default=0.0)))},
        "woken_ms_p50": statistics.median(figures.woken) * 1000 if figures.woken else 0.0,
        "woken_ms_max": max(figures.woken, default=0.0) * 1000,
        "stall_ms_p99": percentile(figures.lags, 0.99),
        "stall_ms_max": max(figures.lags, default=0.0),
        "timeline_show_s": figures.timeline_show_s,
        "timeline_entries": figures.shown_from,
        "first_steps": first.steps,
        "step_cpu_ms_p50": statistics.median(figures.cpu[: figures.shown_from]) * 1000 if hidden else 0.0,
        "timeline_hidden_cpu_ms_p50": statistics.median(figures.cpu[figures.hidden_from: figures.shown_from] or [0.0]) * 1000,
        "timeline_shown_cpu_ms_p50": statistics.median(figures.cpu[figures.shown_from:] or [0.0]) * 1000,
        "timeline_hidden_step_ms_p50": statistics.median(before) * 1000 if before else 0.0,
        "timeline_shown_step_ms_p50": statistics.median(shown) * 1000 if shown else 0.0,
        "timeline_shown_step_ms_max": max(shown, default=0.0) * 1000,
        "timeline_shown_stall_ms_max": max(figures.lags_shown, default=0.0),
        "full_passes": len(figures.full_passes),
        "full_pass_ms_max": max(figures.full_passes, default=0.0),
        "young_pass_ms_max": figures.young_pass_max[0],
        "focus_switches": figures.focus_switches,
        "lock_waits": figures.waits, "lock_waits_missed": figures.waits_missed,
        "failed_steps": figures.failed, "first_failures": figures.first_failures,
        "checkpoints": [p.__dict__ for p in points],
    }
    if before and shown:
        out["timeline_ratio"] = out["timeline_shown_step_ms_p50"] / out["timeline_hidden_step_ms_p50"]
        out["timeline_cpu_ratio"] = out["timeline_shown_cpu_ms_p50"] / max(out["timeline_hidden_cpu_ms_p50"], 1e-6)
    if points[0].connections is not None and points[-1].steps:
        opened = points[-1].connections - points[0].connections  # type: ignore[operator]
        out["connections_opened"] = opened
        out["connections_per_1000"] = opened * 1000 / points[-1].steps
        out["pool_connections_opened"] = points[-1].opened - points[0].opened  # type: ignore[operator]
        out["pool_connections_per_1000"] = out["pool_connections_opened"] * 1000 / points[-1].steps
    return out


def table(s: dict[str, Any]) -> str:
    """The figures as the issue's second table asks for them."""
    rows = ["| figure | value | target | met |", "|---|---|---|---|"]

    def row(figure: str, value: str, target: str, met: bool | None) -> None:
        rows.append(f"| {figure} | {value} | {target} | {'–' if met is None else 'yes' if met else 'no'} |")

    row(f"RSS after the first {s['first_steps']:,} steps", f"{s['rss_mb_at_first_1000']:.0f} MB; {s['objects_at_first_1000']:,} Python objects", "–", None)
    row(f"RSS growth per 1,000 steps (fitted from step {s['growth_from']:,} to {s['growth_to']:,})",
        f"{s['rss_mb_growth_per_1000']:.1f} MB; {s['objects_growth_per_1000']:,.0f} objects, "
        f"{s['blocks_growth_per_1000']:,.0f} blocks of Python's allocator", "≤ 1 MB",
        s["rss_mb_growth_per_1000"] <= 1.0 if s["growth_to"] - s["growth_from"] >= FIRST else None)
    row("longest step (Enter → echo on screen), timeline hidden, every step but a lock wait's two",
        f"{s['step_ms_max']:.0f} ms (p99 {s['step_ms_p99']:.0f} ms, p50 {s['step_ms_p50']:.1f} ms; CPU p50 {s['step_cpu_ms_p50']:.1f} ms)",
        "≤ 100 ms", s["step_ms_max"] <= 100)
    row("a step that waits on a lock: Enter → the wait on screen", f"p50 {s['wait_step_ms_p50']:.0f} ms, max {s['wait_step_ms_max']:.0f} ms",
        "≤ 500 ms (lock-wait detection)", s["wait_step_ms_max"] <= 500)
    row("the holder's COMMIT/ROLLBACK: Enter → it and the waiter's step on screen",
        f"p50 {s['release_step_ms_p50']:.0f} ms, max {s['release_step_ms_max']:.0f} ms; of it, the waiter's step ended "
        f"p50 {s['woken_ms_p50']:.0f} ms, max {s['woken_ms_max']:.0f} ms after the holder's", "–", None)
    row("longest event-loop stall (10 ms ticker), timeline hidden", f"{s['stall_ms_max']:.0f} ms (p99 {s['stall_ms_p99']:.1f} ms)",
        "≤ 100 ms", s["stall_ms_max"] <= 100)
    row("the collector's passes", f"{s['full_passes']} full, the longest {s['full_pass_ms_max']:.0f} ms; the longest young "
        f"pass {s['young_pass_ms_max']:.0f} ms", "–", None)
    if "timeline_ratio" in s:
        row(f"step time with the Timeline shown vs hidden ({s['timeline_entries']:,} entries and more)",
            f"p50 {s['timeline_shown_step_ms_p50']:.1f} ms vs {s['timeline_hidden_step_ms_p50']:.1f} ms "
            f"({s['timeline_ratio']:.2f}×; CPU p50 {s['timeline_shown_cpu_ms_p50']:.1f} ms vs {s['timeline_hidden_cpu_ms_p50']:.1f} ms, "
            f"{s['timeline_cpu_ratio']:.2f}×); showing the tab took {s['timeline_show_s']:.2f} s; while shown: longest step "
            f"{s['timeline_shown_step_ms_max']:.0f} ms, stall {s['timeline_shown_stall_ms_max']:.0f} ms",
            "± 10 %", abs(s["timeline_ratio"] - 1) <= 0.10)
    if "connections_per_1000" in s:
        row("server connections opened per 1,000 steps", f"{s['connections_per_1000']:.1f} as the server counts them "
            f"({s['connections_opened']} in {s['steps']:,} steps; MariaDB's count is server-wide); "
            f"{s['pool_connections_per_1000']:.1f} as txplay's pools count them ({s['pool_connections_opened']})",
            f"≤ {s['panes'] + 2}", s["pool_connections_per_1000"] <= s["panes"] + 2)
    failed = ", ".join(f"{kind} {n}" for kind, n in sorted(s["failed_steps"].items())) or "none"
    row("the run", f"{s['steps']:,} steps in {s['seconds']:.0f} s on {s['url'].split(':')[0]}; {s['lock_waits']} lock waits "
        f"({s['lock_waits_missed']} did not wait); {s['focus_switches']} focus switches; failed steps: {failed}", "–", None)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--url", help="a PostgreSQL or MariaDB server (default: SQLite in a temporary folder)")
    parser.add_argument("--stretch", type=int, default=200, help="steps with the Timeline hidden, then shown, at the end")
    parser.add_argument("--keys", action="store_true", help="type each step key by key (default: paste it, then Enter)")
    parser.add_argument("--every", type=int, default=1000, help="steps between progress lines and memory readings")
    parser.add_argument("--minutes", type=float, help="cut the soak short after this long (the Timeline's stretches still run)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    args.stretch = min(args.stretch, args.steps // 2)
    figures = asyncio.run(soak(args))
    numbers = summary(figures, args)
    print(table(numbers))
    for failure in numbers["first_failures"]:
        print(f"  failed: {failure}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")


if __name__ == "__main__":
    main()
