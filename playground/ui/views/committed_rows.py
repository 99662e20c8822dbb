"""The committed rows of one table, read a page at a time as they come into view."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from playground.engine.events import CommittedTable

MAX_CELL = 40


Fetch = Callable[[str, int, int], Awaitable["CommittedTable | None"]]
"""Reads `limit` committed rows of a table from `offset` on (the committed view passes its source's)."""


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
            cells = ["#".rjust(self._number_width), *(_fit(c, w) for c, w in zip(self.columns, self._widths, strict=False))]
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
            strip = Strip([number, Segment("  ".join(_fit(c, w) for c, w in zip(rows[within], self._widths, strict=False)) + " ", style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def line_text(self, y: int) -> str:
        """What line `y` of the view shows, as plain text (for tests)."""
        return "".join(segment.text for segment in self.render_line(y)).rstrip()


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
