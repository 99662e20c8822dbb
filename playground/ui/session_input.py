"""The input of a pane: Enter runs, incomplete Python blocks continue, history, completion."""

from __future__ import annotations

import codeop
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea

from playground.ui.history import History

_WORD_BEFORE = re.compile(r"[\\A-Za-z_][\w\-]*$")


def is_complete(text: str) -> bool:
    """Whether Enter should run `text` now rather than start a new line."""
    stripped = text.strip()
    if not stripped:
        return False
    if "\n" in text and not text.endswith("\n"):
        # In a block, a blank last line runs it (as in the Python REPL).
        last = text.rsplit("\n", 1)[-1]
        if last.strip() and (last.startswith((" ", "\t")) or stripped.endswith(":")):
            return False
    if stripped.startswith("\\"):
        return True
    from playground.engine.language import looks_like_sql

    if looks_like_sql(stripped):
        return True
    try:
        return codeop.compile_command(text, "<input>", "exec") is not None
    except (SyntaxError, ValueError, OverflowError):
        return True  # let the engine report the error


class SessionInput(TextArea):
    """A TextArea that submits on Enter when the input is complete."""

    BINDINGS = [
        Binding("ctrl+j", "newline", "New line", show=False),
        Binding("ctrl+c", "interrupt", "Cancel / clear", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """The user ran an input."""

        input: SessionInput
        text: str

        @property
        def control(self) -> SessionInput:
            """The input that was submitted."""
            return self.input

    @dataclass
    class Interrupted(Message):
        """Ctrl+C with nothing selected: cancel a waiting step, or clear the input."""

        input: SessionInput

        @property
        def control(self) -> SessionInput:
            """The input that was interrupted."""
            return self.input

    def __init__(self, history: History, completions: Callable[[], Iterable[str]], **kwargs) -> None:
        super().__init__(language=None, soft_wrap=True, tab_behavior="focus", show_line_numbers=False, **kwargs)
        self.input_history = history
        self.completions = completions

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            if is_complete(self.text):
                event.prevent_default()
                event.stop()
                self.submit()
                return
        elif event.key == "up" and self.cursor_location[0] == 0:
            entry = self.input_history.previous()
            if entry is not None:
                event.prevent_default()
                event.stop()
                self._show(entry)
                return
        elif event.key == "down" and self.cursor_location[0] == self.document.line_count - 1:
            entry = self.input_history.next()
            if entry is not None:
                event.prevent_default()
                event.stop()
                self._show(entry)
                return
        elif event.key == "tab" and self.complete():
            event.prevent_default()
            event.stop()
            return
        await super()._on_key(event)
        if event.is_printable:
            self._echo()

    def action_delete_left(self) -> None:
        super().action_delete_left()
        self._echo()

    def _echo(self) -> None:
        """Show what was just typed now, not at the screen's next frame (`TxplayScreen.draw_now`)."""
        draw_now = getattr(self.screen, "draw_now", None)  # the app's screen; not a bare one
        if draw_now is not None:
            draw_now(self)

    def render_lines(self, crop: Region) -> list[Strip]:
        """As Textual's, but blank until the stylesheet has reached this input.

        Textual 8.2 may draw a TextArea just after it was mounted, before its component styles are
        applied (its issue 6528, seen when the panes are made again on a busy app). Its theme then
        asks for those styles: a KeyError, or, given a default, a fallback that blends a colour
        with the theme's colour *name* (an AttributeError). Either would take the app down; this
        frame is blank instead, and the next one, once the styles are in, draws the input.
        """
        if not self._component_styles.keys() >= self.COMPONENT_CLASSES:  # a set test: no styles merged per frame
            self.call_after_refresh(self.refresh)
            return [Strip.blank(crop.width, self.rich_style) for _ in range(crop.height)]
        return super().render_lines(crop)

    def _show(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def submit(self) -> None:
        """Post the text as a step and clear the input."""
        text = self.text.rstrip("\n")
        if not text.strip():
            return
        self.input_history.add(text)
        self.text = ""
        self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        """Insert a line break without running."""
        self.insert("\n")

    def action_interrupt(self) -> None:
        """Copy a selection; otherwise cancel a waiting step or clear the input."""
        if self.selected_text:
            self.action_copy()
        else:
            self.post_message(self.Interrupted(self))

    def complete(self) -> bool:
        """Complete the word before the cursor from class names, commands and names; True if done."""
        row, col = self.cursor_location
        line = self.document.get_line(row)[:col]
        match = _WORD_BEFORE.search(line)
        if not match:
            return False
        prefix = match.group()
        options = sorted({c for c in self.completions() if c.startswith(prefix) and c != prefix})
        if not options:
            return False
        common = options[0]
        for option in options[1:]:
            while not option.startswith(common):
                common = common[:-1]
        if len(common) > len(prefix):
            self.insert(common[len(prefix) :])
        else:
            self.app.notify("  ".join(options[:20]), title="completions", timeout=3)
        return True
