"""The steps a workspace remembers: a bounded window of handles and timeline entries.

A long session runs tens of thousands of steps; keeping every step's handle (its event, its
task, its full result) and timeline entry made memory grow with history. The history keeps the
last `keep` steps, every step not finished yet (queued, running, waiting: someone may await it),
and each session's latest step (the runner waits on it before that session's next step); older
ones are forgotten and counted.
"""

from __future__ import annotations

import os
from dataclasses import replace
from itertools import islice
from typing import Any

from playground.engine.events import StepHandle, WorkspaceError
from playground.engine.snapshot import TimelineEntry

KEEP_ENV = "TXPLAY_HISTORY"
DEFAULT_KEEP = 1000


def kept_steps(value: str | None = None) -> int:
    """How many finished steps a workspace keeps: `value`, else $TXPLAY_HISTORY, else 1,000."""
    text = value if value is not None else os.environ.get(KEEP_ENV)
    if not text:
        return DEFAULT_KEEP
    try:
        keep = int(text)
    except ValueError:
        raise WorkspaceError(f"{KEEP_ENV} must be a whole number of steps, not {text!r}") from None
    if keep < 1:
        raise WorkspaceError(f"{KEEP_ENV} must be at least 1, not {keep}")
    return keep


def _noop() -> None:
    return None


class StepHistory:
    """Handles and timeline entries of the recent steps, by index, in the order they were submitted."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep if keep is not None else kept_steps()
        self.dropped = 0  # steps forgotten, all older than the oldest kept but for unfinished ones
        self._handles: dict[int, StepHandle] = {}
        self._entries: dict[int, TimelineEntry] = {}
        self._latest: dict[str, int] = {}  # session → its latest step
        self._timeline: tuple[TimelineEntry, ...] | None = ()

    def __len__(self) -> int:
        return len(self._handles)

    def add(self, handle: StepHandle, entry: TimelineEntry) -> None:
        """Remember a step just submitted."""
        self._handles[handle.index] = handle
        self._entries[handle.index] = entry
        self._latest[handle.session] = handle.index
        self._timeline = None
        self._trim()

    def handle(self, index: int) -> StepHandle:
        """The handle of step `index`; a step forgotten long ago is refused with the reason."""
        try:
            return self._handles[index]
        except KeyError:
            if 0 < index <= max(self._handles, default=0):
                raise WorkspaceError(f"step {index} finished long ago and is forgotten: the workspace keeps the last "
                                     f"{self.keep} steps (set {KEEP_ENV} to keep more)") from None
            raise WorkspaceError(f"there is no step {index}") from None

    def update(self, index: int, **changes: Any) -> None:
        """Change the timeline entry of step `index` (if it is still kept)."""
        entry = self._entries.get(index)
        if entry is not None:
            self._entries[index] = replace(entry, **changes)
            self._timeline = None

    def finished(self, handle: StepHandle) -> None:
        """A step ended: let go of what only its run needed, and forget the steps now too old."""
        handle.task = None  # done: its coroutine and frames go with it
        handle.thread_task = None
        handle.abandon = _noop  # the closure held the step's futures and result
        self._trim()

    def timeline(self) -> tuple[TimelineEntry, ...]:
        """The kept timeline entries in order (the same tuple until one changes)."""
        if self._timeline is None:
            self._timeline = tuple(self._entries.values())
        return self._timeline

    def _trim(self) -> None:
        excess = len(self._handles) - self.keep
        if excess <= 0:
            return
        for index in list(islice(self._handles, excess)):
            handle = self._handles[index]
            if not handle.done.is_set() or self._latest.get(handle.session) == index:
                continue  # someone may still wait on it
            del self._handles[index]
            del self._entries[index]
            self.dropped += 1
            self._timeline = None
