"""The screen's compositor renders only changed rows, and its updates equal Textual's own."""

from __future__ import annotations

import random

from textual._compositor import Compositor
from textual.geometry import Region

from playground.ui.compositor import SpanCompositor, row_bands
from tests.ui.conftest import run_in


def test_row_bands_merge_regions_whose_rows_touch():
    regions = [Region(10, 5, 4, 2), Region(50, 6, 3, 1), Region(0, 7, 2, 1), Region(30, 20, 5, 1), Region(1, 1, 0, 5)]
    assert row_bands(regions) == [(5, 8, 0, 53), (20, 21, 30, 35)]
    assert row_bands([]) == []


def _both_updates(compositor: SpanCompositor, regions: list[Region], console) -> tuple[str, str]:
    compositor._dirty_regions = set(regions)
    ours = compositor.render_partial_update()
    compositor._dirty_regions = set(regions)
    textuals = Compositor.render_partial_update(compositor)  # without bands: Textual's own path
    assert ours is not None and textuals is not None
    return ours.render_segments(console), textuals.render_segments(console)


async def test_partial_updates_equal_textuals_own(app_factory):
    app = app_factory(sessions=4)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "session.add_all([User(name=f'u{i}') for i in range(30)])")
        await run_in(pilot, "B", "select * from items")
        await run_in(pilot, "C", "\\savepoint s1")
        compositor = app.screen._compositor
        assert isinstance(compositor, SpanCompositor)
        widgets = [(w, region) for w, (region, clip) in compositor.visible_widgets.items() if region.area]
        screen = app.screen.region
        rng = random.Random(5)
        for _ in range(60):
            regions = []
            for _ in range(rng.randint(1, 4)):
                if rng.random() < 0.6:
                    _, region = rng.choice(widgets)  # a widget (part of it) changed
                    height = rng.randint(1, region.height)
                    region = Region(region.x, region.y + rng.randrange(region.height - height + 1), region.width, height)
                else:
                    x, y = rng.randrange(screen.width), rng.randrange(screen.height)
                    region = Region(x, y, rng.randint(1, screen.width - x), rng.randint(1, screen.height - y))
                regions.append(region)
            ours, textuals = _both_updates(compositor, regions, app.console)
            assert ours == textuals, f"the update differs from Textual's for {regions}"


async def test_a_one_line_change_renders_that_line_of_the_widgets_across_it_only(app_factory):
    app = app_factory(sessions=4)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        rendered: list[tuple[object, int]] = []
        for widget in list(compositor.visible_widgets):
            original = widget.render_lines
            widget.render_lines = lambda crop, w=widget, original=original: (rendered.append((w, crop.height)), original(crop))[1]
        pane = app.pane("B")
        line = pane.input.region.intersection(Region(0, pane.input.region.y, 200, 1))
        compositor._dirty_regions = {line}
        compositor.render_partial_update()
        assert rendered, "nothing was rendered"
        assert all(height == 1 for _, height in rendered), rendered
        assert not any(app.pane(name) in w.ancestors_with_self for w, _ in rendered for name in "ACD"), \
            "widgets of other panes were rendered for a change in B"
