"""MySQL and MariaDB through asyncmy or aiomysql: lock wait timeouts, deadlock victims rolled back
by the server, InnoDB lock tables for waits, KILL QUERY for cancel, and a database per workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL

from playground.engine.backends.base import Backend, Traits
from playground.engine.backends.postgresql import server_id

if TYPE_CHECKING:
    from playground.engine.backends.engines import ConnectionHooks
    from playground.engine.locks import LockMonitor

DEADLOCK = 1213  # the server rolled the victim's whole transaction back


class MysqlBackend(Backend):
    """A MySQL or MariaDB server; txplay's tables live in a database of their own."""

    name = "mysql"
    traits = Traits(ending_errnos=frozenset({DEADLOCK}))
    has_namespaces = True
    namespace_listing = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
    namespace_drop = "DROP DATABASE IF EXISTS {name}"
    watches_locks = True
    # innodb_snapshot_isolation: MariaDB only, in recent releases (on by default from 11.6).
    fact_queries = (("innodb_snapshot_isolation", "SELECT @@innodb_snapshot_isolation"),
                    ("innodb_lock_wait_timeout (server)", "SELECT @@global.innodb_lock_wait_timeout"),
                    ("innodb_lock_wait_timeout", "SELECT @@innodb_lock_wait_timeout"))

    @property
    def session_url(self) -> URL:
        """The namespace is the database sessions connect to."""
        return self.url.set(database=self.namespace) if self.namespace else self.url

    def connect_args(self, application_name: str, lock_timeout: float | None) -> dict[str, Any]:
        """The lock timeouts, set as each connection opens."""
        return {} if lock_timeout is None else {"init_command": mysql_lock_timeout_sql(lock_timeout)}

    def prepare_session_connection(self, dbapi_connection: Any, record: Any, hooks: ConnectionHooks) -> Any:
        """The connection id: the lock monitor matches waits by it."""
        return server_id(dbapi_connection, "SELECT CONNECTION_ID()")

    async def set_lock_timeout(self, driver: Any, seconds: float) -> str | None:
        """SET both lock wait timeouts for the session."""
        statement = mysql_lock_timeout_sql(seconds)
        async with driver.cursor() as cursor:
            await cursor.execute(statement)
        return statement

    def error_number(self, error: BaseException | None) -> int | None:
        """MySQL's error number."""
        return mysql_errno(error)

    def lock_monitor(self, journal_mode: Callable[[], str]) -> LockMonitor:
        """data_lock_waits (MySQL 8) or INNODB_LOCK_WAITS (MariaDB), and metadata-lock waits."""
        from playground.engine.mysql_locks import MysqlLockMonitor

        return MysqlLockMonitor(self)

    async def create_namespace(self, namespace: str, reset: bool = False, stale: Callable[[str], bool] | None = None) -> None:
        """CREATE DATABASE (after dropping it, on `reset`)."""
        drop = [self.namespace_drop] if reset else []
        await self._namespace_ddl("setup", [*drop, "CREATE DATABASE IF NOT EXISTS {name}"], namespace, stale)


def mysql_errno(error: BaseException | None) -> int | None:
    """MySQL's error number, for errors from asyncmy/aiomysql."""
    orig = getattr(error, "orig", error)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and type(orig).__module__.startswith(("asyncmy", "pymysql", "aiomysql")):
        return args[0]
    return None


def mysql_lock_timeout(seconds: float) -> int:
    """innodb_lock_wait_timeout and lock_wait_timeout take whole seconds, at least 1."""
    return max(1, int(round(seconds)))


def mysql_lock_timeout_sql(seconds: float) -> str:
    """SET the lock timeout for row locks (InnoDB) and metadata locks (DDL, LOCK TABLES) alike.

    The server's default lock_wait_timeout is a day: without it an ALTER waiting for a
    transaction that read the table would outlive any `lock-timeout`.
    """
    value = mysql_lock_timeout(seconds)
    return f"SET SESSION innodb_lock_wait_timeout = {value}, SESSION lock_wait_timeout = {value}"
