"""The txplay app: session panes side by side, the views across them, lock waits and demo mode.

The app opens the workspace, forwards its events and snapshots to the widgets, and turns keys
into actions. The rest lives beside it: the widgets (session_panes, session_pane, panels/,
views/, status_line, demo_banner), what tests wait on (waits), the keys (keys), focus and zoom
(navigation), opening the workspace (opening), step events into the logs (step_reporter),
demo mode (demo) and the command palette (commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, ComposeResult
from textual.widgets import TabbedContent

from playground.engine.events import StateChanged, StepFinished, StepStarted
from playground.engine.language import COMMANDS
from playground.engine.snapshot import WorkspaceSnapshot
from playground.engine.states import StepKind
from playground.ui.collector import Collector
from playground.ui.commands import TxplayCommands
from playground.ui.compositor import TxplayScreen
from playground.ui.demo_banner import DemoBanner
from playground.ui.history import History, history_path
from playground.ui.key_footer import KeyFooter
from playground.ui.keys import BINDINGS, DEMO_ACTIONS, key_help
from playground.ui.messages import WorkspaceEvent
from playground.ui.navigation import Navigation
from playground.ui.opening import AppConfig, cannot_open, open_workspace, scenario_url, session_names
from playground.ui.recording import AppRecording
from playground.ui.session_pane import SessionPane
from playground.ui.session_panes import SessionPanes
from playground.ui.status_line import StatusLine
from playground.ui.startup import Startup, when_open
from playground.ui.step_reporter import StepReporter
from playground.ui.views.committed_view import CommittedView, may_change_committed
from playground.ui.views.cross_views import CrossViews
from playground.ui.views.matrix_view import MatrixView, narration
from playground.ui.waits import Waits, pane_action

if TYPE_CHECKING:
    from playground.engine import Workspace
    from playground.ui.demo import DemoController

DRAW_INTERVAL = 1 / 30
# ctrl+q leaves within a second whatever the sessions do (Workspace.close gives a busy one less).
QUIT_TIMEOUT = 0.8
# A matrix run stopped by quitting gets this long to roll back and drop its schemas.
MATRIX_QUIT_TIMEOUT = 5.0
# Leave as ctrl+q does (terminal restored, sessions rolled back, temporary database removed). In a
# terminal ctrl+c is a key, never SIGINT: that comes from `kill -INT` or a supervising process.
LEAVING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))
__all__ = ["AppConfig", "TxplayApp", "make_app"]


class TxplayApp(App[int]):
    """Several sessions side by side on one database."""

    CSS_PATH = "app.tcss"
    TITLE = "txplay"
    COMMANDS = App.COMMANDS | {TxplayCommands}
    BINDINGS = BINDINGS

    def __init__(self, config: AppConfig, scenario: Any = None, models: Any = None) -> None:
        super().__init__()
        self.config = config
        self.scenario = scenario
        self.models = models
        self.workspace: Workspace | None = None
        self.waits = Waits(self)  # what callers and tests wait on (see playground/ui/waits.py)
        self._latest: WorkspaceSnapshot | None = None
        self._draw_pending = False
        self.collector = Collector()
        self._unsubscribe: Any = None
        self.demo: DemoController | None = None
        self.failure: str | None = None  # why the database could not be opened (set by `_open`)
        self.signalled = False  # a leaving signal (SIGTERM, SIGHUP, SIGINT) arrived
        # How long quitting waits for the sessions to roll back and the workspace to close; a web
        # visitor's process waits longer, since its schema/database must be dropped before it ends.
        self.quit_timeout = QUIT_TIMEOUT
        self.status_line = StatusLine(id="status-line")
        self.banner = DemoBanner(id="demo-banner")
        self.panes = SessionPanes(id="panes")
        self.bottom = CrossViews(id="bottom")
        self.committed = self.bottom.committed
        self.lock_graph = self.bottom.lock_graph
        self.timeline = self.bottom.timeline
        self.matrix = self.bottom.matrix
        self.footer = KeyFooter()
        self.navigation = Navigation(self, self.panes, self.bottom)
        self.recording = AppRecording(self, config.record)  # ctrl+e saves it, ctrl+z steps back
        self.steps = StepReporter(self.panes, lambda: key_help(self, demo=self.demo is not None))
        self.startup = Startup(self)  # opens the workspace once the panes are drawn

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.banner
        with self.panes:  # drawn at once, each saying `opening database…` until its session is open
            for name in session_names(self.config, self.scenario):
                yield SessionPane(name, History(None), lambda name=name: self._completions(name))  # type: ignore[misc]
        yield self.status_line

    def get_default_screen(self) -> TxplayScreen:
        return TxplayScreen(id="_default")

    def on_resize(self, event: Any) -> None:
        self._fit_screen()

    def _fit_screen(self) -> None:
        # Small terminals (a projector at 100×30) give the panes the room; a narrow footer
        # packs its keys closer so that zoom, panels and quit stay in sight.
        self.screen.set_class(self.size.height < 40, "-compact")
        self.footer.compact = self.size.width < 120

    def on_mount(self) -> None:
        self._fit_screen()
        self.banner.display = self.scenario is not None
        self._leave_on_signals()
        self.set_interval(0.2, self._tick_waits)
        self.set_interval(0.25, self.collector.tick)
        first = self.query(SessionPane).first()
        first.input.focus()
        # The workspace opens once the panes are on screen (see playground/ui/startup.py).
        self.call_after_refresh(self._drawn)

    async def _drawn(self) -> None:
        self.waits.drawn.set()
        # The views across panes and the keys come a frame after the panes (they cost as much to lay out).
        await self.mount(self.bottom, before=self.status_line)
        await self.mount(self.footer)
        self.startup.begin()

    def _leave_on_signals(self) -> None:
        """SIGTERM and SIGHUP leave as ctrl+q does, so the terminal is restored (no raw mode left behind)."""
        loop = asyncio.get_running_loop()
        for number in LEAVING_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, self._signal_received)

    def _signal_received(self) -> None:
        self.signalled = True  # perhaps while the database opens: its panes are not mounted then
        self.exit()

    async def open_first_workspace(self) -> bool:
        """Open the workspace (demo mode's, with a scenario); on failure say why and leave with exit code 2."""
        try:
            if self.scenario is not None:
                from playground.ui.demo import DemoController  # demo mode only

                self.demo = DemoController(self.scenario, self.config.url, self.panes, self.banner)
                self.workspace = await self.demo.open()
                self._say_database_spared()
            else:
                self.workspace = await open_workspace(self.config, self.models)
        except Exception as exc:
            self.failure = cannot_open(self.config, self.scenario, exc)
            # The process's exit code is `return_code` (`exit(2)` only sets the app's result): 2,
            # as for invalid arguments (DESIGN §4).
            self.exit(return_code=2)
            return False
        return True

    async def bind_workspace(self) -> None:
        """Show the workspace just opened: its panes, its events, its committed data."""
        ws = self.workspace
        assert ws is not None
        # The snapshot of now, then every event after it: the UI never asks for another.
        self._unsubscribe, self._latest = ws.subscribe(self._forward)
        self.committed.source = ws
        self.recording.attach(ws)
        self.steps.unsent.clear()  # a new workspace numbers its steps from 1 again
        names = [session.name for session in self._latest.sessions]
        for pane in list(self.query(SessionPane)):
            if pane.session_name not in names:
                await pane.remove()  # drawn at start for a session the workspace did not open
        for name in names:
            await self.mount_pane(name)
        where = "a temporary SQLite demo database" if self.config.url is None else self._latest.url
        if self.spared:
            where = f"scenario on a temporary SQLite database, not on {self.spared}"
        self.status_line.say_default(f"{where} · F1 help · F12 next pane · ctrl+p commands")
        self._draw()
        self.committed.reread(tables=True)
        if self.focused is None:  # the user may have moved on to another pane while it opened
            self.query(SessionPane).first().input.focus()
        if self.demo is not None:
            self.demo.refresh()
        # From here on the collector's full passes (80 ms each, a visible stall while a session
        # waited) run when the user is idle, and never walk what exists now.
        self.collector.install()

    def _forward(self, event: Any) -> None:
        """Deliver a workspace event to `on_workspace_event`, on the app's loop."""
        self.post_message(WorkspaceEvent(event))

    async def reopen(
        self, open_workspace: Callable[[], Awaitable[Workspace]], leave: Callable[[Workspace], Awaitable[None]] | None = None
    ) -> None:
        """Leave the workspace (`leave`, by default closing it, rolls its sessions back) and show the one `open_workspace` opens."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.workspace is not None:
            await (leave or type(self.workspace).close)(self.workspace)
        await self.panes.remove_all()
        self.workspace = await open_workspace()
        await self.bind_workspace()

    async def mount_pane(self, name: str) -> SessionPane:
        """Mount the pane of session `name`, or give the one drawn at start its history."""
        snap = self._latest
        assert snap is not None
        key = "demo" if self.config.url is None or self.spared else snap.url  # a new temporary file each time
        history = History(history_path(key, self.config.history_dir))
        pane = self.pane(name)
        if pane is not None and pane.input.input_history.path is None:
            for entry in pane.input.input_history.entries:  # typed while the database opened
                history.add(entry)
            pane.input.input_history = history
        else:
            pane = SessionPane(name, history, lambda: self._completions(name))
            await self.panes.mount(pane)
        self.status_line.session_opened(name)
        await self.waits.notify_pane_mounted()
        return pane

    def _completions(self, name: str) -> list[str]:
        """The names bound in the session's namespace (its latest snapshot's), and the commands."""
        snap = self._latest
        session = next((s for s in snap.sessions if s.name == name), None) if snap is not None else None
        if session is None:
            return []
        return [*session.names, *("\\" + c for c in COMMANDS)]

    @property
    def spared(self) -> str | None:
        """The user's database (its URL masked) that a scenario is kept off, running on a temporary SQLite file."""
        if self.config.url is None or self.demo is None or self.demo.url is not None:
            return None
        from playground.engine.backends import mask

        return mask(self.config.url)

    @property
    def latest(self) -> WorkspaceSnapshot | None:
        """The latest snapshot the workspace pushed (None before a workspace is open)."""
        return self._latest

    def pane(self, name: str) -> SessionPane | None:
        """The pane of session `name`."""
        return self.panes.pane(name)

    def focused_pane(self) -> SessionPane | None:
        """The pane holding the focus (or the first one)."""
        return self.panes.focused_pane()

    # -- steps -----------------------------------------------------------------------------

    @on(SessionPane.StepSubmitted)
    def _step_submitted(self, event: SessionPane.StepSubmitted) -> None:
        self.submit(event.pane.session_name, event.text)

    def submit(self, session: str, text: str) -> int | None:
        """Run `text` in a session (`clear` only clears the pane); returns the step's index.

        While the workspace opens the step is queued (None is returned) and runs once it is open.
        """
        if self.startup.later(self.submit, session, text):
            pane = self.pane(session)
            if pane is not None:
                pane.log_view.note(f"{text}  (runs once the database is open)", style="dim")
            return None
        if self.workspace is None:
            return None
        pane = self.pane(session)
        if pane is not None and text.strip() in ("\\clear", "clear"):
            pane.log_view.clear()
        return self.workspace.submit(session, text).index

    @on(SessionPane.CancelRequested)
    def _cancel_requested(self, event: SessionPane.CancelRequested) -> None:
        self.submit(event.pane.session_name, "\\cancel")

    def on_workspace_event(self, message: WorkspaceEvent) -> None:
        event = message.event
        if isinstance(event, (StepStarted, StepFinished)):
            self.collector.activity()
        if isinstance(event, StateChanged):
            self._latest = event.snapshot
            self._schedule_draw()
            return
        self.steps.report(event)
        if isinstance(event, StepFinished) and may_change_committed(event.result):
            # A step that only read leaves it as it was: no read, no redraw (typing `select …`
            # beside a busy session stays as cheap as it can be).
            self.committed.reread(tables=event.result.kind == StepKind.SQL)

    # -- drawing ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A draw or a committed-data read is due or running (`waits.caught_up()` waits for both)."""
        return self._draw_pending or self.committed.reading

    def _schedule_draw(self) -> None:
        if not self._draw_pending:
            self._draw_pending = True
            self.set_timer(DRAW_INTERVAL, self._draw)

    def _draw(self) -> None:
        self._draw_pending = False
        self.waits.progress.set()
        snap = self._latest
        if snap is None or not self.is_running:
            return
        now = time.monotonic()
        self.panes.show(snap, now)
        self.bottom.show(snap, now, self.steps.unsent)

    def _tick_waits(self) -> None:
        # The countdown of a waiting session moves (drawn against the clock) even when nothing else happens.
        if self._latest is not None and self._latest.locks:
            self._schedule_draw()

    @on(CommittedView.ReadFinished)
    def _committed_read(self, event: CommittedView.ReadFinished) -> None:
        self.waits.progress.set()

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        self._draw()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Demo keys exist only in demo mode."""
        if action in DEMO_ACTIONS:
            return self.demo is not None or self.scenario is not None  # demo mode, perhaps still opening
        return True

    @when_open
    def action_txn(self, command: str) -> None:
        """Run a transaction command in the focused pane."""
        pane = self.focused_pane()
        if pane is not None:
            self.submit(pane.session_name, f"\\{command}")

    @when_open
    def action_help(self) -> None:
        """Show the command list in the focused pane, then the keys."""
        pane = self.focused_pane()
        if pane is not None:
            index = self.submit(pane.session_name, "\\help")
            if index is not None:
                self.steps.help_steps.add(index)

    def action_cancel(self) -> None:
        """Cancel the focused pane's waiting statement, or interrupt its running step."""
        if not self.startup.opening:  # before, nothing runs; queued, it would cancel a step queued before it
            self.action_txn("cancel")

    def action_interrupt(self) -> None:
        """ctrl+c outside the input: interrupt the focused pane's step, if it runs one."""
        pane = self.focused_pane()
        if pane is not None and pane.running:
            self.action_txn("cancel")
        else:
            self.action_help_quit()

    @when_open
    @pane_action
    async def action_new_pane(self) -> None:
        """Open another session."""
        ws = self.workspace
        if ws is None:
            return
        try:
            name = await ws.add_session()
        except Exception as exc:
            self.notify(str(exc), severity="warning")
            return
        pane = await self.mount_pane(name)
        pane.input.focus()

    @when_open
    @pane_action
    async def action_close_pane(self) -> None:
        """Close the focused session, rolling back its transaction (and saying so)."""
        ws = self.workspace
        pane = self.focused_pane()
        if ws is None or pane is None:
            return
        if self._latest is not None and len(self._latest.sessions) == 1:
            self.notify("the last session stays open; quit with ctrl+q", severity="warning")
            return
        self.notify(f"closing {pane.session_name}…", timeout=2)
        if self.screen.maximized is pane:
            self.screen.minimize()
        message = await ws.close_session(pane.session_name)
        await pane.remove()
        self.notify(message, timeout=6)
        self.status_line.say(message, about=(pane.session_name,))
        remaining = self.query(SessionPane)
        if remaining:
            remaining.first().input.focus()

    def action_toggle_panels(self) -> None:
        """Cycle what the panes show: log and panels, the panels alone, the log alone."""
        self.navigation.toggle_panels()

    def action_zoom(self) -> None:
        """Zoom the focused pane (or the views across panes) to the whole screen, or back."""
        self.navigation.zoom()

    def action_next_pane(self, step: int = 1) -> None:
        """Move the focus to the next pane (then the table list); a zoomed view follows it."""
        self.navigation.next_pane(step)

    async def show_table(self, table: str) -> None:
        """Show `table` in the committed-data view (the command palette's "Table: …")."""
        self.bottom.active = "tab-committed"
        self.committed.select.value = table

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG screenshot (in the current folder unless `path` says where)."""
        path = self.save_screenshot(filename, path or ".")
        self.notify(f"screenshot saved: {path}")

    @when_open
    async def action_next_step(self) -> None:
        """Demo mode: run the next step of the scenario."""
        if self.demo is not None:
            self.demo.next_step()

    @when_open
    async def action_restart(self) -> None:
        """Demo mode: start the scenario again on a fresh database."""
        if self.demo is not None:
            await self.reopen(self.demo.open, leave=self.demo.leave)
            self.notify("scenario restarted on a fresh database")

    @when_open
    def action_save_scenario(self) -> None:
        """Save what was done as a `.txp` scenario (asks where)."""
        self.recording.ask_and_save()

    @when_open
    @pane_action
    async def action_step_back(self) -> None:
        """Undo the last step: a fresh database, every step but the last replayed by the settle rule."""
        await self.recording.step_back()

    @when_open
    async def set_isolation(self, level: str) -> None:
        """Set the focused session's isolation level."""
        pane = self.focused_pane()
        if pane is not None:
            self.submit(pane.session_name, f"\\isolation {level}")

    @when_open
    async def set_journal_mode(self, mode: str) -> None:
        """Switch the SQLite journal mode of the database."""
        if self.workspace is None:
            return
        try:
            await self.workspace.set_journal_mode(mode)
        except Exception as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.notify(f"journal mode: {mode}")

    @when_open
    async def open_scenario(self, name: str) -> None:
        """Leave the current sessions (rolling them back) and open a scenario in demo mode."""
        from playground.scenario import library

        await self.open_demo(library.find(name), self.config.url)

    async def open_demo(self, scenario: Any, url: str | None, headline: str | None = None) -> None:
        """Leave the current sessions and step through `scenario` on `url` (a SQLite file's scenario runs on a
        temporary file: see DemoController); `headline` is a line the banner keeps over the narration."""

        from playground.ui.demo import DemoController

        def open_demo() -> Awaitable[Workspace]:
            self.scenario = scenario
            self.banner.display = True
            self.demo = DemoController(scenario, url, self.panes, self.banner, headline)
            return self.demo.open()

        await self.reopen(open_demo)
        self._say_database_spared()

    def _say_database_spared(self) -> None:
        if self.spared:
            self.notify(f"The scenario runs on a temporary SQLite database: {self.spared} is left as it is.", timeout=8)

    def action_run_matrix(self) -> None:
        """Run the isolation matrix on the app's database in the Matrix tab (off the app's loop)."""
        self.bottom.active = "tab-matrix"
        self.matrix.start(scenario_url(self.config.url))

    def action_stop_matrix(self) -> None:
        """Stop the running matrix: the cells measured stay, the scenario running rolls back."""
        self.matrix.stop()

    def action_toggle_matrix(self) -> None:
        """The matrix's one key: run it, or stop it while it runs."""
        if self.matrix.running:
            self.action_stop_matrix()
        else:
            self.action_run_matrix()

    @on(MatrixView.CellChosen)
    async def _matrix_cell_chosen(self, event: MatrixView.CellChosen) -> None:
        """Replay a matrix cell: its test's scenario at its level (and journal mode), where the matrix ran it."""
        from playground.scenario import library

        column = event.column
        scenario = dataclasses.replace(library.load(event.test.scenario), isolation=column.level,
                                       journal_mode=column.journal_mode)
        await self.open_demo(scenario, column.url, narration(column, event.test, event.cell))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp, events.Paste)):
            self.collector.activity()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        self.collector.uninstall()
        await self.startup.stop(self.quit_timeout)  # leaving while the database opens
        if self.matrix.runner.stop():
            await self.matrix.runner.wait(MATRIX_QUIT_TIMEOUT)
        loop = asyncio.get_running_loop()
        for number in LEAVING_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)
        if self.workspace is not None:
            if self._unsubscribe is not None:
                self._unsubscribe()
            self.recording.save_on_quit()
            # Quitting while a statement waits must not hang: SQLite's busy wait cannot
            # be interrupted, and the database rolls back what was not committed anyway.
            try:
                await asyncio.wait_for(asyncio.shield(self.workspace.close()), self.quit_timeout)
            except TimeoutError:
                self.workspace.remove_folder()  # the process is about to end: its temporary database with it


def make_app(
    *,
    url: str | None = None,
    sessions: int = 2,
    demo: bool = True,
    reset_demo: bool = False,
    models: str | None = None,
    scenario: str | None = None,
    journal_mode: str = "delete",
    history_dir: Path | None = None,
    record: str | None = None,
    isolate: bool = False,
    namespace: str | None = None,
) -> TxplayApp:
    """Build the app exactly as `txplay` does (the CLI and the tests share this)."""
    if url is not None:
        from playground.engine.backends import resolve

        resolve(url)  # a bad URL or a missing driver is said before the screen opens
    loaded_models = None
    if models:
        from playground.engine.models import load_models

        loaded_models = load_models(models)
    parsed = None
    if scenario:
        from playground.scenario import library

        parsed = library.find(scenario)
    config = AppConfig(url, sessions, demo, reset_demo, models, scenario, journal_mode, history_dir, record, isolate,
                       namespace)
    return TxplayApp(config, parsed, loaded_models)
