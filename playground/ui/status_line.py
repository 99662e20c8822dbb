"""The status line under the panes: where the sessions run, or the latest news about one of them."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class StatusLine(Static):
    """One line of text; a message about some sessions gives way to the default when one opens again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("opening the database…", markup=False, **kwargs)
        self.default = ""
        self._about: set[str] = set()  # the sessions the message shown is about

    def say(self, text: str, about: tuple[str, ...] = ()) -> None:
        """Show `text`; `about`: the sessions it speaks of (it goes when one opens again)."""
        self._about = set(about)
        self.update(text)

    def say_default(self, text: str) -> None:
        """Show `text`, and come back to it when a message about a session goes."""
        self.default = text
        self.say(text)

    def session_opened(self, name: str) -> None:
        """A session named `name` is open: "session A closed" is no longer true."""
        if name in self._about:
            self.say(self.default)
