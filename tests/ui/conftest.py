"""Helpers for driving the real app."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from textual.command import CommandPalette
from textual.worker import WorkerCancelled

from playground.ui.app import make_app

TIMEOUT = 30.0
"""How long a wait may last before the test fails instead of hanging (a guard: no test waits it out)."""


@pytest.fixture
def app_factory(tmp_path):
    """Build the app exactly as `txplay` does, with history kept in a temporary folder.

    The app draws its panes before its database is open; `run_test` here hands over the pilot
    once it is (`opened=False`: at once, as the app starts).
    """

    def build(opened: bool = True, **kwargs):
        kwargs.setdefault("history_dir", tmp_path / "data")
        app = make_app(**kwargs)
        if opened:
            run_test = app.run_test

            @contextlib.asynccontextmanager
            async def run_test_opened(*args, **kw):
                async with run_test(*args, **kw) as pilot:
                    await until_opened(pilot)
                    yield pilot

            app.run_test = run_test_opened
        return app

    return build


async def until_opened(pilot) -> None:
    """Wait until the app has opened its workspace (or given up), and let it paint."""
    await asyncio.wait_for(pilot.app.waits.opened.wait(), TIMEOUT)
    await pilot.pause()


def palette_watch():
    """An event set when the command palette opens, and the message hook that sets it."""
    opened = asyncio.Event()

    def hook(message) -> None:
        if isinstance(message, CommandPalette.Opened):
            opened.set()

    return opened, hook


def log_text(pane) -> str:
    """A pane's log, as text."""
    return "\n".join(line.text for line in pane.log_view.lines)


async def type_in(pilot, pane: str, text: str) -> None:
    """Focus a pane's input, type `text` and press Enter."""
    app = pilot.app
    app.pane(pane).input.focus()
    await pilot.pause()
    app.pane(pane).input.insert(text)
    await pilot.press("enter")


async def unless_crashed(app, waiting, timeout: float = TIMEOUT):
    """Await `waiting`, but fail at once, naming the app's error, if the app was taken down meanwhile
    (a crashed app handles no more messages, so the wait would only run into its timeout)."""
    task = asyncio.ensure_future(waiting)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not task.done():
            error = app._exception
            if error is not None:
                raise AssertionError(f"the app was taken down: {type(error).__name__}: {error}") from error
            if loop.time() > deadline:
                raise TimeoutError(f"not caught up within {timeout} s")
            await asyncio.wait({task}, timeout=0.05)
        return task.result()
    finally:
        task.cancel()


async def caught_up(pilot) -> None:
    """Wait until the app has caught up with every step and pane action, then let it paint."""
    await unless_crashed(pilot.app, pilot.app.waits.caught_up())
    await pilot.pause()


async def step_done(pilot, index: int) -> None:
    """Wait until step `index` has finished and the screen has caught up."""
    await asyncio.wait_for(pilot.app.workspace.handle(index).done.wait(), TIMEOUT)
    await caught_up(pilot)


async def workers_done(pilot) -> None:
    """Wait until the app's workers have ended (an exclusive one replaced by a newer one included)."""
    while True:
        try:
            await asyncio.wait_for(pilot.app.workers.wait_for_complete(), TIMEOUT)
            return
        except WorkerCancelled:
            continue


async def demo_step(pilot) -> None:
    """Press F10 and wait until the demo has run the step and the screen has caught up."""
    await pilot.press("f10")
    await asyncio.wait_for(pilot.app.demo.idle.wait(), TIMEOUT)
    await caught_up(pilot)


async def run_in(pilot, pane: str, text: str):
    """Type a step and wait for it to finish; returns its result."""
    await type_in(pilot, pane, text)
    ws = pilot.app.workspace
    index = ws.last_index
    await step_done(pilot, index)
    return ws.handle(index).result


async def show_big_table(pilot, rows: int):
    """Commit a table `big` of `rows` rows and show it in the committed-data view."""
    app = pilot.app
    ws = app.workspace
    await ws.run_outside("create table big (id integer primary key, v text, note text)")
    await ws.run_outside(
        f"insert into big (id, v, note) with recursive c(x) as (select 1 union all select x + 1 from c where x < {rows}) "
        "select x, 'row ' || x, hex(randomblob(8)) from c"
    )
    app.committed.reread(tables=True)
    await app.workers.wait_for_complete()
    app.committed.select.value = "big"
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    view = app.committed.rows
    assert view.table == "big" and view.total == rows, (view.table, view.total)
    return view


def drawn(widget) -> str:
    """What `widget` shows on screen now, line by line, as plain text."""
    from textual.geometry import Region

    width, height = widget.size
    strips = widget.render_lines(Region(0, 0, width, height))
    return "\n".join("".join(segment.text for segment in strip).rstrip() for strip in strips)


async def until(pilot, predicate, timeout: float = TIMEOUT) -> None:
    """Let the app handle its messages until `predicate()` holds."""

    async def poll() -> None:
        while not predicate():
            await pilot.pause()

    await asyncio.wait_for(poll(), timeout)


async def palette(pilot, opened: asyncio.Event, command: str) -> None:
    """Run a command from the command palette, as a user does."""
    opened.clear()
    await pilot.press("ctrl+p")
    await asyncio.wait_for(opened.wait(), TIMEOUT)
    await workers_done(pilot)
    await pilot.press(*command)
    await workers_done(pilot)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
