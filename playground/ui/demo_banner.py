"""The banner of demo mode: the scenario's title, the current narration and the progress."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


class DemoBanner(Static):
    """The scenario's title, the current narration and the progress."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)

    def show(self, title: str, note: str | None, position: int, total: int, summary: str | None,
             headline: str | None = None) -> None:
        """Draw the banner; `headline`, when given, is a line of its own above the narration (a matrix cell's verdict)."""
        text = Text.assemble((f" {title} ", "bold reverse"), "  ")
        if summary:
            text.append(summary, style="bold")
        else:
            text.append(f"step {position}/{total}", style="bold")
            text.append("  F10 next step · ctrl+r restart", style="dim")
        self.set_class(bool(headline), "-headline")
        if headline:
            text.append("\n")
            text.append(headline, style="bold")
        if note:
            text.append("\n")
            text.append(note, style="italic")
        self.update(text)
