"""A pane's header: the session's name, backend, isolation level and status badge."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from playground.engine.snapshot import LockWait, SessionSnapshot
from playground.ui import render

OPENING = "opening database…"  # the badge until the session is open (the app draws its panes first)


class PaneHeader(Widget):
    """One line that fits its width: narrower, it drops details first and shortens the badge last."""

    DEFAULT_CSS = """
    PaneHeader { height: 1; }
    """

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session_name = name
        self.snapshot: SessionSnapshot | None = None
        self._waits: tuple[LockWait, ...] = ()
        self._now = 0.0
        self._key: object = None

    def show(self, snapshot: SessionSnapshot, waits: tuple[LockWait, ...], now: float) -> None:
        """Draw the header of `snapshot` (a repaint of one line, never a layout pass)."""
        mine = tuple(w for w in waits if w.waiter == snapshot.name)
        key = (snapshot.badge, snapshot.status, snapshot.isolation, snapshot.mode, render.short_badge(snapshot, mine, now))
        self.snapshot, self._waits, self._now = snapshot, mine, now
        if key != self._key:
            self._key = key
            self.refresh()

    @property
    def plain(self) -> str:
        """The header as drawn at the current width (for tests)."""
        return self.render().plain

    def render(self) -> Text:
        if self.snapshot is None:
            return Text.assemble((f" {self.session_name} ", "bold reverse"), "  ", (f" {OPENING} ", "reverse dim"))
        text = render.header(self.snapshot, self.size.width or None, self._waits, self._now)
        text.truncate(max(self.size.width, 1) if self.size.width else text.cell_len)
        return text
