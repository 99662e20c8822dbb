"""Lock monitors: who waits for whom, one monitor per backend.

SQLite has no lock table to read. Its waits are inferred: a statement that has been running
longer than a short settle time while another session holds a conflicting lock is waiting in
SQLite's busy handler, and that session is the holder. The locks each session holds are
tracked from the statements its connection ran in the current transaction.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from playground.engine.backends import Backend
from playground.engine.session import PlaygroundSession
from playground.engine.snapshot import LockWait

SETTLE = 0.08
LEVELS = {"none": 0, "shared": 1, "reserved": 2, "exclusive": 3}


class LockMonitor(Protocol):
    """Reports the current waits of a workspace's sessions."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, LockWait]:
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


class SqliteLockMonitor:
    """Infers SQLite waits from each session's in-flight statement and held locks."""

    def __init__(self, journal_mode: str) -> None:
        self.journal_mode = journal_mode

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

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, LockWait]:
        """Waits as inferred now."""
        sessions = list(sessions)
        waits: dict[str, LockWait] = {}
        for ps in sessions:
            inflight = ps.inflight
            if inflight is None or now - inflight.since < SETTLE:
                continue
            holders, lock = self.blockers(ps, sessions)
            if holders:
                waits[ps.name] = LockWait(
                    waiter=ps.name,
                    holders=tuple(holders),
                    lock=lock,
                    since=inflight.since,
                    statement=inflight.statement.strip(),
                    timeout=ps.settings.lock_timeout,
                )
        return waits

    def blockers(self, ps: PlaygroundSession, sessions: list[PlaygroundSession]) -> tuple[list[str], str]:
        """Which other sessions block `ps`'s in-flight statement, and the lock it needs."""
        assert ps.inflight is not None
        kind = ps.inflight.kind
        others = [o for o in sessions if o is not ps and not o.closed]
        wal = self.journal_mode == "wal"
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


def _committing(ps: PlaygroundSession) -> bool:
    return ps.inflight is not None and ps.inflight.kind == "commit"


class ServerLockMonitor:
    """Reads waits from the server on a connection of its own, outside every session."""

    min_interval = 0.05
    query = ""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.engine: AsyncEngine | None = None
        self.conn: AsyncConnection | None = None
        self._last: dict[str, LockWait] = {}
        self._last_poll = 0.0

    async def start(self) -> None:
        """Open the monitor's connection (autocommit: every poll sees the present)."""
        from playground.engine.backends import create_observer_engine

        self.engine = create_observer_engine(self.backend, "monitor")
        conn = await self.engine.connect()
        self.conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await self._detect()

    async def _detect(self) -> None:
        """Choose the query this server understands."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, LockWait]:
        """Waits as the server reports them (cached for `min_interval`)."""
        if self.conn is None:
            return {}
        if now - self._last_poll < self.min_interval:
            return self._last
        by_id = {ps.server_id: ps for ps in sessions if ps.server_id is not None and not ps.closed}
        if not by_id:
            return {}
        statement = text(self.query)
        if self.backend.name == "mysql":
            statement = statement.bindparams(bindparam("ids", expanding=True))
        rows = (await self.conn.execute(statement, self._params(list(by_id)))).all()
        waits: dict[str, LockWait] = {}
        for waiter_id, holder_ids, lock, elapsed, statement in self._edges(rows):
            ps = by_id.get(waiter_id)
            if ps is None:
                continue
            holders = tuple(by_id[h].name if h in by_id else f"connection {h}" for h in holder_ids)
            previous = waits.get(ps.name)
            if previous is not None:
                holders = tuple(dict.fromkeys(previous.holders + holders))
                lock = previous.lock if lock in previous.lock else f"{previous.lock}; {lock}"
            since = ps.inflight.since if ps.inflight is not None else now - float(elapsed or 0)
            waits[ps.name] = LockWait(ps.name, holders, lock, since, statement or "", ps.settings.lock_timeout)
        self._last, self._last_poll = waits, now
        return waits

    def _params(self, ids: list) -> dict:
        return {"ids": ids}

    def _edges(self, rows: list) -> Iterable[tuple]:
        return rows

    async def cancel(self, ps: PlaygroundSession) -> str:
        """Cancel the statement `ps` is running, as the server allows."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the monitor's connection."""
        if self.conn is not None:
            await self.conn.close()
        if self.engine is not None:
            await self.engine.dispose()


class PostgresLockMonitor(ServerLockMonitor):
    """`pg_blocking_pids()`, `pg_locks` and `pg_stat_activity`."""

    query = """
        SELECT a.pid, pg_blocking_pids(a.pid),
               coalesce((SELECT string_agg(
                   l.mode || ' on ' || CASE
                       WHEN l.locktype = 'relation' THEN l.relation::regclass::text
                       WHEN l.locktype = 'tuple' THEN 'row (' || l.page || ',' || l.tuple || ') of ' || l.relation::regclass::text
                       WHEN l.locktype = 'transactionid' THEN 'transaction ' || l.transactionid
                       ELSE l.locktype END, '; ')
                 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), a.wait_event),
               extract(epoch FROM clock_timestamp() - a.query_start),
               a.query
        FROM pg_stat_activity a
        WHERE a.pid = ANY(:ids) AND a.wait_event_type = 'Lock'
    """

    async def cancel(self, ps: PlaygroundSession) -> str:
        """pg_cancel_backend(pid)."""
        assert self.conn is not None
        await self.conn.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": ps.server_id})
        return f"sent pg_cancel_backend({ps.server_id})"


class MysqlLockMonitor(ServerLockMonitor):
    """MySQL 8's performance_schema.data_lock_waits, or MariaDB's INNODB_LOCK_WAITS."""

    # MariaDB refreshes INNODB_TRX at most every 0.1 s: polling faster reads stale waits.
    min_interval = 0.1

    MARIADB = """
        SELECT r.trx_mysql_thread_id, b.trx_mysql_thread_id,
               concat(coalesce(l.lock_mode, ''), ' ', coalesce(l.lock_type, ''), ' lock on ',
                      coalesce(l.lock_table, '?'), coalesce(concat(' index ', l.lock_index), '')),
               timestampdiff(MICROSECOND, r.trx_wait_started, now(6)) / 1000000,
               r.trx_query
        FROM information_schema.INNODB_LOCK_WAITS w
        JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
        JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
        LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
        WHERE r.trx_mysql_thread_id IN :ids
    """
    MYSQL8 = """
        SELECT rt.PROCESSLIST_ID, bt.PROCESSLIST_ID,
               concat(l.LOCK_MODE, ' ', l.LOCK_TYPE, ' lock on ', l.OBJECT_SCHEMA, '.', l.OBJECT_NAME,
                      coalesce(concat(' index ', l.INDEX_NAME), '')),
               NULL, NULL
        FROM performance_schema.data_lock_waits w
        JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
        JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
        JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID
        WHERE rt.PROCESSLIST_ID IN :ids
    """

    async def _detect(self) -> None:
        assert self.conn is not None
        found = (await self.conn.execute(text(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'performance_schema' "
            "AND TABLE_NAME = 'data_lock_waits'"
        ))).scalar()
        self.query = self.MYSQL8 if found else self.MARIADB

    def _params(self, ids: list) -> dict:
        return {"ids": list(ids)}

    def _edges(self, rows: list) -> Iterable[tuple]:
        for waiter, holder, lock, elapsed, statement in rows:
            yield waiter, (holder,), lock, elapsed, statement

    async def cancel(self, ps: PlaygroundSession) -> str:
        """KILL QUERY id."""
        assert self.conn is not None
        await self.conn.execute(text(f"KILL QUERY {int(ps.server_id)}"))
        return f"sent KILL QUERY {ps.server_id}"


def monitor_for(backend: Backend, journal_mode: str) -> LockMonitor:
    """The lock monitor of a backend."""
    if backend.name == "postgresql":
        return PostgresLockMonitor(backend)
    if backend.name == "mysql":
        return MysqlLockMonitor(backend)
    return SqliteLockMonitor(journal_mode)
