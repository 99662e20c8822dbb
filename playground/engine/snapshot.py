"""Frozen dataclasses: everything the UI draws and the transcript prints.

Nothing here holds a live SQLAlchemy object, so a snapshot can be kept, compared and rendered
long after the session it describes has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PANELS = ("transient", "pending", "persistent", "deleted", "detached", "expunged")


@dataclass(frozen=True)
class ObjectRow:
    """One mapped object as the Objects panel shows it."""

    key: int
    cls: str
    identity: tuple[Any, ...] | None
    names: tuple[str, ...]
    state: str
    panel: str
    cause: str | None
    attrs: tuple[tuple[str, str], ...]
    modified: tuple[tuple[str, str, str], ...]
    expired: tuple[str, ...]
    _json: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The transcript's object entry (DESIGN §4); rows are immutable, so it is built once."""
        if self._json is None:
            object.__setattr__(self, "_json", self._build_json())
        assert self._json is not None
        return self._json

    def _build_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "class": self.cls,
            "identity": list(self.identity) if self.identity is not None else None,
            "names": list(self.names),
            "state": self.state,
            "panel": self.panel,
            "cause": self.cause,
            "modified": {name: [old, new] for name, old, new in self.modified},
            "expired": list(self.expired),
        }


@dataclass(frozen=True)
class TransactionRow:
    """One level of the transaction tree, root first."""

    name: str
    nested: bool
    origin: str
    state: str
    emitted: bool
    depth: int

    def to_json(self) -> dict[str, Any]:
        """The transcript's transaction entry."""
        return {
            "name": self.name,
            "nested": self.nested,
            "origin": self.origin,
            "state": self.state,
            "emitted": self.emitted,
        }


@dataclass(frozen=True)
class LockWait:
    """One waiter → holder edge of the lock graph."""

    waiter: str
    holders: tuple[str, ...]
    lock: str
    since: float
    statement: str
    timeout: float | None = None


@dataclass(frozen=True)
class ErrorInfo:
    """An error as a pane shows it: class, message, and a hint where one helps."""

    type: str
    message: str
    hint: str | None = None
    sqlstate: str | None = None

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The transcript's error entry."""
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.sqlstate:
            out["sqlstate"] = self.sqlstate
        return out


@dataclass(frozen=True)
class SqlEntry:
    """One statement the database received, with its parameters."""

    statement: str
    parameters: str | None = None


@dataclass(frozen=True)
class StepResult:
    """What one input did: its outcome, the SQL it emitted, rows, value, printed output."""

    index: int
    session: str
    input: str
    kind: str
    status: str
    error: ErrorInfo | None = None
    columns: tuple[str, ...] | None = None
    rows: tuple[tuple[Any, ...], ...] | None = None
    rows_omitted: int = 0
    value: str | None = None
    raw_value: Any = field(default=None, compare=False, repr=False)
    output: str = ""
    messages: tuple[str, ...] = ()
    sql: tuple[SqlEntry, ...] = ()
    waited: float = 0.0
    started: float = 0.0
    finished: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the step finished without an error."""
        return self.status == "ok"


@dataclass(frozen=True)
class SessionSnapshot:
    """One pane's state after a step."""

    name: str
    backend: str
    isolation: str
    status: str
    badge: str
    mode: str
    transactions: tuple[TransactionRow, ...]
    objects: tuple[ObjectRow, ...]
    waiting_for: tuple[str, ...]
    blocking: tuple[str, ...]
    settings: tuple[tuple[str, str], ...]
    objects_omitted: int = 0

    def to_json(self) -> dict[str, Any]:
        """The transcript's per-session state (DESIGN §4)."""
        return {
            "status": self.status,
            "badge": self.badge,
            "isolation": self.isolation,
            "transactions": [t.to_json() for t in self.transactions],
            "waiting_for": list(self.waiting_for),
            "objects": [o.to_json() for o in self.objects],
        }


@dataclass(frozen=True)
class TimelineEntry:
    """One step in global order, for the swimlanes."""

    index: int
    session: str
    input: str
    outcome: str
    waited_on: tuple[str, ...] = ()
    done_after: int | None = None


@dataclass(frozen=True)
class WorkspaceSnapshot:
    """Every session, the lock graph and the timeline at one moment."""

    sessions: tuple[SessionSnapshot, ...]
    locks: tuple[LockWait, ...]
    timeline: tuple[TimelineEntry, ...]
    backend: str
    url: str

    def session(self, name: str) -> SessionSnapshot:
        """The snapshot of the session called `name`."""
        for snap in self.sessions:
            if snap.name == name:
                return snap
        raise KeyError(name)
