"""Writing the workspace's step events into the panes' logs."""

from __future__ import annotations

from collections.abc import Callable

from playground.engine import StepFinished, StepStarted, StepWaiting
from playground.engine.history import kept_steps
from playground.engine.snapshot import Notice
from playground.ui.session_panes import SessionPanes


class StepReporter:
    """Echoes each step's input when it starts, says when it waits, writes its result when it ends.

    It also keeps what the timeline shows beside the steps (the savepoints a step ended without
    sending) and lists the keys after the commands of an F1 step.
    """

    def __init__(self, panes: SessionPanes, keys: Callable[[], list[str]], keep: int | None = None) -> None:
        self.panes, self.keys = panes, keys
        self.help_steps: set[int] = set()  # F1 steps: the keys are listed after the commands
        # step → savepoints it ended unsent, for the timeline, which shows the last `keep` steps (as the workspace keeps them)
        self.unsent: dict[int, tuple[str, ...]] = {}
        self.keep = keep if keep is not None else kept_steps()

    def report(self, event: object) -> None:
        """Write `event` (a StepStarted, StepWaiting or StepFinished; others are ignored) into its pane's log."""
        pane = self.panes.pane(event.session) if hasattr(event, "session") else None
        if isinstance(event, StepStarted) and pane is not None:
            pane.running.add(event.index)
            pane.log_view.started(event.index, event.input, event.kind)
        elif isinstance(event, StepWaiting) and pane is not None:
            pane.log_view.waiting(event.index, event.wait)
        elif isinstance(event, StepFinished):
            pane = self.panes.pane(event.result.session)
            unsent = tuple(m.subject for m in event.result.messages if isinstance(m, Notice) and m.topic == "savepoint-never-sent")
            if unsent:
                self.unsent[event.result.index] = unsent
                for old in [index for index in self.unsent if index <= event.result.index - self.keep]:
                    del self.unsent[old]  # older than any step the timeline shows
            if pane is not None:
                pane.running.discard(event.result.index)
                pane.log_view.finished(event.result, event.waited, event.after)
                if event.result.index in self.help_steps:
                    self.help_steps.discard(event.result.index)
                    for line in self.keys():
                        pane.log_view.note(line, style="")
