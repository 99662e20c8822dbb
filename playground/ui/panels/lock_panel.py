"""A pane's Locks panel: what the session waits for, and whom it blocks."""

from __future__ import annotations

from playground.engine.snapshot import LockWait, SessionSnapshot
from playground.ui import render
from playground.ui.panels.sized_static import SizedStatic


class LockPanel(SizedStatic):
    """What this session waits for, and whom it blocks."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: object = None

    def show(self, snapshot: SessionSnapshot, waits: tuple[LockWait, ...], now: float) -> None:
        """Draw the session's waits (redrawn while waiting: the countdown moves)."""
        mine = tuple(w for w in waits if w.waiter == snapshot.name)
        key = (tuple((w.holders, w.lock) for w in mine), snapshot.blocking, self.size.width)
        # The countdown is shown to a tenth of a second: redraw only when the text changes.
        shown = (key, tuple(round(now - w.since, 1) for w in mine))
        if shown == self._shown:
            return
        self._shown = shown
        self.draw(render.locks(snapshot, waits, now), key)
