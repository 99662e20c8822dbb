"""Lock monitors: who waits for whom. Each backend strategy makes its own (`Backend.lock_monitor`).

SQLite has no lock table to read. Its waits are inferred: a statement that has stopped
executing (no progress-handler calls for a short settle time) while another session holds a
conflicting lock is waiting in SQLite's busy handler, and that session is the holder. The lock
each session holds is asked of SQLite after every statement (see `sqlite_txn_state`).

Every wait a monitor reports is an `Observation`: the statement it saw waiting and the moment
its query was issued. It applies to that statement only, never to a later one of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from playground import innodb_cache
from playground.engine.backends import Backend
from playground.engine.session import PlaygroundSession
from playground.engine.statements import Inflight, sql_names
from playground.engine.snapshot import LockWait

# A SQLite statement with no progress-handler call for this long has stopped executing: not
# much shorter, for a running statement's thread may wait a while for the GIL or a core.
STALL = 0.15
READER_IDLE = 0.5  # seconds without a poll after which a MariaDB monitor's reader stops taking turns
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
            return _still_waiting(self._last)
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
        return _still_waiting(self._last)

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


def _still_waiting(observations: Iterable[Observation]) -> dict[str, Observation]:
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


class MysqlLockMonitor(ServerLockMonitor):
    """Row locks from MySQL 8's data_lock_waits or MariaDB's INNODB_LOCK_WAITS; metadata locks too.

    A metadata-lock wait (an ALTER waiting for a transaction that read the table) shows in the
    processlist state; its holders come from performance_schema.metadata_locks where that is
    on, otherwise from what the other sessions sent in their open transactions.
    """

    # MariaDB refills INNODB_TRX only when it was last read more than 0.1 s ago: polling
    # faster reads the same stale rows again and again.
    min_interval = 0.12

    MARIADB = """
        SELECT r.trx_mysql_thread_id, b.trx_mysql_thread_id,
               concat(coalesce(l.lock_mode, ''), ' ', coalesce(l.lock_type, ''), ' lock on ',
                      coalesce(l.lock_table, '?'), coalesce(concat(' index ', l.lock_index), '')),
               timestampdiff(MICROSECOND, r.trx_wait_started, now(6)) / 1000000,
               r.trx_query, p.INFO, p.TIME_MS / 1000
        FROM information_schema.INNODB_LOCK_WAITS w
        JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
        JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
        LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
        JOIN information_schema.PROCESSLIST p ON p.ID = r.trx_mysql_thread_id
        WHERE r.trx_mysql_thread_id IN :ids AND p.COMMAND = 'Query'
    """
    MYSQL8 = """
        SELECT rt.PROCESSLIST_ID, bt.PROCESSLIST_ID,
               concat(l.LOCK_MODE, ' ', l.LOCK_TYPE, ' lock on ', l.OBJECT_SCHEMA, '.', l.OBJECT_NAME,
                      coalesce(concat(' index ', l.INDEX_NAME), '')),
               NULL, NULL, NULL, NULL
        FROM performance_schema.data_lock_waits w
        JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
        JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
        JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID
        WHERE rt.PROCESSLIST_ID IN :ids
    """
    # The processlist is read live (no cache): a thread stuck on a metadata or table lock says so.
    METADATA_WAITS = """
        SELECT ID, STATE FROM information_schema.PROCESSLIST
        WHERE ID IN :ids AND STATE LIKE 'Waiting for %lock'
    """
    METADATA_HOLDERS = """
        SELECT wt.PROCESSLIST_ID, ht.PROCESSLIST_ID
        FROM performance_schema.metadata_locks w
        JOIN performance_schema.metadata_locks h
          ON h.OBJECT_TYPE = w.OBJECT_TYPE AND h.OBJECT_SCHEMA <=> w.OBJECT_SCHEMA
         AND h.OBJECT_NAME <=> w.OBJECT_NAME AND h.LOCK_STATUS = 'GRANTED'
         AND h.OWNER_THREAD_ID <> w.OWNER_THREAD_ID
        JOIN performance_schema.threads wt ON wt.THREAD_ID = w.OWNER_THREAD_ID
        JOIN performance_schema.threads ht ON ht.THREAD_ID = h.OWNER_THREAD_ID
        WHERE w.LOCK_STATUS = 'PENDING' AND wt.PROCESSLIST_ID IN :ids
    """
    TABLES = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"

    query = MARIADB
    metadata_locks_table = False

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._reader: asyncio.Task[None] | None = None
        self._asked = float("-inf")  # when the watcher last asked for the waits
        self._sessions: list[PlaygroundSession] = []
        self._conn_lock = asyncio.Lock()  # held while the reader uses the monitor's connection
        self._no_turns = False  # the server refused its named lock: look without turns

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, Observation]:
        """As any server's monitor; on MariaDB the looks are taken by a reader of their own, in turn
        with every other txplay reader of the server (see playground.innodb_cache), and a poll
        answers with the latest look at once."""
        if self.query != self.MARIADB or self.engine is None or self._no_turns:
            return await super().poll(sessions, now)
        self._sessions, self._asked = list(sessions), now
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_in_turn())
        return _still_waiting(self._last)

    async def _read_in_turn(self) -> None:
        """Look at InnoDB's waits while the watcher asks, one turn at a time: take the server's
        named lock, look, keep the lock `HOLD` seconds so that MariaDB can refill its cache, give it back."""
        while time.monotonic() - self._asked < READER_IDLE:
            async with self._conn_lock:
                try:
                    turn = await self._look(lambda: self._scalar(text(innodb_cache.TAKE)))
                except Exception:
                    self._no_turns = self.conn is not None  # refused, not a broken connection (replaced next time)
                    return
                if turn != 1:
                    continue
                try:
                    await self._observe(self._sessions, time.monotonic())
                except Exception:  # a hiccup: the next poll starts a new reader, as a failed poll would retry
                    with contextlib.suppress(Exception):
                        await self._send(text(innodb_cache.GIVE))
                    return
            try:
                await asyncio.sleep(innodb_cache.HOLD)
            finally:
                async with self._conn_lock:
                    with contextlib.suppress(Exception):  # a connection that broke gave the lock back with it
                        await self._send(text(innodb_cache.GIVE))

    async def _scalar(self, statement: Any) -> Any:
        assert self.conn is not None
        return (await self.conn.execute(statement)).scalar()

    async def close(self) -> None:
        """Stop the reader (its connection's end gives the server's lock back), then close."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()  # perhaps mid-GET_LOCK: the connection cannot be handed back as it is
            with contextlib.suppress(BaseException):
                await self._reader
            if self.conn is not None:
                with contextlib.suppress(Exception):
                    await self.conn.invalidate()
        await super().close()

    async def _detect(self) -> None:
        assert self.conn is not None
        found = {
            name for (name,) in await self.conn.execute(text(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'performance_schema' "
                "AND TABLE_NAME IN ('data_lock_waits', 'metadata_locks')"
            ))
        }
        self.query = self.MYSQL8 if "data_lock_waits" in found else self.MARIADB
        enabled = (await self.conn.execute(text("SELECT @@performance_schema"))).scalar()
        self.metadata_locks_table = bool(enabled) and "metadata_locks" in found

    async def _rows(self, query: str, ids: list) -> Sequence[Any]:
        assert self.conn is not None
        statement = text(query).bindparams(bindparam("ids", expanding=True))
        return (await self.conn.execute(statement, {"ids": ids})).all()

    async def _edges(self, running: dict, sessions: list[PlaygroundSession]) -> list[tuple]:
        ids = list(running)
        edges = [
            (waiter, (holder,), lock)
            for waiter, holder, lock, wait_age, waiting_sql, current_sql, statement_age in await self._rows(self.query, ids)
            if _row_wait_is_current(wait_age, waiting_sql, current_sql, statement_age)
        ]
        metadata = await self._rows(self.METADATA_WAITS, ids)
        if metadata:
            edges.extend(await self._metadata_edges(metadata, running, sessions))
        return edges

    async def _metadata_edges(self, waits: Sequence[Any], running: dict, sessions: list[PlaygroundSession]) -> list[tuple]:
        """Metadata-lock waits with their holders: the server's view when on, else the sessions' SQL."""
        from_server: dict = {}
        if self.metadata_locks_table:
            for waiter, holder in await self._rows(self.METADATA_HOLDERS, [w for w, _ in waits]):
                from_server.setdefault(waiter, []).append(holder)
        assert self.conn is not None
        tables = {name.lower() for (name,) in await self.conn.execute(text(self.TABLES))}
        edges = []
        for waiter_id, state in waits:
            ps, inflight = running[waiter_id]
            named = sorted(named_tables(inflight.statement, tables))
            holders = from_server.get(waiter_id) or [o.server_id for o in metadata_holders(ps, inflight, sessions, tables)]
            what = str(state).removeprefix("Waiting for ")
            edges.append((waiter_id, tuple(dict.fromkeys(holders)), f"{what} on {', '.join(named)}" if named else what))
        return edges

    async def cancel(self, ps: PlaygroundSession) -> str:
        """KILL QUERY id."""
        assert self.engine is not None
        kill = text(f"KILL QUERY {int(ps.server_id)}")
        if not self._conn_lock.locked():
            async with self._conn_lock:
                await self._look(lambda: self._send(kill))
        else:  # the reader queues for its turn on the monitor's connection: a cancel does not wait behind it
            async with self.engine.connect() as conn:
                await conn.execute(kill)
        return f"sent KILL QUERY {ps.server_id}"


def _row_wait_is_current(wait_age: float | None, waiting_sql: str | None, current_sql: str | None, statement_age: float | None) -> bool:
    """Whether a (possibly cached) InnoDB wait belongs to the statement the thread runs now.

    MariaDB's INNODB_TRX may be older than the live processlist it is joined with: a wait
    of a statement that has since ended must not be pinned on the next one. Its text must
    be the current statement's, and it cannot have begun before that statement did
    (trx_wait_started has whole seconds, hence the second of slack).
    """
    if current_sql is None:
        return waiting_sql is None  # MySQL 8: data_lock_waits is live, nothing to check
    if waiting_sql and not current_sql.startswith(waiting_sql):
        return False
    return wait_age is None or statement_age is None or float(wait_age) - 1.0 <= float(statement_age)


def named_tables(sql: str, tables: set[str]) -> set[str]:
    """The tables among `tables` (lower case) whose names appear in `sql`."""
    return sql_names(sql) & tables


def metadata_holders(
    waiter: PlaygroundSession, statement: Inflight, sessions: Iterable[PlaygroundSession], tables: set[str]
) -> list[PlaygroundSession]:
    """The sessions that hold or queue first for the metadata lock `statement` waits for.

    A table's metadata lock is held by every transaction that used the table until it ends;
    a statement on it sent earlier (running, or waiting for the same lock) is ahead in the queue.
    """
    wanted = named_tables(statement.statement, tables)
    found = []
    for other in sessions:
        if other is waiter or other.closed:
            continue
        running = other.inflight
        ahead = running is not None and running.since < statement.since and named_tables(running.statement, wanted)
        if ahead or other.transaction_names & wanted:
            found.append(other)
    return found
