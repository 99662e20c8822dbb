"""One pane: an AsyncSession on its own connection, its namespace, trackers and settings."""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterator

from sqlalchemy import event
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only

from playground.engine.backends import (
    IMPLICIT_BEGIN,
    Backend,
    ConnectionHooks,
    create_session_engine,
    psycopg_in_transaction,
)
from playground.engine.errors import Aftermath
from playground.engine.kit import ModelKit
from playground.engine.namespace import SessionStandIn, bound_names, make_namespace, named_objects
from playground.engine.snapshot import LockWait, Notice, SessionSnapshot, SqlEntry
from playground.engine.states import SessionStatus
from playground.engine.statements import (
    Inflight,
    shown_params,
    sql_names,
    statement_kind,
)
from playground.engine.tracking import ObjectTracker, TrackedSession
from playground.engine.transactions import TransactionTree, is_failed

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import ExceptionContext



# What a COMMIT does to a transaction the server had already given up; the driver raises nothing.
COMMIT_AFTER_FAILURE = {
    "aborted": "the server had aborted this transaction, so it answered COMMIT with ROLLBACK: "
    "the transaction was rolled back and nothing was committed",
    "ended": "the server had already rolled this transaction back at its earlier error: "
    "nothing done before that error was committed",
}


# An ok COMMIT that did not commit what the Session believes it did.
COMMIT_WARNINGS = {
    "commit-after-server-aborted": "COMMIT committed nothing: the server answered ROLLBACK",
    "commit-after-server-ended": "COMMIT committed nothing: the server had rolled the transaction back",
    "commit-after-server-rollback": "COMMIT committed only what ran after the server's rollback",
}
RAN_AFTER_END = (
    "the server had already rolled this transaction back at its earlier error, so this statement ran in a "
    "new transaction the Session does not know of (its COMMIT would commit it): `rollback` first"
)
COMMIT_AFTER_END_AND_MORE = (
    "the server had rolled this transaction back at its earlier error: nothing done before that error was "
    "committed, and this COMMIT committed what ran after it, in the new transaction the server had begun"
)


def waiting_badge(waiting: LockWait, now: float) -> str:
    """The badge of a session waiting on a lock: how long, and on whom."""
    holders = ", ".join(waiting.holders) or "?"
    return f"waiting {now - waiting.since:.1f} s on {holders}"


@dataclass
class SessionSettings:
    """What a user can change per session."""

    lock_timeout: float = 5.0
    begin_mode: str = "deferred"
    isolation: str | None = None
    mode: str = "sync"


@dataclass
class StepLog:
    """What the engine tells us while one step runs."""

    sql: list[SqlEntry] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    output: io.StringIO = field(default_factory=io.StringIO)
    sent: int = 0  # how many of `sql` are known to have reached the database

    def unsent_dropped(self) -> list[SqlEntry]:
        """Forget the entries logged since the last one known to be sent: they never left."""
        dropped = self.sql[self.sent :]
        del self.sql[self.sent :]
        return dropped

    def all_sent(self) -> None:
        """Every entry so far reached the database (a statement, COMMIT or ROLLBACK ended)."""
        self.sent = len(self.sql)


class PlaygroundSession:
    """One pane's session: connection, AsyncSession, namespace, object and transaction trackers."""

    def __init__(
        self,
        name: str,
        backend: Backend,
        kit: ModelKit,
        settings: SessionSettings,
        journal_mode: Callable[[], str],
    ) -> None:
        self.name = name
        self.backend = backend
        self.settings = settings
        self.log = StepLog()
        self.inflight: Inflight | None = None
        self._keep_inflight = False  # a streamed statement runs on while its rows are fetched (see `streaming`)
        self.lock_level = "none"  # file locks (SQLite): none | shared | reserved | exclusive
        self.progress = 0  # SQLite: progress-handler calls, counted on the driver's thread
        # Names in the statements that ended in the open transaction: who may hold a table's metadata lock.
        self.transaction_names: set[str] = set()
        self.driver_connection: Any = None
        self.dbapi_connection: Any = None
        self.server_id: Any = None
        self._in_commit = False
        self.commit_failed = False
        self.failed_after: float | None = None  # how long the step's failed statement ran
        self._begin_unsent = False  # an implicit BEGIN was logged for a statement that never left
        self._ran_after_end: Any = None  # the transaction a statement ran in after the server ended it
        self.commit_error: BaseException | None = None
        # The root transaction the server aborted or ended ("aborted" | "ended"), and the one
        # whose COMMIT was refused: each counts only while that very transaction is open.
        self._server_failure: tuple[Any, str] | None = None
        self._refused_commit: Any = None
        self.timeout_in_force = settings.lock_timeout
        self._timeout_undone_by_rollback = False
        self.repaired = False
        hooks = ConnectionHooks(
            name=name,
            lock_timeout=lambda: self.settings.lock_timeout,
            begin_mode=lambda: self.settings.begin_mode,
            journal_mode=journal_mode,
            on_connect=self._on_connect,
            on_statement=self._on_statement,
            on_statement_done=self._on_statement_done,
            on_error=self._on_error,
            on_txn_event=self._on_txn_event,
            on_checkin=self._on_checkin,
            on_progress=self._on_progress,
        )
        self.base_engine = create_session_engine(backend, hooks)
        self.engine = self.base_engine
        self.asession = AsyncSession(self.engine, sync_session_class=TrackedSession)
        self.sync: TrackedSession = self.asession.sync_session  # type: ignore[assignment]
        self.tree = TransactionTree(self.sync, messages=lambda: self.log.messages, bound=lambda: self.names()[0])
        self.kit = kit
        self.namespace = make_namespace(kit.models, kit.standins(), lambda: self.log.output)
        self._names_cache: tuple[dict[int, list[str]], list[object]] | None = None
        self._public_names: tuple[str, ...] | None = None
        self._isolation_levels: tuple[str, ...] | None = None
        self.tracker = ObjectTracker(
            self.sync,
            names=lambda: self.names()[0],
            savepoint_name=lambda t: self.tree.label(t, bound_names(self.namespace)),
            messages=lambda: self.log.messages,
        )
        event.listen(self.sync, "after_commit", self._after_commit)
        event.listen(self.sync, "after_rollback", self._after_rollback)
        event.listen(self.sync, "after_transaction_end", self._after_transaction_end)
        self.set_mode(settings.mode)
        self.closed = False
        # Marks the step's own Python code as running (its thread may interrupt it there).
        self.user_code: Callable[[str], contextlib.AbstractContextManager[Any]] = lambda marker: contextlib.nullcontext()
        self.latest: SessionSnapshot | None = None  # built on the session's thread, read anywhere
        self.stale = False  # a step ended without building `latest` again (nobody was watching)

    # -- engine hooks ----------------------------------------------------------------------

    def _on_connect(self, dbapi_connection: Any, record: Any, server_id: Any) -> None:
        self.dbapi_connection = dbapi_connection
        self.driver_connection = record.driver_connection
        self.server_id = server_id
        self._server_failure = None  # a new connection holds no transaction, failed or not
        # The connection was opened with the wanted timeout in its connect arguments.
        self.timeout_in_force = self.settings.lock_timeout
        self._timeout_undone_by_rollback = False

    def driver_thread(self) -> int | None:
        """The native id of the thread the driver runs this session's statements on, if it has one."""
        return self.backend.driver_thread(self.driver_connection)

    def _on_progress(self) -> int:
        # Called on the driver's thread inside a running statement: count, and never stop it.
        self.progress += 1
        return 0

    def drop_unsent(self) -> None:
        """After MissingGreenlet no IO happened: a BEGIN, statement or ROLLBACK logged for it was never sent.

        SQLAlchemy still counts its connection's transaction as begun, so a driver that sends
        BEGIN with the first statement (asyncpg) sends it with the next one: log it there.
        """
        dropped = self.log.unsent_dropped()
        self._begin_unsent = self._begin_unsent or any(e.statement == IMPLICIT_BEGIN for e in dropped)

    def _on_statement(self, statement: str, parameters: Any) -> None:
        if self._begin_unsent:
            self._begin_unsent = False
            self.log.sql.append(SqlEntry(IMPLICIT_BEGIN))
        self.inflight = Inflight(statement, statement_kind(statement), time.monotonic(), self.progress)
        self.log.sql.append(SqlEntry(statement.strip(), shown_params(parameters)))
        if statement.lstrip()[:9].upper() == "SAVEPOINT":
            self.tree.saw_savepoint_sql(statement.strip())

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Around a streamed SELECT, from its execute to its last row. Where the server runs such
        a statement only as its rows are fetched (PostgreSQL's server-side cursors: the driver's
        execute returns first), the statement stays in flight until the rows are in, so that the
        lock monitor sees a wait that begins there."""
        keep = self.backend.streams_run_at_fetch
        self._keep_inflight = keep
        try:
            yield
        finally:
            self._keep_inflight = False
            if keep:
                self.inflight = None

    def _on_statement_done(self, error: BaseException | None) -> None:
        """A statement ended, successfully or with `error`: what locks does the connection hold now?"""
        if not isinstance(error, MissingGreenlet):
            self.log.all_sent()  # an error from the database means the statement reached it
        inflight, self.inflight = self.inflight, None
        if inflight is None:
            return
        if self._keep_inflight and error is None:
            self.inflight = inflight  # its rows are still to come (see `streaming`)
        if error is not None:
            self.failed_after = time.monotonic() - inflight.since  # at once, or after a wait?
        self.transaction_names |= sql_names(inflight.statement)
        root = self.sync.get_transaction()
        if error is None and root is not None and self._ran_after_end is not root and self.server_failure() == "ended":
            # MariaDB/MySQL rolled the transaction back at its error and went on: this statement
            # began a new transaction on the server that the Session knows nothing of.
            self._ran_after_end = root
            self.log.messages.append(Notice(RAN_AFTER_END, topic="ran-after-server-rollback"))
        self.lock_level = self.backend.lock_level_after(self.driver_connection, self.lock_level, inflight, error)

    def _on_error(self, context: ExceptionContext) -> None:
        self.inflight = None
        if isinstance(context.original_exception, MissingGreenlet):
            self.drop_unsent()
        root = self.sync.get_transaction()
        # Only what reached the server can abort its transaction: a missing bind parameter or
        # MissingGreenlet never left the client.
        failure = self.backend.transaction_failure(
            context.original_exception, context.is_disconnect, self._driver_transaction_flag() is not False
        )
        if self._in_commit and failure == "aborted":
            failure = "ended"  # a refused COMMIT ends the server's transaction; SET works again
        if root is not None and failure is not None:
            self._server_failure = (root, failure)
        if self._in_commit:
            self.commit_failed = True
            self.commit_error = context.original_exception
            self._refused_commit = root  # SQLAlchemy keeps it `prepared` until rollback
            self._in_commit = False

    def _on_txn_event(self, what: str) -> None:
        if what == "ROLLBACK TO SAVEPOINT":
            if self._server_failure is not None and self._server_failure[1] == "aborted":
                self._server_failure = None  # PostgreSQL's way out of an aborted transaction
            return  # the statement itself is logged as it is sent
        self.log.sql.append(SqlEntry(what))
        if what == "COMMIT":
            failure = self.server_failure()
            if failure == "ended" and self._ran_after_end is self.sync.get_transaction():
                self.log.messages.append(Notice(COMMIT_AFTER_END_AND_MORE, topic="commit-after-server-rollback"))
            elif failure in COMMIT_AFTER_FAILURE:
                self.log.messages.append(Notice(COMMIT_AFTER_FAILURE[failure], topic=f"commit-after-server-{failure}"))
            self._in_commit = True
            self.inflight = Inflight("COMMIT", "commit", time.monotonic(), self.progress)
        elif what == "ROLLBACK":
            self.inflight = None
            self.lock_level = "none"
            self.transaction_names.clear()
            self._server_failure = None
            self._begin_unsent = False

    def _after_transaction_end(self, session: Any, transaction: Any) -> None:
        if transaction.parent is None:
            # Whatever refused the next statement belonged to this transaction, now gone.
            self._server_failure = None
            self._refused_commit = None
            self.transaction_names.clear()  # a savepoint's RELEASE keeps the tables its transaction used

    def _after_rollback(self, session: Any) -> None:
        self.log.all_sent()
        self._reapply_timeout(after="the rollback")

    def _after_commit(self, session: Any) -> None:
        self.log.all_sent()
        if self.server_failure() == "aborted":
            self._reapply_timeout(after="the COMMIT answered with ROLLBACK")
        elif self._timeout_undone_by_rollback and not self.in_database_transaction():
            self._timeout_undone_by_rollback = False  # committed: the SET now holds for the session
        if self._in_commit:
            self._in_commit = False
            self.inflight = None
            self.lock_level = "none"

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        # A COMMIT that SQLite refused leaves the driver inside the transaction while
        # SQLAlchemy believes it ended; such a connection must never go back to the pool.
        if dbapi_connection is None:  # an invalidated connection: nothing to roll back
            self.driver_connection = self.dbapi_connection = None
            self.lock_level = "none"
            self.inflight = None
            self.transaction_names.clear()
            return
        if self.in_database_transaction():
            dbapi_connection.rollback()
            self.repaired = True
            self.log.messages.append("the connection was still inside a transaction on its way back to the pool: rolled back")
        self.lock_level = "none"
        self.inflight = None
        self.transaction_names.clear()
        if self._timeout_undone_by_rollback:
            # Closed mid-transaction: the pool's reset rolled back a SET made inside it.
            self._reapply_timeout(after="the connection's reset")

    # -- lock timeout ----------------------------------------------------------------------

    async def apply_lock_timeout(self) -> str | None:
        """Put `settings.lock_timeout` in force on the connection; says when, if not now.

        Where a SET inside a transaction is undone by its rollback (PostgreSQL), it is set
        again once the transaction or a savepoint rolls back, so the pane's value holds.
        """
        wanted = self.settings.lock_timeout
        driver = self.driver_connection
        if driver is None:
            self.timeout_in_force = wanted  # the next connection is opened with it
            return None
        undone = self.backend.traits.settings_roll_back and self.in_database_transaction()
        if self.server_failure() == "aborted":
            # PostgreSQL refuses even SET here; the rollback the user must type applies it.
            self._timeout_undone_by_rollback = True
            return f"the transaction is aborted, so the server refuses SET: {wanted:g} s applies after `rollback`"
        await self.backend.set_lock_timeout(driver, wanted)
        self.timeout_in_force = wanted
        self._timeout_undone_by_rollback = self._timeout_undone_by_rollback or undone
        return None

    def _reapply_timeout(self, after: str) -> None:
        """Set the wanted lock timeout again where a rollback undid it (runs inside SQLAlchemy)."""
        driver = self.driver_connection
        if not self._timeout_undone_by_rollback or driver is None:
            return
        if self.server_failure() == "aborted":
            return  # a savepoint that was never sent: the transaction is still aborted
        wanted = self.settings.lock_timeout
        setting = self.backend.set_lock_timeout(driver, wanted)
        try:
            await_only(setting)
        except Exception as exc:  # the step goes on; the pane shows the value really in force
            setting.close()
            self.log.messages.append(f"could not set the lock timeout again after {after}: {exc}")
            return
        self._timeout_undone_by_rollback = self.in_database_transaction()  # a savepoint's rollback
        self.timeout_in_force = wanted
        self.log.messages.append(f"lock timeout set again to {wanted:g} s after {after}: it undoes a SET made inside the transaction")

    def timeout_shown(self) -> str:
        """The lock timeout in force, and the wanted one where it waits for a rollback."""
        in_force, wanted = self.timeout_in_force, self.settings.lock_timeout
        if in_force == wanted:
            return f"{wanted:g} s"
        return f"{in_force:g} s ({wanted:g} s after rollback)"

    # -- state -----------------------------------------------------------------------------

    def in_database_transaction(self) -> bool:
        """Whether the DBAPI connection itself is inside a transaction (SQLite: the driver's flag).

        False also where the driver cannot tell: SQLAlchemy's reset-on-return rolls such connections back.
        """
        return bool(self._driver_transaction_flag())

    def _driver_transaction_flag(self) -> bool | None:
        driver = self.driver_connection
        if driver is None:
            return False
        flag = getattr(driver, "in_transaction", None)  # sqlite3 / aiosqlite
        if isinstance(flag, bool):
            return flag
        probe = getattr(driver, "is_in_transaction", None)  # asyncpg
        if callable(probe):
            try:
                return bool(probe())
            except Exception:
                return None
        return psycopg_in_transaction(driver)  # None where the driver does not say (asyncmy)

    def current_lock_level(self) -> str:
        """The file lock (SQLite) this session's connection holds, as far as can be inferred."""
        if not self.in_database_transaction():
            return "none"
        return self.lock_level

    def set_mode(self, mode: str) -> None:
        """Bind `session`, `Session` and `engine` in the namespace for sync or async style."""
        self.settings.mode = mode
        ns = self.namespace
        if mode == "async":
            ns["session"] = self.asession
            ns["engine"] = self.engine
        else:
            ns["session"] = self.sync
            ns["engine"] = self.engine.sync_engine
        ns["Session"] = SessionStandIn(lambda: self.sync)
        ns["sessionmaker"] = lambda *a, **k: SessionStandIn(lambda: ns["session"])
        ns["async_sessionmaker"] = lambda *a, **k: SessionStandIn(lambda: self.asession)

    def set_isolation_engine(self, level: str | None) -> None:
        """Use `level` for the next transactions of this session (None: the database default)."""
        self.settings.isolation = level
        self.engine = self.base_engine if level is None else self.base_engine.execution_options(isolation_level=level)
        self.asession.bind = self.engine

    def isolation(self) -> str:
        """The isolation level this session's transactions use."""
        if self.settings.isolation:
            return self.settings.isolation
        return getattr(self.base_engine.dialect, "default_isolation_level", None) or "default"

    def server_failure(self) -> str | None:
        """"aborted" or "ended" when the server refused or ended the open transaction, else None."""
        root = self.sync.get_transaction()
        if self._server_failure is None or root is None or self._server_failure[0] is not root:
            return None
        return self._server_failure[1]

    def failure(self) -> str | None:
        """Why the next statement would be refused until a rollback, or None.

        "deactivated": SQLAlchemy deactivated a transaction (PendingRollbackError);
        "prepared": SQLAlchemy keeps a transaction whose COMMIT was refused (InvalidRequestError);
        "aborted" / "ended": the server aborted the transaction or ended it by itself.
        """
        root = self.sync.get_transaction()
        if root is None:
            return None
        if any(is_failed(t) for t in self.tree.chain()):
            return "deactivated"
        if self._refused_commit is root:
            return "prepared"
        return self.server_failure()

    def aftermath(self) -> Aftermath:
        """What the session is left in, for the hint of a step's error."""
        return Aftermath(
            self.backend, self.sync.in_transaction(), self.failure(), self.commit_failed,
            failed_after=self.failed_after, lock_timeout=self.timeout_in_force, demo_tables=self.kit.demo_tables,
        )

    def status(self, waiting: LockWait | None) -> SessionStatus:
        """idle | active | failed | waiting, as the transcript reports it."""
        if waiting is not None:
            return SessionStatus.WAITING
        if not self.sync.in_transaction():
            return SessionStatus.IDLE
        return SessionStatus.FAILED if self.failure() else SessionStatus.ACTIVE

    def badge(self, waiting: LockWait | None, now: float) -> str:
        """The pane header's badge."""
        if waiting is not None:
            return waiting_badge(waiting, now)
        status = self.status(None)
        if status == SessionStatus.IDLE:
            return "idle"
        if status == SessionStatus.FAILED:
            return "failed — rollback required"
        depth = sum(1 for t in self.tree.chain() if t.nested)
        return f"savepoint ×{depth}" if depth else "in transaction"

    def snapshot(self, waiting: LockWait | None = None, blocking: tuple[str, ...] = (), now: float = 0.0) -> SessionSnapshot:
        """What the pane shows now; reads only what is loaded, emits no SQL.

        Built on the session's own thread (see `refresh`): it walks the Session and the namespace.
        """
        bound, named = self.names()
        rows = self.tracker.rows(named)
        settings = [("mode", self.settings.mode), ("lock timeout", self.timeout_shown())]
        if self.backend.begin_modes:
            settings.append(("begin", self.settings.begin_mode))
        return SessionSnapshot(
            name=self.name,
            backend=self.backend.name,
            backend_note=self.backend.missing_features,
            isolation=self.isolation(),
            status=self.status(waiting),
            badge=self.badge(waiting, now),
            mode=self.settings.mode,
            transactions=tuple(self.tree.rows(bound)),
            objects=rows,
            waiting_for=waiting.holders if waiting else (),
            blocking=blocking,
            settings=tuple(settings),
            objects_omitted=self.tracker.dropped,
            unsent=tuple(self.tree.unsent_rows()),
            vanished=self.tracker.vanished(),
            names=self.public_names(),
            isolation_levels=self.isolation_levels(),
        )

    async def refresh(self) -> SessionSnapshot:
        """Build the snapshot again (on the session's thread) and keep it as `latest`."""
        self.latest, self.stale = self.snapshot(), False
        return self.latest

    def names(self) -> tuple[dict[int, list[str]], list[object]]:
        """The namespace's names for objects, and its named mapped objects.

        Only a step can rebind a name, so this is computed once per step, not per snapshot.
        """
        if self._names_cache is None:
            self._names_cache = (bound_names(self.namespace), named_objects(self.namespace))
        return self._names_cache

    def forget_names(self) -> None:
        """The namespace may have changed: compute names again on the next snapshot."""
        self._names_cache = None
        self._public_names = None

    def public_names(self) -> tuple[str, ...]:
        """The namespace's public names (what Tab completes), computed once per step."""
        if self._public_names is None:
            self._public_names = tuple(sorted(k for k in self.namespace if not k.startswith("_")))
        return self._public_names

    def isolation_levels(self) -> tuple[str, ...]:
        """The isolation levels SQLAlchemy's dialect accepts for this session's connection."""
        if self._isolation_levels is None:
            self._isolation_levels = tuple(self.backend.isolation_levels(self.base_engine.dialect, self.dbapi_connection))
        return self._isolation_levels

    def new_step_log(self) -> StepLog:
        """Start collecting SQL, messages and printed output for a new step."""
        self.forget_names()
        self.log = StepLog()
        self.inflight = None  # the previous step's statements have all ended
        self.commit_failed = False
        self.commit_error = None
        self.failed_after = None
        self.repaired = False
        return self.log

    async def close(self) -> bool:
        """Roll back any open transaction and close; True if a transaction was rolled back."""
        if self.closed:
            return False
        rolled_back = self.sync.in_transaction()
        try:
            if rolled_back:
                await self.asession.rollback()
            await self.asession.close()
        finally:
            await self.base_engine.dispose()
            self.closed = True
        return rolled_back
