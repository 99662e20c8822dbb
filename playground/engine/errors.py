"""Exceptions → what a pane shows: class, a clean message, and a one-line hint where one helps."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc

from playground.engine.backends import mysql_errno
from playground.engine.language import COMMANDS, COMMAND_PREFIX
from playground.engine.snapshot import ErrorInfo

if TYPE_CHECKING:
    from playground.engine.backends import Backend

MAX_MESSAGE = 2000
PLAYGROUND = "txplay"


class PlaygroundError(Exception):
    """A request txplay itself refuses (bad command, unknown savepoint); shown as `txplay: …`."""


@dataclass(frozen=True)
class Aftermath:
    """What the error left behind, so a hint says what the database really did.

    `failure` is the session's state after the step (see `PlaygroundSession.failure`):
    None, "deactivated", "prepared", "aborted" or "ended".
    """

    backend: Backend
    in_transaction: bool
    failure: str | None
    commit_refused: bool = False
    failed_after: float | None = None  # seconds the failed statement ran before its error
    lock_timeout: float | None = None  # the lock timeout in force on the connection
    demo_tables: frozenset[str] = frozenset()  # the tables `--demo` creates


def describe(
    error: BaseException, filename: str | None = None, source: str | None = None, after: Aftermath | None = None
) -> ErrorInfo:
    """An ErrorInfo for any exception a step raised (`source`: the input, for typo hints)."""
    multiline = bool(source and "\n" in source.strip())
    message = _message(error, multiline)
    where = _user_line(error, filename, multiline) if filename else None
    if where:
        message = f"{message} ({where})"
    kind = PLAYGROUND if isinstance(error, PlaygroundError) else type(error).__name__
    hint = hint_for(error, after)
    if hint is None and isinstance(error, SyntaxError) and source:
        hint = sql_typo_hint(source)
    return ErrorInfo(type=kind, message=message, hint=hint, sqlstate=sqlstate_of(error))


def sql_typo_hint(source: str) -> str | None:
    """`selct * from users` is neither SQL nor Python: suggest the keyword it resembles."""
    import difflib

    from playground.engine.language import SQL_KEYWORDS

    match = re.match(r"\s*([A-Za-z_]+)\s", source)
    if not match:
        return None
    word = match.group(1)
    close = difflib.get_close_matches(word.lower(), sorted(SQL_KEYWORDS), n=1, cutoff=0.75)
    if not close or close[0] == word.lower():
        return None
    return f"`{word}` is not an SQL keyword; did you mean {close[0].upper()}?"


def _message(error: BaseException, multiline: bool = False) -> str:
    if isinstance(error, sa_exc.StatementError) and error.orig is not None:
        # "(sqlite3.OperationalError) database is locked" without the SQL echo and the link;
        # for drivers SQLAlchemy adapts (asyncpg), name the driver's own exception.
        orig = error.orig
        driver_error = orig.__cause__ if isinstance(orig.__cause__, Exception) else orig
        module = type(driver_error).__module__
        text = f"({module}.{type(driver_error).__name__}) {orig}"
        sqlstate = sqlstate_of(error)
        if sqlstate:
            text += f" [SQLSTATE {sqlstate}]"
        if error.statement and not isinstance(error, sa_exc.DBAPIError):
            text += f" [SQL: {error.statement}]"
    elif isinstance(error, sa_exc.SQLAlchemyError):
        text = str(error)
    elif isinstance(error, SystemExit):
        text = f"the step called exit({'' if error.code is None else repr(error.code)})"
    elif isinstance(error, SyntaxError):
        text = f"{error.msg} (line {error.lineno})" if error.lineno and (multiline or error.lineno > 1) else str(error.msg)
    else:
        text = str(error)
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    # SQLAlchemy repeats the statement and its parameters; the step's SQL log shows them already.
    text = re.sub(r"\n\[(SQL|parameters): .*?\](?=\n|$)", "", text, flags=re.S).strip()
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "…"
    return text


def _user_line(error: BaseException, filename: str, multiline: bool = False) -> str | None:
    if isinstance(error, SyntaxError):
        return None
    last = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(filename):
            last = frame
    if last is None or (last.lineno == 1 and last.name == "<module>" and not multiline):
        return None
    return f"line {last.lineno}" + (f" in {last.name}" if last.name != "<module>" else "")


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE a server gave, where the driver exposes it."""
    orig = getattr(error, "orig", None)
    for attr in ("sqlstate", "pgcode"):
        value = getattr(orig, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


SERVER_HINTS = {
    "25P02": "PostgreSQL aborted this transaction at its earlier error: `rollback` (or ROLLBACK TO a savepoint)",
    "40P01": "this session was chosen as the deadlock victim: its transaction is aborted; roll back and retry",
    "1213": "this session was chosen as the deadlock victim: MySQL rolled its whole transaction back; roll back and retry",
    "40001": "serialization failure: the database refused this transaction's view of the data; roll back and retry it",
    "55P03": "lock_timeout expired while waiting for a lock (`\\timeout` sets it); the transaction is aborted",
    "1205": "a lock wait timeout expired (innodb_lock_wait_timeout for rows, lock_wait_timeout for tables; "
    "`\\timeout` sets both); only the statement was rolled back",
    "57014": "the statement was cancelled; PostgreSQL aborted the transaction: `rollback`",
    "1317": "the statement was cancelled; the transaction goes on",
}


NOWAIT_HINT = "another transaction holds the lock and NOWAIT does not wait: nothing waited, the statement failed at once"
# The statement asked not to wait: its lock refusal is no timeout (PostgreSQL 55P03 says
# "could not obtain lock"; MariaDB answers 1205 for NOWAIT, as for a timeout).
_NO_WAIT = re.compile(r"\b(nowait|wait\s+0)(?![.\w])", re.I)
_LOCK_REFUSALS = frozenset({"55P03", "1205", "3572"})

CONSEQUENCES = {
    "deactivated": "SQLAlchemy has deactivated the session's transaction: `rollback` before going on (PendingRollbackError until then)",
    "prepared": "nothing was committed; SQLAlchemy keeps the session in its refused transaction: `rollback` before going on",
    "ended": "the server rolled the whole transaction back: `rollback`, then retry",
    "statement-only": "only this statement failed: the transaction stays open (roll back or go on)",
}


# How each database says a table does not exist: PostgreSQL 42P01, MySQL/MariaDB 1146, SQLite.
MISSING_TABLE = re.compile(
    r'relation "(?P<pg>[^"]+)" does not exist|Table \'(?P<my>[^\']+)\' doesn\'t exist|no such table: (?P<lite>\S+)'
)


def missing_demo_table_hint(error: BaseException, demo_tables: frozenset[str]) -> str | None:
    """The database has no such table, and it is one of `demo_tables`: say that `--demo` creates them."""
    match = MISSING_TABLE.search(str(error)) if demo_tables and isinstance(error, sa_exc.DBAPIError) else None
    if not match:
        return None
    table = next(name for name in match.groups() if name).strip("`").rsplit(".", 1)[-1]
    if table not in demo_tables:
        return None
    return (f"`{table}` is a demo table and this database has none: `txplay --url URL --demo` creates "
            "the demo tables and rows (a scenario gets them when it has no `setup:`)")


def consequence(after: Aftermath | None) -> str | None:
    """What the error did to the transaction, as this database and SQLAlchemy decided."""
    if after is None or not after.in_transaction:
        return None
    if after.failure == "aborted":
        return after.backend.traits.aborted_note
    if after.failure is not None:
        return CONSEQUENCES[after.failure]
    return CONSEQUENCES["statement-only"]


def _lock_refusal_hint(error: BaseException, code: str, after: Aftermath | None) -> str | None:
    statement = getattr(error, "statement", None) or ""
    if not (_NO_WAIT.search(statement) or code == "3572" or "could not obtain lock" in str(error)):
        return None
    rest = consequence(after)
    return f"{NOWAIT_HINT}; {rest}" if rest else NOWAIT_HINT


def hint_for(error: BaseException, after: Aftermath | None = None) -> str | None:
    """A one-line hint for the mistakes people make most, true to what the database did."""
    text = str(error)
    demo = missing_demo_table_hint(error, after.demo_tables) if after is not None else None
    if demo:
        return demo
    errno = mysql_errno(error)
    code = str(errno) if errno is not None else sqlstate_of(error)
    if code in _LOCK_REFUSALS:
        nowait = _lock_refusal_hint(error, code, after)
        if nowait:
            return nowait
    if code in SERVER_HINTS:
        return SERVER_HINTS[code]
    if isinstance(error, sa_exc.IntegrityError):
        rest = consequence(after)
        if after is not None and after.failure == "prepared":
            return f"a constraint refused the COMMIT; {rest}"
        return f"a constraint refused the row; {rest}" if rest else "a constraint refused the row"
    if isinstance(error, sa_exc.OperationalError) and "database is locked" in text:
        return sqlite_busy_hint(error, after)
    hint = _mistake_hint(error, text)
    if hint is None and after is not None and after.failure is not None:
        hint = consequence(after)
    return hint


# The hints for mistakes people make, by name: tests/engine/test_every_hint.py provokes each.
HINTS = {
    "pending-rollback": "this session's transaction failed; type `rollback` before going on",
    "needs-text": "SQLAlchemy 2.x needs text(): session.execute(text(\"...\")); or type the SQL on its own",
    "isolation-level-import": "SQLAlchemy has no IsolationLevel to import: levels are plain strings such as "
    "\"SERIALIZABLE\" (typed as a Literal in sqlalchemy.engine.interfaces); `\\isolation` lists this database's",
    "command-prefix": "commands start with {prefix}: {prefix}{command}",
    "connection-lost": "the connection to the server was lost (a restart or a killed connection?): `rollback`, "
    "and the next step reconnects",
    "not-utf8": "the input holds bytes that are not UTF-8 (pasted from a binary or Latin-1 file?)",
    "exit": "exit() would end a script; in a pane it only ends this step (quit with ctrl+q)",
    "await-needs-async": "top-level await needs async mode: `\\mode async`",
    "commit-refused-kept": "this session's COMMIT was refused and SQLAlchemy keeps the transaction: type "
    "`rollback` before going on",
    "already-begun": "the session autobegins; a transaction was already open (commit or roll back first)",
}


def is_missing_greenlet(error: BaseException) -> bool:
    """Async mode could do no IO here (SQLAlchemy may wrap it in a StatementError)."""
    return isinstance(error, sa_exc.MissingGreenlet) or isinstance(getattr(error, "orig", None), sa_exc.MissingGreenlet)


def _mistake_hint(error: BaseException, text: str) -> str | None:
    if isinstance(error, sa_exc.PendingRollbackError):
        return HINTS["pending-rollback"]
    if is_missing_greenlet(error):
        return missing_greenlet_hint(error)
    if isinstance(error, sa_exc.ArgumentError) and "text(" in text:
        return HINTS["needs-text"]
    if isinstance(error, ImportError) and "IsolationLevel" in text:
        return HINTS["isolation-level-import"]
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or ""
        command = name.replace("_", "-")
        if command in COMMANDS:
            return HINTS["command-prefix"].format(prefix=COMMAND_PREFIX, command=command)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return HINTS["connection-lost"]
    if isinstance(error, UnicodeEncodeError) and "surrogates" in text:
        return HINTS["not-utf8"]
    if isinstance(error, SystemExit):
        return HINTS["exit"]
    if isinstance(error, SyntaxError) and ("await" in text or "async" in text) and "outside" in text:
        return HINTS["await-needs-async"]
    if isinstance(error, sa_exc.InvalidRequestError) and "'prepared' state" in text:
        return HINTS["commit-refused-kept"]
    if isinstance(error, sa_exc.InvalidRequestError) and "already begun" in text:
        return HINTS["already-begun"]
    return None


# SQLite's busy handler waits up to the busy timeout; a refusal well before it did not wait.
AT_ONCE = 0.5
BUSY_HINTS = {
    "snapshot": "WAL mode: another session committed after this transaction began reading, so its snapshot "
    "is stale and it can never write; SQLite refused at once and nobody holds the lock, so `\\timeout` "
    "cannot help: `rollback` and redo the transaction (`\\begin-mode immediate` takes the write lock at BEGIN)",
    "upgrade": "this transaction holds a read lock and another session holds the write lock: SQLite refuses at "
    "once rather than let both wait forever, so `\\timeout` cannot help: `rollback` and retry "
    "(`\\begin-mode immediate` takes the write lock at BEGIN)",
    "commit": "COMMIT needs SQLite's EXCLUSIVE lock and another session held a lock for the whole busy timeout "
    "(in rollback-journal mode a reader's SHARED lock is enough); this session was rolled back",
    "waited": "another session held SQLite's lock for the whole busy timeout: commit or roll it back, "
    "or raise `\\timeout`",
}


def sqlite_busy_hint(error: BaseException, after: Aftermath | None) -> str:
    """Which of SQLite's "database is locked" cases this is: the advice differs for each."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_BUSY_SNAPSHOT":
        return BUSY_HINTS["snapshot"]
    if after is not None and after.commit_refused:
        return BUSY_HINTS["commit"]
    waited, timeout = (after.failed_after, after.lock_timeout) if after is not None else (None, None)
    if waited is not None and timeout and timeout > AT_ONCE and waited < timeout - AT_ONCE / 2:
        return BUSY_HINTS["upgrade"]
    return BUSY_HINTS["waited"]


# Where SQLAlchemy loads an attribute: an expired one (after commit/expire) or a lazy relationship.
_EXPIRED_LOAD = frozenset({"_load_expired", "load_scalar_attributes", "_load_scalar_attributes"})
_LAZY_LOAD = frozenset({"_load_for_state", "_emit_lazyload"})


GREENLET_HINTS = {
    "expired": "reading an expired attribute loads it from the database, which async mode cannot do implicitly: "
    "`await session.refresh(obj)` first, `await obj.awaitable_attrs.name`, or `expire_on_commit=False` "
    "(commit expires every attribute)",
    "lazy": "a lazy relationship loads on first access, which async mode cannot do implicitly: "
    "`await obj.awaitable_attrs.name`, or load it up front with `selectinload(...)`",
    "call": "in async mode, await the call: `await session.execute(...)`; or switch with `\\mode sync`",
}


def missing_greenlet_hint(error: BaseException) -> str:
    """MissingGreenlet: an attribute load (expired or lazy) needs other advice than a sync call."""
    frames = {frame.name for frame in traceback.extract_tb(error.__traceback__)}
    if frames & _EXPIRED_LOAD:
        return GREENLET_HINTS["expired"]
    if frames & _LAZY_LOAD:
        return GREENLET_HINTS["lazy"]
    return GREENLET_HINTS["call"]
