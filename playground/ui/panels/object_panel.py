"""A pane's Objects panel: every object the session holds, grouped by state."""

from __future__ import annotations

from collections import OrderedDict

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from playground.engine.snapshot import ObjectRow
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
        if len(old) == len(rows) and all(a is b for a, b in zip(old, rows, strict=False)):
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
