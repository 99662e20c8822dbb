"""A screen whose partial updates render only the lines that changed.

Textual's compositor, for a partial update, asks every widget whose clip overlaps the box
around all changed regions for all of its lines, then keeps the changed ones. With five
panes side by side, a one-line change in one pane (a countdown, a cursor) re-rendered every
line of most widgets on screen: the panes' containers clip their children, so the children
of every pane "overlap" it. That was 5-10 ms a frame while one session ran steps and three
waited, several frames a second.

Here a widget is asked only for the rows that changed, and only if it lies across them. The
result is the same update (tests/ui/test_compositor.py compares it, cut by cut, with
Textual's own); a full update is Textual's own. With TXPLAY_TEXTUAL_PRIVATE=0 (see
`private_api`) the screen keeps Textual's compositor.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import UPDATE_PERIOD, Screen
from textual.strip import Strip
from textual.widget import Widget

from playground.ui import acyclic, private_api


def row_bands(regions: Iterable[Region]) -> list[tuple[int, int, int, int]]:
    """Changed regions merged into bands of rows: (top, bottom, left, right), bottom and right
    exclusive. Regions whose rows touch or overlap share a band, as wide as all of them."""
    bands: list[list[int]] = []
    for x, y, width, height in sorted(regions, key=lambda r: r.y):
        if not (width and height):
            continue
        if bands and y <= bands[-1][1]:
            band = bands[-1]
            band[1] = max(band[1], y + height)
            band[2] = min(band[2], x)
            band[3] = max(band[3], x + width)
        else:
            bands.append([y, y + height, x, x + width])
    return [(top, bottom, left, right) for top, bottom, left, right in bands]


class SpanCompositor(Compositor):
    """Renders, for a partial update, only the changed rows of the widgets across them."""

    def __init__(self) -> None:
        super().__init__()
        self._bands: list[tuple[int, int, int, int]] | None = None

    def render_partial_update(self):  # noqa: ANN201 - Textual's own return type
        self._bands = row_bands(self._dirty_regions)
        try:
            return super().render_partial_update()
        finally:
            self._bands = None

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        bands = self._bands
        if bands is None or crop is None:
            yield from super()._get_renders(crop)
            return
        _rich_traceback_guard = True  # noqa: F841 - a render error's traceback starts here, as in Textual
        for widget, (region, clip) in self.visible_widgets.items():
            x, y, width, height = region.intersection(clip)
            if not (width and height):
                continue
            right, bottom = x + width, y + height
            for top, band_bottom, left, band_right in bands:
                first, last = max(y, top), min(bottom, band_bottom)
                if first >= last or x >= band_right or right <= left:
                    continue
                # The widget's whole width: its edges are where Textual cuts the line.
                lines = Region(x, first, width, last - first)
                yield region, lines, widget.render_lines(lines.translate(-region.offset))


class TxplayScreen(Screen):
    """The app's main screen, with the compositor above (unless the private overrides are off)."""

    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #status-line"  # a zoomed pane keeps the keys and the status in sight

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._drawn_now_at = float("-inf")  # when `draw_now` last drew
        if private_api.ENABLED:
            self._compositor = SpanCompositor()
            acyclic.install()

    def draw_now(self, widget: Widget) -> None:
        """Put `widget`'s change on screen now, not at the screen's next frame.

        Textual draws a change at the next tick of the screen's 60 Hz timer, and while other panes
        change (a session running steps) that tick is up to two frames away: a keystroke showed
        17 ms after it was typed at the median. A keystroke is drawn at once instead, by that
        tick's own routine, with whatever else is waiting to be drawn; people type a few keys a
        second, so this adds few frames, and at most one a frame is drawn this way. With the
        private overrides off, Textual's own timing.
        """
        if not private_api.ENABLED or self._layout_required:
            return
        now = time.monotonic()
        if now - self._drawn_now_at < UPDATE_PERIOD or widget not in self._compositor.visible_widgets:
            return  # keys in a burst (a terminal's paste, a fast typist) share the next frame
        self._drawn_now_at = now
        widget._repaint_required = False  # drawn here: no second draw of the same change at the tick
        self._dirty_widgets.add(widget)
        self._on_timer_update()  # the tick's routine: draws what is dirty (unless batching, or not on top)
