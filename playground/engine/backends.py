"""URL → per-session async engines, with each dialect's recipe (DESIGN §6).

Every session gets an engine of its own with a pool of exactly one connection, so "session A"
is one database connection for its whole life: the lock graph can name it, the server can see
it (`application_name`), and a connection can never wander to another pane.
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import sqlite3
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_

ASYNC_DRIVERS = {
    "sqlite": ("aiosqlite", ("aiosqlite",), None),
    "postgresql": ("asyncpg", ("asyncpg", "psycopg"), "postgres"),
    "mysql": ("asyncmy", ("asyncmy", "aiomysql"), "mysql"),
    "mariadb": ("asyncmy", ("asyncmy", "aiomysql"), "mysql"),
}
DRIVER_MODULES = {"aiosqlite": "aiosqlite", "asyncpg": "asyncpg", "psycopg": "psycopg", "asyncmy": "asyncmy", "aiomysql": "aiomysql"}
# What the log says where a server transaction begins with the first statement (no BEGIN of its own).
IMPLICIT_BEGIN = "BEGIN (implicit)"
JOURNAL_MODES = ("delete", "wal")
# SQLite calls the progress handler every this many VM instructions: often enough to tell a
# running statement from one stuck in the busy handler, seldom enough to cost nothing.
PROGRESS_INSTRUCTIONS = 1000
BEGIN_MODES = ("deferred", "immediate", "exclusive")
# What a user who picks an isolation level should know that the database will not say.
ISOLATION_NOTES = {
    ("sqlite", "READ UNCOMMITTED"): (
        "SQLite accepts READ UNCOMMITTED and changes nothing: dirty reads happen only between "
        "connections sharing a cache (shared-cache mode with PRAGMA read_uncommitted), and "
        "txplay's sessions each have a connection of their own, so they still read committed data"
    ),
}


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

    def isolation_note(self, level: str) -> str | None:
        """What picking isolation `level` really does here, where the database would not say."""
        from playground.engine.snapshot import Notice

        note = ISOLATION_NOTES.get((self.name, level.upper()))
        return Notice(note, topic="isolation-changes-nothing", subject=level.upper()) if note else None

    def in_namespace(self, namespace: str | None) -> Backend:
        """The same server, working in another schema/database."""
        return Backend(self.url, self.name, namespace)

    @property
    def traits(self) -> Traits:
        """How this database treats transactions after errors, and its settings."""
        return TRAITS[self.name]

    def transaction_failure(self, error: BaseException | None, is_disconnect: bool, in_server_transaction: bool) -> str | None:
        """What a failed statement did to the server's transaction.

        None: only the statement failed; "aborted": the server refuses every further statement
        until a rollback (PostgreSQL, 25P02); "ended": the server rolled the whole transaction
        back by itself (a deadlock victim on MySQL, a lost connection anywhere).
        `in_server_transaction` is False where the connection is known to hold no transaction
        (AUTOCOMMIT): then an error aborts nothing.
        """
        if is_disconnect:
            return "ended"
        errno = mysql_errno(error)
        if errno is not None and errno in self.traits.ending_errnos:
            return "ended"
        if self.traits.aborts_on_error and in_server_transaction and reached_server(error):
            return "aborted"
        return None

    def repairs_refused_commit(self, error: BaseException | None) -> bool:
        """Whether a COMMIT refused with `error` leaves the driver inside the transaction.

        Only SQLite's busy COMMIT does: sqlite3 stays in the transaction while SQLAlchemy has
        let go of it, and the connection would go back to the pool mid-transaction.
        """
        name = getattr(error, "sqlite_errorname", None) or ""
        return self.traits.busy_commit_stays_open and name.startswith("SQLITE_BUSY")  # _SNAPSHOT etc. too

    async def set_lock_timeout(self, driver: Any, seconds: float) -> str | None:
        """Set the lock timeout on a driver connection now; returns the statement sent, if any."""
        if self.name == "sqlite":
            statement = f"PRAGMA busy_timeout = {int(seconds * 1000)}"
            await driver.execute(statement)
        elif self.url.drivername == "postgresql+asyncpg":
            statement = f"SET lock_timeout = {int(seconds * 1000)}"
            await driver.execute(statement)
        elif self.url.drivername == "postgresql+psycopg":
            statement = f"SET lock_timeout = {int(seconds * 1000)}"
            if psycopg_in_transaction(driver):
                await driver.execute(statement)  # undone by a rollback: the session sets it again
            else:
                # psycopg would begin a transaction for it, one SQLAlchemy knows nothing of.
                await driver.set_autocommit(True)
                try:
                    await driver.execute(statement)
                finally:
                    await driver.set_autocommit(False)
        elif self.name == "mysql":
            statement = mysql_lock_timeout_sql(seconds)
            async with driver.cursor() as cursor:
                await cursor.execute(statement)
        else:
            return None
        return statement


def psycopg_in_transaction(driver: Any) -> bool | None:
    """Whether a psycopg connection is inside a transaction (ACTIVE, INTRANS or INERROR), if it says."""
    status = getattr(getattr(driver, "info", None), "transaction_status", None)
    return None if status is None else int(status) in (1, 2, 3)  # psycopg.pq.TransactionStatus


@dataclass(frozen=True)
class Traits:
    """What one database does to a transaction after an error, and to session settings."""

    aborts_on_error: bool  # any server error refuses every later statement until a rollback
    ending_errnos: frozenset[int]  # MySQL error numbers after which the server has rolled back
    busy_commit_stays_open: bool  # a COMMIT refused as busy leaves the driver in the transaction
    settings_roll_back: bool  # a SET inside a transaction is undone when it rolls back
    aborted_note: str  # what an aborted transaction needs, for hints


TRAITS = {
    "sqlite": Traits(False, frozenset(), True, False, "the transaction is aborted: `rollback`"),
    "postgresql": Traits(True, frozenset(), False, True, "PostgreSQL aborted the transaction: `rollback` (or ROLLBACK TO a savepoint)"),
    "mysql": Traits(False, frozenset({1213}), False, False, "the transaction is aborted: `rollback`"),
}


def reached_server(error: BaseException | None) -> bool:
    """Whether a driver error is the server's answer, not a client-side refusal.

    asyncpg fills `severity` only for messages the server sent (a bad argument type is
    refused before anything is sent); psycopg keeps it in `diag`.
    """
    orig = getattr(error, "orig", error)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if getattr(candidate, "severity", None) or getattr(getattr(candidate, "diag", None), "severity", None):
            return True
    return False


def mysql_errno(error: BaseException | None) -> int | None:
    """MySQL's error number, for errors from asyncmy/aiomysql."""
    orig = getattr(error, "orig", error)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and type(orig).__module__.startswith(("asyncmy", "pymysql", "aiomysql")):
        return args[0]
    return None


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
        args["init_command"] = mysql_lock_timeout_sql(lock_timeout)
    return args


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
    on_statement_done: Callable[[BaseException | None], None]
    on_error: Callable[[Any], None]
    on_txn_event: Callable[[str], None]
    on_checkin: Callable[[Any, Any], None]
    on_progress: Callable[[], int]


def create_session_engine(backend: Backend, hooks: ConnectionHooks) -> AsyncEngine:
    """An async engine with one pooled connection for one session, with the dialect's recipe."""
    kwargs: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
    if backend.name == "sqlite":
        connect_args: dict[str, Any] = {"timeout": hooks.lock_timeout()}
    else:
        connect_args = server_settings(backend, f"txplay {hooks.name}", hooks.lock_timeout())
    engine = create_async_engine(backend.session_url, connect_args=connect_args, **kwargs)
    sync = engine.sync_engine

    @event.listens_for(sync, "do_connect")
    def _do_connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        # A reconnect carries the lock timeout wanted now, not the one the engine was made with.
        if backend.name == "sqlite":
            cparams["timeout"] = hooks.lock_timeout()
        else:
            cparams.update(server_settings(backend, f"txplay {hooks.name}", hooks.lock_timeout()))

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        if backend.name == "sqlite":
            # SQLAlchemy's recipe: the driver must not manage transactions itself, or a
            # released savepoint survives an outer rollback.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA journal_mode={hooks.journal_mode()}")
            cursor.close()
            # Progress calls stop while SQLite sleeps in its busy handler: running vs waiting.
            await_(record.driver_connection.set_progress_handler(hooks.on_progress, PROGRESS_INSTRUCTIONS))
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
            hooks.on_txn_event(IMPLICIT_BEGIN)

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


def sqlite_txn_state(driver_connection: Any) -> str | None:
    """What SQLite says an aiosqlite connection holds: "none", "read" or "write"; None if it cannot tell.

    Python's sqlite3 has no API for the connection's lock, and a failed statement may keep the
    lock it took (a constraint violation keeps RESERVED), so ask SQLite: sqlite3_txn_state()
    (SQLite >= 3.34) on the handle that CPython's sqlite3.Connection stores first after its
    object header. Call it only while no statement runs on the connection: it takes the
    connection's mutex, which a statement in the busy handler holds.
    """
    txn_state = _sqlite_txn_state_function()
    conn = getattr(driver_connection, "_conn", None)  # aiosqlite's sqlite3.Connection (no public accessor)
    if txn_state is None or not isinstance(conn, sqlite3.Connection):
        return None
    handle = ctypes.c_void_p.from_address(id(conn) + object.__basicsize__).value
    if not handle:
        return None
    return {0: "none", 1: "read", 2: "write"}.get(txn_state(ctypes.c_void_p(handle), None))


@lru_cache(maxsize=1)
def _sqlite_txn_state_function() -> Any:
    """sqlite3_txn_state from the very library the sqlite3 module uses, or None where unsafe or absent."""
    # The handle's place in the object is known for CPython's sqlite3 module of these versions only.
    if platform.python_implementation() != "CPython" or not (3, 8) <= sys.version_info[:2] <= (3, 13):
        return None
    if sqlite3.sqlite_version_info < (3, 34, 0):
        return None
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)  # its symbols and those of the libsqlite3 it links
        version = library.sqlite3_libversion
        txn_state = library.sqlite3_txn_state
    except (ImportError, OSError, AttributeError):
        return None  # a statically linked SQLite that exports nothing: infer instead
    version.restype = ctypes.c_char_p
    if version().decode() != sqlite3.sqlite_version:
        return None  # another SQLite than the module's: its handle is not ours to read
    txn_state.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
    txn_state.restype = ctypes.c_int
    return txn_state
