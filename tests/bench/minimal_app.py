"""The start-up reference: a minimal Textual app with one Static, leaving when first drawn."""

from textual.app import App
from textual.widgets import Static


class Minimal(App):
    def compose(self):
        yield Static("ready")

    def on_mount(self) -> None:
        self.call_after_refresh(self.exit)


if __name__ == "__main__":
    import os

    Minimal().run(headless=bool(os.environ.get("TXPLAY_HEADLESS")))
