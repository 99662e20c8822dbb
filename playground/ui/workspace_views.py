"""Views across panes: committed data, the lock graph and the timeline."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Select, Static

from playground.engine.snapshot import LockWait, TimelineEntry
from playground.ui import render

MAX_CELL = 40


class CommittedView(Vertical):
    """What a fresh connection outside every session sees, one table at a time."""

    DEFAULT_CSS = """
    CommittedView { height: 1fr; }
    CommittedView > Select { width: 40; height: auto; }
    CommittedView > DataTable { height: 1fr; }
    CommittedView > .committed-status { height: 1; color: $text-muted; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.select: Select[str] = Select([], prompt="table", allow_blank=True, compact=True)
        self.table: DataTable = DataTable(zebra_stripes=True, cursor_type="row")
        self.status = Static("", classes="committed-status", markup=False)
        self._tables: list[str] | None = None
        self._shown: tuple | None = None

    def compose(self):
        yield self.select
        yield self.status
        yield self.table

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
    def current(self) -> str | None:
        """The table shown, if any."""
        value = self.select.value
        return value if isinstance(value, str) else None

    def show(self, table: str, columns: tuple[str, ...], rows: tuple[tuple, ...], total: int | None, error: str | None) -> None:
        """Draw committed rows (or why they cannot be read now)."""
        if error:
            self.status.update(f"{table}: cannot read now — {error}")
            return
        shown = (table, columns, rows, total)
        if shown == self._shown:
            return
        self._shown = shown
        self.table.clear(columns=True)
        self.table.add_columns(*columns)
        self.table.add_rows([tuple(_cell(v) for v in row) for row in rows])
        shown = len(rows)
        self.status.update(f"{table}: {total} committed row(s)" + (f", first {shown} shown" if total and total > shown else ""))


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


class LockGraph(VerticalScroll):
    """Every waiter → holder edge, with the lock and how long."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = Static("", markup=False)
        self._edges: tuple | None = None

    def compose(self):
        yield self.body

    def show(self, waits: tuple[LockWait, ...], now: float) -> None:
        """Draw the graph (a layout pass only when edges come or go)."""
        edges = tuple((w.waiter, w.holders, w.lock) for w in waits)
        if edges == self._edges and not waits:
            return
        self.body.update(render.lock_graph(waits, now), layout=edges != self._edges)
        self._edges = edges


class Timeline(VerticalScroll):
    """Every step of every session in global order, one swimlane per session."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = Static("", markup=False)
        self._drawn: tuple[tuple[TimelineEntry, ...], tuple[str, ...]] | None = None

    def compose(self):
        yield self.body

    def show(self, entries: tuple[TimelineEntry, ...], sessions: tuple[str, ...]) -> None:
        """Draw the swimlanes unless unchanged."""
        key = (entries, sessions)
        if key == self._drawn:
            return
        self._drawn = key
        if not entries:
            self.body.update(Text("no steps yet", style="dim"))
            return
        lanes = sorted({*sessions, *(e.session for e in entries)})
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("#", justify="right", width=4)
        for lane in lanes:
            table.add_column(lane, ratio=1, no_wrap=True, overflow="ellipsis")
        for entry in entries:
            cells = [Text("")] * len(lanes)
            cells[lanes.index(entry.session)] = _timeline_cell(entry)
            table.add_row(str(entry.index), *cells)
        self.body.update(table)
        self.scroll_end(animate=False)


def _timeline_cell(entry: TimelineEntry) -> Text:
    first = entry.input.strip().splitlines()[0] if entry.input.strip() else ""
    styles = {"✓": "green", "✗": "red", "⏳": "yellow", "running": "blue", "queued": "dim"}
    mark = entry.outcome
    text = Text()
    if entry.waited_on:
        text.append(f"⏳ on {','.join(entry.waited_on)} ", style="yellow")
    text.append(f"{mark if len(mark) == 1 else '·'} ", style=styles.get(mark, ""))
    text.append(first)
    if entry.done_after is not None:
        text.append(f" → {mark} at {entry.done_after}", style=styles.get(mark, ""))
    return text
