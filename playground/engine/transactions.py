"""The transaction/savepoint tree of one Session, from its events and public API.

SQLAlchemy emits SAVEPOINT lazily: `begin_nested()` creates the nested SessionTransaction at
once, but the statement goes out only when the session next needs its connection. The tree
records which transactions have really begun on the database (`after_begin`) and the
savepoint's SQL name, taken from the statement itself.

Two things surprise people, and the tree says them in the step's messages: a savepoint that
ended before SQLAlchemy sent it left no trace on the database (it is kept in `unsent_rows`
while its transaction lasts), and `nested.rollback()` ends the savepoint where SQL's
`ROLLBACK TO` keeps it open.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin
from sqlalchemy.orm.session import SessionTransactionState

from playground.engine.snapshot import Notice, TransactionRow
from playground.engine.states import TransactionState

MAX_UNSENT = 5  # savepoints ended unsent that the tree still shows, per transaction


def is_failed(trans: SessionTransaction) -> bool:
    """Whether `trans` was deactivated by an error and only a rollback goes on.

    `is_active` is also False for a moment inside a step, while the transaction gets its
    connection or commits; a snapshot taken then (another session's countdown redraws while
    this one runs) must not call the transaction failed.
    """
    return trans._state is SessionTransactionState.DEACTIVE


@dataclass
class _Ended:
    """A savepoint that ended during a step, and the notice said about it (retracted if moot)."""

    label: str
    root: int
    notice: Notice
    messages: list[str]
    row: TransactionRow | None  # set when it ended without ever being sent
    sql_names: list[str]  # what it was called on the database (kept if ROLLBACK TO re-opens it)


class TransactionTree:
    """Names and emitted-ness of one session's transactions; rows for the Transactions panel.

    `messages` gives the list the current step's messages go to (None: say nothing); `bound`
    gives the namespace's names by object id, so that notices use the names the panel shows.
    """

    def __init__(
        self,
        session: Session,
        messages: Callable[[], list[str]] | None = None,
        bound: Callable[[], dict[int, list[str]]] | None = None,
    ) -> None:
        self.session = session
        self._messages = messages
        self._bound = bound or dict
        self._names: dict[int, str] = {}
        self._emitted: set[int] = set()
        self._sql_names: dict[int, str] = {}
        self._auto_names: dict[int, str] = {}
        self._auto = itertools.count(1)
        self._rolled_back: set[int] = set()  # transactions whose rollback is under way
        self._ended: list[_Ended] = []  # savepoints ended in the open root transaction, oldest first
        self._former_sql: dict[str, list[str]] = {}  # label → SQL names it had before ROLLBACK TO re-opened it
        self.last_savepoint_sql: str | None = None
        event.listen(session, "after_begin", self._after_begin)
        event.listen(session, "after_rollback", self._after_rollback)
        event.listen(session, "after_transaction_end", self._after_end)

    def _after_begin(self, session: Session, transaction: SessionTransaction, connection: Any) -> None:
        self._emitted.add(id(transaction))
        if transaction.nested and self.last_savepoint_sql:
            self._sql_names[id(transaction)] = self.last_savepoint_sql

    def _after_rollback(self, session: Session) -> None:
        # Fires while the transaction rolled back is still the current one (no argument names it).
        current = session.get_nested_transaction() or session.get_transaction()
        if current is not None:
            self._rolled_back.add(id(current))

    def _after_end(self, session: Session, transaction: SessionTransaction) -> None:
        ident = id(transaction)
        if transaction.nested:
            self._savepoint_ended(transaction)
        else:
            self._root_ended(ident)
        self._rolled_back.discard(ident)
        self._emitted.discard(ident)
        self._names.pop(ident, None)
        self._sql_names.pop(ident, None)
        self._auto_names.pop(ident, None)

    def _root(self, transaction: SessionTransaction) -> int:
        while transaction.parent is not None:
            transaction = transaction.parent
        return id(transaction)

    def _savepoint_ended(self, transaction: SessionTransaction) -> None:
        if self._messages is None or transaction.parent is None:
            return
        ident = id(transaction)
        label = self.label(transaction, self._bound())
        sql_name = self._sql_names.get(ident)
        sql_names = [*self._former_sql.pop(label, ()), *([sql_name] if sql_name else [])]
        rolled_back = ident in self._rolled_back
        if ident not in self._emitted:
            how = TransactionState.ROLLED_BACK if rolled_back else TransactionState.RELEASED
            row = TransactionRow(label, True, transaction.origin.name, how, False, 1)
            said = "ROLLBACK TO" if rolled_back else "RELEASE"
            notice = Notice(
                f"savepoint {label} {how} without ever being sent: SQLAlchemy sends SAVEPOINT only with the "
                f"session's next statement, so the database saw neither SAVEPOINT nor {said}",
                topic="savepoint-never-sent",
                subject=label,
            )
        elif rolled_back:
            row = None
            notice = Notice(
                f"savepoint {label} ({sql_name}) rolled back and ended: a nested transaction's rollback() ends it, "
                f"where SQL's ROLLBACK TO {sql_name} (\\rollback-to, F5) keeps it open",
                topic="savepoint-ended",
                subject=label,
            )
        else:
            return
        messages = self._messages()
        messages.append(notice)
        self._ended.append(_Ended(label, self._root(transaction), notice, messages, row, sql_names))

    def _root_ended(self, ident: int) -> None:
        # Savepoints ended by the end of their whole transaction need no notice of their own.
        for ended in self._ended:
            if ended.root == ident and self._messages is not None and ended.messages is self._messages():
                _remove(ended.messages, ended.notice)
        self._ended = [e for e in self._ended if e.root != ident]
        self._former_sql.clear()

    def saw_savepoint_sql(self, statement: str) -> None:
        """Called for every SAVEPOINT statement the session's connection sends."""
        parts = statement.split()
        if len(parts) >= 2 and parts[0].upper() == "SAVEPOINT":
            self.last_savepoint_sql = parts[1].strip('"`')

    def name(self, transaction: SessionTransaction, name: str | None = None) -> str:
        """Give a savepoint the user's `name` (SAVEPOINT x, \\savepoint x); returns its label."""
        if name is not None:
            self._names[id(transaction)] = name
            self._reopened(name)
        return self.label(transaction, {})

    def _reopened(self, label: str) -> None:
        """`ROLLBACK TO label` ended the savepoint and opened it again: what was said of its end is moot."""
        current = self._messages() if self._messages is not None else None
        for ended in [e for e in self._ended if e.label == label and e.messages is current]:
            _remove(ended.messages, ended.notice)
            self._ended.remove(ended)
            # `ROLLBACK TO sa_savepoint_1` must still find it once SQLAlchemy names it anew.
            self._former_sql.setdefault(label, []).extend(ended.sql_names)

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

    def sql_names(self, transaction: SessionTransaction, bound: dict[int, list[str]]) -> set[str]:
        """Every SQL name the savepoint answers to: its own, and those it had before ROLLBACK TO re-opened it."""
        names = set(self._former_sql.get(self.label(transaction, bound), ()))
        own = self._sql_names.get(id(transaction))
        if own:
            names.add(own)
        return names

    def find(self, name: str, bound: dict[int, list[str]]) -> SessionTransaction | None:
        """The open nested transaction known as `name` (shown name, Python name or SQL name)."""
        for trans in reversed(self.chain()):
            if not trans.nested:
                continue
            known = {self.label(trans, bound), *self.sql_names(trans, bound), *bound.get(id(trans), ())}
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
                    state=TransactionState.INACTIVE if is_failed(trans) else TransactionState.ACTIVE,
                    emitted=id(trans) in self._emitted,
                    depth=depth,
                    sql_name=self._sql_names.get(id(trans)),
                )
            )
        return rows

    def unsent_rows(self) -> list[TransactionRow]:
        """Savepoints of the open transaction that ended without ever being sent, latest last."""
        chain = self.chain()
        if not chain:
            return []
        root = id(chain[0])
        return [e.row for e in self._ended if e.row is not None and e.root == root][-MAX_UNSENT:]


def _remove(messages: list[str], notice: Notice) -> None:
    for i, message in enumerate(messages):
        if message is notice:
            del messages[i]
            return
