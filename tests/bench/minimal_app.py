"""The start-up reference: a minimal Textual app with one Static, leaving when first drawn."""

import os
import time
from pathlib import Path

from textual.app import App
from textual.widgets import Static


def note_ready() -> None:
    """As txplay does: write when the app was ready to $TXPLAY_READY_FILE."""
    path = os.environ.get("TXPLAY_READY_FILE")
    if path:
        Path(path).write_text(repr(time.time()))


class Minimal(App):
    def compose(self):
        yield Static("ready")

    def on_mount(self) -> None:
        self.call_after_refresh(self._ready_exit)

    def _ready_exit(self) -> None:
        note_ready()
        self.exit()


if __name__ == "__main__":
    Minimal().run(headless=bool(os.environ.get("TXPLAY_HEADLESS")))
