"""What a workspace publishes: step and state events, and the handle of a submitted step."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from playground.engine.snapshot import LockWait, StepResult, WorkspaceSnapshot
from playground.engine.states import StepKind


@dataclass(frozen=True)
class StepStarted:
    """A step began running in its session; `kind` says what was typed (SQL, Python, a command)."""

    index: int
    session: str
    input: str
    kind: StepKind


@dataclass(frozen=True)
class StepSubmitted:
    """A step was handed to the workspace; `running` and `waiting` are the other steps unfinished then.

    A recorder needs what was in flight when a step was typed: the headless runner issues each
    step only once the others have settled, so a step typed earlier may replay differently.
    """

    index: int
    session: str
    input: str
    kind: StepKind
    running: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()


@dataclass(frozen=True)
class StepWaiting:
    """A running step is waiting on a lock."""

    index: int
    session: str
    wait: LockWait


@dataclass(frozen=True)
class StepFinished:
    """A step finished (ok or error); `after` is the last step issued by then."""

    result: StepResult
    waited: bool
    after: int


@dataclass(frozen=True)
class StateChanged:
    """A new snapshot of the whole workspace."""

    snapshot: WorkspaceSnapshot


@dataclass(frozen=True)
class SessionsChanged:
    """A session was added or closed; `message` says what happened to its transaction."""

    names: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class SettingChanged:
    """A workspace setting changed outside every step (the journal mode)."""

    name: str
    value: str


Event = StepSubmitted | SettingChanged | StepStarted | StepWaiting | StepFinished | StateChanged | SessionsChanged


@dataclass
class StepHandle:
    """A submitted step: wait on `done`; `wait` is the lock it waits on right now, if any."""

    index: int
    session: str
    input: str
    kind: StepKind
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: StepResult | None = None
    wait: LockWait | None = None
    waited: LockWait | None = None
    after: int | None = None
    task: asyncio.Task[None] | None = None
    started: float | None = None
    # On the session's thread: the task running the step there, so that it can be cancelled.
    thread_task: asyncio.Task[Any] | None = None
    interrupted: bool = False  # KeyboardInterrupt was raised in (or sent to) the step's code
    over_limit: float | None = None  # the step-time limit it ran past, in seconds
    # Stops awaiting a step stuck on its thread (set while the step runs there).
    abandon: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def waiting(self) -> bool:
        """Whether the step is waiting on a lock right now."""
        return self.wait is not None and not self.done.is_set()


@dataclass(frozen=True)
class CommittedTable:
    """Rows of one table as a fresh connection outside every session reads them."""

    table: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: int | None
    error: str | None = None


class WorkspaceError(Exception):
    """A request the workspace refuses (unknown session, too many sessions…)."""
