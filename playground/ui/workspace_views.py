"""Views across panes: committed data, the lock graph and the timeline."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Select, Static, TabbedContent

from playground.engine.events import CommittedTable
from playground.engine.snapshot import LockWait, TimelineEntry
from playground.ui import render

MAX_CELL = 40


Fetch = Callable[[str, int, int], Awaitable["CommittedTable | None"]]
"""Reads `limit` committed rows of a table from `offset` on (the app passes the workspace's)."""


class CommittedRows(ScrollView):
    """Committed rows of one table, read a page at a time as they come into view.

    A table may hold millions of rows: only the pages on screen are read, at most `KEEP` pages
    are held, and only the visible lines are rendered. The header stays put while rows scroll.
    """

    DEFAULT_CSS = """
    CommittedRows { height: 1fr; }
    CommittedRows > .committed-rows--header { text-style: bold; background: $panel; }
    CommittedRows > .committed-rows--stripe { background: $boost; }
    CommittedRows > .committed-rows--number { color: $text-muted; }
    CommittedRows > .committed-rows--missing { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES = {"committed-rows--header", "committed-rows--stripe", "committed-rows--number", "committed-rows--missing"}
    PAGE = 200
    KEEP = 8

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fetch: Fetch | None = None
        self.table: str | None = None
        self.columns: tuple[str, ...] = ()
        self.total = 0
        self.error: str | None = None  # why a page could not be read (until the next reload)
        self._pages: OrderedDict[int, tuple[tuple[str, ...], ...]] = OrderedDict()
        self._widths: list[int] = []
        self._number_width = 1
        self._generation = 0  # bumped by each reload: pages read before it are dropped
        self._loading = False
        self._deferred = False
        self.settled = asyncio.Event()  # set when every row on screen has been read (for tests)
        self.settled.set()
        self.reads: list[tuple[int, int]] = []  # (offset, limit) of every read (a gauge for tests)

    # -- data -----------------------------------------------------------------------------

    async def reload(self, table: str) -> str | None:
        """Read the table again at the rows on screen (from the top for a new table).

        The rows shown stay until the new ones have arrived. Returns why the table cannot be
        read now, if it cannot.
        """
        if self.fetch is None:
            return None
        moved = table != self.table
        top = 0 if moved else self._top_row()
        first = top // self.PAGE
        pages = sorted({first, min(top + max(self.size.height - 2, 0), max(self.total - 1, 0)) // self.PAGE})
        read: dict[int, CommittedTable] = {}
        for page in pages:
            data = await self._read(table, page)
            if data is None:
                return None
            if data.error:
                return data.error
            read[page] = data
        data = read[first]
        cells = {page: _cells(page_data.rows) for page, page_data in read.items()}
        # Most steps commit nothing: when the rows on screen read the same, nothing is redrawn.
        same = (
            not moved and self.error is None and data.columns == self.columns and (data.total or 0) == self.total
            and all(self._pages.get(page) == rows for page, rows in cells.items())
        )
        self._generation += 1
        self._pages.clear()
        if moved or data.columns != self.columns:
            self.table, self.columns = table, data.columns
            self._widths = [min(cell_len(c), MAX_CELL) for c in data.columns]
        self.total = data.total or 0
        self.error = None
        for page, rows in cells.items():
            self._store(page, rows)
        if same:
            return None
        self._resize()
        if moved:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()
        return None

    async def _read(self, table: str, page: int) -> CommittedTable | None:
        assert self.fetch is not None
        self.reads.append((page * self.PAGE, self.PAGE))
        return await self.fetch(table, page * self.PAGE, self.PAGE)

    def _store(self, page: int, cells: tuple[tuple[str, ...], ...]) -> None:
        widths = self._widths
        for row in cells:
            for i, cell in enumerate(row[: len(widths)]):
                if len(cell) > widths[i] and (width := cell_len(cell)) > widths[i]:
                    widths[i] = min(width, MAX_CELL)
        self._pages[page] = cells
        self._pages.move_to_end(page)
        keep = max(self.KEEP, len(self._visible_pages()) + 1)
        while len(self._pages) > keep:
            self._pages.popitem(last=False)

    @property
    def rows_held(self) -> int:
        """How many rows are in memory now."""
        return sum(len(rows) for rows in self._pages.values())

    def _top_row(self) -> int:
        return int(self.scroll_offset.y)

    def _visible_pages(self) -> range:
        if not self.total:
            return range(0)
        top = self._top_row()
        bottom = min(top + max(self.size.height - 2, 0), self.total - 1)
        return range(top // self.PAGE, bottom // self.PAGE + 1)

    def _want_pages(self) -> None:
        """Read the missing pages on screen, one at a time, in the background."""
        if self.fetch is None or self.table is None or self.error:
            return
        self.settled.clear()
        if self._loading:
            return
        if self.app.animator.is_being_animated(self, "scroll_y"):
            # Home or End on a big table: read where the scroll lands, not every page on the way.
            if not self._deferred:
                self._deferred = True
                self.set_timer(1 / 30, self._want_deferred)
            return
        self._loading = True
        self.run_worker(self._load_visible(), group="committed-pages")

    def _want_deferred(self) -> None:
        self._deferred = False
        self._want_pages()

    async def _load_visible(self) -> None:
        try:
            while self.table is not None and not self.error:
                missing = [p for p in self._visible_pages() if p not in self._pages]
                if not missing:
                    break
                generation, table = self._generation, self.table
                data = await self._read(table, missing[0])
                if data is None:
                    return
                if generation != self._generation or table != self.table:
                    continue  # reloaded meanwhile: read what is on screen now
                if data.error:
                    self.error = data.error
                else:
                    widths = list(self._widths)
                    self._store(missing[0], _cells(data.rows))
                    if widths != self._widths:
                        self._resize()
                self.refresh()
        finally:
            self._loading = False
        if not self._deferred:
            self.settled.set()

    # -- drawing --------------------------------------------------------------------------

    def _resize(self) -> None:
        number = len(str(max(self.total, 1)))
        self._number_width = number
        self.virtual_size = Size(number + 1 + sum(w + 2 for w in self._widths), self.total + 1)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self.columns:
            return Strip.blank(width, base)
        if y == 0:
            header = self.get_component_rich_style("committed-rows--header")
            cells = ["#".rjust(self._number_width), *(_fit(c, w) for c, w in zip(self.columns, self._widths))]
            strip = Strip([Segment(" " + "  ".join(cells) + " ", base + header)])
            return strip.crop_extend(scroll_x, scroll_x + width, base + header)
        index = scroll_y + y - 1
        if index >= self.total:
            return Strip.blank(width, base)
        number = Segment(" " + str(index + 1).rjust(self._number_width) + "  ", base + self.get_component_rich_style("committed-rows--number"))
        page, within = divmod(index, self.PAGE)
        rows = self._pages.get(page)
        style = base + self.get_component_rich_style("committed-rows--stripe") if index % 2 else base
        if rows is None or within >= len(rows):
            if rows is None:
                self._want_pages()
            missing = self.get_component_rich_style("committed-rows--missing")
            text = f"cannot read now — {self.error}" if self.error else ("…" if rows is None else "(gone since the count)")
            strip = Strip([number, Segment(text, style + missing)])
        else:
            self._pages.move_to_end(page)
            strip = Strip([number, Segment("  ".join(_fit(c, w) for c, w in zip(rows[within], self._widths)) + " ", style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def line_text(self, y: int) -> str:
        """What line `y` of the view shows, as plain text (for tests)."""
        return "".join(segment.text for segment in self.render_line(y)).rstrip()


class CommittedView(Vertical):
    """What a fresh connection outside every session sees, one table at a time."""

    DEFAULT_CSS = """
    CommittedView { height: 1fr; }
    CommittedView > Select { width: 40; height: auto; }
    CommittedView > .committed-status { height: 1; color: $text-muted; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.select: Select[str] = Select([], prompt="table", allow_blank=True, compact=True)
        self.rows = CommittedRows()
        self.status = Static("", classes="committed-status", markup=False)
        self._tables: list[str] | None = None
        self._said = ""

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


def _cells(rows: tuple[tuple, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_cell(v) for v in row) for row in rows)


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _fit(text: str, width: int) -> str:
    """`text` cut or padded to `width` cells."""
    return set_cell_size(text, width)


class CrossViews(TabbedContent):
    """The views across panes, as tabs; ctrl+g zooms them like a pane (a TabbedContent takes no focus)."""

    ALLOW_MAXIMIZE = True


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
        self._drawn: tuple[object, ...] | None = None

    def compose(self):
        yield self.body

    def show(self, entries: tuple[TimelineEntry, ...], sessions: tuple[str, ...], unsent: dict[int, tuple[str, ...]] | None = None) -> None:
        """Draw the swimlanes unless unchanged; `unsent`: per step, the savepoints it ended without sending."""
        unsent = unsent or {}
        key = (entries, sessions, tuple(unsent.items()))
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
            cells[lanes.index(entry.session)] = _timeline_cell(entry, unsent.get(entry.index, ()))
            table.add_row(str(entry.index), *cells)
        self.body.update(table)
        self.scroll_end(animate=False)


def _timeline_cell(entry: TimelineEntry, unsent: tuple[str, ...] = ()) -> Text:
    first = entry.input.strip().splitlines()[0] if entry.input.strip() else ""
    styles = {"✓": "green", "✗": "red", "⚠": "bold yellow", "⏳": "yellow", "running": "blue", "queued": "dim"}
    mark = entry.outcome
    text = Text()
    if entry.waited_on:
        text.append(f"⏳ on {','.join(entry.waited_on)} ", style="yellow")
    text.append(f"{mark if len(mark) == 1 else '·'} ", style=styles.get(mark, ""))
    text.append(first)
    if entry.done_after is not None:
        text.append(f" → {mark} at {entry.done_after}", style=styles.get(mark, ""))
    for name in unsent:
        text.append(f" ∅ {name} never sent", style="italic cyan")
    return text
