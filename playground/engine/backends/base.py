"""What every backend strategy provides, with the behaviour of a database txplay knows nothing of.

A strategy is the one object that knows which database a workspace talks to: its connect
recipe, its BEGIN, its lock timeout, how its errors end transactions, its lock monitor and
its namespaces. The rest of the engine asks it, and never asks which backend it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from playground.engine.backends.engines import ConnectionHooks
    from playground.engine.locks import LockMonitor
    from playground.engine.snapshot import Notice
    from playground.engine.statements import Inflight

# What the log says where a server transaction begins with the first statement (no BEGIN of its own).
IMPLICIT_BEGIN = "BEGIN (implicit)"
ABORTED_NOTE = "the transaction is aborted: `rollback`"


class BackendError(Exception):
    """A URL or driver problem, said in a sentence the user can act on."""


@dataclass(frozen=True)
class Traits:
    """What one database does to a transaction after an error, and to session settings."""

    aborts_on_error: bool = False  # any server error refuses every later statement until a rollback
    ending_errnos: frozenset[int] = frozenset()  # MySQL error numbers after which the server has rolled back
    busy_commit_stays_open: bool = False  # a COMMIT refused as busy leaves the driver in the transaction
    settings_roll_back: bool = False  # a SET inside a transaction is undone when it rolls back
    aborted_note: str = ABORTED_NOTE  # what an aborted transaction needs, for hints


class Backend:
    """The strategy of one database; as it stands, that of any SQLAlchemy async dialect.

    `name` is what scenarios call the backend (`backends:`, `=> [name]`); `namespace` is the
    schema or database txplay works in, where the backend has them.
    """

    name: str = ""
    traits: ClassVar[Traits] = Traits()
    journal_modes: ClassVar[tuple[str, ...]] = ()  # the journal modes a user may pick (SQLite)
    begin_modes: ClassVar[tuple[str, ...]] = ()  # the BEGIN variants a session may emit (SQLite)
    has_namespaces: ClassVar[bool] = False  # can work in a schema/database of its own, created on open
    namespace_listing: ClassVar[str] = ""  # SQL: the names of every schema/database (where it has namespaces)
    namespace_drop: ClassVar[str] = ""  # SQL dropping the schema/database `{name}`
    interrupts_running_statement: ClassVar[bool] = False  # cancel stops a running (not waiting) statement
    cancel_breaks_connection: ClassVar[bool] = False  # cancelling a task under the driver loses the connection
    sets_lock_timeout: ClassVar[bool] = True  # `\timeout` can be put in force
    # The workspace's observer keeps its connection between reads (a server: each new one is a
    # server process started and ended); SQLite opens its file afresh for each.
    keeps_observer_connection: ClassVar[bool] = True
    # A streamed SELECT runs on the server when its rows are first fetched, not at execute
    # (server-side cursors): a wait may begin after the driver's execute returned.
    streams_run_at_fetch: ClassVar[bool] = False
    # What the user would expect of txplay that this backend does not have, for the pane header.
    missing_features: str | None = None
    isolation_notes: ClassVar[dict[str, str]] = {}  # level → what picking it really does
    # A lock monitor tells a wait from a slow statement: the isolation matrix needs one to decide.
    watches_locks: ClassVar[bool] = False
    # (label, SQL) of the settings that change what an isolation level prevents, read in a session
    # (so the lock timeout is the one in force there); a query the server refuses is left out.
    fact_queries: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, url: URL, namespace: str | None = None) -> None:
        self.url = url
        self.namespace = namespace
        self.name = self.name or url.get_backend_name()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r}, namespace={self.namespace!r})"

    @property
    def display_url(self) -> str:
        """The URL with its password masked, as SQLAlchemy masks it."""
        return self.url.render_as_string(hide_password=True)

    @property
    def session_url(self) -> URL:
        """The URL sessions connect with."""
        return self.url

    def in_namespace(self, namespace: str | None) -> Backend:
        """The same server, working in another schema/database."""
        return type(self)(self.url, namespace)

    def isolation_note(self, level: str) -> Notice | None:
        """What picking isolation `level` really does here, where the database would not say."""
        from playground.engine.snapshot import Notice

        note = self.isolation_notes.get(level.upper())
        return Notice(note, topic="isolation-changes-nothing", subject=level.upper()) if note else None

    def isolation_levels(self, dialect: Any, dbapi_connection: Any) -> list[str]:
        """The isolation levels SQLAlchemy's dialect accepts here (none where it cannot say)."""
        try:
            return list(dialect.get_isolation_level_values(dbapi_connection))
        except NotImplementedError:
            return []

    # -- connecting ------------------------------------------------------------------------

    def connect_args(self, application_name: str, lock_timeout: float | None) -> dict[str, Any]:
        """The driver's connect arguments: the connection's name, schema and lock timeout."""
        return {}

    def observer_connect_args(self, application_name: str) -> dict[str, Any]:
        """Connect arguments of a connection outside every session."""
        return self.connect_args(application_name, None)

    def prepare_session_connection(self, dbapi_connection: Any, record: Any, hooks: ConnectionHooks) -> Any:
        """Set up a session's new connection; returns its id on the server, if it has one."""
        return None

    def prepare_observer_engine(self, engine: AsyncEngine) -> None:
        """Install the dialect's recipe on an engine outside every session."""

    def begin(self, conn: Any, hooks: ConnectionHooks) -> None:
        """A session's transaction begins: the server begins it with the first statement."""
        hooks.on_txn_event(IMPLICIT_BEGIN)

    def check_reachable(self, timeout: float) -> None:
        """Open one connection and close it; raises what the driver raised, or TimeoutError."""
        asyncio.run(self._connect_once(timeout))

    async def _connect_once(self, timeout: float) -> None:
        from playground.engine.backends.engines import create_observer_engine

        engine = create_observer_engine(self)
        try:
            async with asyncio.timeout(timeout):
                async with engine.connect():
                    pass
        finally:
            await engine.dispose()

    # -- settings --------------------------------------------------------------------------

    async def set_lock_timeout(self, driver: Any, seconds: float) -> str | None:
        """Set the lock timeout on a driver connection now; returns the statement sent, if any."""
        return None

    async def apply_journal_mode(self, observer: AsyncEngine, mode: str) -> str:
        """Put journal `mode` in force for the database; returns the mode the database kept."""
        raise BackendError(f"{self.name} has no journal mode setting")

    async def prepare_committed_read(self, conn: AsyncConnection) -> None:
        """Get a connection ready to read committed data without waiting long on a lock."""

    # -- errors ----------------------------------------------------------------------------

    def error_number(self, error: BaseException | None) -> int | None:
        """The server's error number of a driver error, where the backend numbers them."""
        return None

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
        errno = self.error_number(error)
        if errno is not None and errno in self.traits.ending_errnos:
            return "ended"
        if self.traits.aborts_on_error and in_server_transaction and reached_server(error):
            return "aborted"
        return None

    def repairs_refused_commit(self, error: BaseException | None) -> bool:
        """Whether a COMMIT refused with `error` leaves the driver inside the transaction."""
        return False

    # -- locks -----------------------------------------------------------------------------

    def lock_monitor(self, journal_mode: Callable[[], str]) -> LockMonitor:
        """The monitor that reports this backend's lock waits: none for an unknown database."""
        from playground.engine.locks import NoLockMonitor

        return NoLockMonitor(self.name)

    def driver_thread(self, driver_connection: Any) -> int | None:
        """The native id of the thread a session's statements run on, where the driver has one of its own."""
        return None

    def lock_level_after(self, driver_connection: Any, level: str, inflight: Inflight, error: BaseException | None) -> str:
        """The file lock a connection holds after `inflight` ended (only SQLite has them)."""
        return level

    async def interrupt(self, driver_connection: Any) -> None:
        """Stop the statement running on `driver_connection` (see `interrupts_running_statement`)."""
        raise BackendError(f"{self.name} cannot interrupt a running statement")

    # -- namespaces ------------------------------------------------------------------------

    async def create_namespace(self, namespace: str, reset: bool = False, stale: Callable[[str], bool] | None = None) -> None:
        """Create the schema or database txplay works in (see `has_namespaces`); first drop
        those `stale` says were left behind by a run that was killed."""
        raise BackendError(f"txplay cannot create a namespace on {self.name}")

    async def drop_namespace(self, namespace: str) -> None:
        """Drop a schema or database txplay created for one run."""
        if not self.namespace_drop:
            raise BackendError(f"txplay cannot drop a namespace on {self.name}")
        await self._namespace_ddl("teardown", [self.namespace_drop], namespace)

    async def _namespace_ddl(self, purpose: str, statements: list[str], namespace: str, stale: Callable[[str], bool] | None = None) -> None:
        """Run `statements` in autocommit, outside every namespace, with `{name}` the quoted `namespace`
        (after dropping the `stale` namespaces, on the same connection)."""
        from playground.engine.backends.engines import create_observer_engine

        engine = create_observer_engine(self.in_namespace(None), purpose)
        quote = engine.dialect.identifier_preparer.quote
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                if stale is not None:
                    for (name,) in (await conn.exec_driver_sql(self.namespace_listing)).all():
                        if stale(name):
                            with contextlib.suppress(Exception):  # another process dropping it too
                                await conn.exec_driver_sql(self.namespace_drop.format(name=quote(name)))
                for statement in statements:
                    await conn.exec_driver_sql(statement.format(name=quote(namespace)))
        finally:
            await engine.dispose()


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

