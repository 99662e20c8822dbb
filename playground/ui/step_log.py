"""The log of a pane: inputs, the SQL they emitted, results, values and errors."""

from __future__ import annotations

from collections import deque

from rich.console import RenderableType
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

from playground.engine.snapshot import LockWait, StepResult
from playground.ui import private_api, render


class StepLog(RichLog):
    """A RichLog that knows how to write steps, and wraps them again when its width changes.

    RichLog keeps lines rendered at the width they were written at; the log keeps what it
    wrote (the last `REWRAP` entries) and writes it again at the new width.
    """

    REWRAP = 600
    KEPT_LINES = 1000
    """Lines of scrollback a pane keeps. Each costs about 2–3 KB (its segments and the seven caches
    Textual gives every line), so 5,000 lines in each of four panes made the app grow by some 45 MB
    per 1,000 steps until they were full."""

    DEFAULT_CSS = """
    StepLog { background: $surface; }
    """

    can_focus = False  # Tab goes from pane input to pane input; the mouse wheel still scrolls.

    # A write grows the virtual size. Textual's default asks for a layout pass of the whole
    # screen each time (25-30 ms with five panes); the log's own box does not change, so only
    # its scrollbars are updated. Showing or hiding a scrollbar still asks for a layout.
    # Private API (`_scroll_update`): off with TXPLAY_TEXTUAL_PRIVATE=0, see `private_api`.
    if private_api.ENABLED:
        virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

        def watch_virtual_size(self, size: Size) -> None:
            if self.container_size:
                self._scroll_update(size)

    def __init__(self, **kwargs) -> None:
        # min_width=1: RichLog's default (78) renders wider than a pane, cutting every line.
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=self.KEPT_LINES, min_width=1, **kwargs)
        self._written: deque[RenderableType] = deque(maxlen=self.REWRAP)
        self._wrapped_at = 0
        self._at_end = True

    def put(self, renderable: RenderableType) -> None:
        """Write `renderable`, and keep it to wrap again on a resize."""
        self._written.append(renderable)
        self.write(renderable)

    def clear(self) -> StepLog:
        """Empty the log (and what it keeps to wrap again)."""
        self._written.clear()
        return super().clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Known before a resize: by the time its event comes, the scroll position is clamped
        # to the new size and says nothing of whether the end was in sight.
        self._at_end = new_value >= self.max_scroll_y

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if self._wrapped_at and width != self._wrapped_at and self._written:
            self._rewrap()
        elif self._at_end:
            self._scroll_end_later()
        self._wrapped_at = width

    def _rewrap(self) -> None:
        kept = list(self._written)
        super().clear()
        for renderable in kept:
            self.write(renderable, scroll_end=False)
        if self._at_end:
            self._scroll_end_later()

    def _scroll_end_later(self) -> None:
        # After the refresh: the new size's layout decides where the end is.
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def started(self, index: int, text: str, kind: str) -> None:
        """Echo the input when its step starts."""
        self.put(render.step_input(index, text, kind))

    def waiting(self, index: int, wait: LockWait) -> None:
        """Say that step `index` waits, on whom and for what."""
        line = Text(f"⏳ [{index}] waiting on {', '.join(wait.holders) or 'a lock'}: {wait.lock}", style="bold yellow")
        self.put(line)

    def finished(self, result: StepResult, waited: bool, after: int) -> None:
        """Write what a step did; after a wait, say when it ended."""
        if waited:
            self.put(Text(f"↳ [{result.index}] finished after step {after} (waited {result.waited:.1f} s)", style="yellow"))
        parts = render.step_result(result, show_input=False)
        for part in parts:
            self.put(part)
        if not parts:
            self.put(Text("✓ done; no SQL was sent", style="dim"))

    def expectations(self, checks: list[dict]) -> None:
        """Show a scenario step's expectations as passed or failed."""
        for check in checks:
            mark, style = ("✓", "green") if check["passed"] else ("✗", "bold red")
            line = Text(f"  => {check['text']} {mark}", style=style)
            if not check["passed"] and check.get("reason"):
                line.append(f"  ({check['reason']})", style="red")
            self.put(line)

    def note(self, text: str, style: str = "italic cyan") -> None:
        """A line of narration or a notice."""
        self.put(Text(text, style=style))
