"""The lock graph across sessions."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from playground.engine.snapshot import LockWait
from playground.ui import render


class LockGraph(VerticalScroll):
    """Every waiter → holder edge, with the lock and how long."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = Static("", markup=False)
        self._edges: tuple | None = None

    def compose(self):
        yield self.body

    def show(self, waits: tuple[LockWait, ...], now: float, missing: str | None = None) -> None:
        """Draw the graph (a layout pass only when edges come or go); `missing`: see `render.lock_graph`."""
        edges = tuple((w.waiter, w.holders, w.lock) for w in waits)
        if edges == self._edges and not waits:
            return
        self.body.update(render.lock_graph(waits, now, missing), layout=edges != self._edges)
        self._edges = edges
