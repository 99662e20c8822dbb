"""Taking turns at MariaDB's InnoDB lock tables, across every txplay process on a server.

MariaDB serves INNODB_TRX, INNODB_LOCKS and INNODB_LOCK_WAITS from a cache that it refills only
when nobody has read it for 0.1 s. Readers that look more often than that between them (several
panes' monitors, the matrix's cells, a classroom's visitors, two txplay processes) keep it from
ever being refilled: every look then sees the same old waits, and a new wait is never seen.

So every reader takes a named lock on the server (GET_LOCK, which queues its waiters in turn),
reads, and keeps the lock `HOLD` seconds after its read before releasing it: no two reads by
txplay come closer than that, whichever process or machine they come from. A reader that dies
releases the lock with its connection. Plain SQL, so that the engine (SQLAlchemy) and the
mysqltest runner (its own client) share it; nothing here imports either.
"""

from __future__ import annotations

NAME = "txplay.innodb_lock_cache"
HOLD = 0.11  # seconds the lock is kept after a read: MariaDB's cache refills after 0.1 s unread
WAIT = 5.0  # seconds a reader queues for its turn before it asks again: GET_LOCK's queue is fair, leaving it is not



def take(wait: float = WAIT) -> str:
    """The statement that waits up to `wait` seconds for this reader's turn: 1 when it came, 0 if not."""
    return f"SELECT GET_LOCK('{NAME}', {wait})"


TAKE = take()

GIVE = f"DO RELEASE_LOCK('{NAME}')"
