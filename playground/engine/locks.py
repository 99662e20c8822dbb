"""Lock monitors: who waits for whom. Each backend strategy makes its own (`Backend.lock_monitor`).

SQLite has no lock table to read. Its waits are inferred: a statement that has stopped
executing (no progress-handler calls for a short settle time) while another session holds a
conflicting lock is waiting in SQLite's busy handler, and that session is the holder. The lock
each session holds is asked of SQLite after every statement (see `sqlite_txn_state`).

Every wait a monitor reports is an `Observation`: the statement it saw waiting and the moment
its query was issued. It applies to that statement only, never to a later one of the session.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from playground.engine.backends import Backend
from playground.engine.session import PlaygroundSession
from playground.engine.statements import Inflight
from playground.engine.snapshot import LockWait

# A SQLite statement with no progress-handler call for this long has stopped executing: not
# much shorter, for a running statement's thread may wait a while for the GIL or a core.
STALL = 0.15
LEVELS = {"none": 0, "shared": 1, "reserved": 2, "exclusive": 3}
T = TypeVar("T")


@dataclass(frozen=True)
class Observation:
    """A wait a monitor saw: on which statement, and when the look that saw it was taken."""

    wait: LockWait
    session: PlaygroundSession
    statement: Inflight
    issued: float  # monotonic time the monitor's query was issued

    def applies_to(self, step_started: float | None) -> bool:
        """Whether this wait belongs to the step that started at `step_started`.

        Only if that step was already running when the look was taken, and the statement
        seen waiting is still the one the session runs now.
        """
        return (
            step_started is not None
            and step_started <= self.issued
            and self.session.inflight is self.statement
        )


class LockMonitor(Protocol):
    """Reports the current waits of a workspace's sessions."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """session name → its wait, for every session known to be waiting now."""
        ...

    async def start(self) -> None:
        """Get ready (servers: open the monitor's own connection)."""
        ...

    async def cancel(self, ps: PlaygroundSession) -> str:
        """Cancel the statement `ps` runs, as the backend allows; says what it did."""
        ...

    async def close(self) -> None:
        """Release what the monitor holds."""
        ...


class NoLockMonitor:
    """For a database txplay has no lock queries for: no waits are seen, none can be cancelled."""

    def __init__(self, backend_name: str) -> None:
        self.backend_name = backend_name

    async def start(self) -> None:
        """Nothing to open."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """No waits: a waiting step shows as running until it ends."""
        return {}

    async def cancel(self, ps: PlaygroundSession) -> str:
        """Refused, saying why."""
        from playground.engine.errors import PlaygroundError

        raise PlaygroundError(f"txplay has no lock monitor for {self.backend_name}, so it cannot cancel a statement there")

    async def close(self) -> None:
        """Nothing to release."""


class SqliteLockMonitor:
    """Infers SQLite waits from each session's in-flight statement and held locks."""

    def __init__(self, journal_mode: Callable[[], str]) -> None:
        self.journal_mode = journal_mode  # the workspace's, read at every look: a user may switch it
        # session name → (statement, progress calls seen, since when they have not changed,
        # whether its thread has been seen asleep since then)
        self._progress: dict[str, tuple[Inflight, int, float, bool]] = {}

    async def start(self) -> None:
        """Nothing to open: SQLite's waits are inferred."""

    async def cancel(self, ps: PlaygroundSession) -> str:
        """sqlite3_interrupt() does not reach a statement sleeping in SQLite's busy handler."""
        from playground.engine.errors import PlaygroundError

        inflight = ps.inflight
        if inflight is None:
            return "nothing to cancel: no statement is running"
        import time

        left = max(0.0, ps.settings.lock_timeout - (time.monotonic() - inflight.since))
        raise PlaygroundError(
            f"SQLite cannot interrupt a statement waiting on a lock: it gives up by itself in {left:.1f} s "
            "(\\timeout sets how long)"
        )

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """Waits as inferred now: stalled statements that need a lock another session holds."""
        sessions = list(sessions)
        waits: dict[str, Observation] = {}
        for ps in sessions:
            inflight = ps.inflight
            if inflight is None:
                self._progress.pop(ps.name, None)
                continue
            if not self.stalled(ps, inflight, now):
                continue
            holders, lock = self.blockers(ps, sessions)
            if holders:
                wait = LockWait(
                    waiter=ps.name,
                    holders=tuple(holders),
                    lock=lock,
                    since=inflight.since,
                    statement=inflight.statement.strip(),
                    timeout=ps.settings.lock_timeout,
                )
                waits[ps.name] = Observation(wait, ps, inflight, now)
        return waits

    def stalled(self, ps: PlaygroundSession, inflight: Inflight, now: float) -> bool:
        """Whether `inflight` has made no progress-handler call for STALL: SQLite is not executing it.

        A slow statement keeps calling the handler; one in SQLite's busy handler sleeps.
        """
        count = ps.progress
        seen = self._progress.get(ps.name)
        if seen is None or seen[0] is not inflight:
            still_since = inflight.since if count == inflight.progress else now
        elif count != seen[1]:
            still_since = now
        else:
            still_since = seen[2]
        slept = seen is not None and seen[0] is inflight and seen[2] == still_since and seen[3]
        if now - still_since >= STALL and not slept:
            # A thread starved of a core, or waiting for the GIL, makes no progress calls either:
            # where the system tells, only a thread seen asleep (SQLite's busy handler) is waiting.
            sleeping = thread_sleeping(ps.driver_thread())
            slept = sleeping is None or sleeping
        self._progress[ps.name] = (inflight, count, still_since, slept)
        return now - still_since >= STALL and slept

    def blockers(self, ps: PlaygroundSession, sessions: list[PlaygroundSession]) -> tuple[list[str], str]:
        """Which other sessions block `ps`'s in-flight statement, and the lock it needs."""
        assert ps.inflight is not None
        kind = ps.inflight.kind
        others = [o for o in sessions if o is not ps and not o.closed]
        wal = self.journal_mode() == "wal"
        if kind == "write":
            holders = [o.name for o in others if LEVELS[o.current_lock_level()] >= LEVELS["reserved"] or _committing(o)]
            return holders, "database write lock (RESERVED)"
        if kind == "commit":
            if wal:
                return [], ""
            holders = [o.name for o in others if LEVELS[o.current_lock_level()] >= LEVELS["shared"]]
            return holders, "EXCLUSIVE lock to commit (readers hold SHARED)"
        # A read waits only on a session that is committing or holds EXCLUSIVE.
        if wal:
            return [], ""
        holders = [o.name for o in others if _committing(o) or o.current_lock_level() == "exclusive"]
        return holders, "SHARED lock to read (a writer holds PENDING/EXCLUSIVE)"

    async def close(self) -> None:
        """Nothing to release."""


def thread_sleeping(native_id: int | None) -> bool | None:
    """Whether the thread `native_id` of this process sleeps in nanosleep (as SQLite's busy handler
    does between its tries) rather than running, waiting for a core or on a lock (the GIL); None
    where the system does not tell (no /proc, or a kernel whose wchan names no sleep)."""
    if native_id is None or not _wchan_names_sleep():
        return None
    try:
        with open(f"/proc/self/task/{native_id}/wchan") as wchan:
            return "nanosleep" in wchan.read()
    except OSError:
        return None


@functools.cache
def _wchan_names_sleep() -> bool:
    """Whether this kernel's /proc names nanosleep for a sleeping thread: asked once, of a thread
    sleeping on purpose."""
    found: list[int] = []
    ready = threading.Event()

    def sleeper() -> None:
        found.append(threading.get_native_id())
        ready.set()
        time.sleep(0.1)

    thread = threading.Thread(target=sleeper, name="txplay-wchan-probe", daemon=True)
    thread.start()
    ready.wait()
    try:
        for _ in range(20):
            time.sleep(0.005)
            with open(f"/proc/self/task/{found[0]}/wchan") as wchan:
                if "nanosleep" in wchan.read():
                    return True
        return False
    except OSError:
        return False


def _committing(ps: PlaygroundSession) -> bool:
    return ps.inflight is not None and ps.inflight.kind == "commit"


class ServerLockMonitor:
    """Reads waits from the server on a connection of its own, outside every session."""

    min_interval = 0.05

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.engine: AsyncEngine | None = None
        self.conn: AsyncConnection | None = None
        self._last: list[Observation] = []
        self._last_poll = float("-inf")

    async def start(self) -> None:
        """Open the monitor's connection (autocommit: every poll sees the present)."""
        from playground.engine.backends import create_observer_engine

        self.engine = create_observer_engine(self.backend, "monitor")
        await self._connection()
        await self._detect()

    async def _connection(self) -> AsyncConnection:
        """The monitor's one connection, kept for every poll; opened again only after it broke."""
        assert self.engine is not None
        if self.conn is None:
            conn = await self.engine.connect()
            self.conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self.conn

    async def _replace_if_broken(self) -> None:
        """After a failed query: a connection the server or the network dropped is let go, so
        that the next look opens a new one (a query the server merely refused keeps it)."""
        conn = self.conn
        if conn is None or not (conn.invalidated or conn.closed):
            return
        self.conn = None
        with contextlib.suppress(Exception):
            await conn.close()

    async def _detect(self) -> None:
        """Choose the queries this server understands."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """Waits as the server reports them; a look is reused for `min_interval`, for the same statements only."""
        if self.engine is None:
            return {}
        if now - self._last_poll < self.min_interval:
            return still_waiting(self._last)
        return await self._observe(sessions, now)

    async def _observe(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """Ask the server now: the waits of the statements `sessions` are running as the look is taken."""
        live = [ps for ps in sessions if ps.server_id is not None and not ps.closed]
        # What each session runs as the look is taken: a wait seen applies to that statement only.
        running = {ps.server_id: (ps, ps.inflight) for ps in live if ps.inflight is not None}
        issued = time.monotonic()
        edges = await self._look(lambda: self._edges(running, live)) if running else []
        by_id = {ps.server_id: ps for ps in live}
        found: dict[str, Observation] = {}
        for waiter_id, holder_ids, lock in edges:
            if waiter_id not in running:
                continue
            ps, inflight = running[waiter_id]
            holders = tuple(by_id[h].name if h in by_id else f"connection {h}" for h in holder_ids)
            previous = found.get(ps.name)
            if previous is not None:
                holders = tuple(dict.fromkeys(previous.wait.holders + holders))
                lock = previous.wait.lock if lock in previous.wait.lock else f"{previous.wait.lock}; {lock}"
            wait = LockWait(ps.name, holders, lock, inflight.since, inflight.statement.strip(), ps.settings.lock_timeout)
            found[ps.name] = Observation(wait, ps, inflight, issued)
        self._last, self._last_poll = list(found.values()), now
        return still_waiting(self._last)

    async def _look(self, query: Callable[[], Awaitable[T]]) -> T:
        """Run one look (a poll's queries, a cancel) on the monitor's connection, replacing it if it broke."""
        await self._connection()
        try:
            return await query()
        except Exception:
            await self._replace_if_broken()
            raise

    async def _edges(self, running: dict, sessions: list[PlaygroundSession]) -> list[tuple]:
        """(waiter id, holder ids, lock) for every wait of the `running` connections."""
        raise NotImplementedError

    async def cancel(self, ps: PlaygroundSession) -> str:
        """Cancel the statement `ps` is running, as the server allows."""
        raise NotImplementedError

    async def _send(self, statement: Any, parameters: dict | None = None) -> None:
        assert self.conn is not None
        await self.conn.execute(statement, parameters)

    async def close(self) -> None:
        """Close the monitor's connection."""
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await conn.close()
        if self.engine is not None:
            await self.engine.dispose()


def still_waiting(observations: Iterable[Observation]) -> dict[str, Observation]:
    """The observations whose statement is still the one its session runs."""
    return {o.wait.waiter: o for o in observations if o.session.inflight is o.statement}


class PostgresLockMonitor(ServerLockMonitor):
    """`pg_blocking_pids()`, `pg_locks` and `pg_stat_activity`."""

    # A SERIALIZABLE READ ONLY DEFERRABLE transaction waits for a safe snapshot, not for a lock:
    # on the serializable transactions that pg_safe_snapshot_blocking_pids() names.
    query = """
        SELECT a.pid,
               CASE WHEN a.wait_event = 'SafeSnapshot' THEN pg_safe_snapshot_blocking_pids(a.pid)
                    ELSE pg_blocking_pids(a.pid) END,
               CASE WHEN a.wait_event = 'SafeSnapshot' THEN 'a safe snapshot (READ ONLY DEFERRABLE)' ELSE
               coalesce((SELECT string_agg(
                   l.mode || ' on ' || CASE
                       WHEN l.locktype = 'relation' THEN l.relation::regclass::text
                       WHEN l.locktype = 'tuple' THEN 'row (' || l.page || ',' || l.tuple || ') of ' || l.relation::regclass::text
                       WHEN l.locktype = 'transactionid' THEN 'transaction ' || l.transactionid
                       ELSE l.locktype END, '; ')
                 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), a.wait_event) END
        FROM pg_stat_activity a
        WHERE a.pid = ANY(:ids) AND (a.wait_event_type = 'Lock' OR a.wait_event = 'SafeSnapshot')
    """

    async def _edges(self, running: dict, sessions: list[PlaygroundSession]) -> list[tuple]:
        assert self.conn is not None
        rows = (await self.conn.execute(text(self.query), {"ids": list(running)})).all()
        return [(pid, tuple(blockers or ()), lock) for pid, blockers, lock in rows]

    async def cancel(self, ps: PlaygroundSession) -> str:
        """pg_cancel_backend(pid)."""
        await self._look(lambda: self._send(text("SELECT pg_cancel_backend(:pid)"), {"pid": ps.server_id}))
        return f"sent pg_cancel_backend({ps.server_id})"
