"""What a workspace is handed about its models: the engine itself knows no models and no demo.

The demo package builds the kit `txplay` uses (`playground.demo.kit`); a user's own models
(`--models`) go into the same kit in place of the demo's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection


def _no_standins() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ModelKit:
    """The mapped classes a session's namespace holds, and what comes with them.

    - `models`, `metadata`: the mapped classes and their MetaData;
    - `create_demo(connection, reset)`: creates the demo schema and rows on a sync connection
      (None: there is no demo to create);
    - `demo_tables`: the tables that demo creates, so a step that misses one gets a hint;
    - `standins()`: fresh helper objects for one namespace (the seed articles' `payment_api` …);
    - `describe(models)`: the lines `help` prints about the mapped classes.
    """

    models: tuple[type, ...] = ()
    metadata: Any = None
    create_demo: Callable[[Connection, bool], None] | None = None
    demo_tables: frozenset[str] = frozenset()
    standins: Callable[[], dict[str, Any]] = field(default=_no_standins)
    describe: Callable[[Iterable[type]], list[str]] | None = None
