"""Object states from the Session lifecycle events → rows of the Objects panel.

SQLAlchemy has no event for `expunge()`, so the session class used by every pane
(`TrackedSession`) marks the operation in progress; the lifecycle events read the mark to
record why an object left. Rendering reads `inspect(obj).dict` and the expired/unloaded sets
only: it never loads an attribute and never emits SQL.

The Session holds persistent objects weakly: one that nothing references is collected and
its row goes. That surprises people, so the tracker says so (`vanished`, and a notice in the
step's messages when it happens during a step) with the way to keep it: bind it to a name.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, deque
from operator import attrgetter
from typing import Any
from collections.abc import Callable, Iterable

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Mapper, RelationshipProperty, Session, SessionTransaction
from sqlalchemy.orm.attributes import instance_state

from playground.engine.snapshot import EXPIRED, UNLOADED, Notice, ObjectRow, RowKind, kept, short
from playground.engine.states import ObjectState, Panel

# Objects that left the session are kept (strongly) so their panel can show them; bounded.
MAX_DEPARTED = 500
# Distinct RowKinds a tracker keeps for its rows to share; past this it starts afresh.
MAX_KINDS = 1024
# Objects collected lately that the panel still mentions.
MAX_VANISHED = 3

# Every live tracker: instance and attribute events mark objects for re-rendering in each.
_TRACKERS: weakref.WeakSet[ObjectTracker] = weakref.WeakSet()
_INSTRUMENTED: set[type] = set()
_GLOBAL_INSTALLED = False
_row_of = attrgetter("row")


def _touch_everywhere(state: InstanceState, *args: Any, **kwargs: Any) -> None:
    # Listened to with raw=True: the state, which is there even when a weakly held object has
    # already been collected (a commit expires it; its target would be None).
    for tracker in list(_TRACKERS):
        if state in tracker._entries:
            tracker._dirty.add(state)


def _install_global_listeners() -> None:
    """Instance events for every mapper: loads, refreshes and expiry change what a row shows."""
    global _GLOBAL_INSTALLED
    if _GLOBAL_INSTALLED:
        return
    for name in ("load", "refresh", "refresh_flush", "expire"):
        event.listen(Mapper, name, _touch_everywhere, raw=True)
    _GLOBAL_INSTALLED = True


def _instrument(cls: type) -> None:
    """Attribute events on a mapped class, the first time an object of it is tracked."""
    if cls in _INSTRUMENTED:
        return
    _INSTRUMENTED.add(cls)
    mapper: Mapper[Any] = inspect(cls)
    for attr in mapper.attrs:
        descriptor = getattr(cls, attr.key, None)
        if descriptor is None:
            continue
        event.listen(descriptor, "set", _touch_everywhere, raw=True)
        if isinstance(attr, RelationshipProperty):
            event.listen(descriptor, "append", _touch_everywhere, raw=True)
            event.listen(descriptor, "remove", _touch_everywhere, raw=True)


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


class _Entry(weakref.ref):
    """A tracked object: a weak reference to it, with what its row needs to remember.

    The reference's callback (one bound method shared by a tracker's entries) forgets the
    entry when the object is collected, so an entry costs one object, not a reference plus a
    finalizer. `state` is the object's InstanceState, the entry's key in its tracker (no int
    per object); `cause` is set while the object is out of the session (it departed).
    """

    __slots__ = ("key", "state", "cause", "row")

    def __new__(cls, obj: object, callback: Callable[[_Entry], None], key: int) -> _Entry:
        return super().__new__(cls, obj, callback)

    def __init__(self, obj: object, callback: Callable[[_Entry], None], key: int) -> None:
        super().__init__(obj, callback)  # type: ignore[call-arg]  # weakref.ref takes (obj, callback)
        self.key = key
        self.state: InstanceState = instance_state(obj)
        self.cause: str | None = None
        self.row: ObjectRow | None = None  # the last row built, reused until the object is touched


class ObjectTracker:
    """Follows every object one session has touched, through SQLAlchemy's lifecycle events."""

    def __init__(
        self,
        session: TrackedSession,
        names: Callable[[], dict[int, list[str]]],
        savepoint_name: Callable[[SessionTransaction], str],
        messages: Callable[[], list[str]] | None = None,
    ) -> None:
        self.session = session
        self._names = names
        self.savepoint_name = savepoint_name
        self._messages = messages  # the current step's messages, for the notice of a vanished object
        self._vanished: deque[tuple[str, tuple[Any, ...] | None, str]] = deque(maxlen=MAX_VANISHED)
        self._said_vanished: tuple[list[str], int, Notice, str, int] | None = None  # this step's notice, to count on
        # An object's InstanceState → its entry, in key order.
        self._entries: dict[InstanceState, _Entry] = {}
        # Departed objects, oldest first, held strongly (the object is the value); bounded.
        self._departed: OrderedDict[InstanceState, object] = OrderedDict()
        self._keys = itertools.count(1)
        self.rolling_back: str | None = None
        self.dropped = 0
        # Incremental rendering: each entry keeps its last row, rebuilt only when touched.
        self._collected = self._forget  # one bound method, the callback of every entry
        self._columns: dict[Mapper, tuple[Any, tuple[str, ...]]] = {}
        self._kinds: dict[tuple[Any, ...], RowKind] = {}
        self._dirty: set[InstanceState] = set()
        self._named: set[InstanceState] = set()  # the objects whose rows show names
        self._marked_deleted: set[InstanceState] = set()
        # While a step runs: the objects whose rows were built since it started (see end_step).
        self._in_step = False
        self._drawn_in_step: set[InstanceState] = set()
        # The objects the flush in progress writes: their rows change again when it completes.
        self._flushing: set[InstanceState] = set()
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
        event.listen(s, "after_flush_postexec", self._after_flush)

    def _before_flush(self, session: Session, context: Any, instances: Any) -> None:
        # A flush clears what is pending, dirty or deleted: their rows change.
        self._flushing = {instance_state(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
        self._dirty |= self._flushing

    def _after_flush(self, session: Session, context: Any) -> None:
        # A row built while the flush waited on a lock still shows the changes as unflushed.
        self._dirty |= self._flushing
        self._flushing = set()

    def begin_step(self) -> None:
        """A step starts: remember the rows built while it runs."""
        self._in_step = True
        self._drawn_in_step.clear()

    def end_step(self) -> None:
        """A step ended: every object drawn while it ran is drawn again, however long it took.

        A row built mid-step (the app draws a pane while its step waits on a lock) may show a
        state the rest of the step changed without an event this tracker hears.
        """
        self._in_step = False
        self._dirty |= self._drawn_in_step | self._flushing  # a failed flush leaves its objects here
        self._drawn_in_step.clear()
        self._flushing = set()

    def _entry(self, obj: object) -> _Entry:
        state = instance_state(obj)
        entry = self._entries.get(state)
        if entry is None:
            entry = self._entries[state] = _Entry(obj, self._collected, next(self._keys))
            self._dirty.add(state)
            _instrument(type(obj))
        return entry

    def _forget(self, entry: _Entry) -> None:
        """The entry's object was collected: its row goes, and the panel says why."""
        if self._entries.get(entry.state) is entry:
            del self._entries[entry.state]
            self._departed.pop(entry.state, None)
            self._vanish(entry.state)

    def _vanish(self, state: InstanceState) -> None:
        # The state outlives its object: its class and identity key are still there.
        cls = state.class_.__name__
        identity = tuple(state.key[1]) if state.key is not None else None
        ident = ", ".join(map(repr, identity)) if identity is not None else None
        shown = f"{cls}({ident if ident is not None else '?'})"
        self._vanished.append((cls, identity, shown))
        if self._messages is None:
            return
        messages = self._messages()
        said = self._said_vanished
        if said is not None and said[0] is messages and said[1] < len(messages) and messages[said[1]] is said[2]:
            # One notice a step, however many objects go (a query of 10,000 rows nobody kept).
            first, count, at = said[3], said[4] + 1, said[1]
        else:
            first, count, at = shown, 1, len(messages)
            messages.append("")
        keep = f"u = session.get({cls}, {ident})" if ident is not None else "u = ..."
        who = first if count == 1 else f"{first} and {count - 1:,} more object{'s' if count > 2 else ''}"
        notice = Notice(
            f"{who} left the Objects panel: nothing referenced {'it' if count == 1 else 'them'}, and the Session "
            f"holds its objects weakly. Bind one to a name to keep it: {keep}",
            topic="object-vanished",
            subject=first,
        )
        messages[at] = notice
        self._said_vanished = (messages, at, notice, first, count)

    def vanished(self) -> tuple[str, ...]:
        """The objects collected lately (`User(1)`), oldest first, until they are seen again."""
        return tuple(shown for _, _, shown in self._vanished)

    def _present(self, session: Session, obj: object) -> None:
        if self._vanished:
            # Loaded again: no longer vanished.
            key = (type(obj).__name__, instance_state(obj).identity)
            kept_ = [v for v in self._vanished if (v[0], v[1]) != key]
            if len(kept_) != len(self._vanished):
                self._vanished = deque(kept_, maxlen=MAX_VANISHED)
        entry = self._entry(obj)
        self._dirty.add(entry.state)
        if entry.cause is not None:
            entry.cause = None
            self._departed.pop(entry.state, None)

    def _cause(self) -> str:
        return self.session.leaving_cause or self.rolling_back or "rollback"

    def _left(self, session: Session, obj: object) -> None:
        self._depart(obj, self._cause())

    def _left_deleted(self, session: Session, obj: object) -> None:
        cause = self.session.leaving_cause or ("delete committed" if self.rolling_back is None else self._cause())
        self._depart(obj, cause)

    def _depart(self, obj: object, cause: str) -> None:
        entry = self._entry(obj)
        self._dirty.add(entry.state)
        entry.cause = cause
        self._departed[entry.state] = obj
        self._departed.move_to_end(entry.state)
        while len(self._departed) > MAX_DEPARTED:
            state, _ = self._departed.popitem(last=False)
            if state in self._entries:
                self.dropped += 1
                self._dirty.add(state)

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
        # Swapped before clearing: objects collected while it is cleared forget their entries.
        held, self._departed = self._departed, OrderedDict()
        held.clear()

    # -- rendering ----------------------------------------------------------------------

    def rows(self, namespace_objects: Iterable[object] = ()) -> tuple[ObjectRow, ...]:
        """Rows for every tracked object and every object bound to a name, by key.

        Only objects touched since the last call are rendered again: a step that changed one
        object costs one row, not one per object the session holds.
        """
        names = self._names()  # by id(obj), for the objects in `namespace_objects`
        entries = self._entries
        # Names change only for the named objects and for those whose rows show names.
        showing = self._named
        for state in {self._entry(obj).state for obj in namespace_objects} | showing:
            entry = entries.get(state)
            obj = entry() if entry is not None else None
            if obj is None or entry is None:
                showing.discard(state)
            elif entry.row is None or entry.row.names != tuple(names.get(id(obj), ())):
                self._dirty.add(state)
        deleted = {instance_state(obj) for obj in self.session.deleted}
        self._dirty |= deleted ^ self._marked_deleted
        self._marked_deleted = deleted
        if self._in_step:
            self._drawn_in_step |= self._dirty
        for state in self._dirty:
            entry = entries.get(state)
            obj = entry() if entry is not None else None
            if entry is None or obj is None:
                continue
            entry.row = row = self.row(obj, names.get(id(obj), []), state in deleted)
            if row.names:
                showing.add(state)
            else:
                showing.discard(state)
        self._dirty.clear()
        # A copy first: a collection may forget an entry while this runs.
        return tuple(filter(None, map(_row_of, list(entries.values()))))

    def row(self, obj: object, names: list[str], marked_deleted: bool = False) -> ObjectRow:
        """One object's row, read without loading anything."""
        self.visits += 1
        state: InstanceState = instance_state(obj)
        entry = self._entry(obj)
        sa_state = _state_name(state)
        panel, cause = _panel(state, sa_state, entry, self.session, marked_deleted)
        columns = self._column_keys(state.manager.mapper)  # not state.mapper: memoized on every state
        dict_ = state.dict
        expired_now = state.expired_attributes
        expired = tuple(sorted(expired_now.intersection(columns))) if expired_now else ()
        unloaded: set[str] | None = None
        values = []
        skipped = False
        for key in columns:
            if key in dict_:
                values.append(kept(dict_[key]))
                continue
            if unloaded is None:
                unloaded = state.unloaded
            if key in unloaded:
                values.append(EXPIRED if key in expired else UNLOADED)
            else:
                skipped = True
        if skipped:
            assert unloaded is not None
            columns = tuple(key for key in columns if key in dict_ or key in unloaded)
        modified = []
        if state.modified:
            for key in columns:
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
            kind=self._kind(type(obj).__name__, sa_state, panel, cause, columns, expired, tuple(names)),
            identity=identity,
            values=tuple(values),
            modified=tuple(modified),
        )

    def _kind(self, *spec: Any) -> RowKind:
        """The RowKind for these fields, shared with the other rows that have them."""
        kind = self._kinds.get(spec)
        if kind is None:
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            kind = self._kinds[spec] = RowKind(*spec)
        return kind

    def _column_keys(self, mapper: Mapper) -> tuple[str, ...]:
        """The mapper's column attribute names: one tuple, shared by the rows of its class."""
        props = mapper.column_attrs
        cached = self._columns.get(mapper)
        if cached is None or cached[0] is not props:
            cached = self._columns[mapper] = (props, tuple(props.keys()))
        return cached[1]


def _state_name(state: InstanceState) -> ObjectState:
    if state.transient:
        return ObjectState.TRANSIENT
    if state.pending:
        return ObjectState.PENDING
    if state.persistent:
        return ObjectState.PERSISTENT
    if state.deleted:
        return ObjectState.DELETED
    return ObjectState.DETACHED


def _panel(state: InstanceState, sa_state: ObjectState, entry: _Entry, session: Session, marked_deleted: bool) -> tuple[Panel, str | None]:
    if sa_state == ObjectState.PERSISTENT:
        if marked_deleted:
            return Panel.DELETED, "marked by delete(); not flushed yet"
        if state.session is not session:
            return Panel.PERSISTENT, "in another session"
        return Panel.PERSISTENT, None
    if sa_state in (ObjectState.PENDING, ObjectState.DELETED):
        return Panel(sa_state.value), None
    if sa_state == ObjectState.TRANSIENT:
        if entry.cause:
            return Panel.EXPUNGED, entry.cause
        return Panel.TRANSIENT, None
    # detached
    cause = entry.cause
    if cause and (cause.startswith("expunge") or cause.startswith("rollback")):
        return Panel.EXPUNGED, cause
    return Panel.DETACHED, cause
