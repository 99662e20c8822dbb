"""One step on its session's thread: run it, repair what needs it, describe what happened.

Everything here runs on the session's own thread (see `worker.SessionThread`), where its
engine, connection and `AsyncSession` live; what goes back to the workspace is plain data.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from playground.engine import execution
from playground.engine import settings as setting_commands
from playground.engine.errors import describe, is_missing_greenlet
from playground.engine.events import StepHandle
from playground.engine.session import COMMIT_WARNINGS, PlaygroundSession
from playground.engine.snapshot import UNSET, ErrorInfo, Notice, StepResult, plain_copy, plain_rows
from playground.engine.states import StepStatus

STEP_TIMEOUT = "StepTimeout"  # the error class of a step stopped at the step-time limit


async def run_step(handle: StepHandle, ps: PlaygroundSession, item: Any, watched: bool = True) -> StepResult:
    """On the session's thread: run the step, repair what needs it, describe what happened.

    `watched`: someone draws the session's state after each step, so its snapshot is built
    here and now; otherwise (a headless run) only marked stale, and built when asked for.
    """
    handle.thread_task = asyncio.current_task()
    log = ps.new_step_log()
    error: ErrorInfo | None = None
    raised: BaseException | None = None
    outcome = execution.Outcome()
    try:
        try:
            outcome = await execution.execute(ps, item, handle.index)
        except execution._Delegate:
            outcome = await setting_commands.run_setting(ps, item.command)
    except asyncio.CancelledError:
        error = ErrorInfo("Cancelled", "the step was cancelled")
        await _after_cancel(ps)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        # Every user error becomes a message, `exit()` included: the session goes on.
        raised = exc
        if is_missing_greenlet(exc):
            ps.drop_unsent()  # the ROLLBACK SQLAlchemy tried after it could not be sent either
    await _repair(ps, log.messages)
    if handle.over_limit is not None and (raised is None or isinstance(raised, KeyboardInterrupt)):
        error, raised = over_limit_error(handle), None
    if isinstance(raised, KeyboardInterrupt) and handle.interrupted and not raised.args:
        raised.args = ("the step was interrupted (Ctrl+C, F9 or \\cancel)",)
    if raised is not None:
        # Described once repaired: the hint says what the error left the session in.
        error = describe(raised, execution.filename_prefix(ps), handle.input, ps.aftermath())
        # Described: let it go now. Its traceback holds this frame, which holds it (a cycle only a
        # full collector pass frees, and those wait for idle moments), and the frames of the
        # user's code with the objects they named, which would outlive the step.
        raised = None
    ps.forget_names()  # the step may have bound new names
    finished = time.monotonic()
    messages = tuple(outcome.messages) + tuple(log.messages)
    warning = None if error else next(
        (COMMIT_WARNINGS[m.topic] for m in messages if isinstance(m, Notice) and m.topic in COMMIT_WARNINGS), None
    )
    result = StepResult(
        index=handle.index,
        session=ps.name,
        input=handle.input,
        kind=item.kind,
        status=StepStatus.ERROR if error else StepStatus.OK,
        error=error,
        columns=outcome.columns,
        rows=plain_rows(outcome.rows) if outcome.rows is not None else None,
        rows_omitted=outcome.rows_omitted,
        value=execution.value_repr(outcome.value) if outcome.has_value else None,
        plain_value=plain_copy(outcome.value) if outcome.has_value else UNSET,
        output=log.output.getvalue(),
        messages=messages,
        sql=tuple(log.sql),
        waited=(finished - handle.waited.since) if handle.waited else 0.0,
        started=handle.started or finished,
        finished=finished,
        warning=warning,
    )
    if watched:
        await ps.refresh()
    else:
        ps.stale = True
    return result


def over_limit_error(handle: StepHandle, stuck: bool = False) -> ErrorInfo:
    """The error of a step stopped (or, `stuck`, given up on) at the step-time limit."""
    limit = handle.over_limit or 0.0
    hint = ("it did not stop: its session's thread is still inside the call, and the session refuses steps until it returns"
            if stuck else "raise the limit with a `step-timeout:` header or `--step-timeout SECONDS`")
    return ErrorInfo(STEP_TIMEOUT, f"step {handle.index} ({handle.session}) ran longer than the step-time limit of {limit:g} s, so it was interrupted", hint)


def refused(handle: StepHandle, item: Any, error: ErrorInfo) -> StepResult:
    """The result of a step that ended without its session's thread saying how."""
    finished = time.monotonic()
    return StepResult(
        index=handle.index, session=handle.session, input=handle.input, kind=item.kind, status=StepStatus.ERROR,
        error=error, started=handle.started or finished, finished=finished,
    )


async def _repair(ps: PlaygroundSession, messages: list[str]) -> None:
    """Roll back only where a refused COMMIT left the driver inside the transaction.

    Elsewhere the session stays as SQLAlchemy leaves it (its transaction `prepared`, every
    statement refused until `rollback`), and the step says so.
    """
    if ps.commit_failed and ps.sync.in_transaction():
        if ps.backend.repairs_refused_commit(ps.commit_error):
            with contextlib.suppress(Exception):
                await ps.asession.rollback()
            messages.append("COMMIT failed, so the session was rolled back (SQLite keeps the transaction open after a failed COMMIT)")
        elif ps.failure() == "prepared":
            messages.append("the COMMIT was refused; SQLAlchemy keeps the session in its transaction: `rollback` before going on")
    if not ps.sync.in_transaction() and ps.in_database_transaction() and ps.dbapi_connection is not None:
        # The Session has ended its transaction but the connection has not: never leave it so.
        with contextlib.suppress(Exception):
            await ps.driver_connection.rollback()
        messages.append("the connection was still inside a transaction the Session had ended: rolled back")

async def _after_cancel(ps: PlaygroundSession) -> None:
    with contextlib.suppress(Exception):
        await ps.asession.rollback()
