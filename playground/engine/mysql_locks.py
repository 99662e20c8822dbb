"""MySQL's and MariaDB's lock monitor: InnoDB's row-lock waits and the server's metadata-lock waits.

MariaDB serves its InnoDB lock tables from a cache refilled only after 0.1 s unread, so its looks
are taken by a reader of their own, in turn with every other txplay reader of the server
(playground.innodb_cache). Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, text

from playground import innodb_cache
from playground.engine.backends import Backend
from playground.engine.locks import Observation, ServerLockMonitor, still_waiting
from playground.engine.session import PlaygroundSession
from playground.engine.statements import Inflight, sql_names

READER_IDLE = 0.5  # seconds without a poll after which a MariaDB monitor's reader stops taking turns


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
        return still_waiting(self._last)

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
