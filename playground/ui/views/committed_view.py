"""The committed-data view: what a fresh connection outside every session sees."""

from __future__ import annotations

from typing import Protocol

from textual import on
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Select, Static

from playground.engine.events import CommittedTable
from playground.engine.snapshot import StepResult
from playground.ui.views.committed_rows import CommittedRows

# What a step may send and still leave the committed data as it was: reads, and the start of a
# transaction or savepoint. Anything else (a write, DDL, COMMIT, a ROLLBACK that releases locks a
# read waited on) makes the view read again.
LEAVES_COMMITTED = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE")


def may_change_committed(result: StepResult) -> bool:
    """Whether what `result`'s step sent could change what a connection outside the sessions sees."""
    return any(not entry.statement.lstrip().upper().startswith(LEAVES_COMMITTED) for entry in result.sql)


class CommittedSource(Protocol):
    """Where committed data is read: the workspace, by a connection outside every session."""

    closed: bool

    async def tables(self) -> list[str]:
        """The tables a fresh connection sees."""
        ...

    async def committed(self, table: str, limit: int = ..., offset: int = 0) -> CommittedTable:
        """`limit` rows of `table` as committed, from `offset` on."""
        ...


class CommittedView(Vertical):
    """What a fresh connection outside every session sees, one table at a time.

    The app hands it `source` (the workspace) and asks it to `reread()` after each step.
    """

    DEFAULT_CSS = """
    CommittedView { height: 1fr; }
    CommittedView > Select { width: 40; height: auto; }
    CommittedView > .committed-status { height: 1; color: $text-muted; }
    """

    class ReadFinished(Message, bubble=True):
        """A re-read of the committed data ended (and another is not due)."""

        def __init__(self, view: CommittedView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> CommittedView:
            """The view that read."""
            return self.view

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.select: Select[str] = Select([], prompt="table", allow_blank=True, compact=True)
        self.rows = CommittedRows()
        self.status = Static("", classes="committed-status", markup=False)
        self.rows.fetch = self._page
        self.source: CommittedSource | None = None
        self._tables: list[str] | None = None
        self._said = ""
        self._reading = False  # a read runs (see `reread`)
        self._again = False  # asked again while it ran
        self._tables_again = False  # ... and the table list too

    def compose(self):
        yield self.select
        yield self.status
        yield self.rows

    def set_tables(self, tables: list[str]) -> None:
        """Offer these tables; keep the current choice when it still exists."""
        if tables == self._tables:
            return  # resetting a Select's options costs a layout pass
        self._tables = list(tables)
        current = self.select.value
        self.select.set_options([(t, t) for t in tables])
        if isinstance(current, str) and current in tables:
            self.select.value = current
        elif tables:
            self.select.value = tables[0]

    @property
    def tables(self) -> list[str]:
        """The tables offered."""
        return list(self._tables or ())

    @property
    def current(self) -> str | None:
        """The table shown, if any."""
        value = self.select.value
        return value if isinstance(value, str) else None

    async def show(self, table: str) -> None:
        """Read `table` again where it is scrolled to (or say why it cannot be read now)."""
        error = await self.rows.reload(table)
        self.say(f"{table}: cannot read now — {error}" if error else f"{table}: {self.rows.total} committed row(s)")

    def say(self, text: str) -> None:
        """Put `text` on the status line (one line high: no layout pass needed, and none if unchanged)."""
        if text != self._said:
            self._said = text
            self.status.update(text, layout=False)

    # -- reading ----------------------------------------------------------------------------

    @property
    def reading(self) -> bool:
        """A re-read of the committed data runs (or is due)."""
        return self._reading

    def reread(self, tables: bool = False) -> None:
        """Read the committed data of the table shown again (and the table list, after SQL).

        Requests arriving while a read runs are folded into one more read: a read is never
        cancelled half-way (that would drop its connection without closing it).
        """
        self._tables_again = self._tables_again or tables
        if self._reading:
            self._again = True
            return
        self._reading = True
        self.run_worker(self._read(), group="committed")

    async def _read(self) -> None:
        try:
            while True:
                self._again = False
                tables, self._tables_again = self._tables_again, False
                await self._read_once(tables)
                if not self._again:
                    break
        finally:
            self._reading = False
            self.post_message(self.ReadFinished(self))

    async def _read_once(self, tables: bool) -> None:
        source = self.source
        if source is None or source.closed:
            return
        if tables or self.current is None:
            try:
                self.set_tables(await source.tables())
            except Exception as exc:
                self.say(f"cannot list tables: {exc}")
                return
        table = self.current
        if table is None:
            return
        await self.show(table)

    async def _page(self, table: str, offset: int, limit: int) -> CommittedTable | None:
        """A page of committed rows, for the rows as they scroll into view."""
        source = self.source
        if source is None or source.closed:
            return None
        return await source.committed(table, limit=limit, offset=offset)

    @on(Select.Changed)
    def _table_chosen(self, event: Select.Changed) -> None:
        self.reread()
