"""The timeline: every step of every session in global order."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from playground.engine.snapshot import TimelineEntry
from playground.engine.states import TimelineOutcome

# How the timeline draws each outcome: a glyph and its style (a step not yet ended is a dot).
MARKS = {
    TimelineOutcome.OK: ("✓", "green"),
    TimelineOutcome.ERROR: ("✗", "red"),
    TimelineOutcome.WARNING: ("⚠", "bold yellow"),
    TimelineOutcome.WAITING: ("⏳", "yellow"),
    TimelineOutcome.RUNNING: ("·", "blue"),
    TimelineOutcome.QUEUED: ("·", "dim"),
}
NUMBER = 5  # the width of the step-number column
GAP = 2  # between two columns


class Timeline(ScrollView):
    """Every step of every session in global order, one swimlane per session.

    Only the lines on screen are drawn (a long session has thousands of steps), and a new
    snapshot redraws them only; the header stays put while the steps scroll.
    """

    DEFAULT_CSS = """
    Timeline { height: 1fr; }
    Timeline > .timeline--header { text-style: bold; }
    Timeline > .timeline--earlier { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES = {"timeline--header", "timeline--earlier"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries: tuple[TimelineEntry, ...] = ()
        self.earlier = 0  # steps before the first entry that the workspace no longer keeps
        self.lanes: list[str] = []
        self._unsent: dict[int, tuple[str, ...]] = {}
        self._running_for: dict[str, float] = {}
        self._drawn: tuple[object, ...] | None = None

    def show(
        self,
        entries: tuple[TimelineEntry, ...],
        sessions: tuple[str, ...],
        unsent: dict[int, tuple[str, ...]] | None = None,
        running: dict[str, float] | None = None,
        earlier: int = 0,
    ) -> None:
        """Draw the swimlanes unless unchanged.

        `unsent`: per step, the savepoints it ended without sending; `running`: per session,
        how long its running step has run (shown past a moment); `earlier`: how many steps
        before the first entry are no longer kept.
        """
        unsent, running = unsent or {}, running or {}
        first = entries[0].index if entries else 0
        unsent = {k: v for k, v in unsent.items() if k >= first}
        key = (entries, sessions, tuple(unsent.items()), tuple(running.items()), earlier)
        if key == self._drawn:
            return
        self._drawn = key
        following = self.scroll_offset.y >= self.max_scroll_y  # at the end: stay there as steps come
        self.entries, self.earlier, self._unsent, self._running_for = entries, earlier, unsent, running
        self.lanes = sorted({*sessions, *(e.session for e in entries)})
        self.virtual_size = Size(0, 1 + self._lines())  # lanes share the width: no sideways scroll
        if following:
            self.scroll_end(animate=False)
        self.refresh()

    def _lines(self) -> int:
        """Lines below the header: the note on earlier steps, then one a step."""
        return (1 if self.earlier else 0) + len(self.entries)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self.entries:
            if y == 0:
                return Strip([Segment("no steps yet", base + self.get_component_rich_style("timeline--earlier"))]).extend_cell_length(width, base)
            return Strip.blank(width, base)
        if y == 0:
            cells = [Text("#".rjust(NUMBER)), *(Text(lane) for lane in self.lanes)]
            return self._row(cells, width, base + self.get_component_rich_style("timeline--header"))
        line = int(self.scroll_offset.y) + y - 1
        if self.earlier:
            if line == 0:
                note = f"… {self.earlier:,} earlier step{'s' if self.earlier != 1 else ''} not shown"
                return self._row([Text(""), Text(note)], width, base + self.get_component_rich_style("timeline--earlier"), spread=False)
            line -= 1
        if not 0 <= line < len(self.entries):
            return Strip.blank(width, base)
        entry = self.entries[line]
        cells = [Text(str(entry.index).rjust(NUMBER))] + [Text("") for _ in self.lanes]
        seconds = self._running_for.get(entry.session) if entry.outcome == "running" else None
        cells[1 + self.lanes.index(entry.session)] = _timeline_cell(entry, self._unsent.get(entry.index, ()), seconds)
        return self._row(cells, width, base)

    def _row(self, cells: list[Text], width: int, style, spread: bool = True) -> Strip:
        """The number column, then the lanes sharing the rest of the width, each cut with an ellipsis."""
        lanes = max(len(self.lanes), 1)
        lane_width = max((width - NUMBER - GAP * lanes) // lanes, 1) if spread else max(width - NUMBER - GAP, 1)
        line = Text(style=style, no_wrap=True, end="")
        for i, cell in enumerate(cells):
            if i:
                line.append(" " * GAP)
                cell.truncate(lane_width, overflow="ellipsis", pad=True)
            line.append_text(cell)
        segments = list(line.render(self.app.console))
        return Strip(segments).crop_extend(0, width, style)

    def line_text(self, y: int) -> str:
        """What line `y` of the view shows, as plain text (for tests)."""
        return "".join(segment.text for segment in self.render_line(y)).rstrip()


def _timeline_cell(entry: TimelineEntry, unsent: tuple[str, ...] = (), running: float | None = None) -> Text:
    first = entry.input.strip().splitlines()[0] if entry.input.strip() else ""
    mark, style = MARKS[entry.outcome]
    text = Text()
    if entry.waited_on:
        text.append(f"⏳ on {','.join(entry.waited_on)} ", style="yellow")
    text.append(f"{mark} ", style=style)
    text.append(first)
    if running is not None:
        text.append(f"  running {running:.1f} s", style="blue")
    if entry.done_after is not None:
        text.append(f" → {mark} at {entry.done_after}", style=style)
    for name in unsent:
        text.append(f" ∅ {name} never sent", style="italic cyan")
    return text
