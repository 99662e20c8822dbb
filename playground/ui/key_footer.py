"""The footer: Textual's, recomposed only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Iterator

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer, but a focus change that leaves the keys as they were redraws nothing.

    Textual recomposes the footer whenever the screen's bindings may have changed (twice a focus
    change), and each recompose leaves the keys it replaced referenced by the footer's `compact`
    binding until it changes. Moving between panes, whose keys are the same, kept ~30 dead
    `FooterKey` widgets a move, and spent a recompose on nothing.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: tuple[object, ...] | None = None  # the keys drawn now (None: none yet)
        self.recomposes = 0  # a gauge for tests

    def compose(self) -> Iterator[Widget]:
        children = list(super().compose())
        self.shown = shown_keys(self.screen, self.show_command_palette) if children else None
        self.recomposes += 1
        yield from children

    def bindings_changed(self, screen: Screen) -> None:
        if self.shown is not None and screen is self.screen and shown_keys(screen, self.show_command_palette) == self.shown:
            return
        super().bindings_changed(screen)


def shown_keys(screen: Screen, palette: bool) -> tuple[object, ...]:
    """What a footer shows for the screen's bindings: each key shown, its action, words and state."""
    keys = tuple(
        (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
        for _, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )
    return (palette, *keys)
