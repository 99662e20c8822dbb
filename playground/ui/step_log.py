"""The log of a pane: inputs, the SQL they emitted, results, values and errors."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

from playground.engine.snapshot import LockWait, StepResult
from playground.ui import render


class StepLog(RichLog):
    """A RichLog that knows how to write steps."""

    DEFAULT_CSS = """
    StepLog { background: $surface; }
    """

    can_focus = False  # Tab goes from pane input to pane input; the mouse wheel still scrolls.

    # A write grows the virtual size. Textual's default asks for a layout pass of the whole
    # screen each time (25-30 ms with five panes); the log's own box does not change, so only
    # its scrollbars are updated. Showing or hiding a scrollbar still asks for a layout.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        if self.container_size:
            self._scroll_update(size)

    def __init__(self, **kwargs) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=5000, **kwargs)

    def started(self, index: int, text: str, kind: str) -> None:
        """Echo the input when its step starts."""
        self.write(render.step_input(index, text, kind))

    def waiting(self, index: int, wait: LockWait) -> None:
        """Say that step `index` waits, on whom and for what."""
        line = Text(f"⏳ [{index}] waiting on {', '.join(wait.holders) or 'a lock'}: {wait.lock}", style="bold yellow")
        self.write(line)

    def finished(self, result: StepResult, waited: bool, after: int) -> None:
        """Write what a step did; after a wait, say when it ended."""
        if waited:
            self.write(Text(f"↳ [{result.index}] finished after step {after} (waited {result.waited:.1f} s)", style="yellow"))
        parts = render.step_result(result, show_input=False)
        for part in parts:
            self.write(part)
        if not parts:
            self.write(Text("✓ done; no SQL was sent", style="dim"))

    def expectations(self, checks: list[dict]) -> None:
        """Show a scenario step's expectations as passed or failed."""
        for check in checks:
            mark, style = ("✓", "green") if check["passed"] else ("✗", "bold red")
            line = Text(f"  => {check['text']} {mark}", style=style)
            if not check["passed"] and check.get("reason"):
                line.append(f"  ({check['reason']})", style="red")
            self.write(line)

    def note(self, text: str, style: str = "italic cyan") -> None:
        """A line of narration or a notice."""
        self.write(Text(text, style=style))
