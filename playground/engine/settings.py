"""Settings commands (isolation, lock timeout, BEGIN and journal modes) and committed data.

A part of `Workspace`, kept apart so each file reads in one sitting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text as sql_text
from sqlalchemy.exc import ArgumentError

from playground.engine import execution
from playground.engine.backends import BEGIN_MODES, JOURNAL_MODES, Backend
from playground.engine.errors import describe
from playground.engine.events import CommittedTable, WorkspaceError
from playground.engine.language import COMMAND_PREFIX
from playground.engine.locks import LockMonitor, SqliteLockMonitor
from playground.engine.session import PlaygroundSession
from playground.engine.snapshot import plain_rows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

COMMITTED_LIMIT = 200


class WorkspaceSettings:
    """Mixed into Workspace: commands that change a session's or the database's settings."""

    backend: Backend
    sessions: dict[str, PlaygroundSession]
    journal_mode: str
    monitor: LockMonitor
    observer: AsyncEngine

    async def _setting(self, ps: PlaygroundSession, command: Any) -> execution.Outcome:
        outcome = execution.Outcome()
        name, args = command.name, command.args
        if name == "isolation":
            valid = ps.isolation_levels()
            if not args:
                outcome.messages.append(f"isolation: {ps.isolation()}; valid: {', '.join(valid)}")
                return outcome
            level = " ".join(args).upper().replace("_", " ")
            self._check_isolation(ps, level)
            if ps.sync.in_transaction():
                # As an application would see it: SQLAlchemy refuses mid-transaction.
                conn = await ps.asession.connection()
                await conn.execution_options(isolation_level=level)
            ps.set_isolation_engine(level)
            outcome.messages.append(f"isolation level {level} from the next transaction on")
            note = self.backend.isolation_note(level)
            if note:
                outcome.messages.append(note)
        elif name == "timeout":
            if len(args) != 1:
                raise execution.StepError(f"{COMMAND_PREFIX}timeout SECONDS (now {ps.settings.lock_timeout:g})")
            try:
                seconds = float(args[0])
            except ValueError:
                raise execution.StepError(f"{COMMAND_PREFIX}timeout takes a number of seconds, not {args[0]!r}") from None
            if not 0 <= seconds <= 3600:
                raise execution.StepError("the lock timeout must be between 0 and 3600 seconds")
            ps.settings.lock_timeout = seconds
            later = await self._apply_timeout(ps)
            outcome.messages.append(later or f"a statement now waits at most {seconds:g} s on a lock")
        elif name == "begin-mode":
            if self.backend.name != "sqlite":
                raise execution.StepError("the BEGIN mode is a SQLite setting")
            if len(args) != 1 or args[0].lower() not in BEGIN_MODES:
                raise execution.StepError(f"{COMMAND_PREFIX}begin-mode {'|'.join(BEGIN_MODES)} (now {ps.settings.begin_mode})")
            ps.settings.begin_mode = args[0].lower()
            outcome.messages.append(f"transactions begin with BEGIN {ps.settings.begin_mode.upper()}")
        return outcome

    async def set_journal_mode(self, mode: str) -> None:
        """Switch SQLite's journal mode (rollback journal or WAL); refused mid-transaction."""
        if self.backend.name != "sqlite":
            raise WorkspaceError("the journal mode is a SQLite setting")
        if mode not in JOURNAL_MODES:
            raise WorkspaceError(f"journal mode must be one of {', '.join(JOURNAL_MODES)}")
        busy = [n for n, ps in self.sessions.items() if ps.sync.in_transaction()]
        if busy:
            raise WorkspaceError(f"end the transactions of {', '.join(busy)} first: the journal mode cannot change inside one")
        async with self.observer.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            cursor = await raw.driver_connection.execute(f"PRAGMA journal_mode={mode}")
            row = await cursor.fetchone()
        if row is None or str(row[0]).lower() != mode:
            raise WorkspaceError(f"SQLite kept journal mode {row[0] if row else '?'}; another connection may be using the file")
        self.journal_mode = mode
        if isinstance(self.monitor, SqliteLockMonitor):
            self.monitor.journal_mode = mode

    def _check_isolation(self, ps: PlaygroundSession, level: str) -> None:
        valid = ps.isolation_levels()
        if level not in valid:
            # SQLAlchemy's own wording, as an application passing a bad value would see it.
            raise ArgumentError(
                f"Invalid value {level!r} for isolation_level. Valid isolation levels for "
                f"{self.backend.url.get_backend_name()!r} are {', '.join(valid)}"
            )

    async def _apply_timeout(self, ps: PlaygroundSession) -> str | None:
        """Put the session's lock timeout in force; says when it applies, if not at once."""
        return await ps.apply_lock_timeout()

    async def tables(self) -> list[str]:
        """The tables a fresh connection sees."""
        async with self.observer.connect() as conn:
            return await conn.run_sync(lambda c: sa_inspect(c).get_table_names())

    async def committed(self, table: str, limit: int = COMMITTED_LIMIT, offset: int = 0) -> CommittedTable:
        """Rows of `table` as committed: read by a connection outside every session."""
        quote = self.observer.dialect.identifier_preparer.quote
        quoted = quote(table)
        try:
            async with self.observer.connect() as conn:
                if self.backend.name == "sqlite":
                    await conn.exec_driver_sql("PRAGMA busy_timeout = 200")
                # Pages must not overlap or skip rows: order by the primary key when there is one.
                keys = await conn.run_sync(lambda c: sa_inspect(c).get_pk_constraint(table)["constrained_columns"])
                order = f" ORDER BY {', '.join(map(quote, keys))}" if keys else ""
                result = await conn.execute(sql_text(f"SELECT * FROM {quoted}{order} LIMIT :limit OFFSET :offset"), {"limit": limit, "offset": offset})
                columns = tuple(result.keys())
                rows = plain_rows(result)
                total = (await conn.execute(sql_text(f"SELECT count(*) FROM {quoted}"))).scalar()
                await conn.rollback()
        except Exception as exc:
            return CommittedTable(table, (), (), None, error=str(describe(exc)))
        return CommittedTable(table, columns, rows, total)
