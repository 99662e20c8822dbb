"""SQLite through aiosqlite: SQLAlchemy's BEGIN recipe, busy timeout, journal and BEGIN modes,
file locks asked of SQLite itself, and waits inferred rather than read."""

from __future__ import annotations

import ctypes
import platform
import sqlite3
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.util import await_

from playground.engine import confinement
from playground.engine.backends.base import Backend, Traits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from playground.engine.backends.engines import ConnectionHooks
    from playground.engine.locks import LockMonitor
    from playground.engine.statements import Inflight

JOURNAL_MODES = ("delete", "wal")
BEGIN_MODES = ("deferred", "immediate", "exclusive")
# SQLite calls the progress handler every this many VM instructions: often enough to tell a
# running statement from one stuck in the busy handler, seldom enough to cost nothing.
PROGRESS_INSTRUCTIONS = 1000
OBSERVER_BUSY_TIMEOUT = 5.0  # seconds setup, teardown and the journal-mode switch wait on a lock
COMMITTED_BUSY_TIMEOUT_MS = 200  # a committed-data read gives up quickly: the view tries again
# sqlite3_txn_state() → the lock names the lock monitor uses (it cannot tell RESERVED from EXCLUSIVE)
SQLITE_LEVELS = {"none": "none", "read": "shared", "write": "reserved"}


class SqliteBackend(Backend):
    """A SQLite file shared by every session's connection."""

    name = "sqlite"
    traits = Traits(busy_commit_stays_open=True)
    journal_modes = JOURNAL_MODES
    begin_modes = BEGIN_MODES
    interrupts_running_statement = True  # sqlite3_interrupt(); a statement in the busy handler ignores it
    cancel_breaks_connection = True  # let the statement end by its busy timeout instead
    watches_locks = True  # inferred: see playground.engine.locks
    # A file, no server process to spare; and a committed read's short busy timeout must not
    # stay on a connection that setup or teardown uses next.
    keeps_observer_connection = False
    fact_queries = (("journal mode", "PRAGMA journal_mode"), ("busy timeout (ms)", "PRAGMA busy_timeout"))
    isolation_notes = {
        "READ UNCOMMITTED": (
            "SQLite accepts READ UNCOMMITTED and changes nothing: dirty reads happen only between "
            "connections sharing a cache (shared-cache mode with PRAGMA read_uncommitted), and "
            "txplay's sessions each have a connection of their own, so they still read committed data"
        ),
    }

    def connect_args(self, application_name: str, lock_timeout: float | None) -> dict[str, Any]:
        """sqlite3's `timeout` is the busy timeout: how long a statement waits on a lock."""
        return {"timeout": OBSERVER_BUSY_TIMEOUT if lock_timeout is None else lock_timeout}

    def prepare_session_connection(self, dbapi_connection: Any, record: Any, hooks: ConnectionHooks) -> Any:
        """SQLAlchemy's recipe, the journal mode, and a progress handler; SQLite has no server id."""
        _no_driver_transactions(dbapi_connection)
        _confine(record.driver_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA journal_mode={hooks.journal_mode()}")
        cursor.close()
        # Progress calls stop while SQLite sleeps in its busy handler: running vs waiting.
        await_(record.driver_connection.set_progress_handler(hooks.on_progress, PROGRESS_INSTRUCTIONS))
        return None

    def prepare_observer_engine(self, engine: AsyncEngine) -> None:
        """The same BEGIN recipe as the sessions', so setup runs in one real transaction."""

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            _no_driver_transactions(dbapi_connection)
            _confine(record.driver_connection)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    def begin(self, conn: Any, hooks: ConnectionHooks) -> None:
        """Emit the BEGIN the session's BEGIN mode asks for."""
        mode = hooks.begin_mode()
        conn.exec_driver_sql("BEGIN" if mode == "deferred" else f"BEGIN {mode.upper()}")

    def check_reachable(self, timeout: float) -> None:
        """Open the file with the stdlib driver, not aiosqlite.

        A failed aiosqlite connect can outlive the check's event loop in its worker thread and
        print a traceback at exit. The app creates the file anyway, so creating it changes nothing.
        """
        connection = sqlite3.connect(self.url.database or "", timeout=1.0)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()

    async def set_lock_timeout(self, driver: Any, seconds: float) -> str | None:
        """PRAGMA busy_timeout, in milliseconds."""
        statement = f"PRAGMA busy_timeout = {int(seconds * 1000)}"
        await driver.execute(statement)
        return statement

    async def apply_journal_mode(self, observer: AsyncEngine, mode: str) -> str:
        """PRAGMA journal_mode outside any transaction (WAL cannot be set inside one)."""
        async with observer.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            cursor = await raw.driver_connection.execute(f"PRAGMA journal_mode={mode}")
            row = await cursor.fetchone()
        return str(row[0]).lower() if row else "?"

    async def prepare_committed_read(self, conn: AsyncConnection) -> None:
        """A reader blocked by a committing writer gives up soon; the view reads again later."""
        await conn.exec_driver_sql(f"PRAGMA busy_timeout = {COMMITTED_BUSY_TIMEOUT_MS}")

    def repairs_refused_commit(self, error: BaseException | None) -> bool:
        """A busy COMMIT leaves sqlite3 inside the transaction while SQLAlchemy let go of it:
        the connection would go back to the pool mid-transaction."""
        name = getattr(error, "sqlite_errorname", None) or ""
        return self.traits.busy_commit_stays_open and name.startswith("SQLITE_BUSY")  # _SNAPSHOT etc. too

    def lock_monitor(self, journal_mode: Callable[[], str]) -> LockMonitor:
        """Waits inferred from stalled statements and the locks the other sessions hold."""
        from playground.engine.locks import SqliteLockMonitor

        return SqliteLockMonitor(journal_mode)

    def driver_thread(self, driver_connection: Any) -> int | None:
        """aiosqlite's worker thread for the connection: where SQLite's busy handler sleeps."""
        return getattr(getattr(driver_connection, "_thread", None), "native_id", None)

    def lock_level_after(self, driver_connection: Any, level: str, inflight: Inflight, error: BaseException | None) -> str:
        """Asked of SQLite where it can be, inferred where not."""
        # A cancelled await may leave the statement running on the driver's thread: do not ask then.
        held = sqlite_txn_state(driver_connection) if error is None or isinstance(error, Exception) else None
        after = SQLITE_LEVELS[held] if held is not None else inferred_sqlite_level(level, inflight, error)
        began_exclusive = error is None and inflight.statement.lstrip().upper().startswith("BEGIN EXCLUSIVE")
        if after == "reserved" and (began_exclusive or level == "exclusive"):
            after = "exclusive"  # sqlite3_txn_state says "write" for RESERVED and EXCLUSIVE alike
        return after

    async def interrupt(self, driver_connection: Any) -> None:
        """sqlite3_interrupt() on the connection's running statement."""
        await driver_connection.interrupt()


def temporary_url(folder: str) -> str:
    """The URL of a fresh SQLite file in `folder`: what txplay opens without `--url`."""
    import os

    return f"sqlite+aiosqlite:///{os.path.join(folder, 'demo.db')}"


def _no_driver_transactions(dbapi_connection: Any) -> None:
    # SQLAlchemy's recipe: the driver must not manage transactions itself, or a released
    # savepoint survives an outer rollback.
    dbapi_connection.isolation_level = None


def _confine(driver_connection: Any) -> None:
    """In a confined process (a web visitor's), SQLite's authorizer keeps the connection to its own file."""
    if confinement.current().sqlite_confined:
        await_(driver_connection.set_authorizer(confinement.sqlite_authorizer))


def inferred_sqlite_level(level: str, inflight: Inflight, error: BaseException | None) -> str:
    """The lock after `inflight` ended, where SQLite cannot be asked.

    A busy/locked error acquired nothing; any other error from a write inside a transaction
    kept the lock the write took (SQLite undoes the statement, not the transaction's lock).
    """
    statement = inflight.statement.lstrip().upper()
    if error is not None and "locked" in str(error).lower():
        return level
    if statement.startswith("BEGIN EXCLUSIVE"):
        return "exclusive"
    if inflight.kind == "write":
        return level if level == "exclusive" else "reserved"
    if level == "none" and error is None and not statement.startswith(("BEGIN", "PRAGMA")):
        return "shared"
    return level


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
