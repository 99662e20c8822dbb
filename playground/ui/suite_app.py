"""A database's own isolation test opened live: `txplay --scenario FILE.spec --url postgresql://…`
(a PostgreSQL isolation spec) or `txplay --scenario FILE.test --url mysql://…` (a MariaDB mysqltest file).

One pane per session of the spec (connection of the test, a pane appearing as `connect` runs), F10
a step (a statement), a spec's permutation chosen in the command palette, each wait shown with its
holder in the lock graph, and the output so far compared with the expected file beside the file.
The sessions are connections driven by a `playground.suites.live.LiveController` (`LiveSpec`,
`LiveMysqltest`), not workspace sessions; every call to it blocks, so each runs on a thread of its
own and the screen draws the snapshots it publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from playground.engine.snapshot import LockWait
from playground.suites import SuiteError
from playground.suites.live import LiveController, LiveSnapshot, LiveSpec, Phase
from playground.ui.spec_banner import SpecBanner
from playground.ui.spec_commands import SpecCommands
from playground.ui.spec_pane import SpecPane
from playground.ui.views.lock_graph import LockGraph

T = TypeVar("T")
DRAW_INTERVAL = 1 / 30
QUIT_TIMEOUT = 3.0  # seconds ctrl+q gives the teardown before it leaves anyway

BINDINGS: list[BindingType] = [
    Binding("f10", "next_step", "Next step", priority=True),
    Binding("ctrl+r", "restart", "Restart", priority=True),
    Binding("f9", "cancel", "Cancel wait", priority=True),
    Binding("ctrl+c", "cancel", "Cancel wait", show=False, priority=True),
    Binding("ctrl+s", "screenshot", "Screenshot", priority=True),
    Binding("ctrl+q", "quit", "Quit", priority=True),
]


async def in_thread(call: Callable[[], T]) -> T:
    """Run a blocking call on a daemon thread of its own: the app's loop never waits on the
    database, and leaving never waits for a call stuck there."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def run() -> None:
        try:
            value = call()
        except BaseException as exc:
            outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
        else:
            outcome = (future.set_result, value)
        with contextlib.suppress(RuntimeError):  # the app's loop has closed meanwhile
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="txplay-spec", daemon=True).start()
    return await future


class SpecApp(App[int]):
    """A spec's sessions (a mysqltest file's connections) side by side, stepped through one step at a time."""

    CSS_PATH = "suite_app.tcss"
    TITLE = "txplay"
    COMMANDS = App.COMMANDS | {SpecCommands}
    BINDINGS = BINDINGS

    class Changed(Message, bubble=False):
        """The spec's state changed (posted from the thread running a call)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, SpecApp.Changed)

    def __init__(self, live: LiveController) -> None:
        super().__init__()
        self.live = live
        self.display_url = live.display_url
        live.on_change = self._changed
        self.failure: str | None = None  # why the spec could not be opened
        self.latest: LiveSnapshot | None = None
        self.idle = asyncio.Event()  # set while no call runs (tests and scripts wait on it)
        self.opened = asyncio.Event()  # set once the spec is open, or could not be
        self._calls = 0
        self._draw_pending = False
        self._shown_output = ""
        self.banner = SpecBanner(id="spec-banner")
        self.panes = [SpecPane(name) for name in live.session_names()]
        # Every pane ever shown, by session: one that goes (a restart's new run has not connected it
        # yet) is hidden and shown again, never removed and mounted anew under the same id.
        self._pool = {pane.session_name: pane for pane in self.panes}
        self.lock_graph = LockGraph(id="spec-lock-graph")
        self.output = Static("", id="spec-output-text", markup=False)
        hint = "F10 next step · ctrl+p permutations" if live.labels() else "F10 next statement · F9 kill a waiting one"
        self.status_line = Static(f"{self.display_url} · {hint}", id="spec-status", markup=False)

    def compose(self) -> ComposeResult:
        yield self.banner
        with Horizontal(id="spec-panes"):
            yield from self.panes
        with Horizontal(id="spec-bottom"):
            yield self.lock_graph
            yield VerticalScroll(self.output, id="spec-output")
        yield self.status_line
        yield Footer()

    @property
    def permutation_labels(self) -> list[str]:
        """Each permutation as its line in the spec writes it (the palette lists them)."""
        return self.live.labels()

    def pane(self, name: str) -> SpecPane:
        """The pane of session `name`."""
        return next(p for p in self.panes if p.session_name == name)

    async def on_mount(self) -> None:
        self.lock_graph.border_title = "Lock graph"
        self.query_one("#spec-output").border_title = f"Output, as {self.live.tool} prints it"
        self.set_interval(0.5, self._tick)
        self.idle.clear()
        try:
            await in_thread(self.live.open)
        except Exception as exc:
            self.failure = f"txplay: cannot open {self.live.source} on {self.display_url}: {exc}"
            self.exit(return_code=2)
            return
        finally:
            self.opened.set()
            self.idle.set()
        self._draw()

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # leaving never fails: the server rolls back what is left
            await asyncio.wait_for(in_thread(self.live.close), QUIT_TIMEOUT)

    # -- calls on threads --------------------------------------------------------------------

    def _in_thread(self, call: Callable[[], T], then: Callable[[T], None] | None = None) -> None:
        """Run a LiveSpec call on a thread, then `then` with its result; the screen shows the outcome."""
        self._calls += 1
        self.idle.clear()
        self.run_worker(self._call(call, then), group="spec", exclusive=False)

    async def _call(self, call: Callable[[], T], then: Callable[[T], None] | None) -> None:
        try:
            result = await in_thread(call)
            if then is not None:
                then(result)
        except Exception as exc:
            self.notify(str(exc), severity="error", timeout=8)
        finally:
            self._calls -= 1
            self._draw()
            if not self._calls:
                self.idle.set()

    def action_next_step(self) -> None:
        """Run the next step of the permutation (after its end: the next permutation)."""
        if self._calls:
            self.notify("the step before still runs; F9 cancels a stuck wait", severity="warning", timeout=3)
            return
        self._in_thread(self.live.step)

    def action_restart(self) -> None:
        """Set the permutation up again from its first step."""
        self._in_thread(self.live.restart)

    def choose(self, index: int) -> None:
        """Leave the permutation (rolling back, tearing down) and set permutation `index` up."""
        self._in_thread(lambda: self.live.choose(index))

    def action_cancel(self) -> None:
        """Cancel the steps still waiting (a wait that would never end, a marker holding one back)."""
        self._in_thread(self.live.cancel, self._canceled)

    def _canceled(self, sessions: list[str]) -> None:
        if not sessions:
            self.notify("no step waits", timeout=3)
        elif self.live.busy:
            self.notify(f"canceled the waiting step of {', '.join(sessions)}", timeout=4)
        else:
            self.notify(f"canceled the waiting step of {', '.join(sessions)}: F10 reports how it ended", timeout=6)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG screenshot (in the current folder unless `path` says where)."""
        saved = self.save_screenshot(filename, path or ".")
        self.notify(f"screenshot saved: {saved}")

    # -- drawing -----------------------------------------------------------------------------

    def _changed(self) -> None:
        """LiveSpec's news, from the thread of a call: drawn on the app's loop."""
        self.post_message(self.Changed())

    def on_spec_app_changed(self, message: Changed) -> None:
        if not self._draw_pending:
            self._draw_pending = True
            self.set_timer(DRAW_INTERVAL, self._draw)

    def _tick(self) -> None:
        # A wait's "for N s" counts up while nothing else happens.
        if self.latest is not None and self.latest.edges:
            self._draw()

    def _draw(self) -> None:
        self._draw_pending = False
        if not self.is_running or self.live.phase == Phase.CLOSED:
            return
        snap = self.latest = self.live.snapshot()
        self.banner.show(snap)
        next_position = snap.upcoming[0].position if snap.upcoming else None
        self._sync_panes([view.name for view in snap.sessions])
        for pane, view in zip(self.panes, snap.sessions, strict=True):
            pane.show(view, next_position)
        waits = tuple(LockWait(e.waiter, e.holders, e.lock, e.since, e.statement) for e in snap.edges)
        self.lock_graph.show(waits, time.monotonic())
        shown = snap.output.lstrip("\n") or "(nothing printed yet)"
        if shown != self._shown_output:
            self._shown_output = shown
            self.output.update(shown)
            self.query_one("#spec-output").scroll_end(animate=False)


    def _sync_panes(self, names: list[str]) -> None:
        """One pane a session of the snapshot: a mysqltest connection's pane comes as `connect`
        runs, and is hidden when a restart begins a run without it (shown again, with its new log,
        when the run connects it)."""
        if [p.session_name for p in self.panes] == names:
            return
        container = self.query_one("#spec-panes")
        for pane in self.panes:
            if pane.session_name not in names:
                pane.display = False
        panes: list[SpecPane] = []
        for name in names:
            if name not in self._pool:
                self._pool[name] = SpecPane(name)
                container.mount(self._pool[name])
            self._pool[name].display = True
            panes.append(self._pool[name])
        self.panes = panes


def make_spec_app(path: str, url: str | None) -> SpecApp:
    """The app for the spec (`.test`: the mysqltest file) at `path` on `url`; SuiteError
    (`file:line: reason`) when the file does not load or the URL is not of its database. Nothing
    is run yet."""
    from playground.suites.isolation import check_backend
    from playground.suites.spec import load

    if path.endswith(".test"):
        from playground.suites.live_mysqltest import LiveMysqltest

        return SpecApp(LiveMysqltest(path, url))

    spec = load(path)
    check_backend(spec, url)
    assert url is not None
    return SpecApp(LiveSpec(spec, url))


def run_spec_app(path: str, url: str | None) -> int:
    """`txplay --scenario FILE.spec` (or FILE.test): refuse a bad file or URL (exit 2, before the
    screen opens), else open it live; the exit code is the app's."""
    from playground.cli import database_problem

    try:
        app = make_spec_app(path, url)
    except SuiteError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return 2
    assert url is not None
    problem = database_problem(url)
    if problem:
        print(f"txplay: {problem}", file=sys.stderr)
        return 2
    app.run(headless=bool(os.environ.get("TXPLAY_HEADLESS")))
    if app.failure:
        print(app.failure, file=sys.stderr)
    return app.return_code or 0
