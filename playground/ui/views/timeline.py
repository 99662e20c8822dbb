"""The timeline: every step of every session in global order."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

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


class Timeline(VerticalScroll):
    """Every step of every session in global order, one swimlane per session."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = Static("", markup=False)
        self._drawn: tuple[object, ...] | None = None

    def compose(self):
        yield self.body

    def show(
        self,
        entries: tuple[TimelineEntry, ...],
        sessions: tuple[str, ...],
        unsent: dict[int, tuple[str, ...]] | None = None,
        running: dict[str, float] | None = None,
    ) -> None:
        """Draw the swimlanes unless unchanged.

        `unsent`: per step, the savepoints it ended without sending; `running`: per session,
        how long its running step has run (shown past a moment).
        """
        unsent, running = unsent or {}, running or {}
        key = (entries, sessions, tuple(unsent.items()), tuple(running.items()))
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
            seconds = running.get(entry.session) if entry.outcome == "running" else None
            cells[lanes.index(entry.session)] = _timeline_cell(entry, unsent.get(entry.index, ()), seconds)
            table.add_row(str(entry.index), *cells)
        self.body.update(table)
        self.scroll_end(animate=False)


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
