"""One session's pane: header with its badge, the log, the input and the live panels."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Iterable

from rich.text import Text
from textual import on
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from playground.engine.snapshot import LockWait, SessionSnapshot
from playground.engine.states import SessionStatus
from playground.ui import render
from playground.ui.history import History
from playground.ui.pane_header import PaneHeader
from playground.ui.panels.lock_panel import LockPanel
from playground.ui.panels.object_panel import ObjectPanel
from playground.ui.panels.transaction_panel import TransactionPanel
from playground.ui.session_input import SessionInput
from playground.ui.step_log import StepLog


class SessionPane(Vertical):
    """A pane for one session. It sends `StepSubmitted`; the app runs the step."""

    ALLOW_MAXIMIZE = True  # ctrl+g zooms the pane holding the focus (the pane itself takes none)

    @dataclass
    class StepSubmitted(Message):
        """The user ran `text` in this pane."""

        pane: SessionPane
        text: str

        @property
        def control(self) -> SessionPane:
            """The pane the step was typed in."""
            return self.pane

    @dataclass
    class CancelRequested(Message):
        """Ctrl+C in the input with nothing to copy."""

        pane: SessionPane

        @property
        def control(self) -> SessionPane:
            """The pane that asked."""
            return self.pane

    def __init__(self, name: str, history: History, completions: Callable[[], Iterable[str]], **kwargs) -> None:
        super().__init__(id=f"pane-{name}", classes="session-pane", **kwargs)
        self.session_name = name
        self.snapshot: SessionSnapshot | None = None
        self.running: set[int] = set()  # the steps of this session started and not yet finished
        self.header = PaneHeader(name, classes="pane-header")
        self.log_view = StepLog(classes="pane-log")
        self.queued = Static("", classes="pane-queued", markup=False)
        self.input = SessionInput(history, completions, classes="pane-input", compact=True, placeholder=f"SQL, Python or \\command in {name} (help)")
        self.objects = ObjectPanel(classes="pane-objects")
        self.vanished = Static("", classes="pane-vanished", markup=False)
        self.transactions = TransactionPanel(classes="pane-transactions")
        self.locks = LockPanel(classes="pane-locks")

    def compose(self):
        yield self.header
        yield self.log_view
        yield self.queued
        yield self.input
        with Vertical(classes="pane-panels"):
            yield self.objects
            yield self.vanished
            with Horizontal(classes="pane-small-panels"):
                yield self.transactions
                yield self.locks

    def on_mount(self) -> None:
        self.objects.border_title = "Objects"
        self.transactions.border_title = "Transactions"
        self.locks.border_title = "Locks"
        self.queued.display = False
        self.vanished.display = False

    @on(SessionInput.Submitted)
    def _submitted(self, event: SessionInput.Submitted) -> None:
        event.stop()
        self.post_message(self.StepSubmitted(self, event.text))

    @on(SessionInput.Interrupted)
    def _interrupted(self, event: SessionInput.Interrupted) -> None:
        event.stop()
        if self.running or (self.snapshot is not None and self.snapshot.status == SessionStatus.WAITING):
            self.post_message(self.CancelRequested(self))
        else:
            self.input.text = ""

    def show(self, snapshot: SessionSnapshot, waits: tuple[LockWait, ...], now: float) -> None:
        """Draw a new snapshot of this session."""
        previous = self.snapshot
        self.snapshot = snapshot
        self.header.show(snapshot, waits, now)
        self.set_class(snapshot.status == SessionStatus.WAITING, "-waiting")
        self.set_class(snapshot.status == SessionStatus.FAILED, "-failed")
        self.objects.show(snapshot.objects)
        if previous is None or previous.vanished != snapshot.vanished:
            self.vanished.display = bool(snapshot.vanished)
            if snapshot.vanished:
                self.vanished.update(render.vanished_line(snapshot.vanished))
        self.transactions.show(snapshot.transactions, snapshot.unsent)
        self.locks.show(snapshot, waits, now)

    def show_queue(self, steps: list[str], runs_next: bool = False) -> None:
        """In demo mode: the steps queued for this session; `runs_next` marks F10's step."""
        self.queued.display = bool(steps)
        if steps:
            first = steps[0].splitlines()[0] if steps[0] else ""
            more = f"  (+{len(steps) - 1} more)" if len(steps) > 1 else ""
            label = ("▶ F10 runs: ", "bold reverse cyan") if runs_next else ("later: ", "dim cyan")
            self.queued.update(Text.assemble(label, " ", (first, "cyan" if runs_next else "dim"), (more, "dim")))
