"""Object states from the Session lifecycle events → rows of the Objects panel.

SQLAlchemy has no event for `expunge()`, so the session class used by every pane
(`TrackedSession`) marks the operation in progress; the lifecycle events read the mark to
record why an object left. Rendering reads `inspect(obj).dict` and the expired/unloaded sets
only: it never loads an attribute and never emits SQL.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any, Callable, Iterable

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Mapper, RelationshipProperty, Session, SessionTransaction

from playground.engine.snapshot import ObjectRow

# Objects that left the session are kept (strongly) so their panel can show them; bounded.
MAX_DEPARTED = 500
VALUE_WIDTH = 40

# Every live tracker: instance and attribute events mark objects for re-rendering in each.
_TRACKERS: weakref.WeakSet[ObjectTracker] = weakref.WeakSet()
_INSTRUMENTED: set[type] = set()
_GLOBAL_INSTALLED = False


def _touch_everywhere(target: object, *args: Any, **kwargs: Any) -> None:
    ident = id(target)
    for tracker in list(_TRACKERS):
        if ident in tracker._entries:
            tracker._dirty.add(ident)


def _install_global_listeners() -> None:
    """Instance events for every mapper: loads, refreshes and expiry change what a row shows."""
    global _GLOBAL_INSTALLED
    if _GLOBAL_INSTALLED:
        return
    for name in ("load", "refresh", "refresh_flush", "expire"):
        event.listen(Mapper, name, _touch_everywhere)
    _GLOBAL_INSTALLED = True


def _instrument(cls: type) -> None:
    """Attribute events on a mapped class, the first time an object of it is tracked."""
    if cls in _INSTRUMENTED:
        return
    _INSTRUMENTED.add(cls)
    mapper = inspect(cls)
    for attr in mapper.attrs:
        descriptor = getattr(cls, attr.key, None)
        if descriptor is None:
            continue
        event.listen(descriptor, "set", _touch_everywhere)
        if isinstance(attr, RelationshipProperty):
            event.listen(descriptor, "append", _touch_everywhere)
            event.listen(descriptor, "remove", _touch_everywhere)


class TrackedSession(Session):
    """A Session that says why objects leave it (there is no expunge event)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leaving_cause: str | None = None

    def _marked(self, cause: str, fn: Callable[[], Any]) -> Any:
        outer = self.leaving_cause
        if outer is None:
            self.leaving_cause = cause
        try:
            return fn()
        finally:
            self.leaving_cause = outer

    def expunge(self, instance: object) -> None:
        """Remove one object from the session; its panel row says `expunge()`."""
        self._marked("expunge()", lambda: super(TrackedSession, self).expunge(instance))

    def expunge_all(self) -> None:
        """Remove every object; their rows say `expunge_all()`."""
        self._marked("expunge_all()", lambda: super(TrackedSession, self).expunge_all())

    def close(self) -> None:
        """Close the session; its objects become detached by `close()`."""
        self._marked("close()", lambda: super(TrackedSession, self).close())

    def reset(self) -> None:
        """Reset the session; its objects become detached by `reset()`."""
        self._marked("reset()", lambda: super(TrackedSession, self).reset())

    def rollback(self) -> None:
        """Roll back the whole transaction; objects it undoes say `rollback`."""
        self._marked("rollback", lambda: super(TrackedSession, self).rollback())


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    """A repr cut to `width` characters."""
    try:
        text = repr(value)
    except Exception as exc:  # a user's __repr__ may raise; the panel must not
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= width else text[: width - 1] + "…"


class _Entry:
    __slots__ = ("key", "ref", "strong", "cause", "departed")

    def __init__(self, key: int, obj: object) -> None:
        self.key = key
        self.ref = weakref.ref(obj)
        self.strong: object | None = None
        self.cause: str | None = None
        self.departed = False


class ObjectTracker:
    """Follows every object one session has touched, through SQLAlchemy's lifecycle events."""

    def __init__(
        self,
        session: TrackedSession,
        names: Callable[[], dict[int, list[str]]],
        savepoint_name: Callable[[SessionTransaction], str],
    ) -> None:
        self.session = session
        self._names = names
        self.savepoint_name = savepoint_name
        self._entries: dict[int, _Entry] = {}
        self._departed: OrderedDict[int, None] = OrderedDict()
        self._keys = itertools.count(1)
        self.rolling_back: str | None = None
        self.dropped = 0
        # Incremental rendering: rows are cached by object key and rebuilt only when touched.
        self._rows: dict[int, ObjectRow] = {}
        self._order: list[int] | None = None
        self._dirty: set[int] = set()
        self._named: set[int] = set()
        self._marked_deleted: set[int] = set()
        self.visits = 0  # rows built since the tracker started (the incremental design's gauge)
        _install_global_listeners()
        _TRACKERS.add(self)
        self._listen()

    # -- events -------------------------------------------------------------------------

    def _listen(self) -> None:
        s = self.session
        event.listen(s, "transient_to_pending", self._present)
        event.listen(s, "pending_to_persistent", self._present)
        event.listen(s, "loaded_as_persistent", self._present)
        event.listen(s, "detached_to_persistent", self._present)
        event.listen(s, "deleted_to_persistent", self._present)
        event.listen(s, "persistent_to_deleted", self._present)
        event.listen(s, "pending_to_transient", self._left)
        event.listen(s, "persistent_to_transient", self._left)
        event.listen(s, "persistent_to_detached", self._left)
        event.listen(s, "deleted_to_detached", self._left_deleted)
        event.listen(s, "after_rollback", self._after_rollback)
        event.listen(s, "after_soft_rollback", self._after_soft_rollback)
        event.listen(s, "before_flush", self._before_flush)

    def _before_flush(self, session: Session, context: Any, instances: Any) -> None:
        # A flush clears what is pending, dirty or deleted: their rows change.
        for obj in (*session.new, *session.dirty, *session.deleted):
            self._dirty.add(id(obj))

    def _entry(self, obj: object) -> _Entry:
        entry = self._entries.get(id(obj))
        if entry is None or entry.ref() is not obj:
            entry = _Entry(next(self._keys), obj)
            self._entries[id(obj)] = entry
            self._dirty.add(id(obj))
            _instrument(type(obj))
            weakref.finalize(obj, self._forget, id(obj), entry)
        return entry

    def _forget(self, ident: int, entry: _Entry) -> None:
        if self._entries.get(ident) is entry:
            del self._entries[ident]
            self._departed.pop(ident, None)
            if self._rows.pop(entry.key, None) is not None:
                self._order = None

    def _present(self, session: Session, obj: object) -> None:
        entry = self._entry(obj)
        self._dirty.add(id(obj))
        entry.cause = None
        if entry.departed:
            entry.departed = False
            entry.strong = None
            self._departed.pop(id(obj), None)

    def _cause(self) -> str:
        return self.session.leaving_cause or self.rolling_back or "rollback"

    def _left(self, session: Session, obj: object) -> None:
        self._depart(obj, self._cause())

    def _left_deleted(self, session: Session, obj: object) -> None:
        cause = self.session.leaving_cause or ("delete committed" if self.rolling_back is None else self._cause())
        self._depart(obj, cause)

    def _depart(self, obj: object, cause: str) -> None:
        entry = self._entry(obj)
        self._dirty.add(id(obj))
        entry.cause = cause
        entry.departed = True
        entry.strong = obj
        self._departed[id(obj)] = None
        self._departed.move_to_end(id(obj))
        while len(self._departed) > MAX_DEPARTED:
            ident, _ = self._departed.popitem(last=False)
            old = self._entries.get(ident)
            if old is not None:
                old.strong = None
                self.dropped += 1
                self._dirty.add(ident)

    def _after_rollback(self, session: Session) -> None:
        # Fires before the snapshot is restored, while the rolled-back transaction is current.
        nested = session.get_nested_transaction()
        if nested is not None:
            self.rolling_back = f"rollback of savepoint {self.savepoint_name(nested)}"
        elif self.rolling_back is None:
            self.rolling_back = "rollback"

    def _after_soft_rollback(self, session: Session, previous: SessionTransaction) -> None:
        self.rolling_back = None

    def clear_departed(self) -> None:
        """Forget the objects that left the session (the pane's `clear`)."""
        for ident in list(self._departed):
            entry = self._entries.get(ident)
            if entry is not None:
                entry.strong = None
        self._departed.clear()

    # -- rendering ----------------------------------------------------------------------

    def rows(self, namespace_objects: Iterable[object] = ()) -> tuple[ObjectRow, ...]:
        """Rows for every tracked object and every object bound to a name, by key.

        Only objects touched since the last call are rendered again: a step that changed one
        object costs one row, not one per object the session holds.
        """
        names = self._names()
        for obj in namespace_objects:
            self._entry(obj)
        entries = self._entries
        named_now = {ident for ident in names if ident in entries}
        for ident in named_now | self._named:
            entry = entries.get(ident)
            cached = self._rows.get(entry.key) if entry is not None else None
            if cached is None or cached.names != tuple(names.get(ident, ())):
                self._dirty.add(ident)
        self._named = named_now
        deleted = {id(obj) for obj in self.session.deleted}
        self._dirty |= deleted ^ self._marked_deleted
        self._marked_deleted = deleted
        for ident in self._dirty:
            entry = entries.get(ident)
            obj = entry.ref() if entry is not None else None
            if entry is None or obj is None:
                continue
            if entry.key not in self._rows:
                self._order = None
            self._rows[entry.key] = self.row(obj, names.get(ident, []), ident in deleted)
        self._dirty.clear()
        if self._order is None:
            self._order = sorted(self._rows)
        rows = self._rows
        return tuple(rows[key] for key in self._order)

    def row(self, obj: object, names: list[str], marked_deleted: bool = False) -> ObjectRow:
        """One object's row, read without loading anything."""
        self.visits += 1
        state: InstanceState = inspect(obj)
        entry = self._entries.get(id(obj))
        if entry is None or entry.ref() is not obj:
            entry = self._entry(obj)
        sa_state = _state_name(state)
        panel, cause = _panel(state, sa_state, entry, self.session, marked_deleted)
        dict_ = state.dict
        unloaded = state.unloaded
        expired = tuple(sorted(state.expired_attributes & set(state.mapper.column_attrs.keys())))
        attrs = []
        modified = []
        for key in state.mapper.column_attrs.keys():
            if key in dict_:
                attrs.append((key, short(dict_[key])))
            elif key in unloaded:
                attrs.append((key, "⟳ expired" if key in expired else "… unloaded"))
        if state.modified:
            for key in state.mapper.column_attrs.keys():
                if key not in dict_:
                    continue
                hist = state.attrs[key].history
                if hist.added or hist.deleted:
                    old = short(hist.deleted[0]) if hist.deleted else "—"
                    new = short(hist.added[0]) if hist.added else "—"
                    modified.append((key, old, new))
        identity = tuple(state.identity) if state.identity is not None else None
        return ObjectRow(
            key=entry.key,
            cls=type(obj).__name__,
            identity=identity,
            names=tuple(names),
            state=sa_state,
            panel=panel,
            cause=cause,
            attrs=tuple(attrs),
            modified=tuple(modified),
            expired=expired,
        )


def _state_name(state: InstanceState) -> str:
    if state.transient:
        return "transient"
    if state.pending:
        return "pending"
    if state.persistent:
        return "persistent"
    if state.deleted:
        return "deleted"
    return "detached"


def _panel(state: InstanceState, sa_state: str, entry: _Entry, session: Session, marked_deleted: bool) -> tuple[str, str | None]:
    if sa_state == "persistent":
        if marked_deleted:
            return "deleted", "marked by delete(); not flushed yet"
        if state.session is not session:
            return "persistent", "in another session"
        return "persistent", None
    if sa_state in ("pending", "deleted"):
        return sa_state, None
    if sa_state == "transient":
        if entry.departed and entry.cause:
            return "expunged", entry.cause
        return "transient", None
    # detached
    cause = entry.cause
    if cause and (cause.startswith("expunge") or cause.startswith("rollback")):
        return "expunged", cause
    return "detached", cause
