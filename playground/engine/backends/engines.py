"""Per-session async engines and observer engines, each with its backend's recipe (DESIGN §6).

Every session gets an engine of its own with a pool of exactly one connection, so "session A"
is one database connection for its whole life: the lock graph can name it, the server can see
it (`application_name`), and a connection can never wander to another pane.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from playground.engine.backends.base import Backend


@dataclass
class ConnectionHooks:
    """What a session engine calls back into: its settings and its statement log."""

    name: str
    lock_timeout: Callable[[], float]
    begin_mode: Callable[[], str]
    journal_mode: Callable[[], str]
    on_connect: Callable[[Any, Any, Any], None]
    on_statement: Callable[[str, Any], None]
    on_statement_done: Callable[[BaseException | None], None]
    on_error: Callable[[Any], None]
    on_txn_event: Callable[[str], None]
    on_checkin: Callable[[Any, Any], None]
    on_progress: Callable[[], int]


def create_session_engine(backend: Backend, hooks: ConnectionHooks) -> AsyncEngine:
    """An async engine with one pooled connection for one session, with the dialect's recipe."""
    kwargs: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
    application_name = f"txplay {hooks.name}"
    connect_args = backend.connect_args(application_name, hooks.lock_timeout())
    engine = create_async_engine(backend.session_url, connect_args=connect_args, **kwargs)
    sync = engine.sync_engine

    @event.listens_for(sync, "do_connect")
    def _do_connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        # A reconnect carries the lock timeout wanted now, not the one the engine was made with.
        cparams.update(backend.connect_args(application_name, hooks.lock_timeout()))

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        server_id = backend.prepare_session_connection(dbapi_connection, record, hooks)
        hooks.on_connect(dbapi_connection, record, server_id)

    @event.listens_for(sync, "begin")
    def _begin(conn: Any) -> None:
        backend.begin(conn, hooks)

    @event.listens_for(sync, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        hooks.on_statement(statement, parameters)

    @event.listens_for(sync, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        hooks.on_statement_done(None)

    @event.listens_for(sync, "handle_error")
    def _error(context: Any) -> None:
        hooks.on_statement_done(context.original_exception)
        hooks.on_error(context)

    @event.listens_for(sync, "commit")
    def _commit(conn: Any) -> None:
        hooks.on_txn_event("COMMIT")

    @event.listens_for(sync, "rollback")
    def _rollback(conn: Any) -> None:
        hooks.on_txn_event("ROLLBACK")

    @event.listens_for(sync, "rollback_savepoint")
    def _rollback_savepoint(conn: Any, name: str, context: Any) -> None:
        hooks.on_txn_event("ROLLBACK TO SAVEPOINT")

    @event.listens_for(sync, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        hooks.on_checkin(dbapi_connection, record)

    return engine


def create_observer_engine(backend: Backend, name: str = "observer", *, kept: bool = False) -> AsyncEngine:
    """An engine outside every session: setup, teardown, committed data, the lock monitor.

    `kept`: the workspace's own observer, used after every step (the committed-data view). On a
    server it keeps one connection for the workspace's life instead of opening one per read
    (a new server process each time); a second use at the same moment gets a connection of its
    own, closed after it. The pool rolls back whatever a use left open before the next one, and
    a connection the server dropped is noticed at checkout (pre-ping) and replaced.
    """
    from sqlalchemy.pool import NullPool

    connect_args = backend.observer_connect_args(f"txplay {name}")
    pooling: dict[str, Any] = {"poolclass": NullPool}
    if kept and backend.keeps_observer_connection:
        pooling = {"pool_size": 1, "max_overflow": -1, "pool_pre_ping": True}
    engine = create_async_engine(backend.session_url, connect_args=connect_args, **pooling)
    backend.prepare_observer_engine(engine)
    return engine
