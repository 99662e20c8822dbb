"""A pane's live panels: Objects, Transactions, Locks. They draw snapshots only."""

from __future__ import annotations

from collections import OrderedDict

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from playground.engine.snapshot import LockWait, ObjectRow, SessionSnapshot, TransactionRow
from playground.ui import render


class ObjectPanel(ScrollView):
    """Objects grouped by panel, drawn on demand: only the visible lines are ever rendered.

    A session may hold thousands of objects; a step that changes one of them gives a new row
    object for that one only, so only its line is rendered again (and only if it is visible).
    """

    DEFAULT_CSS = """
    ObjectPanel { height: 1fr; }
    """
    can_focus = False
    MAX_CACHED = 4000

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: tuple[ObjectRow, ...] = ()
        self._lines: list[Text | ObjectRow] = [Text("no objects", style="dim")]
        self._strips: OrderedDict[int, tuple[object, Strip]] = OrderedDict()
        self.lines_rendered = 0  # how many lines were turned into strips (a gauge for tests)

    def show(self, rows: tuple[ObjectRow, ...]) -> None:
        """Take new rows; unchanged rows are the very same objects, so nothing is re-rendered."""
        old = self._rows
        if len(old) == len(rows) and all(a is b for a, b in zip(old, rows)):
            return
        self._rows = rows
        self._lines = render.object_lines(rows)
        self.virtual_size = Size(0, len(self._lines))
        self.border_subtitle = f"{len(rows)} object{'s' if len(rows) != 1 else ''}"
        self.refresh()

    @property
    def plain(self) -> str:
        """Every line as plain text (for tests; renders everything)."""
        return "\n".join(self._text(line).plain for line in self._lines)

    def _text(self, line: Text | ObjectRow) -> Text:
        return line if isinstance(line, Text) else Text("  ") + render.object_line(line)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        line = self._lines[index]
        cached = self._strips.get(id(line))
        if cached is not None and cached[0] is line:
            strip = cached[1]
            self._strips.move_to_end(id(line))
        else:
            text = self._text(line)
            console = self.app.console
            # Text.render leaves the Text's own style to the caller: put it (and ours) under the spans.
            base = self.rich_style + console.get_style(text.style or "none")
            strip = Strip(Segment.apply_style(text.render(console, end=""), base), text.cell_len)
            self.lines_rendered += 1
            self._strips[id(line)] = (line, strip)
            while len(self._strips) > self.MAX_CACHED:
                self._strips.popitem(last=False)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def on_resize(self) -> None:
        self._strips.clear()


class _SizedStatic(Static):
    """A Static that asks for a layout pass only when its number of lines changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._height_key: object = None

    def draw(self, renderable: object, height_key: object) -> None:
        """Update; a layout pass (which re-renders every scrollbar) only if the height may change."""
        self.update(renderable, layout=height_key != self._height_key)
        self._height_key = height_key


class TransactionPanel(_SizedStatic):
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


class LockPanel(_SizedStatic):
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
