"""Frozen dataclasses: everything the UI draws and the transcript prints.

Nothing here holds a live SQLAlchemy object, so a snapshot can be kept, compared and rendered
long after the session it describes has moved on.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Iterable
from enum import Enum
from typing import Any


from playground.engine.states import (
    ObjectState,
    Panel,
    SessionStatus,
    StepKind,
    StepStatus,
    TimelineOutcome,
    TransactionState,
)

PANELS = tuple(Panel)
VALUE_WIDTH = 40
MAX_PLAIN_ITEMS = 10_000


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    """A repr cut to `width` characters."""
    try:
        text = repr(value)
    except Exception as exc:  # a user's __repr__ may raise; the panel must not
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= width else text[: width - 1] + "…"


class Notice(str):
    """A step message that the UI may also show elsewhere, told apart by its `topic`.

    It is a str, so the transcript and the log print it like any message; the timeline, for
    instance, marks the step of a `savepoint-never-sent` notice.
    """

    __slots__ = ("topic", "subject")
    topic: str
    subject: str

    def __new__(cls, text: str, topic: str, subject: str = "") -> Notice:
        notice = super().__new__(cls, text)
        notice.topic = topic
        notice.subject = subject  # what it is about, e.g. the savepoint's name
        return notice


class Shown(str):
    """A value's text taken when its row was built (the value itself could change later)."""

    __slots__ = ()


EXPIRED = Shown("⟳ expired")
UNLOADED = Shown("… unloaded")

# Values of these exact types never change, so a row keeps the value and reprs it when drawn.
_IMMUTABLE = frozenset({
    type(None), bool, int, float, complex, Decimal,
    datetime.date, datetime.datetime, datetime.time, datetime.timedelta, uuid.UUID,
})
_ENUM_VALUES = _IMMUTABLE | {str, bytes}


def kept(value: Any) -> Any:
    """What a row keeps of an attribute's value: the value if it cannot change, else its text now.

    A row must show the value it had when it was built; keeping an immutable value (the very
    object the session holds) costs nothing, where a repr costs a string per attribute.
    """
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is str or kind is bytes:
        return value if len(value) <= VALUE_WIDTH else Shown(short(value))
    if isinstance(value, Enum) and type(value.value) in _ENUM_VALUES:
        return value
    return Shown(short(value))


def shown(value: Any) -> str:
    """The text drawn for a value a row kept."""
    return value if type(value) is Shown else short(value)


class Unset(Enum):
    """The marker of a value that is not plain data (see `plain_copy`)."""

    UNSET = "unset"


UNSET = Unset.UNSET
# Leaves of plain data: values of these exact types never change.
_PLAIN_LEAVES = _IMMUTABLE | {str, bytes}


def plain_copy(value: Any, limit: int = MAX_PLAIN_ITEMS) -> Any:
    """A deep copy of `value` made only of plain data, or `UNSET` where it holds anything else.

    Plain data: None, bool, int, float, str, bytes, Decimal, dates and times, and tuples, lists,
    dicts and sets of those, at most `limit` items in all. A `Row` or a tuple subclass becomes a
    tuple, which compares equal to it. The copy can be read on any thread while the step's
    objects change.
    """
    # Here, not at the top: the UI draws these dataclasses before SQLAlchemy is loaded.
    from sqlalchemy.engine import Row

    budget = [limit]

    def copy(item: Any) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _NotPlain
        kind = type(item)
        if kind in _PLAIN_LEAVES:
            return item
        if isinstance(item, (tuple, Row)):
            return tuple(copy(x) for x in item)
        if kind is list:
            return [copy(x) for x in item]
        if kind is dict:
            return {copy(k): copy(v) for k, v in item.items()}
        if kind in (set, frozenset):
            return kind(copy(x) for x in item)
        raise _NotPlain

    try:
        return copy(value)
    except _NotPlain:
        return UNSET


class _NotPlain(Exception):
    """Raised inside `plain_copy` at the first value that is not plain data."""


class Opaque(str):
    """A result cell that is not plain data, kept as its text (`str`) and its `repr`.

    It equals only an Opaque of the same repr: never a literal that happens to read the same.
    """

    __slots__ = ("repr",)
    repr: str

    def __new__(cls, value: object) -> Opaque:
        try:
            text, shown = str(value), repr(value)
        except Exception as exc:  # a user's __str__ or __repr__ may raise; the result must not
            text = shown = f"<repr failed: {type(exc).__name__}>"
        cell = super().__new__(cls, text)
        cell.repr = shown
        return cell

    def __eq__(self, other: object) -> bool:
        return type(other) is Opaque and other.repr == self.repr

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


def plain_rows(rows: Iterable[tuple[Any, ...]]) -> tuple[tuple[Any, ...], ...]:
    """Result rows as plain data: each cell a `plain_copy`, or an `Opaque` text where it is not plain."""
    out = []
    for row in rows:
        cells = []
        for value in row:
            copied = plain_copy(value)
            cells.append(Opaque(value) if copied is UNSET else copied)
        out.append(tuple(cells))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RowKind:
    """What the rows of one class in one state have in common; they share one of these.

    Names are here too: few objects have names, and those few rows have kinds of their own.
    """

    cls: str
    state: ObjectState
    panel: Panel
    cause: str | None
    columns: tuple[str, ...]
    expired: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ObjectRow:
    """One mapped object as the Objects panel shows it.

    `columns` and `values` go in pairs: a column attribute's name, and its value as `kept`
    (the value, a `Shown` text, or `EXPIRED` / `UNLOADED`). Class, states, cause, columns,
    expired and bound names are read from the shared `kind`: a row holds only what is its own.
    """

    key: int
    kind: RowKind
    identity: tuple[Any, ...] | None
    values: tuple[Any, ...]
    modified: tuple[tuple[str, str, str], ...]
    _json: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def cls(self) -> str:
        """The mapped class's name."""
        return self.kind.cls

    @property
    def state(self) -> ObjectState:
        """SQLAlchemy's state of the object."""
        return self.kind.state

    @property
    def panel(self) -> Panel:
        """The Objects panel group the row is drawn in."""
        return self.kind.panel

    @property
    def cause(self) -> str | None:
        """Why the object left the session, if it did."""
        return self.kind.cause

    @property
    def columns(self) -> tuple[str, ...]:
        """The column attributes `values` are of."""
        return self.kind.columns

    @property
    def expired(self) -> tuple[str, ...]:
        """The expired column attributes, by name."""
        return self.kind.expired

    @property
    def names(self) -> tuple[str, ...]:
        """The namespace names bound to the object."""
        return self.kind.names

    @property
    def attrs(self) -> tuple[tuple[str, str], ...]:
        """(name, text) per loaded, expired or unloaded column attribute, in mapper order."""
        return tuple(zip(self.columns, map(shown, self.values), strict=False))

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
    """One level of the transaction tree, root first.

    `state` is `active` or `inactive` for an open transaction; a savepoint that ended without
    ever being sent (`SessionSnapshot.unsent`) is `rolled back` or `released`. `sql_name` is the
    savepoint's name on the database (`sa_savepoint_1`), once SQLAlchemy has sent it.
    """

    name: str
    nested: bool
    origin: str
    state: TransactionState
    emitted: bool
    depth: int
    sql_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The transcript's transaction entry."""
        out = {
            "name": self.name,
            "nested": self.nested,
            "origin": self.origin,
            "state": self.state,
            "emitted": self.emitted,
        }
        if self.sql_name:
            out["sql_name"] = self.sql_name
        return out


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
    """What one input did: its outcome, the SQL it emitted, rows, value, printed output.

    `value` is the value's repr; `plain_value` a copy of it when it is plain data (`plain_copy`),
    else `UNSET`: what an expectation compares with a literal.
    """

    index: int
    session: str
    input: str
    kind: StepKind
    status: StepStatus
    error: ErrorInfo | None = None
    columns: tuple[str, ...] | None = None
    rows: tuple[tuple[Any, ...], ...] | None = None
    rows_omitted: int = 0
    value: str | None = None
    plain_value: Any = field(default=UNSET, compare=False, repr=False)
    output: str = ""
    messages: tuple[str, ...] = ()
    sql: tuple[SqlEntry, ...] = ()
    waited: float = 0.0
    started: float = 0.0
    finished: float | None = None
    warning: str | None = None  # an ok step that did not do what it says (a COMMIT that committed nothing)

    @property
    def ok(self) -> bool:
        """Whether the step finished without an error."""
        return self.status == StepStatus.OK


@dataclass(frozen=True)
class SessionSnapshot:
    """One pane's state after a step.

    `names` are the public names bound in the session's namespace (for Tab completion);
    `isolation_levels` the levels the session can be set to.
    """

    name: str
    backend: str
    isolation: str
    status: SessionStatus
    badge: str
    mode: str
    transactions: tuple[TransactionRow, ...]
    objects: tuple[ObjectRow, ...]
    waiting_for: tuple[str, ...]
    blocking: tuple[str, ...]
    settings: tuple[tuple[str, str], ...]
    objects_omitted: int = 0
    backend_note: str | None = None  # what this backend lacks that txplay shows elsewhere ("no lock monitor")
    unsent: tuple[TransactionRow, ...] = ()  # savepoints of the open transaction that ended unsent
    vanished: tuple[str, ...] = ()  # objects gone from the panel lately: nothing referenced them
    names: tuple[str, ...] = ()
    isolation_levels: tuple[str, ...] = ()
    running: float | None = None  # seconds its step has been running (shown past a moment), else None

    def to_json(self) -> dict[str, Any]:
        """The transcript's per-session state (DESIGN §4)."""
        out = {
            "status": self.status,
            "badge": self.badge,
            "isolation": self.isolation,
            "transactions": [t.to_json() for t in self.transactions],
            "waiting_for": list(self.waiting_for),
            "objects": [o.to_json() for o in self.objects],
        }
        if self.unsent:
            out["never_sent_savepoints"] = [t.to_json() for t in self.unsent]
        return out


@dataclass(frozen=True)
class TimelineEntry:
    """One step in global order, for the swimlanes."""

    index: int
    session: str
    input: str
    outcome: TimelineOutcome
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
    journal_modes: tuple[str, ...] = ()  # what the backend offers (SQLite), for the palette
    begin_modes: tuple[str, ...] = ()
    timeline_dropped: int = 0  # earlier steps no longer kept, so not in `timeline`

    def session(self, name: str) -> SessionSnapshot:
        """The snapshot of the session called `name`."""
        for snap in self.sessions:
            if snap.name == name:
                return snap
        raise KeyError(name)
