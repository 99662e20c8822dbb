"""Live mode for a PostgreSQL isolation spec: a permutation stepped through one step at a time.

`LiveSpec` drives `IsolationTester.permutation_steps` and keeps what a screen shows as plain
data (`snapshot()`): each session's log of steps with their output, who waits on whom, the
steps to come, the lock graph, and the comparison with the expected file beside the spec.
`open`, `step`, `choose`, `restart` and `close` block (libpq calls, one at a time): the app runs
them on a thread. `cancel` and `snapshot` may be called from any thread at any time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from playground.suites.expected import Comparison, ExpectedOutput, expected_file_for
from playground.suites.isolation import DEFAULT_MAX_STEP_WAIT, IsolationTester, SpecFailed, check_backend
from playground.suites.spec import Permutation, PermutationStep, Spec, load


class StepStatus(StrEnum):
    """How a step stands: done, failed, or not answered yet (a lock wait or a marker)."""

    OK = "ok"
    ERROR = "error"
    WAITING = "waiting"
    RUNNING = "running"  # sent and not answered yet, no lock wait seen (a mysqltest statement)
    SENT = "sent"  # a mysqltest `send` whose `reap` is still to come


class SessionState(StrEnum):
    """A session's badge: waiting beats a failed last step, which beats its transaction state."""

    IDLE = "idle"
    IN_TRANSACTION = "in transaction"
    FAILED_TRANSACTION = "failed transaction"
    ERROR = "error"
    WAITING = "waiting"
    SENT = "sent"  # a mysqltest `send` waits for its `reap`
    CLOSED = "disconnected"  # a mysqltest connection closed by `disconnect` (or at the run's end)


class Phase(StrEnum):
    """Where the chosen permutation is."""

    CLOSED = "closed"  # not opened yet, or closed
    RUNNING = "running"  # set up; steps to go, or its end (completions, teardown) still to run
    FINISHED = "finished"  # every step ran and the teardown too
    FAILED = "failed"  # stopped, as isolationtester would (`error` says why)


@dataclass(frozen=True)
class LogEntry:
    """A step in its session's log: what it sent and what isolationtester printed for it.

    A step reported `<waiting ...>` keeps `waited`; once it completes its status and output
    become the completion's, and `completed_after` names the step whose line came just before
    its `<... completed>` (the completion order, as the tool reports it).
    """

    step: str
    sql: str
    status: StepStatus
    output: str
    waited: bool = False
    waiting_for: tuple[str, ...] = ()
    completed_after: str | None = None
    order: int = 0  # when it was last reported (its step line, or its completion), counting from 1
    heading: str | None = None  # the log's title for it, when not `step NAME` (a mysqltest statement's line)
    reaped: bool = False  # a mysqltest `send` whose `reap` has come


@dataclass(frozen=True)
class UpcomingStep:
    """A permutation step not sent yet."""

    position: int  # 1-based in the permutation
    label: str  # as the permutation line writes it, markers included
    session: str
    sql: str


@dataclass(frozen=True)
class SessionView:
    """One session: its badge, whom it waits on, its log, the steps queued for it."""

    name: str
    state: SessionState
    waiting_for: tuple[str, ...]
    held_by_marker: bool  # waiting, but only because a blocker marker holds the step back
    log: tuple[LogEntry, ...]
    upcoming: tuple[UpcomingStep, ...]


@dataclass(frozen=True)
class LockEdge:
    """One waiter → holders edge of the lock graph."""

    waiter: str
    holders: tuple[str, ...]
    lock: str  # the lock asked for, as pg_locks says it: `transactionid ShareLock`
    since: float  # time.monotonic() when the wait was first seen
    statement: str


@dataclass(frozen=True)
class LiveSnapshot:
    """Everything live mode shows, as plain data."""

    source: str
    name: str
    phase: Phase
    permutations: tuple[str, ...]  # each permutation's steps, as a permutation line writes them
    chosen: int
    position: int  # steps sent so far in the chosen permutation
    total: int
    sessions: tuple[SessionView, ...]
    upcoming: tuple[UpcomingStep, ...]
    edges: tuple[LockEdge, ...]
    comparison: Comparison | None  # None without an expected file
    output: str  # what the chosen permutation printed so far, as isolationtester prints it
    error: str | None = None
    busy: bool = False  # a call is running (a step, a switch of permutation)
    kind: str = "isolation"  # "isolation" (a spec) or "mysqltest" (a .test file)
    at: str | None = None  # mysqltest: where the statement F10 runs next stands (`file:line`)


class LiveController(Protocol):
    """What the live app drives: `LiveSpec` (a spec) and `LiveMysqltest` (a mysqltest file).

    `open`, `step`, `choose`, `restart` and `close` block, and the app runs each on a thread;
    `cancel` and `snapshot` may be called from any thread at any time.
    """

    on_change: Callable[[], None] | None
    phase: Phase
    busy: bool
    source: str
    tool: str  # the real tool whose output the output pane shows

    @property
    def display_url(self) -> str: ...

    def session_names(self) -> list[str]: ...
    def labels(self) -> list[str]: ...
    def open(self) -> None: ...
    def step(self) -> None: ...
    def choose(self, index: int) -> None: ...
    def restart(self) -> None: ...
    def close(self) -> None: ...
    def cancel(self) -> list[str]: ...
    def snapshot(self) -> LiveSnapshot: ...


class _Guarded(Protocol):
    _run: threading.Lock
    busy: bool

    def _changed(self) -> None: ...
    def _after_call(self) -> None: ...


class CallGuard:
    """One blocking call of a live controller at a time: `busy` while it runs, the screen told
    when it starts and ends, and the controller's `_after_call` (its look at the database) at its end."""

    def __init__(self, live: _Guarded) -> None:
        self.live = live

    def __enter__(self) -> None:
        self.live._run.acquire()
        self.live.busy = True
        self.live._changed()

    def __exit__(self, *exc: object) -> None:
        live = self.live
        try:
            live._after_call()
        finally:
            live.busy = False
            live._run.release()
            live._changed()


@dataclass
class _Session:
    name: str
    log: list[LogEntry] = field(default_factory=list)
    transaction: SessionState = SessionState.IDLE
    waiting: bool = False
    holders: tuple[str, ...] = ()
    lock: str = ""
    since: float = 0.0


class LiveSpec:
    """A spec opened live on a PostgreSQL database (see the module's docstring)."""

    def __init__(
        self,
        spec: Spec | str | Path,
        url: str,
        *,
        expected: str | Path | None = None,
        max_step_wait: float = DEFAULT_MAX_STEP_WAIT,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec if isinstance(spec, Spec) else load(spec)
        self.source = self.spec.source
        self.tool = "isolationtester"
        self.url = url
        self.on_change = on_change
        check_backend(self.spec, url)
        self.permutations: list[Permutation] = self.spec.all_permutations()
        # Once: a spec without permutation lines may have thousands of interleavings.
        self._labels = tuple(" ".join(p.label() for p in perm.steps) for perm in self.permutations)
        path = Path(expected) if expected is not None else expected_file_for(self.spec.source)
        self.expected = ExpectedOutput(path) if path is not None else None
        self.tester = IsolationTester(self.spec, url, emit=self._event, max_step_wait=max_step_wait)
        self._state = threading.Lock()  # guards what snapshot() reads
        self._run = threading.Lock()  # one blocking call at a time
        self._sessions = [_Session(s.name) for s in self.spec.sessions]
        self._steps: Generator[PermutationStep | None, None, None] | None = None
        self._mark = 0
        self._order = 0
        self._last_step: str | None = None
        self._comparison: Comparison | None = None
        self._output = ""
        self.phase = Phase.CLOSED
        self.chosen = 0
        self.position = 0
        self.error: str | None = None
        self.busy = False

    # -- the calls (blocking) --------------------------------------------------------------

    def open(self) -> None:
        """Connect (one connection per session and a control connection) and set up the first
        permutation. SpecFailed when the database cannot be reached."""
        with self._running():
            self.tester.connect()
            self._start(0)

    def step(self) -> None:
        """Run the next step of the chosen permutation; return once it has completed or is
        waiting. After the last step, run the permutation's end (the completions still due, the
        teardown); after that, start the next permutation."""
        with self._running():
            if self.phase == Phase.FINISHED and self.chosen + 1 < len(self.permutations):
                self._abandon()
                self._start(self.chosen + 1)
                return
            if self.phase != Phase.RUNNING or self._steps is None:
                return
            try:
                if next(self._steps, StopIteration) is StopIteration:
                    self._steps = None
                    self.phase = Phase.FINISHED
                else:
                    self.position += 1
            except SpecFailed as exc:
                self._fail(exc)
            finally:
                self.tester.interrupted = False

    def choose(self, index: int) -> None:
        """Leave the chosen permutation (canceling its steps, rolling back, running the
        teardowns) and set up permutation `index` (0-based)."""
        if not 0 <= index < len(self.permutations):
            raise IndexError(f"the spec has {len(self.permutations)} permutation(s), not {index + 1}")
        self.cancel()  # a step stuck waiting would hold the switch up
        with self._running():
            self._abandon()
            self._start(index)

    def restart(self) -> None:
        """Set the chosen permutation up again, from its first step."""
        self.choose(self.chosen)

    def close(self) -> None:
        """Leave the permutation and close every connection."""
        self.cancel()
        with self._running():
            try:
                if self.phase != Phase.CLOSED:
                    self._abandon()
            finally:
                self.tester.close()
                self.phase = Phase.CLOSED

    def cancel(self) -> list[str]:
        """Cancel the steps still waiting (any thread): the server cancels a statement waiting
        on a lock, and markers hold no step back; the tester reports how each ended with the
        next step (at once when a call is stuck on it). The sessions canceled."""
        if self.phase != Phase.RUNNING:
            return []
        return self.tester.cancel_steps()

    # -- what a screen shows ---------------------------------------------------------------

    def snapshot(self) -> LiveSnapshot:
        """The state now, as frozen data (any thread)."""
        with self._state:
            perm = self.permutations[self.chosen]
            upcoming = tuple(
                UpcomingStep(i + 1, p.label(), self.spec.sessions[self.spec.step(p.name).session].name, self.spec.step(p.name).sql)
                for i, p in enumerate(perm.steps) if i >= self.position
            )
            views = tuple(self._view(s, upcoming) for s in self._sessions)
            edges = tuple(LockEdge(s.name, s.holders, s.lock, s.since, s.log[-1].sql if s.log else "")
                          for s in self._sessions if s.waiting and s.holders)
            return LiveSnapshot(
                self.spec.source, Path(self.spec.source).stem, self.phase, self._labels, self.chosen,
                self.position, len(perm.steps), views, upcoming, edges, self._comparison, self._output,
                self.error, self.busy,
            )

    @property
    def display_url(self) -> str:
        """The database's URL as shown, its password masked."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def session_names(self) -> list[str]:
        """The spec's sessions, in order (a pane each)."""
        return [s.name for s in self.spec.sessions]

    def labels(self) -> list[str]:
        """Each permutation as a permutation line writes it."""
        return list(self._labels)

    @staticmethod
    def _view(session: _Session, upcoming: tuple[UpcomingStep, ...]) -> SessionView:
        last = session.log[-1] if session.log else None
        if session.waiting:
            state = SessionState.WAITING
        elif last is not None and last.status == StepStatus.ERROR:
            state = SessionState.ERROR
        else:
            state = session.transaction
        return SessionView(session.name, state, session.holders if session.waiting else (),
                           session.waiting and not session.holders, tuple(session.log),
                           tuple(u for u in upcoming if u.session == session.name))

    # -- inside ----------------------------------------------------------------------------

    def _running(self) -> CallGuard:
        return CallGuard(self)

    def _after_call(self) -> None:
        if self.phase != Phase.CLOSED and self.tester.conns:
            self._refresh()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _start(self, index: int) -> None:
        """Set permutation `index` up (its setup runs now)."""
        with self._state:
            self.chosen, self.position, self.error = index, 0, None
            self._last_step, self._order = None, 0
            for session in self._sessions:
                session.log.clear()
        self._mark = self.tester.output_mark()
        self._steps = self.tester.permutation_steps(self.permutations[index])
        self.phase = Phase.RUNNING
        try:
            next(self._steps)
        except SpecFailed as exc:
            self._fail(exc)

    def _fail(self, exc: SpecFailed) -> None:
        self._steps = None
        self.phase = Phase.FAILED
        self.error = str(exc)

    def _abandon(self) -> None:
        """Leave the chosen permutation cleanly, however far it went."""
        if self._steps is not None:
            self._steps.close()
            self._steps = None
        if self.phase in (Phase.RUNNING, Phase.FAILED):
            self.tester.abandon_permutation()
        for session in self._sessions:
            session.waiting, session.holders = False, ()

    def _event(self, event: dict[str, Any]) -> None:
        """A tester event (on the calling thread): a step line or a completion goes into its session's log."""
        kind = event["event"]
        if kind not in ("step", "completed"):
            return
        session = next(s for s in self._sessions if s.name == event["session"])
        status = StepStatus(event["status"])
        with self._state:
            self._order += 1
            if kind == "step":
                session.log.append(LogEntry(event["name"], event["sql"], status, event["output"],
                                            waited=status == StepStatus.WAITING,
                                            waiting_for=tuple(event.get("waiting_for", ())), order=self._order))
                self._last_step = event["name"]
            else:
                for i in range(len(session.log) - 1, -1, -1):
                    entry = session.log[i]
                    if entry.step == event["name"] and entry.status == StepStatus.WAITING:
                        session.log[i] = replace(entry, status=status, output=entry.output + event["output"],
                                                 completed_after=self._last_step, order=self._order)
                        break
        self._changed()

    def _refresh(self) -> None:
        """After a call (on its thread): who waits on whom, each transaction's state, the comparison."""
        from psycopg import pq

        states = {pq.TransactionStatus.INTRANS: SessionState.IN_TRANSACTION,
                  pq.TransactionStatus.INERROR: SessionState.FAILED_TRANSACTION}
        now = time.monotonic()
        found = []
        for session, conn in zip(self._sessions, self.tester.conns[1:], strict=True):
            waiting = conn.active is not None
            holders = tuple(self.tester.holders(conn)) if waiting else ()
            lock = self._awaited_lock(conn.pid) if holders else ""
            found.append((session, waiting, holders, lock, states.get(conn.pg.transaction_status, SessionState.IDLE)))
        output = self.tester.output_since(self._mark)
        comparison = None
        if self.expected is not None:
            comparison = self.expected.compare(self.permutations, self.chosen, output, self.phase == Phase.FINISHED)
        with self._state:
            for session, waiting, holders, lock, transaction in found:
                if waiting and not session.waiting:
                    session.since = now
                session.waiting, session.holders, session.lock, session.transaction = waiting, holders, lock, transaction
            self._output, self._comparison = output, comparison

    def _awaited_lock(self, pid: int) -> str:
        """The lock a backend waits for, as pg_locks names it (`transactionid ShareLock`)."""
        from psycopg import pq

        control = self.tester.conns[0].pg
        res = control.exec_params(
            b"SELECT locktype || ' ' || mode FROM pg_catalog.pg_locks WHERE pid = $1::int AND NOT granted LIMIT 1",
            [str(pid).encode()],
        )
        if res.status != pq.ExecStatus.TUPLES_OK or res.ntuples != 1:
            return "a lock"
        return (res.get_value(0, 0) or b"").decode()
