"""PostgreSQL through asyncpg or psycopg: application_name, search_path, lock_timeout, aborted
transactions, pg_locks for waits, pg_cancel_backend for cancel, and a schema per workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playground.engine.backends.base import Backend, Traits

if TYPE_CHECKING:
    from playground.engine.backends.engines import ConnectionHooks
    from playground.engine.locks import LockMonitor


class PostgresBackend(Backend):
    """A PostgreSQL server; txplay's tables live in a schema of their own."""

    name = "postgresql"
    traits = Traits(
        aborts_on_error=True,
        settings_roll_back=True,
        aborted_note="PostgreSQL aborted the transaction: `rollback` (or ROLLBACK TO a savepoint)",
    )
    has_namespaces = True
    namespace_listing = "SELECT nspname FROM pg_namespace"
    namespace_drop = "DROP SCHEMA IF EXISTS {name} CASCADE"
    streams_run_at_fetch = True  # asyncpg's cursor and psycopg's named cursor run at the first fetch
    watches_locks = True
    fact_queries = (("deadlock_timeout", "SHOW deadlock_timeout"), ("lock_timeout", "SHOW lock_timeout"))

    def connect_args(self, application_name: str, lock_timeout: float | None) -> dict[str, Any]:
        """Name the connection, and set its schema and lock timeout, as each driver takes them."""
        if self.url.drivername == "postgresql+psycopg":
            options = []
            if self.namespace:
                options.append(f"-c search_path={self.namespace}")
            if lock_timeout is not None:
                options.append(f"-c lock_timeout={int(lock_timeout * 1000)}")
            args: dict[str, Any] = {"application_name": application_name}
            if options:
                args["options"] = " ".join(options)
            return args
        settings = {"application_name": application_name}
        if self.namespace:
            settings["search_path"] = self.namespace
        if lock_timeout is not None:
            settings["lock_timeout"] = str(int(lock_timeout * 1000))
        return {"server_settings": settings}

    def observer_connect_args(self, application_name: str) -> dict[str, Any]:
        """As a session's, without asyncpg's prepared statements kept between reads: the observer's
        connection lives as long as the workspace, and a statement prepared before a session's
        ALTER TABLE fails once after it ("cached statement plan is invalid")."""
        args = self.connect_args(application_name, None)
        if self.url.drivername == "postgresql+asyncpg":
            args["prepared_statement_cache_size"] = 0
        return args

    def prepare_session_connection(self, dbapi_connection: Any, record: Any, hooks: ConnectionHooks) -> Any:
        """The backend pid: the lock monitor matches waits by it."""
        return server_id(dbapi_connection, "SELECT pg_backend_pid()")

    async def set_lock_timeout(self, driver: Any, seconds: float) -> str | None:
        """SET lock_timeout, without letting psycopg begin a transaction SQLAlchemy knows nothing of."""
        statement = f"SET lock_timeout = {int(seconds * 1000)}"
        if self.url.drivername != "postgresql+psycopg" or psycopg_in_transaction(driver):
            await driver.execute(statement)  # inside a transaction: undone by a rollback, set again then
            return statement
        await driver.set_autocommit(True)
        try:
            await driver.execute(statement)
        finally:
            await driver.set_autocommit(False)
        return statement

    def lock_monitor(self, journal_mode: Callable[[], str]) -> LockMonitor:
        """pg_blocking_pids() on a connection of its own."""
        from playground.engine.locks import PostgresLockMonitor

        return PostgresLockMonitor(self)

    async def create_namespace(self, namespace: str, reset: bool = False, stale: Callable[[str], bool] | None = None) -> None:
        """CREATE SCHEMA (after dropping it, on `reset`)."""
        drop = [self.namespace_drop] if reset else []
        await self._namespace_ddl("setup", [*drop, "CREATE SCHEMA IF NOT EXISTS {name}"], namespace, stale)


def server_id(dbapi_connection: Any, query: str) -> Any:
    """Who a new connection is on the server, asked with `query`.

    The query opens a transaction (psycopg and asyncmy begin implicitly): end it, or the
    session's first isolation change is refused ("connection in transaction").
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(query)
    found = cursor.fetchone()[0]
    cursor.close()
    dbapi_connection.rollback()
    return found


def psycopg_in_transaction(driver: Any) -> bool | None:
    """Whether a psycopg connection is inside a transaction (ACTIVE, INTRANS or INERROR), if it says."""
    status = getattr(getattr(driver, "info", None), "transaction_status", None)
    return None if status is None else int(status) in (1, 2, 3)  # psycopg.pq.TransactionStatus
