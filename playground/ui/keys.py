"""The app's keys: its bindings, and the list F1 shows after the commands."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding, BindingType

DEMO_ACTIONS = ("next_step", "restart")
"""Actions that exist only in demo mode."""

BINDINGS: list[BindingType] = [
    Binding("f1", "help", "Help"),
    Binding("ctrl+q", "quit", "Quit", priority=True),
    Binding("f12", "next_pane", "Next pane", priority=True),
    Binding("shift+f12", "next_pane(-1)", "Previous pane", show=False, priority=True),
    Binding("ctrl+g", "zoom", "Zoom", priority=True),
    Binding("ctrl+o", "toggle_panels", "Panels", priority=True),
    Binding("f2", "txn('begin')", "Begin", priority=True),
    Binding("f3", "txn('savepoint')", "Savepoint", priority=True),
    Binding("f4", "txn('release')", "Release", priority=True),
    Binding("f5", "txn('rollback-to')", "Rollback to", priority=True),
    Binding("f6", "txn('flush')", "Flush", priority=True),
    Binding("f7", "txn('commit')", "Commit", priority=True),
    Binding("f8", "txn('rollback')", "Rollback", priority=True),
    Binding("f9", "cancel", "Cancel", priority=True),
    Binding("ctrl+c", "interrupt", "Interrupt", show=False),
    Binding("f10", "next_step", "Next step", priority=True),
    Binding("ctrl+r", "restart", "Restart", priority=True),
    Binding("ctrl+n", "new_pane", "New pane", priority=True),
    Binding("ctrl+t", "close_pane", "Close pane", priority=True),
    Binding("ctrl+s", "screenshot", "Screenshot", priority=True),
    # Not in the footer (it is full); F1 lists them, and ctrl+p has each as a command.
    Binding("ctrl+l", "toggle_matrix", "Isolation matrix: run, or stop", show=False, priority=True),
    Binding("ctrl+e", "save_scenario", "Save scenario", show=False, priority=True),
    Binding("ctrl+z", "step_back", "Step back", show=False, priority=True),
]


def key_help(app: Any, demo: bool) -> list[str]:
    """The keys, as F1 lists them after the commands (`app` shows each key as Textual does)."""
    lines = ["keys:"]
    for binding in BINDINGS:
        assert isinstance(binding, Binding)
        if binding.action in DEMO_ACTIONS and not demo:
            continue
        lines.append(f"  {app.get_key_display(binding):10} {binding.description}")
    lines += [
        "  Tab        complete a name, or go to the next field",
        "  Enter      run (a Python block: a blank line runs it); ctrl+j a new line; ↑ ↓ history",
        f"  {'f12':10} also reaches the committed-data table list (Enter opens it; ctrl+p \"Table: …\" too)",
        f"  {'esc':10} leave a zoomed pane",
    ]
    return lines
