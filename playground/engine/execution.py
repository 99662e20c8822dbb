"""Running one input in a session: SQL, transaction control, Python (sync or async), commands."""

from __future__ import annotations

import ast
import inspect as pyinspect
import re
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.engine import CursorResult, Result, Row
from sqlalchemy.exc import ResourceClosedError
from sqlalchemy.orm import Session, SessionTransaction

from playground.engine import sources
from playground.engine.errors import PlaygroundError as StepError
from playground.engine.language import (
    COMMANDS,
    COMMAND_PREFIX,
    Classified,
    Command,
    SqlStatement,
    control_character_problem,
    escape_colons,
)
from playground.engine.namespace import bound_names
from playground.engine.session import PlaygroundSession

MAX_ROWS = 200
MAX_VALUE = 2000
MAX_INPUT = 200_000


@dataclass
class Outcome:
    """What running an input produced, before it becomes a StepResult."""

    columns: tuple[str, ...] | None = None
    rows: list[tuple[Any, ...]] | None = None
    rows_omitted: int = 0
    value: Any = None
    has_value: bool = False
    messages: list[str] = field(default_factory=list)


async def execute(ps: PlaygroundSession, item: Classified, index: int) -> Outcome:
    """Run a classified input in `ps`; raises what the input raised."""
    if len(item.text) > MAX_INPUT:
        raise StepError(f"input of {len(item.text):,} characters is longer than txplay accepts ({MAX_INPUT:,})")
    problem = control_character_problem(item.text)
    if problem is not None:
        # Refused before anything is sent: a pasted control character is never what was meant.
        raise StepError(problem)
    ps.tracker.begin_step()
    try:
        if item.kind == "sql":
            return await _run_sql(ps, item.statements)
        if item.kind == "command":
            assert item.command is not None
            return await run_command(ps, item.command)
        if item.kind == "python":
            return await _run_python(ps, item.text, f"<{ps.name}:{index}>")
        return Outcome()
    finally:
        ps.tracker.end_step()


# -- SQL ------------------------------------------------------------------------------------


async def _run_sql(ps: PlaygroundSession, statements: tuple[SqlStatement, ...]) -> Outcome:
    outcome = Outcome()
    for stmt in statements:
        if stmt.control is not None:
            # `SELECT …; COMMIT` shows the SELECT's rows, as psql does: control has none of its own.
            outcome = Outcome(outcome.columns, outcome.rows, outcome.rows_omitted, messages=outcome.messages)
            await _control(ps, stmt.control, stmt.name, outcome)
            continue
        statement = sql_text(escape_colons(stmt.text))
        outcome = Outcome(messages=outcome.messages)
        if _READS.match(stmt.text):
            # Streamed: a million-row SELECT keeps the first rows and counts the rest, in batches.
            with ps.streaming():
                streamed = await ps.asession.stream(statement)
                await _collect_streamed(streamed, outcome)
            continue
        result: CursorResult[Any] = await ps.asession.execute(statement)  # type: ignore[assignment]  # text() DML
        if result.returns_rows:
            _collect_rows(result, outcome)
        else:
            _count_rows(result, outcome)
    return outcome


def _count_rows(result: Any, outcome: Outcome) -> None:
    """`n rows affected` for a result without rows, where the driver knows the count."""
    count = getattr(result, "rowcount", None)
    if isinstance(count, int) and count >= 0:
        outcome.messages.append(f"{count} row{'s' if count != 1 else ''} affected")


_READS = re.compile(r"\s*(select|with\s+\w+\s+as|values|table)\b(?![\s\S]*\b(insert|update|delete|for\s+update|for\s+share|skip\s+locked)\b)", re.I)
STREAM_BATCH = 1000


async def _collect_streamed(result: Any, outcome: Outcome) -> None:
    outcome.columns = tuple(result.keys())
    rows: list[tuple[Any, ...]] = []
    omitted = 0
    async for batch in result.partitions(STREAM_BATCH):
        room = MAX_ROWS - len(rows)
        if room > 0:
            rows.extend(tuple(row) for row in batch[:room])
        omitted += max(0, len(batch) - max(room, 0))
    outcome.rows = rows
    outcome.rows_omitted = omitted


def _collect_rows(result: Result[Any], outcome: Outcome) -> None:
    outcome.columns = tuple(result.keys())
    rows: list[tuple[Any, ...]] = []
    omitted = 0
    for row in result:
        if len(rows) < MAX_ROWS:
            rows.append(tuple(row))
        else:
            omitted += 1
    outcome.rows = rows
    outcome.rows_omitted = omitted


async def _control(ps: PlaygroundSession, control: str, name: str | None, outcome: Outcome) -> None:
    def run(session: Session) -> None:
        if control == "begin":
            session.begin()
            outcome.messages.append("transaction begun; SQLAlchemy sends BEGIN with the first statement")
        elif control == "commit":
            session.commit()
        elif control == "rollback":
            session.rollback()
        elif control == "flush":
            session.flush()
        elif control == "savepoint":
            nested = session.begin_nested()
            outcome.messages.append(f"savepoint {ps.tree.name(nested, name)} open")
        elif control == "release":
            target = _savepoint(ps, name)
            label = ps.tree.label(target, bound_names(ps.namespace))
            for trans in _inner_first(ps, target):
                trans.commit()
            outcome.messages.append(f"savepoint {label} released")
        elif control == "rollback-to":
            target = _savepoint(ps, name)
            label = ps.tree.label(target, bound_names(ps.namespace))
            for trans in _inner_first(ps, target):
                trans.rollback()
            reopened = session.begin_nested()
            ps.tree.name(reopened, label)
            outcome.messages.append(f"rolled back to savepoint {label}; it is open again")
        else:  # pragma: no cover - the classifier only produces the names above
            raise StepError(f"unknown transaction control {control}")

    await ps.asession.run_sync(run)


def _savepoint(ps: PlaygroundSession, name: str | None) -> SessionTransaction:
    if name is None:
        nested = ps.sync.get_nested_transaction()
        if nested is None:
            raise StepError("no savepoint is open")
        return nested
    bound = bound_names(ps.namespace)
    found = ps.tree.find(name, bound)
    if found is None:
        open_names = [ps.tree.label(t, bound) for t in ps.tree.chain() if t.nested]
        listing = ", ".join(open_names) if open_names else "none is open"
        raise StepError(f"no savepoint named {name!r} ({listing})")
    return found


def _inner_first(ps: PlaygroundSession, target: SessionTransaction) -> list[SessionTransaction]:
    chain = ps.tree.chain()
    return list(reversed(chain[chain.index(target) :]))


# -- Python ---------------------------------------------------------------------------------


# Where each source's last expression statement starts ((line, column in characters), or None
# when it ends otherwise), by source and compile flags. The same step is often typed again
# (`session.commit()`), and finding that place takes Python's AST, which costs two to three
# compiles; the step itself is compiled anew every time, so its warnings and file name are its own.
_LAST_EXPRESSION: dict[tuple[str, int], tuple[int, int] | None] = {}
_LAST_EXPRESSION_KEPT = 512
_NEWLINE = re.compile(r"\r\n|\r|\n")


def compile_python(source: str, filename: str, async_mode: bool) -> tuple[Any, Any]:
    """Compile a block; its last expression statement is compiled apart so its value shows."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if async_mode else 0
    keepers = sources.register(filename, source)  # before compiling on: a SyntaxError shows its line
    key = (source, flags)
    tree = None
    if key not in _LAST_EXPRESSION:
        tree = compile(source, filename, "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True)
        if len(_LAST_EXPRESSION) >= _LAST_EXPRESSION_KEPT:
            _LAST_EXPRESSION.clear()
        _LAST_EXPRESSION[key] = _last_expression(tree)
    start = _LAST_EXPRESSION[key]
    if start is None:
        body, expr = compile(source, filename, "exec", flags=flags, dont_inherit=True), None
    else:
        body, expr = _compile_split(source, filename, flags, start, tree)
    keepers.extend(sources.definitions(body, expr))
    return body, expr


def _compile_split(source: str, filename: str, flags: int, start: tuple[int, int], tree: ast.Module | None) -> tuple[Any, Any]:
    """The code of `source` up to its last expression statement, which starts at `start`, and of that
    expression. Split from the text at the expression's line; from the syntax tree where it is at
    hand (`tree`: the source seen for the first time, just parsed) or the text cannot be split so."""
    line, column = start
    if column == 0 and tree is None:
        # Split at the expression's line, padded so that it keeps its line number in tracebacks.
        head = source[: _line_start(source, line)]
        try:
            body = compile(head, filename, "exec", flags=flags, dont_inherit=True)
            return body, compile("\n" * (line - 1) + source[len(head):], filename, "eval", flags=flags, dont_inherit=True)
        except SyntaxError:
            pass  # a line joined to the one before (a backslash): split the AST instead
    if tree is None:
        tree = compile(source, filename, "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True)
    statement = tree.body.pop()
    assert isinstance(statement, ast.Expr)  # `start` says so
    last = ast.Expression(statement.value)
    return (compile(tree, filename, "exec", flags=flags, dont_inherit=True),
            compile(last, filename, "eval", flags=flags, dont_inherit=True))


def _line_start(source: str, line: int) -> int:
    """Where line `line` (from 1) of `source` starts, its lines ended as Python's tokenizer ends them."""
    if line == 1:
        return 0
    for number, found in enumerate(_NEWLINE.finditer(source), start=2):
        if number == line:
            return found.end()
    return len(source)


def _last_expression(tree: ast.Module) -> tuple[int, int] | None:
    """Where the module's last statement starts (line, column), if it is an expression statement."""
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return None
    return tree.body[-1].lineno, tree.body[-1].col_offset


async def _run_python(ps: PlaygroundSession, source: str, filename: str) -> Outcome:
    async_mode = ps.settings.mode == "async"
    try:
        body, expr = compile_python(source, filename, async_mode)
    except SyntaxError as exc:
        exc.filename = filename
        raise
    with ps.user_code(filename_prefix(ps)):
        return await _run_compiled(ps, body, expr, async_mode)


async def _run_compiled(ps: PlaygroundSession, body: Any, expr: Any, async_mode: bool) -> Outcome:
    ns = ps.namespace
    outcome = Outcome()
    if async_mode:
        result = eval(body, ns)
        if pyinspect.iscoroutine(result):
            await result
        if expr is not None:
            value = eval(expr, ns)
            if pyinspect.iscoroutine(value) and expr.co_flags & pyinspect.CO_COROUTINE:
                value = await value
            _set_value(outcome, value)
    else:

        def run(session: Session) -> None:
            exec(body, ns)
            if expr is not None:
                _set_value(outcome, eval(expr, ns))

        await ps.asession.run_sync(run)
    if pyinspect.iscoroutine(outcome.value):
        outcome.value.close()
        raise StepError("this expression gave a coroutine that was never awaited: put `await` in front of it")
    return outcome


def _set_value(outcome: Outcome, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Result):
        if _returns_asked_rows(value):
            _collect_rows(value, outcome)
        else:
            # A DML statement's result has no rows to read: its row count, as an SQL step shows it.
            _count_rows(value, outcome)
        return
    if isinstance(value, list) and value and all(isinstance(r, Row) for r in value[:MAX_ROWS]):
        outcome.columns = tuple(value[0]._fields)
        outcome.rows = [tuple(r) for r in value[:MAX_ROWS]]
        outcome.rows_omitted = max(0, len(value) - MAX_ROWS)
    outcome.value = value
    outcome.has_value = True


def _returns_asked_rows(result: Result[Any]) -> bool:
    """Whether a result holds rows the statement asked for (a SELECT, a RETURNING clause).

    An ORM UPDATE/DELETE with synchronize_session='fetch' fetches RETURNING rows for the ORM's
    own use: the result then says it returns rows but gives none. SQLAlchemy has no public flag
    for "RETURNING was asked for", so the execution context's own is read here.
    """
    returns_rows = getattr(result, "returns_rows", None)
    if returns_rows is None:
        # An ORM result (an ORM bulk INSERT without RETURNING gives one closed, without rows).
        try:
            result.keys()
        except ResourceClosedError:
            return False
        return True
    if not returns_rows:
        return False
    context = getattr(result, "context", None)
    if not any(getattr(context, flag, False) for flag in ("isinsert", "isupdate", "isdelete")):
        return True
    return bool(getattr(context, "_is_explicit_returning", True))


def value_repr(value: Any) -> str:
    """The repr a pane shows for a value, cut to a readable length."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}: {exc}>"
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


# -- commands -------------------------------------------------------------------------------


async def run_command(ps: PlaygroundSession, command: Command) -> Outcome:
    """Run a `\\command`; `cancel` is handled by the workspace, which can reach a busy session."""
    name, args = command.name, command.args
    outcome = Outcome()
    if name in ("begin", "commit", "rollback", "flush"):
        _no_args(command)
        await _control(ps, name, None, outcome)
    elif name in ("savepoint", "release", "rollback-to"):
        if len(args) > 1:
            raise StepError(f"{COMMAND_PREFIX}{name} takes at most one name")
        await _control(ps, name, args[0] if args else None, outcome)
    elif name in ("expunge", "refresh"):
        if len(args) != 1:
            raise StepError(f"{COMMAND_PREFIX}{name} NAME: name one object, e.g. {COMMAND_PREFIX}{name} u")
        obj = _lookup(ps, args[0])

        def run(session: Session) -> None:
            getattr(session, name)(obj)

        await ps.asession.run_sync(run)
        outcome.messages.append(f"{name}d {args[0]}" if name == "expunge" else f"refreshed {args[0]}")
    elif name == "mode":
        if len(args) != 1 or args[0] not in ("sync", "async"):
            raise StepError(f"{COMMAND_PREFIX}mode sync|async (now {ps.settings.mode})")
        ps.set_mode(args[0])
        outcome.messages.append(
            "async mode: `session` is the AsyncSession; use await" if args[0] == "async" else "sync mode: `session` is the Session"
        )
    elif name == "help":
        outcome.messages.extend(help_lines(ps.namespace, ps.kit.describe))
    elif name == "clear":
        ps.tracker.clear_departed()
        outcome.messages.append("cleared")
    elif name in ("isolation", "timeout", "begin-mode"):
        # Settings that touch the connection are applied by the workspace (it knows the backend).
        raise _Delegate()
    elif name == "cancel":
        outcome.messages.append("nothing to cancel: this session is not waiting")
    else:
        raise StepError(f"unknown command {COMMAND_PREFIX}{name}; type help for the list")
    return outcome


class _Delegate(Exception):
    """Raised for commands the workspace itself carries out."""


def _no_args(command: Command) -> None:
    if command.args:
        raise StepError(f"{COMMAND_PREFIX}{command.name} takes no arguments")


def _lookup(ps: PlaygroundSession, expression: str) -> Any:
    try:
        return eval(compile(expression, "<name>", "eval"), ps.namespace)
    except Exception as exc:
        raise StepError(f"cannot find {expression!r}: {type(exc).__name__}: {exc}") from None


def help_lines(
    namespace: dict[str, Any] | None = None, describe: Callable[[Iterable[type]], list[str]] | None = None
) -> list[str]:
    """What `help` prints: the command list, and (told by `describe`) the models mapped in `namespace`."""
    lines = ["SQL runs in the session's transaction; BEGIN/COMMIT/ROLLBACK/SAVEPOINT x/RELEASE x/ROLLBACK TO x map onto the Session.",
             "Python runs with `session`, the mapped classes, select/update/delete/insert/text/func/inspect.",
             "Commands:"]
    for name, description in COMMANDS.items():
        lines.append(f"  {COMMAND_PREFIX}{name:<12} {description}")
    if namespace is not None and describe is not None:
        lines += describe(v for v in namespace.values() if isinstance(v, type) and hasattr(v, "__mapper__"))
    return lines


def filename_prefix(ps: PlaygroundSession) -> str:
    """The prefix of the pseudo file names a session's Python steps compile under."""
    return f"<{ps.name}:"
