"""One database, its sessions, the timeline and the lock graph.

The UI (or the scenario runner) hands text to `Workspace.submit`; the workspace runs it on
that session's own thread and publishes events and immutable snapshots. Steps of different
sessions run concurrently; steps of one session run in the order they were submitted.

The flow is one way. The workspace lives on its caller's event loop (the UI's, the runner's):
it keeps the handles, the timeline and the lock graph there. Each session lives on a thread of
its own (`worker.SessionThread`): its engine, connection and `AsyncSession`, the user's code,
and the building of its snapshot. A step goes to that thread as a coroutine and comes back as a
`StepResult` and a fresh `SessionSnapshot`, both plain data; nothing on the caller's loop ever
touches a session's live objects, so nothing a step does can stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import string
import threading
import time
from dataclasses import replace
from functools import partial
from typing import Any
from collections.abc import Callable, Iterable

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text as sql_text

from playground.engine import confinement, leftovers, stepping
from playground.engine.history import StepHistory
from playground.engine import settings as setting_commands
from playground.engine.backends import Backend, create_observer_engine, resolve, temporary_url
from playground.engine.errors import describe
from playground.engine.kit import ModelKit
from playground.engine.language import classify, escape_colons, split_sql
from playground.engine.locks import LockMonitor
from playground.engine.session import PlaygroundSession, SessionSettings, waiting_badge
from playground.engine.warnings_sink import WarningSink
from playground.engine.worker import SessionThread, Signal, responsive_switching
from playground.engine.events import (
    CommittedTable,
    Event,
    SessionsChanged,
    SettingChanged,
    WorkspaceError,
    StateChanged,
    StepFinished,
    StepHandle,
    StepStarted,
    StepSubmitted,
    StepWaiting,
)
from playground.engine.snapshot import (
    ErrorInfo,
    LockWait,
    SessionSnapshot,
    StepResult,
    TimelineEntry,
    WorkspaceSnapshot,
)
from playground.engine.states import SessionStatus, StepKind, StepStatus, TimelineOutcome

POLL = 0.025
DEMO_NAMESPACE = "txplay_demo"
MAX_SESSIONS = 6
RUNNING_SHOWN = 0.5  # a step running longer than this shows `running 3.2 s` in its badge
RUNNING_REDRAW = 0.2  # how often that clock is published
REFRESH_WAIT = 0.25  # how long a snapshot waits for a session's thread to describe itself
CLOSE_WAIT = 0.6  # how long closing waits for a busy session to roll back
INTERRUPT_GRACE = 0.3  # how long `cancel` waits to say whether an interrupted step has stopped
ABANDON_AFTER = 2.0  # past the step-time limit, how long an interrupted step has to stop


def _open(gate: asyncio.Future[None], _: object = None) -> None:
    if not gate.done():
        gate.set_result(None)


def _open_from_thread(loop: asyncio.AbstractEventLoop, open_gate: Callable[[], None], _: object) -> None:
    with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody waits
        loop.call_soon_threadsafe(open_gate)


class Workspace:
    """One database, its sessions, their steps, the timeline and the lock graph."""

    def __init__(
        self,
        backend: Backend,
        kit: ModelKit,
        defaults: SessionSettings,
        journal_mode: str = "delete",
        tempdir: str | None = None,
        history: int | None = None,
    ) -> None:
        self.backend = backend
        self.kit = kit
        self.defaults = defaults
        self.journal_mode = journal_mode
        self.sessions: dict[str, PlaygroundSession] = {}
        self._threads: dict[str, SessionThread] = {}
        self._running_shown = 0.0  # when a running step's clock was last published
        self._switching_short = False  # the GIL switch interval is short: a step runs Python long
        self._stuck: dict[str, tuple[int, Any]] = {}  # session → the abandoned step still holding its thread
        # Seconds a step may run before it is interrupted and failed (the headless runner's
        # guard against an endless loop); None: no limit (in the app, Ctrl+C stops a step).
        self.step_timeout: float | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        # The recent steps' handles and timeline entries (`history` of them; $TXPLAY_HISTORY, 1,000).
        self.history = StepHistory(history)
        self._running: dict[str, list[StepHandle]] = {}
        self._subscribers: list[Callable[[Event], None]] = []
        self._counter = 0
        self._waits: dict[str, LockWait] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._progress = Signal()
        self._tick = 0
        self._tempdir = tempdir
        self.observer = create_observer_engine(backend, kept=True)
        self.monitor: LockMonitor = backend.lock_monitor(lambda: self.journal_mode)
        self._drop_namespace: str | None = None
        self.closed = False
        self._warnings = WarningSink(self._warn)
        self.warnings = self._warnings.seen

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        kit: ModelKit,
        url: str | None = None,
        *,
        sessions: Iterable[str] = ("A", "B"),
        demo: bool = True,
        reset_demo: bool = False,
        setup: str | None = None,
        defaults: SessionSettings | None = None,
        journal_mode: str = "delete",
        isolate: bool = False,
        namespace_name: str | None = None,
        history: int | None = None,
    ) -> Workspace:
        """Open a workspace on `kit`'s models: a fresh temporary SQLite file unless `url` is given.

        `demo` creates `kit`'s demo schema and rows where they are missing. On a server, `isolate` works in a new schema (PostgreSQL) or database (MySQL) dropped
        on close (named `namespace_name`, by default a random one); otherwise `demo` works in `txplay_demo`,
        never in the user's own tables. `history`: how many finished steps are kept (see `StepHistory`).
        """
        tempdir = None
        if url is None:
            if leftovers.first_look("temporary folders"):  # a killed run's folder goes at the next start
                leftovers.remove_stale_folders()
            tempdir = leftovers.make_folder()
            url = temporary_url(tempdir)
        backend = resolve(url)
        namespace = None
        isolate = isolate and backend.has_namespaces
        if backend.has_namespaces:
            if isolate:
                namespace = namespace_name or leftovers.namespace_name()
            elif demo:
                namespace = DEMO_NAMESPACE
            if namespace:
                # A killed run's schema goes at the next start (looked for once per process and server).
                stale = leftovers.stale_namespace if leftovers.first_look(backend.display_url) else None
                try:
                    await backend.create_namespace(namespace, reset=reset_demo and not isolate, stale=stale)
                except BaseException:  # cancelled (Ctrl+C) while the server may have made it: never leave it
                    if isolate:
                        with contextlib.suppress(Exception):
                            await backend.drop_namespace(namespace)
                    raise
            backend = backend.in_namespace(namespace)
        if backend.journal_modes:
            setting_commands.check_journal_mode(backend, journal_mode)
        ws = cls(backend, kit, defaults or SessionSettings(), journal_mode, tempdir, history)
        ws._drop_namespace = namespace if isolate else None
        ws._warnings.install()
        try:
            await ws.monitor.start()
            await ws._prepare(demo=demo and setup is None, reset=reset_demo, setup=setup)
            for name in sessions:
                await ws.add_session(name)
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _prepare(self, *, demo: bool, reset: bool, setup: str | None) -> None:
        if self.backend.journal_modes:
            await self.backend.apply_journal_mode(self.observer, self.journal_mode)
        if setup:
            await self.run_outside(setup)
        elif demo and self.kit.create_demo is not None:
            create_demo = self.kit.create_demo
            tables = sorted(self.kit.demo_tables)
            async with self.observer.begin() as conn:
                # Created once: where any demo table is there already, the demo is too.
                if reset or not await conn.run_sync(lambda c: any(sa_inspect(c).has_table(t) for t in tables)):
                    await conn.run_sync(lambda c: create_demo(c, reset))

    async def run_outside(self, sql: str) -> None:
        """Run SQL statements once, outside every session, in one transaction (setup/teardown)."""
        async with self.observer.connect() as conn:
            try:
                async with conn.begin():
                    for stmt in split_sql(sql):
                        await conn.execute(sql_text(escape_colons(stmt.text)))
            finally:
                # Not kept for the committed view: a SET or USE in this SQL would stay on it.
                await conn.invalidate()

    def _warn(self, thread: threading.Thread, text: str) -> None:
        ps = next((self.sessions.get(n) for n, t in self._threads.items() if t.thread is thread), None)
        if ps is not None:
            ps.log.messages.append(text)

    # -- sessions --------------------------------------------------------------------------

    def next_name(self) -> str:
        """The next free pane name: A, B, C…"""
        for letter in string.ascii_uppercase:
            if letter not in self.sessions:
                return letter
        raise WorkspaceError("no free session name")

    async def add_session(self, name: str | None = None) -> str:
        """Open a new session (its own connection) and return its name."""
        if len(self.sessions) >= MAX_SESSIONS:
            raise WorkspaceError(f"at most {MAX_SESSIONS} sessions")
        name = name or self.next_name()
        if name in self.sessions:
            raise WorkspaceError(f"a session called {name} is already open")
        thread = SessionThread(name)
        try:
            ps = await thread.call(self._open_session(name, thread))
        except BaseException:
            thread.stop()
            raise
        self.sessions[name] = ps
        self._threads[name] = thread
        self._locks[name] = asyncio.Lock()
        self._running[name] = []
        self._publish(SessionsChanged(tuple(self.sessions), f"session {name} opened"))
        self._publish_state()
        return name

    async def _open_session(self, name: str, thread: SessionThread) -> PlaygroundSession:
        """On the session's thread: its engine and `AsyncSession` belong to that thread's loop."""
        settings = replace(self.defaults)
        ps = PlaygroundSession(name, self.backend, self.kit, settings, lambda: self.journal_mode)
        ps.user_code = thread.running
        # Connect once now: the dialect learns its default isolation level, the server sees us.
        async with ps.engine.connect():
            pass
        if settings.isolation:
            setting_commands.check_isolation(ps, settings.isolation)
            ps.set_isolation_engine(settings.isolation)
        await ps.refresh()
        return ps

    async def close_session(self, name: str) -> str:
        """Close a session, rolling back its open transaction; says what happened."""
        ps = self._session(name)
        thread = self._threads[name]
        for handle in list(self._running[name]):
            await self._cancel_handle(handle)
        try:
            rolled_back = await thread.last(ps.close(), CLOSE_WAIT * 4)
            ending = ": its open transaction was rolled back" if rolled_back else ""
        except Exception as exc:  # a step stuck in C, or a connection that broke: the server rolls back
            ending = f": it could not roll back ({describe(exc) if str(exc) else 'its thread is busy'}), so its connection is dropped and the database rolls back"
        del self.sessions[name]
        self._threads.pop(name, None)
        self._locks.pop(name, None)
        self._running.pop(name, None)
        self._waits.pop(name, None)
        message = f"session {name} closed{ending}"
        self._publish(SessionsChanged(tuple(self.sessions), message))
        self._publish_state()
        return message

    def _session(self, name: str) -> PlaygroundSession:
        try:
            return self.sessions[name]
        except KeyError:
            raise WorkspaceError(f"no session called {name!r}; open ones: {', '.join(self.sessions)}") from None

    # -- events ----------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> tuple[Callable[[], None], WorkspaceSnapshot]:
        """Call `callback` with every event from now on; returns a function that unsubscribes,
        and the snapshot of now, which the events that follow bring up to date."""
        self._subscribers.append(callback)
        return (lambda: self._subscribers.remove(callback)), self.snapshot()

    def _publish(self, event: Event) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def _publish_state(self) -> None:
        if self._subscribers:
            self._publish(StateChanged(self.snapshot()))

    # -- steps -----------------------------------------------------------------------------

    @property
    def last_index(self) -> int:
        """The index of the last step submitted."""
        return self._counter

    def submit(self, session: str, text: str) -> StepHandle:
        """Run `text` in `session` as a task; returns at once with a handle on the step."""
        ps = self._session(session)
        item = classify(text)
        self._counter += 1
        handle = StepHandle(self._counter, ps.name, text, item.kind)
        self.history.add(handle, TimelineEntry(handle.index, ps.name, text, TimelineOutcome.QUEUED))
        unfinished = [h for hs in self._running.values() for h in hs if not h.done.is_set()]
        self._publish(StepSubmitted(handle.index, ps.name, text, item.kind,
                                    running=tuple(h.index for h in unfinished if h.wait is None),
                                    waiting=tuple(h.index for h in unfinished if h.wait is not None)))
        if item.kind == "command" and item.command is not None and item.command.name == "cancel":
            handle.task = asyncio.create_task(self._run_cancel(handle))
        else:
            self._running[ps.name].append(handle)
            handle.task = asyncio.create_task(self._run(handle, ps, item))
        self._ensure_watcher()
        return handle

    async def run(self, session: str, text: str) -> StepResult:
        """Submit and wait for the step to finish (convenience for tests and scripts)."""
        handle = self.submit(session, text)
        await handle.done.wait()
        assert handle.result is not None
        return handle.result

    async def _run(self, handle: StepHandle, ps: PlaygroundSession, item: Any) -> None:
        async with self._locks[ps.name]:
            handle.started = time.monotonic()
            self._set_timeline(handle, TimelineOutcome.RUNNING)
            self._publish(StepStarted(handle.index, ps.name, handle.input, handle.kind))
            stuck = self._stuck.get(ps.name)
            if item.kind == StepKind.PYTHON and not confinement.current().python_allowed:
                result = stepping.refused(handle, item, confinement.python_refused())
            elif stuck is not None and not stuck[1].done():
                result = stepping.refused(handle, item, ErrorInfo(
                    "SessionBusy", f"session {ps.name} is still inside step {stuck[0]}, which did not stop at the step-time limit",
                    "a call Python cannot interrupt (such as time.sleep) holds its thread; this step was not run"))
            else:
                result = await self._await_step(handle, ps, item)
        self._finish(handle, result)

    async def _await_step(self, handle: StepHandle, ps: PlaygroundSession, item: Any) -> StepResult:
        """Run the step on the session's thread; give up on it only when it is abandoned."""
        thread = self._threads[ps.name]
        submitted = thread.submit(stepping.run_step(handle, ps, item, watched=bool(self._subscribers)))
        # Wakes when the step ends, or when it is abandoned. No task and no wrapped future of its
        # own: the session's thread opens it with one hop, as this runs per step.
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[None] = loop.create_future()
        handle.abandon = open_gate = partial(_open, gate)
        submitted.add_done_callback(partial(_open_from_thread, loop, open_gate))
        try:
            await gate
        except asyncio.CancelledError:
            submitted.cancel()  # cancels the step's task on its thread
            raise
        if submitted.done():
            if submitted.cancelled():
                raise asyncio.CancelledError()
            try:
                return submitted.result()
            except Exception as exc:  # an interrupt that landed outside the step's code, and the like
                error: ErrorInfo = describe(exc)
        else:
            # Stuck where no interrupt reaches (in C, past the step-time limit): the step fails
            # here, its thread stays busy, and the session's next steps are refused until it is free.
            error = stepping.over_limit_error(handle, stuck=True)
            self._stuck[ps.name] = (handle.index, submitted)
        return stepping.refused(handle, item, error)

    def _finish(self, handle: StepHandle, result: StepResult) -> None:
        handle.result = result
        handle.after = self._counter
        running = self._running.get(handle.session)
        if running and handle in running:
            running.remove(handle)
            self._waits.pop(handle.session, None)
        handle.wait = None
        outcome = (TimelineOutcome.WARNING if result.warning else TimelineOutcome.OK) if result.ok else TimelineOutcome.ERROR
        waited_on = handle.waited.holders if handle.waited else ()
        self._set_timeline(handle, outcome, waited_on, handle.after if handle.waited else None)
        handle.done.set()
        self.history.finished(handle)
        self._progress.set()
        self._publish(StepFinished(result, handle.waited is not None, handle.after))
        self._publish_state()

    def _set_timeline(self, handle: StepHandle, outcome: TimelineOutcome, waited_on: tuple[str, ...] = (), done_after: int | None = None) -> None:
        changes: dict[str, Any] = {"outcome": outcome, "done_after": done_after}
        if waited_on:
            changes["waited_on"] = waited_on
        self.history.update(handle.index, **changes)

    # -- cancel ----------------------------------------------------------------------------

    async def _run_cancel(self, handle: StepHandle) -> None:
        started = time.monotonic()
        handle.started = started
        self._publish(StepStarted(handle.index, handle.session, handle.input, handle.kind))
        try:
            message = await self.cancel(handle.session)
            error = None
        except Exception as exc:
            message, error = "", describe(exc)
        result = StepResult(
            index=handle.index, session=handle.session, input=handle.input, kind=StepKind.COMMAND,
            status=StepStatus.ERROR if error else StepStatus.OK, error=error, messages=(message,) if message else (),
            started=started, finished=time.monotonic(),
        )
        self._finish(handle, result)

    async def cancel(self, name: str) -> str:
        """Stop what `name` is running, as far as anything can; says what it did.

        A statement is cancelled on the server (SQLite: interrupted, unless it waits on a
        lock); the step's own Python gets a KeyboardInterrupt, as Ctrl+C gives a REPL; a step
        awaiting something else (`await asyncio.sleep`) is cancelled.
        """
        ps = self._session(name)
        handle = self._active_step(name)
        if handle is None:
            return "nothing to cancel: this session is not running a step"
        if ps.inflight is not None:
            if self.backend.interrupts_running_statement and handle.wait is None:
                # A long statement that is running, not waiting: the backend stops it.
                await self.backend.interrupt(ps.driver_connection)
                return f"interrupted step {handle.index}"
            message = await self.monitor.cancel(ps)
            return f"{message}: step {handle.index} is told to stop"
        if self._interrupt(handle):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(handle.done.wait()), INTERRUPT_GRACE)
            if handle.done.is_set():
                return f"interrupted step {handle.index}: KeyboardInterrupt"
            return (f"step {handle.index} is told to stop: KeyboardInterrupt is raised as soon as it is back in "
                    "Python (it is inside a call Python cannot interrupt, such as time.sleep)")
        await self._cancel_handle(handle)
        return f"cancelled step {handle.index}"

    def _interrupt(self, handle: StepHandle) -> bool:
        """KeyboardInterrupt in the step's own code (again until it stops), if its thread runs that code now."""
        thread = self._threads.get(handle.session)
        if thread is None or handle.interrupted:
            return handle.interrupted
        handle.interrupted = True  # before the interrupt: the step reads it as soon as it lands
        handle.interrupted = thread.keep_interrupting()
        return handle.interrupted

    async def _cancel_handle(self, handle: StepHandle, patience: bool = True) -> None:
        """Cancel the step's task on its session's thread, and wait for it to end there."""
        ps = self.sessions.get(handle.session)
        thread = self._threads.get(handle.session)
        if ps is None or thread is None or handle.done.is_set():
            return
        if patience and self.backend.cancel_breaks_connection and ps.inflight is not None:
            # Let the statement end by its busy timeout: cancelling under the driver loses the connection.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(handle.done.wait()), ps.settings.lock_timeout + 1.0)
        if not handle.done.is_set() and handle.thread_task is not None:
            thread.cancel(handle.thread_task)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(handle.done.wait()), CLOSE_WAIT if not patience else None)

    # -- lock watching ---------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        try:
            await self._watch_steps()
        finally:  # ended, or cancelled on close
            if self._switching_short:
                self._switching_short = False
                responsive_switching(False)
            self._progress.set()

    async def _watch_steps(self) -> None:
        while any(self._running.values()):
            await asyncio.sleep(POLL)
            now = time.monotonic()
            self._enforce_step_timeout(now)
            try:
                seen = await self.monitor.poll(self.sessions.values(), now)
            except Exception:  # a monitor hiccup must not stop the steps, nor change what they show
                seen = None
            changed = False
            for name in list(self._running):
                active = self._active_step(name)
                if active is None or seen is None:
                    continue
                observation = seen.get(name)
                # A look taken before this step (or its statement) started says nothing about it.
                wait = observation.wait if observation is not None and observation.applies_to(active.started) else None
                if wait is not None and (active.wait is None or active.wait.holders != wait.holders):
                    await self._refresh((name,))  # the pane shows what the session did up to the wait
                    first = active.waited is None
                    active.wait = wait
                    active.waited = active.waited or wait
                    self._waits[name] = wait
                    self._set_timeline(active, TimelineOutcome.WAITING, wait.holders)
                    if first:
                        self._publish(StepWaiting(active.index, name, wait))
                    changed = True
                elif wait is None and active.wait is not None:
                    # Still running, no longer blocked: it is finishing.
                    active.wait = None
                    self._waits.pop(name, None)
                    changed = True
            self._tick += 1
            self._progress.set()
            long_running = self._long_running(now)
            if long_running != self._switching_short:
                self._switching_short = long_running
                responsive_switching(long_running)
            # A running step's clock moves on screen a few times a second: each new state is
            # drawn, and a session spinning in Python leaves the screen half the GIL for it.
            ticking = long_running and now - self._running_shown >= RUNNING_REDRAW
            if changed or self._waits or ticking:
                self._running_shown = now
                self._publish_state()

    def _active_step(self, name: str) -> StepHandle | None:
        """The step session `name` is running now (started and not finished), if any."""
        return next((h for h in self._running.get(name, ()) if h.started is not None and not h.done.is_set()), None)

    def _active(self) -> list[StepHandle]:
        """The step each session is running now."""
        return [h for h in map(self._active_step, self._running) if h is not None]

    def _long_running(self, now: float) -> bool:
        return any(h.wait is None and now - (h.started or now) >= RUNNING_SHOWN for h in self._active())

    def _enforce_step_timeout(self, now: float) -> None:
        """Interrupt a step past the step-time limit; abandon it if it does not stop soon after."""
        limit = self.step_timeout
        if limit is None:
            return
        for handle in self._active():
            if handle.wait is not None or handle.started is None:
                continue  # a lock wait ends by the lock timeout
            over = now - handle.started - limit
            if over < 0:
                continue
            if handle.over_limit is None:
                handle.over_limit = limit
                if not self._interrupt(handle):
                    self._threads[handle.session].cancel(handle.thread_task)
            elif over > ABANDON_AFTER:
                handle.abandon()
            elif not handle.interrupted:
                self._interrupt(handle)  # its own code was not running at the first try

    async def _refresh(self, names: Iterable[str]) -> None:
        """Have these sessions build their snapshots again, each on its thread; a busy one keeps its last."""
        calls = [self._threads[n].call(self.sessions[n].refresh(), REFRESH_WAIT) for n in names if n in self._threads]
        await asyncio.gather(*calls, return_exceptions=True)

    def _unsettled(self) -> list[StepHandle]:
        return [h for handles in self._running.values() for h in handles if not h.done.is_set() and h.wait is None]

    async def settle(self) -> None:
        """Wait until every running step has finished or is known to be waiting on a lock.

        "Known" means seen by a poll of the lock monitor made after the call: a step whose
        lock was just released is not settled until it has finished.
        """
        start = self._tick
        while True:
            waiting = any(h.wait is not None for hs in self._running.values() for h in hs if not h.done.is_set())
            if not self._unsettled() and (not waiting or self._tick > start):
                return
            self._ensure_watcher()
            self._progress.clear()
            await self._progress.wait(POLL * 4)

    # -- settings and committed data ------------------------------------------------------

    def isolation_levels(self, ps: PlaygroundSession) -> list[str]:
        """The isolation levels SQLAlchemy's dialect accepts on this backend."""
        return setting_commands.isolation_levels(ps)

    async def set_journal_mode(self, mode: str) -> None:
        """Switch the database's journal mode (SQLite: rollback journal or WAL); refused mid-transaction."""
        await setting_commands.set_journal_mode(self.backend, self.observer, self.sessions, mode)
        self.journal_mode = mode
        self._publish(SettingChanged("journal-mode", mode))

    async def tables(self) -> list[str]:
        """The tables a fresh connection sees."""
        return await setting_commands.tables(self.observer)

    async def committed(self, table: str, limit: int = setting_commands.COMMITTED_LIMIT, offset: int = 0) -> CommittedTable:
        """Rows of `table` as committed: read by a connection outside every session."""
        return await setting_commands.committed(self.backend, self.observer, table, limit, offset)

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> WorkspaceSnapshot:
        """Every session, the lock graph and the timeline, now."""
        now = time.monotonic()
        waits = dict(self._waits)
        blocking: dict[str, list[str]] = {}
        for wait in waits.values():
            for holder in wait.holders:
                blocking.setdefault(holder, []).append(wait.waiter)
        active = {h.session: h for h in self._active()}
        for name, ps in self.sessions.items():
            if ps.stale and name not in active:
                # Idle, so nothing runs on its thread to change what this reads (no SQL is sent).
                ps.latest, ps.stale = ps.snapshot(), False
        sessions = tuple(
            self._shown(ps, waits.get(name), tuple(blocking.get(name, ())), active.get(name), now)
            for name, ps in self.sessions.items()
            if ps.latest is not None
        )
        return WorkspaceSnapshot(
            sessions=sessions,
            locks=tuple(waits.values()),
            timeline=self.history.timeline(),
            timeline_dropped=self.history.dropped,
            backend=self.backend.name,
            url=self.backend.display_url,
            journal_modes=tuple(self.backend.journal_modes),
            begin_modes=tuple(self.backend.begin_modes),
        )

    @staticmethod
    def _shown(ps: PlaygroundSession, wait: LockWait | None, blocking: tuple[str, ...], active: StepHandle | None, now: float) -> SessionSnapshot:
        """A session's last snapshot, with what is happening to it right now."""
        base = ps.latest
        assert base is not None
        if wait is not None:
            return replace(base, status=SessionStatus.WAITING, badge=waiting_badge(wait, now), waiting_for=wait.holders, blocking=blocking)
        if active is not None and active.started is not None and now - active.started >= RUNNING_SHOWN:
            running = now - active.started
            return replace(base, badge=f"running {running:.1f} s", running=running, blocking=blocking)
        return replace(base, blocking=blocking) if blocking else base

    def handle(self, index: int) -> StepHandle:
        """The handle of step `index`: a recent one, or one not finished, or a session's latest."""
        return self.history.handle(index)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Roll back and close every session, dispose of every engine, remove the temp file.

        Quick whatever the sessions do: a session busy in its own code is interrupted and
        given `CLOSE_WAIT` to roll back; after that its connection is dropped with the process,
        and the database rolls back what it had not committed.
        """
        if self.closed:
            return
        self.closed = True
        # Cancelled meanwhile (Ctrl+C on the matrix), it still finishes: a namespace left behind,
        # or a thread never stopped, would outlive the process's user. A second cancel gives up.
        closing = asyncio.ensure_future(self._close())
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            await closing
            raise

    async def _close(self) -> None:
        await asyncio.gather(*(self._close_quickly(name) for name in list(self.sessions)), return_exceptions=True)
        self.sessions.clear()
        self._threads.clear()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        with contextlib.suppress(Exception):
            await self.monitor.close()
        await self.observer.dispose()
        if self._drop_namespace:
            with contextlib.suppress(Exception):
                await self.backend.drop_namespace(self._drop_namespace)
        self._warnings.uninstall()
        self.remove_folder()

    def remove_folder(self) -> None:
        """Remove the temporary folder of the database (if txplay made one), even while a session
        stuck in SQLite's busy wait still has its file open: the file goes when that connection does."""
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    async def _close_quickly(self, name: str) -> None:
        ps, thread = self.sessions[name], self._threads[name]
        for handle in list(self._running.get(name, [])):
            if handle.started is None and handle.task is not None:
                handle.task.cancel()  # queued behind the running step: it never starts
                continue
            self._interrupt(handle)
            await self._cancel_handle(handle, patience=False)
            handle.abandon()
        with contextlib.suppress(Exception):
            await thread.last(ps.close(), CLOSE_WAIT)
