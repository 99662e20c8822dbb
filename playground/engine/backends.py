"""URL → per-session async engines, with each dialect's recipe (DESIGN §6).

Every session gets an engine of its own with a pool of exactly one connection, so "session A"
is one database connection for its whole life: the lock graph can name it, the server can see
it (`application_name`), and a connection can never wander to another pane.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ASYNC_DRIVERS = {
    "sqlite": ("aiosqlite", ("aiosqlite",), None),
    "postgresql": ("asyncpg", ("asyncpg", "psycopg"), "postgres"),
    "mysql": ("asyncmy", ("asyncmy", "aiomysql"), "mysql"),
    "mariadb": ("asyncmy", ("asyncmy", "aiomysql"), "mysql"),
}
DRIVER_MODULES = {"aiosqlite": "aiosqlite", "asyncpg": "asyncpg", "psycopg": "psycopg", "asyncmy": "asyncmy", "aiomysql": "aiomysql"}
JOURNAL_MODES = ("delete", "wal")
BEGIN_MODES = ("deferred", "immediate", "exclusive")


class BackendError(Exception):
    """A URL or driver problem, said in a sentence the user can act on."""


@dataclass(frozen=True)
class Backend:
    """Which database a workspace talks to; `namespace` is its PostgreSQL schema / MySQL database."""

    url: URL
    name: str  # sqlite | postgresql | mysql
    namespace: str | None = None

    @property
    def display_url(self) -> str:
        """The URL with its password masked, as SQLAlchemy masks it."""
        return self.url.render_as_string(hide_password=True)

    @property
    def session_url(self) -> URL:
        """The URL sessions connect with (MySQL: the namespace is the database)."""
        if self.name == "mysql" and self.namespace:
            return self.url.set(database=self.namespace)
        return self.url

    def in_namespace(self, namespace: str | None) -> Backend:
        """The same server, working in another schema/database."""
        return Backend(self.url, self.name, namespace)


def server_settings(backend: Backend, application_name: str, lock_timeout: float | None) -> dict[str, Any]:
    """connect_args that name the connection, and set its schema and lock timeout."""
    args: dict[str, Any] = {}
    if backend.url.drivername == "postgresql+asyncpg":
        settings = {"application_name": application_name}
        if backend.namespace:
            settings["search_path"] = backend.namespace
        if lock_timeout is not None:
            settings["lock_timeout"] = str(int(lock_timeout * 1000))
        args["server_settings"] = settings
    elif backend.url.drivername == "postgresql+psycopg":
        options = []
        if backend.namespace:
            options.append(f"-c search_path={backend.namespace}")
        if lock_timeout is not None:
            options.append(f"-c lock_timeout={int(lock_timeout * 1000)}")
        args["application_name"] = application_name
        if options:
            args["options"] = " ".join(options)
    elif backend.name == "mysql" and lock_timeout is not None:
        args["init_command"] = f"SET SESSION innodb_lock_wait_timeout = {mysql_lock_timeout(lock_timeout)}"
    return args


def mysql_lock_timeout(seconds: float) -> int:
    """innodb_lock_wait_timeout takes whole seconds, at least 1."""
    return max(1, int(round(seconds)))


SERVER_ID_QUERY = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}


def resolve(url: str | URL) -> Backend:
    """Parse a URL, pick the async driver for it, and check the driver is installed."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError as exc:
        raise BackendError(f"not a database URL: {mask(str(url))} ({exc})") from None
    dialect, _, driver = parsed.drivername.partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    if dialect not in ASYNC_DRIVERS:
        raise BackendError(f"txplay supports sqlite, postgresql, mysql and mariadb URLs, not {dialect!r}")
    default, accepted, extra = ASYNC_DRIVERS[dialect]
    driver = driver or default
    if driver not in accepted:
        names = ", ".join(f"{dialect}+{d}" for d in accepted)
        raise BackendError(f"{dialect}+{driver} is not an async driver txplay can use; use {names}")
    module = DRIVER_MODULES[driver]
    if importlib.util.find_spec(module) is None:
        hint = install_hint(extra) if extra else f"pip install {module}"
        raise BackendError(f"the {driver} driver for {dialect} is not installed: {hint}")
    if dialect == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise BackendError("an in-memory SQLite database cannot be shared by several sessions; give a file: sqlite:///demo.db")
    parsed = parsed.set(drivername=f"{dialect}+{driver}")
    return Backend(parsed, "mysql" if dialect in ("mysql", "mariadb") else dialect)


def install_hint(extra: str) -> str:
    """The pip command that adds an extra: by name for an installed txplay (editable or not), by
    folder for a source checkout run without installing it (where pip does not know the name)."""
    from importlib import metadata
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[2]
    try:
        metadata.distribution("txplay")
    except metadata.PackageNotFoundError:
        if (checkout / "pyproject.toml").is_file():
            folder = "." if Path.cwd().resolve() == checkout else str(checkout)
            return f"pip install '{folder}[{extra}]'"
    return f"pip install 'txplay[{extra}]' (in a source checkout: pip install '.[{extra}]')"


def mask(text: str) -> str:
    """Mask any password in a URL-looking string (for error messages built from raw input)."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text


@dataclass
class ConnectionHooks:
    """What a session engine calls back into: its settings and its statement log."""

    name: str
    lock_timeout: Callable[[], float]
    begin_mode: Callable[[], str]
    journal_mode: Callable[[], str]
    on_connect: Callable[[Any, Any, Any], None]
    on_statement: Callable[[str, Any], None]
    on_statement_done: Callable[[], None]
    on_error: Callable[[Any], None]
    on_txn_event: Callable[[str], None]
    on_checkin: Callable[[Any, Any], None]


def create_session_engine(backend: Backend, hooks: ConnectionHooks) -> AsyncEngine:
    """An async engine with one pooled connection for one session, with the dialect's recipe."""
    kwargs: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
    if backend.name == "sqlite":
        connect_args: dict[str, Any] = {"timeout": hooks.lock_timeout()}
    else:
        connect_args = server_settings(backend, f"txplay {hooks.name}", hooks.lock_timeout())
    engine = create_async_engine(backend.session_url, connect_args=connect_args, **kwargs)
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        if backend.name == "sqlite":
            # SQLAlchemy's recipe: the driver must not manage transactions itself, or a
            # released savepoint survives an outer rollback.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA journal_mode={hooks.journal_mode()}")
            cursor.close()
            server_id = None
        else:
            # Who this connection is on the server: the lock monitor matches waits by it.
            cursor = dbapi_connection.cursor()
            cursor.execute(SERVER_ID_QUERY[backend.name])
            server_id = cursor.fetchone()[0]
            cursor.close()
            # The query opened a transaction (psycopg and asyncmy begin implicitly): end it, or
            # the session's first isolation change is refused ("connection in transaction").
            dbapi_connection.rollback()
        hooks.on_connect(dbapi_connection, record, server_id)

    @event.listens_for(sync, "begin")
    def _begin(conn: Any) -> None:
        if backend.name == "sqlite":
            mode = hooks.begin_mode()
            conn.exec_driver_sql("BEGIN" if mode == "deferred" else f"BEGIN {mode.upper()}")
        else:
            hooks.on_txn_event("BEGIN (implicit)")

    @event.listens_for(sync, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        hooks.on_statement(statement, parameters)

    @event.listens_for(sync, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        hooks.on_statement_done()

    @event.listens_for(sync, "handle_error")
    def _error(context: Any) -> None:
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


def create_observer_engine(backend: Backend, name: str = "observer") -> AsyncEngine:
    """An engine outside every session: setup, teardown, committed data, the lock monitor."""
    from sqlalchemy.pool import NullPool

    if backend.name == "sqlite":
        connect_args: dict[str, Any] = {"timeout": 5.0}
    else:
        connect_args = server_settings(backend, f"txplay {name}", None)
    engine = create_async_engine(backend.session_url, poolclass=NullPool, connect_args=connect_args)
    if backend.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


async def create_namespace(backend: Backend, namespace: str, reset: bool = False) -> None:
    """Create the schema (PostgreSQL) or database (MySQL) txplay works in."""
    engine = create_observer_engine(backend.in_namespace(None), "setup")
    quoted = engine.dialect.identifier_preparer.quote(namespace)
    kind = "SCHEMA" if backend.name == "postgresql" else "DATABASE"
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if reset:
                await conn.exec_driver_sql(f"DROP {kind} IF EXISTS {quoted}" + (" CASCADE" if kind == "SCHEMA" else ""))
            await conn.exec_driver_sql(f"CREATE {kind} IF NOT EXISTS {quoted}")
    finally:
        await engine.dispose()


async def drop_namespace(backend: Backend, namespace: str) -> None:
    """Drop a schema/database txplay created for one run."""
    engine = create_observer_engine(backend.in_namespace(None), "teardown")
    quoted = engine.dialect.identifier_preparer.quote(namespace)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if backend.name == "postgresql":
                await conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
            else:
                await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
    finally:
        await engine.dispose()
