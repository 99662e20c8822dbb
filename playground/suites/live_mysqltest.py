"""Live mode for a MariaDB mysqltest file: its run stepped through one statement at a time.

`LiveMysqltest` runs `run_mysqltest` on an event loop of its own thread and holds the run at its
`before` hook: each `step()` lets one statement, send or reap go, and returns once the run stands
before the next one, or the statement waits on a lock, or the run has ended. A control connection
of its own asks the server, while a statement is under way or a send awaits its reap, which of the
run's connections waits on which (InnoDB's lock waits, joined to the process list by thread id),
and ends a waiting statement with KILL QUERY (`cancel`). What a screen shows is plain data
(`snapshot()`, a `LiveSnapshot` as for specs): a connection's log, badge and waits, the statements
to come, the lock graph, and the output so far compared with the `.result` file beside the test.
`open`, `step`, `restart` and `close` block; `cancel` and `snapshot` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playground import innodb_cache
from playground.suites.expected import Comparison, ExpectedResult, expected_file_for
from playground.suites.live import CallGuard, LiveSnapshot, LockEdge, LogEntry, Phase, SessionState, SessionView, StepStatus, UpcomingStep
from playground.suites.mysqltest import DEFAULT_TIMEOUT, _endpoint, _masked, run_mysqltest
from playground.suites.mysqltest_client import Client
from playground.suites.mysqltest_parse import MysqlTest, load

T = TypeVar("T")
POLL_INTERVAL = 0.1  # seconds between two looks at the server's lock waits while a statement runs
TURN_WAIT = 0.3  # seconds a look waits for its turn at InnoDB's lock tables (a KILL QUERY may wait behind it)
STOP_TIMEOUT = 10.0  # seconds a stopped run gets to close its connections and restore the globals
LOOKAHEAD = 12  # statements listed ahead in the panes, at the most
STATEMENTS = ("query", "eval", "evalp", "query_vertical", "query_horizontal", "send", "send_eval", "reap")

LOCK_WAITS = """SELECT r.trx_mysql_thread_id, b.trx_mysql_thread_id,
  COALESCE(CONCAT(l.lock_type, ' ', l.lock_mode, ' on ', l.lock_table), 'a lock'), COALESCE(p.INFO, '')
FROM information_schema.INNODB_LOCK_WAITS w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
LEFT JOIN information_schema.PROCESSLIST p ON p.ID = r.trx_mysql_thread_id
WHERE r.trx_mysql_thread_id IN ({ids})"""
"""Who waits on whom: InnoDB's lock waits, the waiter's statement from the process list."""

OTHER_WAITS = """SELECT ID, STATE, COALESCE(INFO, '') FROM information_schema.PROCESSLIST
WHERE ID IN ({ids}) AND STATE LIKE 'Waiting for%lock%'"""
"""Waits outside InnoDB (metadata and table locks): the server names no holder."""


TABLES = """SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema}"""
"""The tables and views of the run's database (a restart drops those the run made)."""


class Stopped(Exception):
    """The run was stopped (restart, quit) at its `before` hook."""


@dataclass
class _Conn:
    """One connection of the run, as far as the screen needs it."""

    name: str
    thread: int | None = None
    log: list[LogEntry] = field(default_factory=list)
    open: bool = True
    transaction: bool = False
    pending: bool = False
    waiting: bool = False
    holders: tuple[str, ...] = ()
    lock: str = ""
    since: float = 0.0
    statement: str = ""


@dataclass(frozen=True)
class _Wait:
    holders: tuple[str, ...]
    lock: str
    statement: str


class LiveMysqltest:
    """A mysqltest file opened live on a MariaDB/MySQL server (see the module's docstring)."""

    def __init__(
        self,
        test: MysqlTest | str | Path,
        url: str | None,
        *,
        expected: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_change: Callable[[], None] | None = None,
        poll: float = POLL_INTERVAL,
    ) -> None:
        self.test = test if isinstance(test, MysqlTest) else load(test)
        self.endpoint = _endpoint(self.test, url)  # SuiteError (file:line: reason) for another database
        self.url: str = url or ""
        self.source = self.test.path
        self.tool = "mysqltest"
        self.timeout = timeout
        self.poll = poll
        self.on_change = on_change
        path = Path(expected) if expected is not None else expected_file_for(self.test.path)
        self.expected = ExpectedResult(path) if path is not None else None
        self._state = threading.Lock()  # guards what snapshot() reads
        self._run = threading.Lock()  # one blocking call at a time
        self._settled = threading.Event()  # the run stands before a statement, or has ended
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._control: Client | None = None
        self._control_lock: asyncio.Lock | None = None
        self._poller: asyncio.Task[None] | None = None
        self._task: concurrent.futures.Future[None] | None = None
        self._go: asyncio.Event | None = None
        self._stopping = False
        self._conns: dict[str, _Conn] = {}
        self._printed: list[str] = []
        self._next: dict[str, Any] | None = None  # the statement the run waits to run (F10 lets it go)
        self._flight: dict[str, Any] | None = None  # the statement under way
        self._comparison: Comparison | None = None
        self._order = 0
        self._tables: set[tuple[str, str]] = set()  # the run's database's tables when it was opened
        self._polls = 0  # looks at the lock waits so far
        self.phase = Phase.CLOSED
        self.position = 0
        self.error: str | None = None
        self.busy = False

    # -- the calls (blocking) --------------------------------------------------------------

    def open(self) -> None:
        """Start the run's thread, open the control connection, start the run and hold it before
        its first statement. ServerError when the server refuses the control connection."""
        with self._running():
            loop = self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="txplay-mysqltest", daemon=True)
            self._thread.start()
            self._call(self._open_control())
            self._begin()

    def step(self) -> None:
        """Let the statement the run waits before go; return when the run stands before the next
        one, the statement waits on a lock, or the run has ended."""
        with self._running():
            if self.phase != Phase.RUNNING or self._next is None or self._go is None or self._loop is None:
                return
            self._settled.clear()
            self._loop.call_soon_threadsafe(self._go.set)
            while not self._settled.wait(0.02):
                if self._flight_waits():  # a wait InnoDB may end at once (a deadlock found): a moment more
                    self._settled.wait(3 * self.poll)
                    break
            self._look_again()

    def _look_again(self) -> None:
        """With a send awaiting its reap, wait for the next look at the lock waits (a statement just
        sent may be waiting already)."""
        with self._state:
            pending = any(c.pending and c.open for c in self._conns.values())
        if pending:
            start = self._polls
            deadline = time.monotonic() + 10 * self.poll + 1
            while self._polls < start + 2 and time.monotonic() < deadline:
                time.sleep(self.poll / 4)

    def choose(self, index: int) -> None:
        """A mysqltest file has one run: choosing it (index 0) restarts it."""
        if index != 0:
            raise IndexError("a mysqltest file has one run, not permutations")
        self.restart()

    def restart(self) -> None:
        """Stop the run (connections closed, globals restored), drop the tables and views it made in
        its database (a file's CREATE TABLE would fail on them), and start a fresh run."""
        self._stop()
        with self._running():
            if self._loop is None:
                return
            self._call(self._drop_new_tables(), STOP_TIMEOUT)
            self._begin()

    def close(self) -> None:
        """Stop the run cleanly (connections closed, globals restored), close the control connection."""
        self._stop()
        with self._running():
            loop = self._loop
            if loop is None:
                return
            try:
                self._call(self._close_control(), STOP_TIMEOUT)
            except Exception:
                pass
            finally:
                loop.call_soon_threadsafe(loop.stop)
                if self._thread is not None:
                    self._thread.join(STOP_TIMEOUT)
                self._loop = None
                self.phase = Phase.CLOSED

    def cancel(self) -> list[str]:
        """KILL QUERY, on the control connection, the run's statements that wait on a lock and the
        one under way (any thread); the connections whose statement was killed. The run then goes
        on as mysqltest would after that error (an unexpected one ends it)."""
        if self.phase != Phase.RUNNING or self._loop is None:
            return []
        with self._state:
            flight = self._flight["session"] if self._flight else None
            targets = [(c.name, c.thread) for c in self._conns.values()
                       if c.open and c.thread and (c.waiting or c.name == flight)]
        if targets:
            self._call(self._kill_queries([thread for _, thread in targets if thread]), STOP_TIMEOUT)
        return [name for name, _ in targets]

    # -- what a screen shows ---------------------------------------------------------------

    def snapshot(self) -> LiveSnapshot:
        """The state now, as frozen data (any thread)."""
        with self._state:
            upcoming = self._upcoming()
            views = tuple(self._view(c, upcoming, self._flight) for c in self._conns.values())
            edges = tuple(LockEdge(c.name, c.holders, c.lock, c.since, c.statement)
                          for c in self._conns.values() if c.waiting and c.holders)
            at = f"{Path(self._next['file']).name}:{self._next['line']}" if self._next else None
            return LiveSnapshot(
                self.source, Path(self.source).stem, self.phase, (), 0, self.position, 0, views, upcoming, edges,
                self._comparison, "".join(self._printed), self.error, self.busy, kind="mysqltest", at=at,
            )

    @property
    def display_url(self) -> str:
        """The server's URL as shown, its password masked."""
        return _masked(urlsplit(self.url))

    def session_names(self) -> list[str]:
        """The connections opened so far (panes appear as `connect` runs)."""
        with self._state:
            return list(self._conns)

    def labels(self) -> list[str]:
        """A mysqltest file has no permutations to choose from."""
        return []

    # -- inside: the calling side ------------------------------------------------------------

    def _running(self) -> CallGuard:
        return CallGuard(self)

    def _after_call(self) -> None:
        self._compare()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the run's loop and wait for its outcome."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _begin(self) -> None:
        """Start a fresh run and wait until it stands before its first statement (or has ended)."""
        assert self._loop is not None
        with self._state:
            self._conns, self._printed, self._next, self._flight = {}, [], None, None
            self.position, self.error, self._order, self._comparison = 0, None, 0, None
            self.phase = Phase.RUNNING
        self._settled.clear()
        self._task = asyncio.run_coroutine_threadsafe(self._run_test(), self._loop)
        self._settled.wait()

    def _stop(self) -> None:
        """Stop the run: its statements under way killed, its `before` hook raising Stopped, its
        connections closed and the globals it changed set back by the runner."""
        task = self._task
        if task is None or task.done() or self._loop is None:
            return
        self._stopping = True
        try:
            with self._state:
                threads = [c.thread for c in self._conns.values()
                           if c.open and c.thread and (c.pending or (self._flight and c.name == self._flight["session"]))]
            if threads:
                self._call(self._kill_queries(threads), STOP_TIMEOUT)
            if self._go is not None:
                self._loop.call_soon_threadsafe(self._go.set)
            with contextlib.suppress(Exception):  # how it ended is in the snapshot
                task.result(STOP_TIMEOUT)
        finally:
            self._stopping = False

    def _flight_waits(self) -> bool:
        with self._state:
            flight = self._flight
            return flight is not None and flight["session"] in self._conns and self._conns[flight["session"]].waiting

    def _compare(self) -> None:
        if self.expected is None:
            return
        with self._state:
            output, finished = "".join(self._printed), self.phase in (Phase.FINISHED, Phase.FAILED)
        comparison = self.expected.compare(output, finished)
        with self._state:
            self._comparison = comparison

    # -- inside: the run's loop --------------------------------------------------------------

    async def _open_control(self) -> None:
        endpoint = self.endpoint
        self._control_lock = asyncio.Lock()
        self._control = await Client.open("txplay-control", endpoint, endpoint.user, endpoint.password, None)
        self._tables = await self._table_list()
        self._poller = asyncio.create_task(self._poll())

    async def _table_list(self) -> set[tuple[str, str]]:
        if not self.endpoint.database:
            return set()
        schema = "'" + self.endpoint.database.replace("\\", "\\\\").replace("'", "''") + "'"
        return {(str(name), str(kind)) for name, kind in await self._control_query(TABLES.format(schema=schema))}

    async def _drop_new_tables(self) -> None:
        """Drop what the stopped run created in its database: the fresh run finds it as it was opened."""
        made = await self._table_list() - self._tables
        if not made or not self.endpoint.database:
            return
        schema = "`" + self.endpoint.database.replace("`", "``") + "`"
        await self._control_query("SET SESSION foreign_key_checks = 0")
        try:
            for name, kind in sorted(made, key=lambda t: t[1] != "VIEW"):  # views first
                what = "VIEW" if kind == "VIEW" else "TABLE"
                await self._control_query(f"DROP {what} IF EXISTS {schema}.`{name.replace('`', '``')}`")
        finally:
            await self._control_query("SET SESSION foreign_key_checks = 1")

    async def _close_control(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self._control is not None:
            await self._control.close()

    async def _control_query(self, sql: str) -> list[list[str | None]]:
        """A query on the control connection (one at a time); its first result's rows."""
        assert self._control is not None and self._control_lock is not None
        async with self._control_lock:
            results, error = await self._control.query(sql, self.timeout)
        if error is not None:
            raise error
        return results[0].rows if results else []

    async def _kill_queries(self, threads: list[int]) -> None:
        for thread in threads:
            with contextlib.suppress(Exception):  # the statement ended meanwhile
                await self._control_query(f"KILL QUERY {int(thread)}")

    async def _run_test(self) -> None:
        self._go = asyncio.Event()
        phase, error = Phase.FAILED, None
        try:
            result = await run_mysqltest(self.test, self.url, out=self._write, emit=self._event,
                                         timeout=self.timeout, before=self._before)
        except Stopped:
            phase = Phase.CLOSED
        except Exception as exc:
            error = f"the run failed: {exc}"
        else:
            phase = Phase.FINISHED if result.exit_code == 0 else Phase.FAILED
            error = result.error or (f"skipped: {result.skipped}" if result.skipped else None)
        with self._state:
            self.phase, self.error = phase, error
            self._next = self._flight = None
            for conn in self._conns.values():
                conn.open = conn.pending = conn.waiting = conn.transaction = False
                conn.holders = ()
        self._compare()
        self._settled.set()
        self._changed()

    async def _before(self, info: dict[str, Any]) -> None:
        """The runner's hook: hold the run until F10 (or a stop)."""
        if self._stopping:
            raise Stopped()
        with self._state:
            self._sync(info.get("connections", []))
            self._next, self._flight = info, None
        self._compare()
        self._settled.set()
        self._changed()
        assert self._go is not None
        await self._go.wait()
        self._go.clear()
        if self._stopping:
            raise Stopped()
        with self._state:
            self._next, self._flight = None, info
            self.position += 1
        self._changed()

    def _sync(self, connections: list[dict[str, Any]]) -> None:
        """The runner's list of open connections: new panes, transaction states; the rest closed."""
        seen = set()
        for state in connections:
            conn = self._conns.setdefault(state["session"], _Conn(state["session"]))
            conn.thread, conn.transaction, conn.pending, conn.open = (
                state["thread"], state["in_transaction"], state["pending"], True)
            seen.add(conn.name)
        for conn in self._conns.values():
            if conn.name not in seen:
                conn.open = conn.pending = conn.waiting = False

    def _write(self, text: str) -> None:
        with self._state:
            self._printed.append(text)

    def _event(self, event: dict[str, Any]) -> None:
        """A runner event: a statement's outcome into its connection's log."""
        kind = event["event"]
        if kind not in ("step", "completed"):
            return
        with self._state:
            conn = self._conns.setdefault(event["session"], _Conn(event["session"]))
            self._order += 1
            if kind == "step":
                status = StepStatus.SENT if event["status"] == "sent" else StepStatus(event["status"])
                conn.pending = status == StepStatus.SENT
                waited = conn.waiting and status != StepStatus.SENT
                conn.log.append(LogEntry(str(event["line"]), event["sql"], status, event["output"], waited=waited,
                                         waiting_for=conn.holders if waited else (), order=self._order,
                                         heading=f"line {event['line']}"))
                if status != StepStatus.SENT:
                    conn.waiting, conn.holders = False, ()
            else:
                for i in range(len(conn.log) - 1, -1, -1):
                    entry = conn.log[i]
                    if entry.status == StepStatus.SENT:
                        conn.log[i] = replace(entry, status=StepStatus(event["status"]), output=entry.output + event["output"],
                                              reaped=True, order=self._order,
                                              waited=entry.waited or conn.waiting,
                                              waiting_for=entry.waiting_for or conn.holders)
                        break
                conn.pending, conn.waiting, conn.holders = False, False, ()
        self._changed()

    async def _poll(self) -> None:
        """While a statement is under way or a send awaits its reap: who waits on whom."""
        while True:
            await asyncio.sleep(self.poll)
            with self._state:
                order = self._order
                flight = self._flight["session"] if self._flight else None
                watched = {c.thread: c.name for c in self._conns.values()
                           if c.open and c.thread and (c.pending or c.name == flight)}
                names = {c.thread: c.name for c in self._conns.values() if c.open and c.thread}
            waits: dict[str, _Wait] = {}
            if watched:
                try:
                    waits = await self._lock_waits(watched, names)
                except Exception:
                    continue  # the control connection is busy or gone: look again later
            if self._record_waits(waits, order):
                self._changed()
            self._polls += 1

    async def _lock_waits(self, watched: dict[int, str], names: dict[int, str]) -> dict[str, _Wait]:
        """InnoDB's waits, read in turn with every other txplay reader of the server (see
        playground.innodb_cache; a turn not granted soon is a look skipped), and the other waits."""
        ids = ", ".join(str(int(thread)) for thread in watched)
        holders: dict[str, list[str]] = {}
        waits: dict[str, _Wait] = {}
        rows: list[list[str | None]] = []
        if (await self._control_query(innodb_cache.take(TURN_WAIT)))[0][0] in (1, "1"):
            try:
                rows = await self._control_query(LOCK_WAITS.format(ids=ids))
                await asyncio.sleep(innodb_cache.HOLD)
            finally:
                await self._control_query(innodb_cache.GIVE)
        for waiter, holder, lock, statement in rows:
            name = watched[int(waiter or 0)]
            holder_name = names.get(int(holder or 0), f"thread {holder}")
            holders.setdefault(name, [])
            if holder_name not in holders[name]:
                holders[name].append(holder_name)
            waits[name] = _Wait((), lock or "a lock", statement or "")
        for name, wait in waits.items():
            waits[name] = replace(wait, holders=tuple(holders[name]))
        for thread, state, statement in await self._control_query(OTHER_WAITS.format(ids=ids)):
            name = watched[int(thread or 0)]
            waits.setdefault(name, _Wait((), (state or "a lock").removeprefix("Waiting for "), statement or ""))
        return waits

    def _record_waits(self, waits: dict[str, _Wait], order: int) -> bool:
        """Store the waits found, unless a statement ended since the look began (`order`, the
        events counted then): its wait is over. Whether anything changed."""
        now, changed = time.monotonic(), False
        with self._state:
            if order != self._order:
                return False
            for conn in self._conns.values():
                wait = waits.get(conn.name)
                if wait is None:
                    changed |= conn.waiting
                    conn.waiting, conn.holders = False, ()
                    continue
                if not conn.waiting:
                    conn.since, changed = now, True
                if conn.log and conn.log[-1].status == StepStatus.SENT:  # the reap will say it waited
                    conn.log[-1] = replace(conn.log[-1], waited=True, waiting_for=wait.holders)
                changed |= conn.holders != wait.holders
                conn.waiting, conn.holders, conn.lock, conn.statement = True, wait.holders, wait.lock, wait.statement
        return changed

    # -- inside: the views -------------------------------------------------------------------

    def _upcoming(self) -> tuple[UpcomingStep, ...]:
        """The statement F10 runs, then those after it in the file as far as they are known: up to
        the first if/while, on the connection each `connection` line makes current. While a
        statement is under way: those after it."""
        base = self._next or self._flight
        if base is None:
            return ()
        out: list[UpcomingStep] = []
        if self._next is not None:
            out.append(UpcomingStep(self.position + 1, f"line {base['line']}", base["session"], base["sql"] or "reap"))
        commands, session = self.test.commands, base["session"]
        for command in commands[base.get("index", len(commands)) + 1:]:
            if len(out) >= LOOKAHEAD or command.kind in ("if", "while", "}", "end", "exit"):
                break
            if command.kind == "connection":
                session = command.argument.strip().rstrip(";").strip()
            elif command.kind == "connect":
                session = command.argument.strip().lstrip("(").split(",", 1)[0].strip().strip("'\"`")
            elif command.kind in STATEMENTS:
                sql = "reap" if command.kind == "reap" else command.text if command.kind == "query" else command.argument
                if sql.strip():
                    out.append(UpcomingStep(self.position + len(out) + 1, f"line {command.line}", session, sql))
        return tuple(out)

    @staticmethod
    def _view(conn: _Conn, upcoming: tuple[UpcomingStep, ...], flight: dict[str, Any] | None) -> SessionView:
        """A connection's pane: its log (with the statement under way, running or waiting), its badge."""
        log = tuple(conn.log)
        if flight is not None and flight["session"] == conn.name and flight["kind"] != "reap":
            status = StepStatus.WAITING if conn.waiting else StepStatus.RUNNING
            log += (LogEntry(str(flight["line"]), flight["sql"] or "", status, "", waited=conn.waiting,
                             waiting_for=conn.holders, heading=f"line {flight['line']}"),)
        last = conn.log[-1] if conn.log else None
        if not conn.open:
            state = SessionState.CLOSED
        elif conn.waiting:
            state = SessionState.WAITING
        elif conn.pending:
            state = SessionState.SENT
        elif last is not None and last.status == StepStatus.ERROR:
            state = SessionState.ERROR
        else:
            state = SessionState.IN_TRANSACTION if conn.transaction else SessionState.IDLE
        return SessionView(conn.name, state, conn.holders if conn.waiting else (), False, log,
                           tuple(u for u in upcoming if u.session == conn.name))

