"""Lock monitors: who waits for whom, one monitor per backend.

SQLite has no lock table to read. Its waits are inferred: a statement that has been running
longer than a short settle time while another session holds a conflicting lock is waiting in
SQLite's busy handler, and that session is the holder. The locks each session holds are
tracked from the statements its connection ran in the current transaction.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from playground.engine.session import PlaygroundSession
from playground.engine.snapshot import LockWait

SETTLE = 0.08
LEVELS = {"none": 0, "shared": 1, "reserved": 2, "exclusive": 3}


class LockMonitor(Protocol):
    """Reports the current waits of a workspace's sessions."""

    async def poll(self, sessions: Iterable[PlaygroundSession], now: float) -> dict[str, LockWait]:
        """session name → its wait, for every session known to be waiting now."""
        ...

    async def close(self) -> None:
        """Release what the monitor holds."""
        ...


class SqliteLockMonitor:
    """Infers SQLite waits from each session's in-flight statement and held locks."""

    def __init__(self, journal_mode: str) -> None:
        self.journal_mode = journal_mode

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
