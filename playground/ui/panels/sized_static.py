"""A Static that asks for a layout pass only when its height may change."""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class SizedStatic(Static):
    """A Static that asks for a layout pass only when its number of lines changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._height_key: object = None

    def draw(self, renderable: VisualType, height_key: object) -> None:
        """Update; a layout pass (which re-renders every scrollbar) only if the height may change."""
        self.update(renderable, layout=height_key != self._height_key)
        self._height_key = height_key
