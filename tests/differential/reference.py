"""An independent reference runner: the scenario's steps run with plain SQLAlchemy, no txplay engine.

Each session is an `AsyncSession` on an engine of its own (one pooled connection) with the async
driver of the backend (aiosqlite, asyncpg, asyncmy). On SQLite it follows SQLAlchemy's documented
pysqlite/aiosqlite recipe: on connect `isolation_level = None`, on begin emit `BEGIN`. Steps run
as DESIGN §3 says a user's input runs, but by the kind the scenario gives them, never guessed:

- SQL: `session.execute(text(sql))`, except transaction control mapped onto the Session:
  BEGIN → `begin()`, COMMIT → `commit()`, ROLLBACK → `rollback()`, SAVEPOINT x →
  `begin_nested()` kept under x, RELEASE x → commit of x (inner savepoints first), ROLLBACK TO x
  → rollback of x (inner first), then `begin_nested()` again under x, as SQL keeps x open;
- Python: `exec` in a namespace with `session` (the sync Session, through `run_sync`), the demo
  models, select/update/delete/insert/text/func/inspect and the `sqlalchemy.exc` exceptions; the
  value of a last expression is the step's value; after `\\mode async`, `session` is the
  AsyncSession and the code runs on the loop with top-level `await`, as an async application's;
- commands: the few playground commands the scenarios use, as the same Session calls.

After each step it records, for every session, the status and the state of every object bound
to a name (`inspect(obj)`), keyed by that name.

How the status is decided, from behaviour only:

- `idle`: not `session.in_transaction()`.
- Otherwise `failed` when the session's next statement would be refused until a rollback, by
  SQLAlchemy (PendingRollbackError, InvalidRequestError of a deactivated or prepared
  transaction) or by the server (PostgreSQL 25P02); else `active`.

"Would be refused" is found out by asking, without disturbing the run: the scenario's prefix up
to that step is replayed in a database of its own, starting from the same data, and there the
session runs `select 1` (without autoflush: a pending object that would fail to flush is not a
refusal). The probe's answer is the status. A replay must repeat the run step for step
(outcomes, transactions, object states), or the test stops: the reference would not be
deterministic, so it would prove nothing. Three facts spare most replays, all about behaviour,
none about how a status is computed:

1. A session's transaction becomes usable or unusable only through its own steps (a server
   aborts a transaction in answer to that session's statement; SQLAlchemy deactivates one inside
   that session's own calls), so another session's step leaves its status as it was.
2. A step that was one plain SQL statement and succeeded has just shown that the session runs
   statements: `active`, if still in a transaction.
3. By (1), the session's next step, when it is a plain SQL statement, is the probe itself: it
   succeeded (`active`) or was refused (`failed`); any other error leaves the question to a replay.

Lock waits are kept out: the reference runs steps one after another, so scenarios never make
one session wait on another (a wait would end as a lock-timeout error after a few seconds).
"""

from __future__ import annotations

import ast
import contextlib
import builtins
import inspect as pyinspect
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from sqlalchemy import inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, Result, Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapper, Session, SessionTransaction

from playground.demo import MODELS
from tests.differential.databases import Database, Databases, session_engine
from tests.differential.model import ObjectFacts, Scenario, SessionFacts, Step, StepFacts, plain

STATES = ("transient", "pending", "persistent", "deleted", "detached")
NAMESPACE_NAMES = ("select", "update", "delete", "insert", "text", "func", "inspect")
PLAIN_VALUES = (int, float, str, bool, tuple, list, dict)


class RunnerRefused(Exception):
    """A request the runner itself refuses (a savepoint name that is not open)."""


class ReplayDiverged(AssertionError):
    """A replay of a scenario's prefix did not repeat the run: the reference proves nothing."""


# -- one session ----------------------------------------------------------------------------


_BEGIN = re.compile(r"^\s*begin\s*;?\s*$", re.I)
_COMMIT = re.compile(r"^\s*commit\s*;?\s*$", re.I)
_ROLLBACK = re.compile(r"^\s*rollback\s*;?\s*$", re.I)
_SAVEPOINT = re.compile(r"^\s*savepoint\s+(\w+)\s*;?\s*$", re.I)
_RELEASE = re.compile(r"^\s*release\s+(?:savepoint\s+)?(\w+)\s*;?\s*$", re.I)
_ROLLBACK_TO = re.compile(r"^\s*rollback\s+to\s+(?:savepoint\s+)?(\w+)\s*;?\s*$", re.I)


@dataclass
class RefSession:
    """One session of the reference run: engine, AsyncSession, namespace, named savepoints."""

    name: str
    engine: AsyncEngine
    asession: AsyncSession
    namespace: dict[str, Any]
    builtin: dict[str, Any]
    savepoints: dict[str, SessionTransaction] = field(default_factory=dict)
    async_mode: bool = False  # after `\mode async`: `session` is the AsyncSession, top-level await

    @classmethod
    def open(cls, name: str, db: Database, isolation: str | None) -> RefSession:
        """A session on its own engine, with the scenario's isolation level."""
        engine = session_engine(db)
        bind = engine.execution_options(isolation_level=isolation) if isolation else engine
        asession = AsyncSession(bind)
        ns: dict[str, Any] = {"__builtins__": builtins, "session": asession.sync_session}
        for name_ in NAMESPACE_NAMES:
            ns[name_] = inspect if name_ == "inspect" else getattr(sqlalchemy, name_)
        for exc_name in dir(sa_exc):
            value = getattr(sa_exc, exc_name)
            if isinstance(value, type) and issubclass(value, Exception):
                ns[exc_name] = value
        for model in MODELS:
            ns[model.__name__] = model
        return cls(name, engine, asession, ns, dict(ns))

    @property
    def sync(self) -> Session:
        """The sync Session Python steps use."""
        return self.asession.sync_session

    async def run(self, step: Step) -> dict[str, Any]:
        """Run one step; returns the result fields (raises what the step raised)."""
        out: dict[str, Any] = {"rows": None, "rowcount": None, "value": None}
        if step.kind == "python" and self.async_mode:
            await self._python_async(step.text, out)
            return out

        def body(session: Session) -> None:
            if step.kind == "python":
                self._python(step.text, out)
            elif step.kind == "sql":
                self._sql(session, step.text, out)
            else:
                self._command(session, step.text)

        await self.asession.run_sync(body)
        return out

    def _python(self, source: str, out: dict[str, Any]) -> None:
        tree = ast.parse(source, "<step>", "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<step>", "exec"), self.namespace)
        if last is not None:
            _result_fields(eval(compile(ast.Expression(last.value), "<step>", "eval"), self.namespace), out)

    async def _python_async(self, source: str, out: dict[str, Any]) -> None:
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        tree = compile(source, "<step>", "exec", flags=ast.PyCF_ONLY_AST | flags)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        pending = eval(compile(tree, "<step>", "exec", flags=flags), self.namespace)
        if pyinspect.iscoroutine(pending):
            await pending
        if last is not None:
            code = compile(ast.Expression(last.value), "<step>", "eval", flags=flags)
            value = eval(code, self.namespace)
            if code.co_flags & pyinspect.CO_COROUTINE:
                value = await value
            _result_fields(value, out)

    def _sql(self, session: Session, sql: str, out: dict[str, Any]) -> None:
        if _BEGIN.match(sql):
            session.begin()
        elif _COMMIT.match(sql):
            session.commit()
        elif _ROLLBACK.match(sql):
            session.rollback()
        elif m := _SAVEPOINT.match(sql):
            self.savepoints[m.group(1)] = session.begin_nested()
        elif m := _RELEASE.match(sql):
            for trans in self._down_to(session, m.group(1)):
                trans.commit()
        elif m := _ROLLBACK_TO.match(sql):
            for trans in self._down_to(session, m.group(1)):
                trans.rollback()
            self.savepoints[m.group(1)] = session.begin_nested()
        else:
            _result_fields(session.execute(text(sql)), out)

    def _down_to(self, session: Session, name: str) -> list[SessionTransaction]:
        """The open nested transactions from the innermost down to savepoint `name`."""
        target = self.savepoints.get(name)
        chain: list[SessionTransaction] = []
        trans = session.get_nested_transaction()
        while trans is not None and trans.nested:
            chain.append(trans)
            if trans is target:
                return chain
            trans = trans.parent
        raise RunnerRefused(f"no savepoint named {name!r} is open")

    def _command(self, session: Session, line: str) -> None:
        word, *args = line.lstrip("\\").split()
        if word in ("begin", "commit", "rollback"):
            self._sql(session, word, {})
        elif word == "flush":
            session.flush()
        elif word == "savepoint":
            self._sql(session, f"savepoint {args[0]}", {})
        elif word == "release":
            self._sql(session, f"release {args[0]}", {})
        elif word == "rollback-to":
            self._sql(session, f"rollback to {args[0]}", {})
        elif word in ("expunge", "refresh"):
            getattr(session, word)(eval(args[0], self.namespace))
        elif word == "mode":
            self.async_mode = args[0] == "async"
            self.namespace["session"] = self.asession if self.async_mode else self.sync
        elif word == "isolation":
            level = " ".join(args).upper()
            if session.in_transaction():
                # As an application would find out: SQLAlchemy refuses a change mid-transaction.
                session.connection().execution_options(isolation_level=level)
            session.bind = self.engine.sync_engine.execution_options(isolation_level=level)
        else:
            raise RunnerRefused(f"the reference runner has no command {word!r}")

    def objects(self) -> dict[str, ObjectFacts]:
        """Every user-bound name holding a mapped object → its state and identity."""
        out = {}
        for name, value in self.namespace.items():
            if name.startswith("_") or self.builtin.get(name, _MISSING) is value:
                continue
            if not isinstance(inspect(type(value), raiseerr=False), Mapper):
                continue
            state = inspect(value)
            which = [s for s in STATES if getattr(state, s)]
            assert len(which) == 1, (name, which)
            identity = tuple(plain(v) for v in state.identity) if state.identity is not None else None
            out[name] = ObjectFacts(which[0], identity)
        return out

    async def probe(self) -> str:
        """`active` or `failed`: whether `select 1` is accepted now (changes what it probes).

        Without autoflush: a pending object that would fail to flush is not a refusal.
        """

        def select_one(session: Session) -> None:
            with session.no_autoflush:
                session.execute(text("select 1"))

        try:
            await self.asession.run_sync(select_one)
        except Exception as exc:
            if refused(exc):
                return "failed"
            raise
        return "active"

    async def close(self) -> None:
        """Roll back, close, dispose; a connection left open would hold its locks on the server."""
        try:
            try:
                if self.sync.in_transaction():
                    await self.asession.rollback()
            finally:
                await self.asession.close()
        finally:
            await self.engine.dispose()


_MISSING = object()


def refused(exc: BaseException) -> bool:
    """Whether a statement was refused because the transaction must be rolled back first.

    SQLAlchemy: PendingRollbackError, or InvalidRequestError of a prepared/deactivated
    transaction (a plain `execute` raises InvalidRequestError for nothing else); the server:
    PostgreSQL's 25P02 "current transaction is aborted".
    """
    return isinstance(exc, sa_exc.InvalidRequestError) or _sqlstate(exc) == "25P02"


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    value = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return value if isinstance(value, str) else None


def _result_fields(value: Any, out: dict[str, Any]) -> None:
    """Rows, rowcount or value of what a step produced."""
    if value is None:
        return
    if isinstance(value, Result):
        rows = [] if isinstance(value, CursorResult) and not value.returns_rows else [[plain(v) for v in row] for row in value]
        counted = isinstance(value, CursorResult) and value.rowcount is not None and value.rowcount >= 0
        # An ORM UPDATE/DELETE with synchronize_session="fetch" claims rows (the RETURNING the
        # ORM added for itself) and gives none: what the user sees of it is its row count.
        if counted and not rows and (not value.returns_rows or value.rowcount > 0):
            out["rowcount"] = value.rowcount
        elif value.returns_rows:
            out["rows"] = rows
        return
    if isinstance(value, list) and value and all(isinstance(r, Row) for r in value):
        out["rows"] = [[plain(v) for v in row] for row in value]
    if isinstance(value, PLAIN_VALUES) or isinstance(inspect(type(value), raiseerr=False), Mapper):
        out["value"] = repr(value)


# -- a run ----------------------------------------------------------------------------------


@dataclass
class _Observed:
    """One step of a run, before statuses are known."""

    outcome: str
    error: str | None
    message: str | None
    refused: bool
    fields: dict[str, Any]
    in_transaction: dict[str, bool]
    objects: dict[str, dict[str, ObjectFacts]]


async def _play(scenario: Scenario, databases: Databases, upto: int, probe: tuple[str, ...] = ()) -> tuple[list[_Observed], dict[str, str]]:
    """Play steps [0, upto) in a fresh database; then probe the sessions named in `probe`."""
    db = await databases.fresh(scenario.setup)
    sessions = {name: RefSession.open(name, db, scenario.isolation) for name in scenario.sessions}
    observed: list[_Observed] = []
    probed: dict[str, str] = {}
    try:
        for step in scenario.steps[:upto]:
            outcome, error, message, fields = "ok", None, None, {"rows": None, "rowcount": None, "value": None}
            was_refused = False
            try:
                fields = await sessions[step.session].run(step)
            except Exception as exc:
                outcome, error, message = "error", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""
                was_refused = refused(exc)
            observed.append(_Observed(
                outcome, error, message, was_refused, fields,
                {n: s.sync.in_transaction() for n, s in sessions.items()},
                {n: s.objects() for n, s in sessions.items()},
            ))
        for name in probe:
            probed[name] = await sessions[name].probe()
    finally:
        for session in sessions.values():
            with contextlib.suppress(Exception):
                await session.close()
        await databases.remove(db)
    return observed, probed


async def run_reference(scenario: Scenario, databases: Databases) -> list[StepFacts]:
    """Run a scenario with plain SQLAlchemy and report every step and every session's state."""
    observed, _ = await _play(scenario, databases, len(scenario.steps))
    statuses: list[dict[str, str]] = []
    for k in range(len(observed)):
        now = {name: _known_status(scenario, observed, statuses, k, name) for name in scenario.sessions}
        need = tuple(name for name, status in now.items() if status is None)
        if need:
            replay, probed = await _play(scenario, databases, k + 1, need)
            _check_replay(scenario, observed[: k + 1], replay)
            now.update(probed)
        statuses.append(now)  # type: ignore[arg-type]
    facts = []
    for k, (obs, status) in enumerate(zip(observed, statuses, strict=False)):
        step = scenario.steps[k]
        facts.append(StepFacts(
            index=k + 1, step=step, kind=step.kind, outcome=obs.outcome, error=obs.error, message=obs.message,
            rows=obs.fields["rows"], rowcount=obs.fields["rowcount"], value=obs.fields["value"],
            sessions={n: SessionFacts(status[n], obs.objects[n]) for n in scenario.sessions},
        ))
    return facts


def _known_status(scenario: Scenario, observed: list[_Observed], statuses: list[dict[str, str]], k: int, name: str) -> str | None:
    """A session's status after step k where the run itself shows it; None: probe it."""
    step = scenario.steps[k]
    if not observed[k].in_transaction[name]:
        return "idle"
    if name != step.session:
        return statuses[k - 1][name]  # another session's step cannot change it
    if _is_statement(step) and observed[k].outcome == "ok":
        return "active"  # the statement that just ran was the probe
    # The session's next step, if it is a plain SQL statement, is the probe: nothing between
    # (only other sessions' steps) can change this session's status.
    following = next((j for j in range(k + 1, len(observed)) if scenario.steps[j].session == name), None)
    if following is not None and _is_statement(scenario.steps[following]):
        if observed[following].outcome == "ok":
            return "active"
        if observed[following].refused:
            return "failed"
    return None


def _is_statement(step: Step) -> bool:
    """A plain SQL statement: it runs through `session.execute` (not transaction control)."""
    return step.kind == "sql" and not _is_control(step.text)


def _is_control(sql: str) -> bool:
    return any(p.match(sql) for p in (_BEGIN, _COMMIT, _ROLLBACK, _SAVEPOINT, _RELEASE, _ROLLBACK_TO))


def _check_replay(scenario: Scenario, run: list[_Observed], replay: list[_Observed]) -> None:
    for k, (a, b) in enumerate(zip(run, replay, strict=False)):
        if (a.outcome, a.error, a.in_transaction, a.objects) != (b.outcome, b.error, b.in_transaction, b.objects):
            raise ReplayDiverged(f"{scenario.name}: replaying step {k + 1} gave {b.outcome} {b.error}, the run {a.outcome} {a.error}")
