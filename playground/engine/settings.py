"""Settings commands (isolation, lock timeout, BEGIN and journal modes) and committed data.

Functions the workspace calls with what they need; whatever differs between databases is
asked of the session's backend strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text as sql_text
from sqlalchemy.exc import ArgumentError

from playground.engine import execution
from playground.engine.backends import Backend
from playground.engine.errors import describe
from playground.engine.events import CommittedTable, WorkspaceError
from playground.engine.language import COMMAND_PREFIX
from playground.engine.session import PlaygroundSession

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

COMMITTED_LIMIT = 200


async def run_setting(ps: PlaygroundSession, command: Any) -> execution.Outcome:
    """Run a settings command (`\\isolation`, `\\timeout`, `\\begin-mode`) in session `ps`."""
    outcome = execution.Outcome()
    name, args = command.name, command.args
    if name == "isolation":
        valid = isolation_levels(ps)
        if not args:
            outcome.messages.append(f"isolation: {ps.isolation()}; valid: {', '.join(valid)}")
            return outcome
        level = " ".join(args).upper().replace("_", " ")
        check_isolation(ps, level)
        if ps.sync.in_transaction():
            # As an application would see it: SQLAlchemy refuses mid-transaction.
            conn = await ps.asession.connection()
            await conn.execution_options(isolation_level=level)
        ps.set_isolation_engine(level)
        outcome.messages.append(f"isolation level {level} from the next transaction on")
        note = ps.backend.isolation_note(level)
        if note:
            outcome.messages.append(note)
    elif name == "timeout":
        if not ps.backend.sets_lock_timeout:
            raise execution.StepError(f"txplay cannot set a lock timeout on {ps.backend.name}")
        if len(args) != 1:
            raise execution.StepError(f"{COMMAND_PREFIX}timeout SECONDS (now {ps.settings.lock_timeout:g})")
        try:
            seconds = float(args[0])
        except ValueError:
            raise execution.StepError(f"{COMMAND_PREFIX}timeout takes a number of seconds, not {args[0]!r}") from None
        if not 0 <= seconds <= 3600:
            raise execution.StepError("the lock timeout must be between 0 and 3600 seconds")
        ps.settings.lock_timeout = seconds
        later = await ps.apply_lock_timeout()
        outcome.messages.append(later or f"a statement now waits at most {seconds:g} s on a lock")
    elif name == "begin-mode":
        modes = ps.backend.begin_modes
        if not modes:
            raise execution.StepError(f"{ps.backend.name} has no BEGIN modes to choose from")
        if len(args) != 1 or args[0].lower() not in modes:
            raise execution.StepError(f"{COMMAND_PREFIX}begin-mode {'|'.join(modes)} (now {ps.settings.begin_mode})")
        ps.settings.begin_mode = args[0].lower()
        outcome.messages.append(f"transactions begin with BEGIN {ps.settings.begin_mode.upper()}")
    return outcome


def check_journal_mode(backend: Backend, mode: str) -> None:
    """Refuse a journal mode the backend does not offer."""
    if not backend.journal_modes:
        raise WorkspaceError(f"{backend.name} has no journal mode setting")
    if mode not in backend.journal_modes:
        raise WorkspaceError(f"journal mode must be one of {', '.join(backend.journal_modes)}")


async def set_journal_mode(backend: Backend, observer: AsyncEngine, sessions: dict[str, PlaygroundSession], mode: str) -> None:
    """Switch the database's journal mode; refused while a session is inside a transaction."""
    check_journal_mode(backend, mode)
    busy = [n for n, ps in sessions.items() if ps.sync.in_transaction()]
    if busy:
        raise WorkspaceError(f"end the transactions of {', '.join(busy)} first: the journal mode cannot change inside one")
    kept = await backend.apply_journal_mode(observer, mode)
    if kept != mode:
        raise WorkspaceError(f"{backend.name} kept journal mode {kept}; another connection may be using the file")


def isolation_levels(ps: PlaygroundSession) -> list[str]:
    """The isolation levels SQLAlchemy's dialect accepts on this backend."""
    return list(ps.isolation_levels())


def check_isolation(ps: PlaygroundSession, level: str) -> None:
    """Refuse a level the dialect does not accept, in SQLAlchemy's own words."""
    valid = isolation_levels(ps)
    if level not in valid:
        # SQLAlchemy's own wording, as an application passing a bad value would see it.
        raise ArgumentError(
            f"Invalid value {level!r} for isolation_level. Valid isolation levels for "
            f"{ps.backend.url.get_backend_name()!r} are {', '.join(valid)}"
        )


async def tables(observer: AsyncEngine) -> list[str]:
    """The tables a fresh connection sees."""
    async with observer.connect() as conn:
        return await conn.run_sync(lambda c: sa_inspect(c).get_table_names())


async def committed(backend: Backend, observer: AsyncEngine, table: str, limit: int = COMMITTED_LIMIT, offset: int = 0) -> CommittedTable:
    """Rows of `table` as committed: read by a connection outside every session."""
    quote = observer.dialect.identifier_preparer.quote
    quoted = quote(table)
    try:
        async with observer.connect() as conn:
            await backend.prepare_committed_read(conn)
            # Pages must not overlap or skip rows: order by the primary key when there is one.
            keys = await conn.run_sync(lambda c: sa_inspect(c).get_pk_constraint(table)["constrained_columns"])
            order = f" ORDER BY {', '.join(map(quote, keys))}" if keys else ""
            result = await conn.execute(sql_text(f"SELECT * FROM {quoted}{order} LIMIT :limit OFFSET :offset"), {"limit": limit, "offset": offset})
            columns = tuple(result.keys())
            rows = tuple(tuple(r) for r in result)
            total = (await conn.execute(sql_text(f"SELECT count(*) FROM {quoted}"))).scalar()
            await conn.rollback()
    except Exception as exc:
        return CommittedTable(table, (), (), None, error=str(describe(exc)))
    return CommittedTable(table, columns, rows, total)
