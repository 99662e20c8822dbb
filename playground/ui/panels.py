"""A pane's live panels: Objects, Transactions, Locks. They draw snapshots only."""

from __future__ import annotations

from rich.console import Group
from textual.containers import VerticalScroll
from textual.widgets import Static

from playground.engine.snapshot import LockWait, ObjectRow, SessionSnapshot, TransactionRow
from playground.ui import render


class ObjectPanel(VerticalScroll):
    """Objects grouped by panel; re-renders only when the rows changed."""

    DEFAULT_CSS = """
    ObjectPanel { height: 1fr; }
    ObjectPanel > Static { width: 1fr; }
    """

    can_focus = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: tuple[ObjectRow, ...] | None = None
        self._body = Static("", markup=False)
        self.plain = ""

    def compose(self):
        yield self._body

    def show(self, rows: tuple[ObjectRow, ...]) -> None:
        """Draw `rows` unless they are what is already drawn."""
        if rows == self._rows:
            return
        self._rows = rows
        parts = render.objects(rows)
        self.plain = "\n".join(p.plain for p in parts if hasattr(p, "plain"))
        self._body.update(Group(*parts))
        self.border_subtitle = f"{len(rows)} object{'s' if len(rows) != 1 else ''}"


class TransactionPanel(Static):
    """The transaction and savepoint tree."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._rows: tuple[TransactionRow, ...] | None = None

    def show(self, rows: tuple[TransactionRow, ...]) -> None:
        """Draw the tree unless unchanged."""
        if rows == self._rows:
            return
        self._rows = rows
        self.update(render.transactions(rows))


class LockPanel(Static):
    """What this session waits for, and whom it blocks."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)

    def show(self, snapshot: SessionSnapshot, waits: tuple[LockWait, ...], now: float) -> None:
        """Draw the session's waits (redrawn while waiting: the countdown moves)."""
        self.update(render.locks(snapshot, waits, now))
