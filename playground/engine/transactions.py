"""The transaction/savepoint tree of one Session, from its events and public API.

SQLAlchemy emits SAVEPOINT lazily: `begin_nested()` creates the nested SessionTransaction at
once, but the statement goes out only when the session next needs its connection. The tree
records which transactions have really begun on the database (`after_begin`) and the
savepoint's SQL name, taken from the statement itself.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin
from sqlalchemy.orm.session import SessionTransactionState

from playground.engine.snapshot import TransactionRow


def is_failed(trans: SessionTransaction) -> bool:
    """Whether `trans` was deactivated by an error and only a rollback goes on.

    `is_active` is also False for a moment inside a step, while the transaction gets its
    connection or commits; a snapshot taken then (another session's countdown redraws while
    this one runs) must not call the transaction failed.
    """
    return trans._state is SessionTransactionState.DEACTIVE


class TransactionTree:
    """Names and emitted-ness of one session's transactions; rows for the Transactions panel."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._names: dict[int, str] = {}
        self._emitted: set[int] = set()
        self._sql_names: dict[int, str] = {}
        self._auto_names: dict[int, str] = {}
        self._auto = itertools.count(1)
        self.last_savepoint_sql: str | None = None
        event.listen(session, "after_begin", self._after_begin)
        event.listen(session, "after_transaction_end", self._after_end)

    def _after_begin(self, session: Session, transaction: SessionTransaction, connection: Any) -> None:
        self._emitted.add(id(transaction))
        if transaction.nested and self.last_savepoint_sql:
            self._sql_names[id(transaction)] = self.last_savepoint_sql

    def _after_end(self, session: Session, transaction: SessionTransaction) -> None:
        ident = id(transaction)
        self._emitted.discard(ident)
        self._names.pop(ident, None)
        self._sql_names.pop(ident, None)
        self._auto_names.pop(ident, None)

    def saw_savepoint_sql(self, statement: str) -> None:
        """Called for every SAVEPOINT statement the session's connection sends."""
        parts = statement.split()
        if len(parts) >= 2 and parts[0].upper() == "SAVEPOINT":
            self.last_savepoint_sql = parts[1].strip('"`')

    def name(self, transaction: SessionTransaction, name: str | None = None) -> str:
        """Give a savepoint the user's `name` (SAVEPOINT x, \\savepoint x); returns its label."""
        if name is not None:
            self._names[id(transaction)] = name
        return self.label(transaction, {})

    def label(self, transaction: SessionTransaction, bound: dict[int, list[str]]) -> str:
        """What the tree shows: the user's name, else the Python name bound to it, else `spN`."""
        ident = id(transaction)
        if ident in self._names:
            return self._names[ident]
        if ident in bound:
            return bound[ident][0]
        if not transaction.nested:
            return "transaction"
        if ident not in self._auto_names:
            self._auto_names[ident] = f"sp{next(self._auto)}"
        return self._auto_names[ident]

    def sql_name(self, transaction: SessionTransaction) -> str | None:
        """The SAVEPOINT name on the database, once emitted."""
        return self._sql_names.get(id(transaction))

    def find(self, name: str, bound: dict[int, list[str]]) -> SessionTransaction | None:
        """The open nested transaction known as `name` (shown name, Python name or SQL name)."""
        for trans in reversed(self.chain()):
            if not trans.nested:
                continue
            ident = id(trans)
            known = {self.label(trans, bound), self._sql_names.get(ident), *bound.get(ident, ())}
            if name in known:
                return trans
        return None

    def chain(self) -> list[SessionTransaction]:
        """The open transactions, root first, leaving out flush's internal subtransactions."""
        current = self.session.get_nested_transaction() or self.session.get_transaction()
        chain: list[SessionTransaction] = []
        while current is not None:
            if current.origin is not SessionTransactionOrigin.SUBTRANSACTION:
                chain.append(current)
            current = current.parent
        chain.reverse()
        return chain

    def rows(self, bound: dict[int, list[str]] | None = None) -> list[TransactionRow]:
        """Rows for the Transactions panel."""
        bound = bound or {}
        rows = []
        for depth, trans in enumerate(self.chain()):
            rows.append(
                TransactionRow(
                    name=self.label(trans, bound),
                    nested=trans.nested,
                    origin=trans.origin.name,
                    state="inactive" if is_failed(trans) else "active",
                    emitted=id(trans) in self._emitted,
                    depth=depth,
                )
            )
        return rows
