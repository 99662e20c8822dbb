"""The screen's compositor renders only changed rows, and its updates equal Textual's own.

This module gates a Textual upgrade (pyproject.toml pins Textual): SpanCompositor overrides
private methods of Textual's compositor. With TXPLAY_TEXTUAL_PRIVATE=0 the app keeps Textual's
compositor, and these tests lay out a SpanCompositor of their own over the same screen.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from textual._compositor import Compositor
from textual.geometry import Region

from playground.ui import private_api
from playground.ui.compositor import SpanCompositor, row_bands
from tests.ui.conftest import run_in


def test_row_bands_merge_regions_whose_rows_touch():
    regions = [Region(10, 5, 4, 2), Region(50, 6, 3, 1), Region(0, 7, 2, 1), Region(30, 20, 5, 1), Region(1, 1, 0, 5)]
    assert row_bands(regions) == [(5, 8, 0, 53), (20, 21, 30, 35)]
    assert row_bands([]) == []


def _span_compositor(app) -> SpanCompositor:
    """The screen's SpanCompositor, or (with the private overrides off) one laid out like it."""
    compositor = app.screen._compositor
    if private_api.ENABLED:
        assert isinstance(compositor, SpanCompositor)
        return compositor
    assert type(compositor) is Compositor, "TXPLAY_TEXTUAL_PRIVATE=0 left txplay's compositor on the screen"
    ours = SpanCompositor()
    ours.reflow(app.screen, app.screen.size)
    return ours


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
        compositor = _span_compositor(app)
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
        compositor = _span_compositor(app)
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


SWITCHED = (
    "from playground.ui.compositor import TxplayScreen\n"
    "from playground.ui.step_log import StepLog\n"
    "print(type(TxplayScreen()._compositor).__name__, 'watch_virtual_size' in vars(StepLog))\n"
)


@pytest.mark.parametrize(("setting", "expected"), [
    (None, "SpanCompositor True"), ("1", "SpanCompositor True"), ("0", "Compositor False"), ("off", "Compositor False"),
])
def test_one_setting_switches_both_private_overrides(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != private_api.ENV}
    if setting is not None:
        env[private_api.ENV] = setting
    done = subprocess.run([sys.executable, "-c", SWITCHED], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
