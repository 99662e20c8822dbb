"""The states the engine reports, as enums: the UI and the transcripts give them words and glyphs.

Each is a `StrEnum`, so a value equals (and prints, and is written to JSON as) the plain string
the transcript contract in DESIGN §4 names.
"""

from __future__ import annotations

from enum import StrEnum


class StepKind(StrEnum):
    """What a user typed (see `language.classify`)."""

    SQL = "sql"
    PYTHON = "python"
    COMMAND = "command"
    EMPTY = "empty"


class StepStatus(StrEnum):
    """How a finished step ended."""

    OK = "ok"
    ERROR = "error"


class SessionStatus(StrEnum):
    """Where a session stands; the pane header's badge is drawn in this status's colour."""

    IDLE = "idle"
    ACTIVE = "active"
    FAILED = "failed"
    WAITING = "waiting"


class ObjectState(StrEnum):
    """SQLAlchemy's state of a mapped object (`inspect(obj).transient` …)."""

    TRANSIENT = "transient"
    PENDING = "pending"
    PERSISTENT = "persistent"
    DELETED = "deleted"
    DETACHED = "detached"


class Panel(StrEnum):
    """The group of the Objects panel an object is drawn in."""

    TRANSIENT = "transient"
    PENDING = "pending"
    PERSISTENT = "persistent"
    DELETED = "deleted"
    DETACHED = "detached"
    EXPUNGED = "expunged"


class TransactionState(StrEnum):
    """A transaction of the tree: open (`active`, or `inactive` once deactivated), or ended unsent."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ROLLED_BACK = "rolled back"
    RELEASED = "released"


class TimelineOutcome(StrEnum):
    """Where a step of the timeline stands, or how it ended."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
