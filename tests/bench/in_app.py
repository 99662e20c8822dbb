"""The figures measured in the running app: panel refresh, the event loop's lag, keystroke to echo.

Used by tests/bench/run.py (and the Ticker and key sending by tests/bench/soak.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any


# -- in the app: panel refresh, responsiveness -----------------------------------------------


async def _insert_items(ws, n: int) -> None:
    result = await ws.run("A", (
        "insert into items (id, name, stock) with recursive c(x) as (select 100 union all "
        f"select x + 1 from c where x < {99 + n}) select x, 'item ' || x, x from c"
    ))
    assert result.status == "ok", result.error
    await ws.run("A", "commit")


@contextlib.asynccontextmanager
async def open_app(size: tuple[int, int], **options: Any) -> AsyncIterator[tuple[Any, Any]]:
    """The real app under Pilot at `size`, once its database is open (the panes are drawn first)."""
    from playground.ui.app import make_app

    app = make_app(history_dir=Path(tempfile.mkdtemp()), **options)
    async with app.run_test(size=size) as pilot:
        await app.waits.opened.wait()
        await pilot.pause()
        yield app, pilot


async def bench_panel_refresh(runs: int, n_objects: int) -> dict:

    samples: list[float] = []
    async with open_app(size=(200, 60)) as (app, pilot):
        ws = app.workspace
        await _insert_items(ws, n_objects)
        await ws.run("A", "held = session.scalars(select(Item)).all()")
        app._latest = ws.snapshot()
        app._draw()
        await pilot.pause()
        for i in range(runs * 20):
            await ws.run("A", f"held[{i}].stock = {-i}")
            start = time.perf_counter()
            app._latest = ws.snapshot()
            app._draw()
            samples.append((time.perf_counter() - start) * 1000)
            await pilot.pause()
        held = len(ws.snapshot().session("A").objects)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return against_target(f"panel refresh ({held} objects held)", f"p50 {p50:.2f} ms, p95 {p95:.2f} ms", p95, 3.3, "no regression")


def against_target(figure: str, value: str, measured_ms: float, target_ms: float, why: str) -> dict:
    """A row of run.py's table whose reference is issue 19's target in milliseconds."""
    return {"figure": figure, "value": value, "reference": f"{target_ms:g} ms (the issue's target; {why})",
            "ratio": measured_ms / target_ms, "target": 1.0}


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile (0-1) of `values`, nearest rank below (0 for none)."""
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)] if ordered else 0.0


class Ticker:
    """Sleeps `period` over and over, noting how late each wake-up is (the event loop's lag, ms).

    `excluded()` marks the benchmark's own pauses (counting objects, reading the server's
    counters): a wake-up delayed by one is not noted.
    """

    def __init__(self, period: float, lags: list[float]) -> None:
        self.period, self.lags, self.running = period, lags, True
        self.epoch = 0  # moved at both ends of an excluded stretch
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self.running:
            epoch, start = self.epoch, time.perf_counter()
            await asyncio.sleep(self.period)
            if epoch == self.epoch:
                self.lags.append((time.perf_counter() - start - self.period) * 1000)

    @contextlib.contextmanager
    def excluded(self) -> Iterator[None]:
        """A stretch of the benchmark's own work, left out of the lags."""
        self.epoch += 1
        try:
            yield
        finally:
            self.epoch += 1

    async def stop(self) -> None:
        self.running = False
        await self.task


async def _three_waiting(ws) -> list:
    """A holds a row, and B, C and D wait on it (their handles); E is free to run steps."""
    for name in ws.sessions:
        await ws.run(name, "\\timeout 60")
    await ws.run("A", "update items set stock = 0 where id = 1")
    waiting = [ws.submit(name, f"update items set stock = {i} where id = 1") for i, name in enumerate("BCD")]
    await ws.settle()
    assert all(h.wait is not None for h in waiting), "B, C and D should wait on A"
    return waiting


async def _release(ws, waiting: list) -> None:
    """Each waiter gets the lock in turn: roll A back, then each waiter once its step is done."""
    await ws.run("A", "rollback")
    for name, handle in zip("BCD", waiting, strict=False):
        await handle.done.wait()
        await ws.run(name, "rollback")


async def bench_responsiveness(runs: int) -> dict:

    lags: list[float] = []
    async with open_app(sessions=5, size=(220, 60)) as (app, pilot):
        ws = app.workspace
        waiting = await _three_waiting(ws)
        ticker = Ticker(0.010, lags)
        # CPU time of the event loop's thread (drawing included): steadier than lag on a busy machine.
        cpu = time.thread_time()
        for i in range(runs * 200):
            await ws.run("E", "select count(*) from items" if i % 2 else "x = session.get(User, 1)")
            await asyncio.sleep(0.005)
        cpu_per_step = (time.thread_time() - cpu) / (runs * 200) * 1000
        await ticker.stop()
        await _release(ws, waiting)
    p99 = percentile(lags, 0.99)
    value = f"p50 {statistics.median(lags):.2f} ms, p99 {p99:.2f} ms lag; {cpu_per_step:.2f} ms CPU/step"
    return against_target("responsiveness (3 waiting, 1 running)", value, p99, 8.0, "10 ms ticker")


def _send_keys(app, keys: list[str]) -> None:
    from textual import events
    from textual.keys import _character_to_key

    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, "\r" if key == "enter" else key)
        event.set_sender(app)
        app._driver.send_message(event)


async def bench_cpu_bound(runs: int) -> dict:
    """The event loop's lag while A runs `while True: pass` and steps are typed into B."""

    lags: list[float] = []
    quits: list[float] = []
    for _ in range(runs):
        async with open_app(sessions=2, size=(200, 50)) as (app, pilot):
            ws = app.workspace
            looping = ws.submit("A", "while True: pass")
            while app.latest is None or app.latest.session("A").running is None:  # looping for a moment
                await asyncio.sleep(0.01)
            app.pane("B").input.focus()  # a focus change redraws the footer: not part of the figure
            await asyncio.sleep(0.5)
            ticker = Ticker(0.010, lags)
            for i in range(40):
                # As a terminal sends them: Pilot's press() waits for the process to go idle,
                # which it never does while A loops.
                _send_keys(app, [*f"select {i}", "enter"])
                while ws.last_index < looping.index + i + 1:
                    await asyncio.sleep(0.005)
                await ws.handle(ws.last_index).done.wait()
                await asyncio.sleep(0.02)
            await ticker.stop()
            assert not looping.done.is_set(), "A's loop should still run"
            start = time.perf_counter()
            await app.action_quit()
        quits.append((time.perf_counter() - start) * 1000)
    p99 = percentile(lags, 0.99)
    value = (f"p50 {statistics.median(lags):.2f} ms, p99 {p99:.2f} ms lag; "
             f"ctrl+q during the loop: app ended in p50 {statistics.median(quits):.0f} ms, max {max(quits):.0f} ms")
    return against_target("responsiveness (1 session in a CPU-bound loop, typing in another)", value, p99, 16.7, "one frame at 60 Hz")


# -- keystroke to echo --------------------------------------------------------------------------


def _text(part) -> str:
    """The characters of a Strip, or of an iterable of Strips."""
    text = getattr(part, "text", None)
    return text if isinstance(text, str) else "".join(_text(piece) for piece in part)


def update_shows(update, region, text: str) -> bool:
    """Whether a screen update (Textual's compositor's) draws `text` on a row of `region`."""
    from textual._compositor import ChopsUpdate, LayoutUpdate

    for y in range(region.y, region.bottom):
        if isinstance(update, ChopsUpdate):
            if y >= len(update.chops):
                continue
            line = "".join(strip.text for x, strip in sorted(update.chops[y].items())
                           if strip is not None and region.x <= x < region.right)
        elif isinstance(update, LayoutUpdate) and update.region.y <= y < update.region.bottom:
            line = _text(update.strips[y - update.region.y])
        else:
            continue
        if text in line:
            return True
    return False


class EchoWatch:
    """Notes when the screen first shows a field's expected text: at the app's display of an
    update, once the update has been turned into what a terminal is sent (the headless driver
    sends nothing, so that is where the screen would change)."""

    def __init__(self, app, field) -> None:
        self.app, self.field = app, field
        self.expected: str | None = None
        self.shown: asyncio.Future[float] | None = None
        self._display = app._display
        app._display = self._displayed  # this app's screens draw through here (Textual's App._display)

    def expect(self, text: str) -> asyncio.Future[float]:
        """A future that gets the time the screen first shows `text` in the field."""
        self.expected, self.shown = text, asyncio.get_running_loop().create_future()
        return self.shown

    def _displayed(self, screen, update) -> None:
        self._display(screen, update)
        if update is None or self.expected is None or self.field.text != self.expected:
            return
        update.render_segments(self.app.console)  # what the terminal driver would write
        if update_shows(update, self.field.region, self.expected) and self.shown is not None and not self.shown.done():
            self.shown.set_result(time.perf_counter())
            self.expected = None


async def _steps_back_to_back(ws, name: str, running: list[bool]) -> None:
    i = 0
    while running[0]:
        await ws.run(name, "select count(*) from items" if i % 2 else "x = session.get(User, 1)")
        await asyncio.sleep(0.005)
        i += 1


async def bench_keystroke_echo(runs: int) -> dict:
    """From a key posted to the app (as the terminal's driver posts it) to the screen update that
    shows the character, typed into A (which holds a row) while B, C and D wait on A and E runs
    steps back to back; `select N` typed a key every 30 ms, then Enter (A runs it)."""

    samples: list[float] = []
    keys = max(200, runs * 50)
    async with open_app(sessions=5, size=(220, 60)) as (app, pilot):
        ws = app.workspace
        waiting = await _three_waiting(ws)
        running = [True]
        steps = asyncio.create_task(_steps_back_to_back(ws, "E", running))
        field = app.pane("A").input
        field.focus()
        await pilot.pause()
        watch = EchoWatch(app, field)
        word = 0
        while len(samples) < keys:
            for key in f"select {word}":
                shown = watch.expect(field.text + key)
                start = time.perf_counter()
                _send_keys(app, [key])
                samples.append((await asyncio.wait_for(shown, 30) - start) * 1000)
                await asyncio.sleep(0.03)
            _send_keys(app, ["enter"])
            while field.text:  # submitted: the input is cleared
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
            word += 1
        running[0] = False
        await steps
        await ws.settle()
        await _release(ws, waiting)
    p99 = percentile(samples, 0.99)
    value = f"p50 {statistics.median(samples):.2f} ms, p99 {p99:.2f} ms, max {max(samples):.1f} ms over {len(samples)} keys"
    return against_target("keystroke to echo on screen (3 waiting, 1 running)", value, p99, 16.7, "one frame at 60 Hz")
