"""The txplay app: session panes side by side, live panels, lock waits and demo mode."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Select, Static, TabbedContent, TabPane

from playground.engine import (
    CommittedTable,
    SessionSettings,
    SessionsChanged,
    StateChanged,
    StepFinished,
    StepStarted,
    StepWaiting,
    Workspace,
)
from playground.engine.language import COMMANDS
from playground.engine.snapshot import WorkspaceSnapshot
from playground.ui.collector import Collector
from playground.ui.commands import TxplayCommands
from playground.ui.compositor import TxplayScreen
from playground.ui.demo import DemoBanner, DemoController
from playground.ui.history import History, history_path
from playground.ui.messages import WorkspaceEvent
from playground.ui.session_pane import SessionPane
from playground.ui.workspace_views import CommittedView, CrossViews, LockGraph, Timeline

DRAW_INTERVAL = 1 / 30
QUIT_TIMEOUT = 1.5


def note_ready() -> None:
    """For start-up benchmarks: write when the app was ready (epoch seconds) to $TXPLAY_READY_FILE.

    Process exit, which the user does not wait for at start, is then left out of the figure.
    """
    path = os.environ.get("TXPLAY_READY_FILE")
    if path:
        Path(path).write_text(repr(time.time()))


@dataclass
class AppConfig:
    """How `txplay` was started."""

    url: str | None = None
    sessions: int = 2
    demo: bool = True
    reset_demo: bool = False
    models: str | None = None
    scenario: str | None = None
    journal_mode: str = "delete"
    history_dir: Path | None = None


def _pane_action(action: Any) -> Any:
    """Count the pane action while it runs, so that `TxplayApp.caught_up()` waits for it."""

    @wraps(action)
    async def run(app: TxplayApp) -> None:
        app._pane_actions += 1
        try:
            await action(app)
        finally:
            app._pane_actions -= 1
            app._progress.set()

    return run


class TxplayApp(App[int]):
    """Several sessions side by side on one database."""

    CSS_PATH = "app.tcss"
    TITLE = "txplay"
    COMMANDS = App.COMMANDS | {TxplayCommands}
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f12", "next_pane", "Next pane", priority=True),
        Binding("shift+f12", "next_pane(-1)", "Previous pane", show=False, priority=True),
        Binding("ctrl+g", "zoom", "Zoom", priority=True),
        Binding("ctrl+o", "toggle_panels", "Panels", priority=True),
        Binding("f2", "txn('begin')", "Begin", priority=True),
        Binding("f3", "txn('savepoint')", "Savepoint", priority=True),
        Binding("f4", "txn('release')", "Release", priority=True),
        Binding("f5", "txn('rollback-to')", "Rollback to", priority=True),
        Binding("f6", "txn('flush')", "Flush", priority=True),
        Binding("f7", "txn('commit')", "Commit", priority=True),
        Binding("f8", "txn('rollback')", "Rollback", priority=True),
        Binding("f9", "cancel", "Cancel", priority=True),
        Binding("f10", "next_step", "Next step", priority=True),
        Binding("ctrl+r", "restart", "Restart", priority=True),
        Binding("ctrl+n", "new_pane", "New pane", priority=True),
        Binding("ctrl+t", "close_pane", "Close pane", priority=True),
        Binding("ctrl+s", "screenshot", "Screenshot", priority=True),
    ]
    PANEL_VIEWS = ("both", "panels", "log")
    """What ctrl+o cycles through: log and panels, the panels alone, the log alone."""

    def __init__(self, config: AppConfig, scenario: Any = None, models: Any = None) -> None:
        super().__init__()
        self.config = config
        self.scenario = scenario
        self.models = models
        self.workspace: Workspace | None = None
        self._latest: WorkspaceSnapshot | None = None
        self._panes: dict[str, SessionPane] = {}
        self._draw_pending = False
        self._pane_actions = 0  # pane actions running (see `_pane_action`)
        self._progress = asyncio.Event()  # set when a draw, a committed read or a pane action ends
        self.pane_mounted = asyncio.Condition()  # notified when a session pane is mounted, for callers and tests to wait on
        self.collector = Collector()
        self._locks_label = "Lock graph"
        self._status_default = ""
        self._status_about: set[str] = set()  # the sessions the status line's message is about
        self._help_steps: set[int] = set()  # F1 steps: the keys are listed after the commands
        self._step_notes: dict[int, tuple[str, ...]] = {}  # step → savepoints it ended unsent (timeline)
        self.panel_view = "both"
        self._committed_busy = False
        self._committed_again = False
        self._committed_tables = False
        self._unsubscribe: Any = None
        self.demo: DemoController | None = None
        self.failure: str | None = None  # why the database could not be opened (set by `_open`)
        self.status_line = Static("opening the database…", id="status-line", markup=False)
        self.banner = DemoBanner(id="demo-banner")
        self.panes = Horizontal(id="panes")
        self.committed = CommittedView(id="committed")
        self.committed.rows.fetch = self._committed_page
        self.lock_graph = LockGraph(id="lock-graph")
        self.timeline = Timeline(id="timeline")
        self.bottom = CrossViews(id="bottom", initial="tab-committed")
        self.footer = Footer()

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.banner
        yield self.panes
        with self.bottom:
            with TabPane("Committed data", id="tab-committed"):
                yield self.committed
            with TabPane("Lock graph", id="tab-locks"):
                yield self.lock_graph
            with TabPane("Timeline", id="tab-timeline"):
                yield self.timeline
        yield self.status_line
        yield self.footer

    def get_default_screen(self) -> TxplayScreen:
        return TxplayScreen(id="_default")

    def on_resize(self, event: Any) -> None:
        self._fit_screen()

    def _fit_screen(self) -> None:
        # Small terminals (a projector at 100×30) give the panes the room; a narrow footer
        # packs its keys closer so that zoom, panels and quit stay in sight.
        self.screen.set_class(self.size.height < 40, "-compact")
        self.footer.compact = self.size.width < 120

    async def on_mount(self) -> None:
        self._fit_screen()
        self.banner.display = self.scenario is not None
        self.set_interval(0.2, self._tick_waits)
        self.set_interval(0.25, self.collector.tick)
        await self._open()

    async def _open(self) -> None:
        try:
            if self.scenario is not None:
                self.demo = DemoController(self, self.scenario, self.config.url)
                self.workspace = await self.demo.open()
            else:
                names = [chr(ord("A") + i) for i in range(self.config.sessions)]
                kwargs: dict[str, Any] = {}
                if self.models is not None:
                    kwargs["models"], kwargs["metadata"] = self.models
                self.workspace = await Workspace.open(
                    self.config.url,
                    sessions=names,
                    demo=self.config.demo,
                    reset_demo=self.config.reset_demo,
                    defaults=SessionSettings(),
                    journal_mode=self.config.journal_mode,
                    **kwargs,
                )
        except Exception as exc:
            from playground.engine.errors import describe

            from playground.engine.backends import resolve

            where = resolve(self.config.url).display_url if self.config.url else "the temporary SQLite database"
            if self.scenario is not None:
                where += f" for {self.scenario.source}"
            info = describe(exc)
            # `txplay` prints it on stderr once the screen is gone: Textual's exit message would be
            # wrapped (and cropped) at the terminal's width.
            self.failure = f"txplay: cannot open {where}: {info}" + (f"\n  hint: {info.hint}" if info.hint else "")
            # The process's exit code is `return_code` (`exit(2)` only sets the app's result): 2,
            # as for invalid arguments (DESIGN §4).
            self.exit(return_code=2)
            return
        await self._attach()

    async def _attach(self) -> None:
        ws = self.workspace
        assert ws is not None
        self._unsubscribe = ws.subscribe(lambda event: self.post_message(WorkspaceEvent(event)))
        self._step_notes.clear()  # a new workspace numbers its steps from 1 again
        for name in ws.sessions:
            await self._mount_pane(name)
        where = "a temporary SQLite demo database" if self.config.url is None else ws.backend.display_url
        self._status_default = f"{where} · F1 help · F12 next pane · ctrl+p commands"
        self.say_status(self._status_default)
        self._latest = ws.snapshot()
        self._draw()
        self.refresh_committed(tables=True)
        first = self.query(SessionPane).first()
        first.input.focus()
        if self.demo is not None:
            self.demo.refresh()
        # From here on the collector's full passes (80 ms each, a visible stall while a session
        # waited) run when the user is idle, and never walk what exists now.
        self.collector.install()
        if os.environ.get("TXPLAY_EXIT_WHEN_READY"):
            # For start-up benchmarks: leave as soon as the panes have been drawn once.
            self.call_after_refresh(self._ready_exit)

    def _ready_exit(self) -> None:
        note_ready()
        self.exit()

    async def _mount_pane(self, name: str) -> SessionPane:
        ws = self.workspace
        assert ws is not None
        key = "demo" if ws.backend.name == "sqlite" and self.config.url is None else ws.backend.display_url
        history = History(history_path(key, self.config.history_dir))
        pane = SessionPane(name, history, lambda: self._completions(name))
        await self.panes.mount(pane)
        if name in self._status_about:
            # "session A closed" is no longer true once a new A is open.
            self.say_status(self._status_default)
        async with self.pane_mounted:
            self.pane_mounted.notify_all()
        return pane

    def _completions(self, name: str) -> list[str]:
        ws = self.workspace
        if ws is None or name not in ws.sessions:
            return []
        words = [m.__name__ for m in ws.models] + ["\\" + c for c in COMMANDS]
        words += [k for k in ws.sessions[name].namespace if not k.startswith("_")]
        return words

    def pane(self, name: str) -> SessionPane | None:
        """The pane of session `name` (a DOM query per event cost more than a draw)."""
        pane = self._panes.get(name)
        if pane is not None and pane.parent is self.panes:
            return pane
        pane = self.panes.query(f"#pane-{name}") if name.isidentifier() else None
        found = pane.first(SessionPane) if pane else None
        if found is not None:
            self._panes[name] = found
        else:
            self._panes.pop(name, None)
        return found

    def focused_pane(self) -> SessionPane | None:
        """The pane holding the focus (or the first one)."""
        widget = self.focused
        while widget is not None:
            if isinstance(widget, SessionPane):
                return widget
            widget = widget.parent  # type: ignore[assignment]
        panes = list(self.query(SessionPane))
        return panes[0] if panes else None

    # -- steps -----------------------------------------------------------------------------

    @on(SessionPane.StepSubmitted)
    def _step_submitted(self, event: SessionPane.StepSubmitted) -> None:
        self.submit(event.pane.session_name, event.text)

    def submit(self, session: str, text: str) -> int | None:
        """Run `text` in a session (`clear` only clears the pane); returns the step's index."""
        if self.workspace is None:
            return None
        pane = self.pane(session)
        if pane is not None and text.strip() in ("\\clear", "clear"):
            pane.log_view.clear()
        return self.workspace.submit(session, text).index

    def say_status(self, text: str, about: tuple[str, ...] = ()) -> None:
        """Put `text` on the status line; `about`: the sessions it speaks of (it goes when one opens again)."""
        self._status_about = set(about)
        self.status_line.update(text)

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
        if isinstance(event, SessionsChanged):
            return
        pane = self.pane(event.session) if hasattr(event, "session") else None
        if isinstance(event, StepStarted) and pane is not None:
            pane.log_view.started(event.index, event.input, self._kind(event.index))
        elif isinstance(event, StepWaiting) and pane is not None:
            pane.log_view.waiting(event.index, event.wait)
        elif isinstance(event, StepFinished):
            pane = self.pane(event.result.session)
            unsent = tuple(m.subject for m in event.result.messages if getattr(m, "topic", None) == "savepoint-never-sent")
            if unsent:
                self._step_notes[event.result.index] = unsent
            if pane is not None:
                pane.log_view.finished(event.result, event.waited, event.after)
                if event.result.index in self._help_steps:
                    self._help_steps.discard(event.result.index)
                    for line in self.key_help():
                        pane.log_view.note(line, style="")
            self.refresh_committed(tables=event.result.kind == "sql")

    def _kind(self, index: int) -> str:
        assert self.workspace is not None
        return self.workspace.handle(index).kind

    async def caught_up(self) -> None:
        """Return once every step has finished or waits on a lock and the screen shows it (for callers and tests to wait on)."""
        while True:
            if self.workspace is not None:
                await self.workspace.settle()
            handled = asyncio.Event()
            if self.call_later(handled.set):  # messages are handled in order: the workspace's events first
                await handled.wait()
            if not self._pane_actions:
                break
            self._progress.clear()
            await self._progress.wait()
        # Not settled again: while a step waits on a lock, each poll asks for another draw.
        while self._draw_pending or self._committed_busy:
            self._progress.clear()
            await self._progress.wait()

    # -- drawing ---------------------------------------------------------------------------

    def _schedule_draw(self) -> None:
        if not self._draw_pending:
            self._draw_pending = True
            self.set_timer(DRAW_INTERVAL, self._draw)

    def _draw(self) -> None:
        self._draw_pending = False
        self._progress.set()
        snap = self._latest
        if snap is None or not self.is_running:
            return
        now = time.monotonic()
        for session in snap.sessions:
            pane = self.pane(session.name)
            if pane is not None:
                pane.show(session, snap.locks, now)
        # The views across panes are drawn only while their tab shows them.
        active = self.bottom.active if self.bottom.is_mounted else ""
        if active == "tab-locks":
            self.lock_graph.show(snap.locks, now)
        elif active == "tab-timeline":
            self.timeline.show(snap.timeline, tuple(s.name for s in snap.sessions), self._step_notes)
        label = f"Lock graph ({len(snap.locks)})" if snap.locks else "Lock graph"
        if self.bottom.is_mounted and label != self._locks_label:
            self._locks_label = label
            self.bottom.get_tab("tab-locks").label = label

    def _tick_waits(self) -> None:
        # The countdown of a waiting session moves even when nothing else happens.
        if self.workspace is not None and self._latest is not None and self._latest.locks:
            self._latest = self.workspace.snapshot()
            self._schedule_draw()

    def refresh_committed(self, tables: bool = False) -> None:
        """Re-read the committed data of the table shown (and the table list after SQL).

        Requests arriving while a read runs are folded into one more read: a read is never
        cancelled half-way (that would drop its connection without closing it).
        """
        self._committed_tables = self._committed_tables or tables
        if self._committed_busy:
            self._committed_again = True
            return
        self._committed_busy = True
        self.run_worker(self._read_committed(), group="committed")

    async def _read_committed(self) -> None:
        try:
            while True:
                self._committed_again = False
                tables, self._committed_tables = self._committed_tables, False
                await self._read_committed_once(tables)
                if not self._committed_again:
                    break
        finally:
            self._committed_busy = False
            self._progress.set()

    async def _read_committed_once(self, tables: bool) -> None:
        ws = self.workspace
        if ws is None or ws.closed:
            return
        if tables or self.committed.current is None:
            try:
                self.committed.set_tables(await ws.tables())
            except Exception as exc:
                self.committed.say(f"cannot list tables: {exc}")
                return
        table = self.committed.current
        if table is None:
            return
        await self.committed.show(table)

    async def _committed_page(self, table: str, offset: int, limit: int) -> CommittedTable | None:
        """A page of committed rows, for the committed-data view as it scrolls."""
        ws = self.workspace
        if ws is None or ws.closed:
            return None
        return await ws.committed(table, limit=limit, offset=offset)

    @on(Select.Changed)
    def _table_chosen(self, event: Select.Changed) -> None:
        self.refresh_committed()

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        self._draw()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Demo keys exist only in demo mode."""
        if action in ("next_step", "restart"):
            return self.demo is not None
        return True

    def action_txn(self, command: str) -> None:
        """Run a transaction command in the focused pane."""
        pane = self.focused_pane()
        if pane is not None:
            self.submit(pane.session_name, f"\\{command}")

    def action_help(self) -> None:
        """Show the command list in the focused pane, then the keys."""
        pane = self.focused_pane()
        if pane is not None:
            index = self.submit(pane.session_name, "\\help")
            if index is not None:
                self._help_steps.add(index)

    def key_help(self) -> list[str]:
        """The keys, as F1 lists them after the commands."""
        lines = ["keys:"]
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in ("next_step", "restart") and self.demo is None:
                continue
            lines.append(f"  {self.get_key_display(binding):10} {binding.description}")
        lines += [
            "  Tab        complete a name, or go to the next field",
            "  Enter      run (a Python block: a blank line runs it); ctrl+j a new line; ↑ ↓ history",
            f"  {'f12':10} also reaches the committed-data table list (Enter opens it; ctrl+p \"Table: …\" too)",
            f"  {'esc':10} leave a zoomed pane",
        ]
        return lines

    def action_cancel(self) -> None:
        """Cancel the focused pane's waiting statement."""
        self.action_txn("cancel")

    @_pane_action
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
        pane = await self._mount_pane(name)
        self._latest = ws.snapshot()
        self._draw()
        pane.input.focus()

    @_pane_action
    async def action_close_pane(self) -> None:
        """Close the focused session, rolling back its transaction (and saying so)."""
        ws = self.workspace
        pane = self.focused_pane()
        if ws is None or pane is None:
            return
        if len(ws.sessions) == 1:
            self.notify("the last session stays open; quit with ctrl+q", severity="warning")
            return
        self.notify(f"closing {pane.session_name}…", timeout=2)
        if self.screen.maximized is pane:
            self.screen.minimize()
        message = await ws.close_session(pane.session_name)
        await pane.remove()
        self.notify(message, timeout=6)
        self.say_status(message, about=(pane.session_name,))
        remaining = self.query(SessionPane)
        if remaining:
            remaining.first().input.focus()

    def action_toggle_panels(self) -> None:
        """Cycle what the panes show: log and panels, the panels alone (all the room for them), the log alone."""
        views = self.PANEL_VIEWS
        self.panel_view = views[(views.index(self.panel_view) + 1) % len(views)]
        self.screen.set_class(self.panel_view == "panels", "-panels-only")
        self.screen.set_class(self.panel_view == "log", "-log-only")
        said = {"both": "log and panels", "panels": "panels only (ctrl+o: log only)", "log": "log only (ctrl+o: both)"}
        self.notify(f"panes show: {said[self.panel_view]}", timeout=2)

    def zoomable(self) -> SessionPane | TabbedContent | None:
        """What ctrl+g zooms: the pane holding the focus, or the views across panes when they hold it."""
        widget = self.focused
        while widget is not None:
            if widget is self.bottom:
                return self.bottom
            widget = widget.parent  # type: ignore[assignment]
        return self.focused_pane()

    def action_zoom(self) -> None:
        """Zoom the focused pane (or the views across panes) to the whole screen, or back."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.zoomable()
        if target is not None:
            self.screen.maximize(target, container=False)

    def focus_stops(self) -> list[Any]:
        """Where F12 goes, in order: each pane's input, then the committed-data table list."""
        stops: list[Any] = [pane.input for pane in self.query(SessionPane)]
        stops.append(self.committed.select)
        return stops

    def action_next_pane(self, step: int = 1) -> None:
        """Move the focus to the next pane (then the table list); a zoomed view follows it."""
        stops = self.focus_stops()
        around = self.focused.ancestors_with_self if self.focused is not None else []
        current = next((i for i, stop in enumerate(stops) if stop in around), -1)  # the Select's list is inside it
        target = stops[(current + step) % len(stops)]
        if target is self.committed.select:
            self.bottom.active = "tab-committed"
        zoomed = self.screen.maximized is not None
        if zoomed:
            self.screen.minimize()
        target.focus()
        if zoomed:
            zoom = self.bottom if target is self.committed.select else target.parent
            self.screen.maximize(zoom, container=False)

    async def show_table(self, table: str) -> None:
        """Show `table` in the committed-data view (the command palette's "Table: …")."""
        self.bottom.active = "tab-committed"
        self.committed.select.value = table

    def action_screenshot(self) -> None:
        """Save an SVG screenshot in the current folder."""
        path = self.save_screenshot(path=".")
        self.notify(f"screenshot saved: {path}")

    async def action_next_step(self) -> None:
        """Demo mode: run the next step of the scenario."""
        if self.demo is not None:
            self.demo.next_step()

    async def action_restart(self) -> None:
        """Demo mode: start the scenario again on a fresh database."""
        if self.demo is not None:
            await self.demo.restart()

    async def set_isolation(self, level: str) -> None:
        """Set the focused session's isolation level."""
        pane = self.focused_pane()
        if pane is not None:
            self.submit(pane.session_name, f"\\isolation {level}")

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

    async def open_scenario(self, name: str) -> None:
        """Leave the current sessions (rolling them back) and open a scenario in demo mode."""
        from playground.scenario import library

        scenario = library.find(name)
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.workspace is not None:
            await self.workspace.close()
        for pane in list(self.query(SessionPane)):
            await pane.remove()
        self.scenario = scenario
        self.banner.display = True
        self.demo = DemoController(self, scenario, self.config.url)
        self.workspace = await self.demo.open()
        await self._attach()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp, events.Paste)):
            self.collector.activity()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        self.collector.uninstall()
        if self.workspace is not None:
            if self._unsubscribe is not None:
                self._unsubscribe()
            try:
                # Quitting while a statement waits must not hang: SQLite's busy wait cannot
                # be interrupted, and the database rolls back what was not committed anyway.
                await asyncio.wait_for(asyncio.shield(self.workspace.close()), QUIT_TIMEOUT)
            except asyncio.TimeoutError:
                pass


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
) -> TxplayApp:
    """Build the app exactly as `txplay` does (the CLI and the tests share this)."""
    from playground.engine.backends import resolve

    if url is not None:
        resolve(url)  # a bad URL or a missing driver is said before the screen opens
    loaded_models = None
    if models:
        from playground.engine.models import load_models

        loaded_models = load_models(models)
    parsed = None
    if scenario:
        from playground.scenario import library

        parsed = library.find(scenario)
    config = AppConfig(url, sessions, demo, reset_demo, models, scenario, journal_mode, history_dir)
    return TxplayApp(config, parsed, loaded_models)
