"""The Python namespace of a pane: `session`, the mapped classes, SQLAlchemy's names, stand-ins."""

from __future__ import annotations

import builtins
import io
from typing import Any
from collections.abc import Callable, Iterable

import sqlalchemy
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, AsyncSessionTransaction
from sqlalchemy.orm import Mapper, SessionTransaction

SQLALCHEMY_NAMES = (
    "select", "insert", "update", "delete", "text", "func", "and_", "or_", "not_", "literal",
    "column", "table", "bindparam", "desc", "asc", "exists", "cast", "case", "null", "true",
    "false", "tuple_", "String", "Integer",
)
MAX_LIST_SCAN = 100


class SessionStandIn:
    """`Session(...)` / `sessionmaker(...)()` in a pane give the pane's own session.

    Articles write `session = Session()` or `with Session(engine) as session:`; in a playground
    pane there is one session per connection, so the stand-in hands that one back.
    """

    def __init__(self, get: Callable[[], Any]) -> None:
        self._get = get

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._get()

    def begin(self) -> Any:
        """`sessionmaker.begin()`: the pane's session inside a transaction block."""
        return self._get().begin()

    def __repr__(self) -> str:
        return "<Session stand-in: returns this pane's session>"


def make_namespace(models: Iterable[type], standins: dict[str, Any], print_to: Callable[[], io.StringIO]) -> dict[str, Any]:
    """A fresh namespace for one pane, with `standins` bound too (the session-bound names are set by the session)."""
    ns: dict[str, Any] = {"__name__": "__txplay__", "__builtins__": builtins}
    for name in SQLALCHEMY_NAMES:
        ns[name] = getattr(sqlalchemy, name)
    ns["inspect"] = inspect
    ns["exc"] = sa_exc
    for name in dir(sa_exc):
        value = getattr(sa_exc, name)
        if isinstance(value, type) and issubclass(value, Exception):
            ns[name] = value
    ns.update({"Engine": Engine, "AsyncEngine": AsyncEngine, "AsyncSession": AsyncSession, "sqlalchemy": sqlalchemy})
    for model in models:
        ns[model.__name__] = model
    ns.update(standins)

    def _print(*args: Any, **kwargs: Any) -> None:
        if kwargs.get("file") is None:
            kwargs["file"] = print_to()
        builtins.print(*args, **kwargs)

    ns["print"] = _print
    ns[_BUILTIN_NAMES] = dict(ns)  # what the user did not bind: skipped when looking for names
    return ns


_mapped_types: dict[type, bool] = {}


def is_mapped_instance(value: object) -> bool:
    """Whether `value` is an instance of a mapped class (never inspects engines or classes)."""
    kind = type(value)
    known = _mapped_types.get(kind)
    if known is None:
        known = isinstance(inspect(kind, raiseerr=False), Mapper)
        _mapped_types[kind] = known
    return known


_BUILTIN_NAMES = "__txplay_builtins__"


def _user_items(ns: dict[str, Any]) -> list[tuple[str, Any]]:
    """The names the user bound (the namespace's own SQLAlchemy names and stand-ins left out)."""
    builtin = ns.get(_BUILTIN_NAMES, {})
    return [(k, v) for k, v in ns.items() if not k.startswith("_") and builtin.get(k, _MISSING) is not v]


_MISSING = object()


def bound_names(ns: dict[str, Any]) -> dict[int, list[str]]:
    """id(object) → the namespace names bound to it (mapped objects and transactions)."""
    out: dict[int, list[str]] = {}
    for name, value in _user_items(ns):
        if isinstance(value, AsyncSessionTransaction):
            out.setdefault(id(value.sync_transaction), []).append(name)
        elif isinstance(value, SessionTransaction) or is_mapped_instance(value):
            out.setdefault(id(value), []).append(name)
        elif isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_LIST_SCAN:
            for i, item in enumerate(value):
                if is_mapped_instance(item):
                    out.setdefault(id(item), []).append(f"{name}[{i}]")
    return out


def named_objects(ns: dict[str, Any]) -> list[object]:
    """The mapped objects bound to names (so transient ones show up too)."""
    found: list[object] = []
    for _name, value in _user_items(ns):
        if is_mapped_instance(value):
            found.append(value)
        elif isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_LIST_SCAN:
            found.extend(item for item in value if is_mapped_instance(item))
    return found
