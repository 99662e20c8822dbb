"""The Timeline tab draws only the lines on screen, whatever the length of the history."""

from __future__ import annotations

from textual.app import App, ComposeResult

from playground.engine.snapshot import TimelineEntry
from playground.engine.states import TimelineOutcome
from playground.ui.views import timeline as timeline_module
from playground.ui.views.timeline import Timeline
from tests.ui.conftest import drawn

HEIGHT = 12


class TimelineApp(App):
    def compose(self) -> ComposeResult:
        yield Timeline(id="timeline")


def entries(n: int, start: int = 1) -> tuple[TimelineEntry, ...]:
    return tuple(TimelineEntry(i, "AB"[i % 2], f"select {i}", TimelineOutcome.OK) for i in range(start, start + n))


async def test_drawing_costs_the_lines_on_screen_not_the_steps(monkeypatch):
    formatted: list[int] = []
    cell = timeline_module._timeline_cell

    def counting(entry, *args):
        formatted.append(entry.index)
        return cell(entry, *args)

    monkeypatch.setattr(timeline_module, "_timeline_cell", counting)
    app = TimelineApp()
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.query_one(Timeline)
        for n in (50, 2000):
            formatted.clear()
            view.show(entries(n), ("A", "B"))
            await pilot.pause()
            drawn(view)  # what a screen update renders
            assert 0 < len(formatted) <= 3 * HEIGHT, f"{len(formatted)} steps formatted for {n} steps"
            assert f"select {n}" in drawn(view).splitlines()[-1], "the newest step is at the bottom"


async def test_the_steps_no_longer_kept_are_counted_above_the_first(monkeypatch):
    app = TimelineApp()
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.query_one(Timeline)
        view.show(entries(1000, start=8001), ("A", "B"), earlier=8000)
        await pilot.pause()
        view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        lines = drawn(view).splitlines()
        assert lines[0].split() == ["#", "A", "B"]
        assert "… 8,000 earlier steps not shown" in lines[1]
        assert lines[2].split()[:3] == ["8001", "✓", "select"]
