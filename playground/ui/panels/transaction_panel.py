"""A pane's Transactions panel: the transaction and savepoint tree."""

from __future__ import annotations

from playground.engine.snapshot import TransactionRow
from playground.ui import render
from playground.ui.panels.sized_static import SizedStatic


class TransactionPanel(SizedStatic):
    """The transaction and savepoint tree."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: tuple[tuple[TransactionRow, ...], tuple[TransactionRow, ...]] | None = None

    def show(self, rows: tuple[TransactionRow, ...], unsent: tuple[TransactionRow, ...] = ()) -> None:
        """Draw the tree (and the savepoints that ended unsent) unless unchanged."""
        if (rows, unsent) == self._rows:
            return
        self._rows = (rows, unsent)
        self.draw(render.transactions(rows, unsent), (len(rows) + len(unsent), self.size.width))
