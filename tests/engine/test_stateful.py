"""A stateful random test: sessions do random things; txplay must keep telling the truth.

After every step: nothing crashed; every object row's state is what `inspect(obj)` says; the
transaction tree matches the Session's own; no connection is inside a transaction that its
Session has ended. At the end, after closing every session, no connection is checked out.
Runs on SQLite, and on PostgreSQL and MariaDB where they run.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import inspect
from sqlalchemy.orm import SessionTransactionOrigin

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from tests.conftest import server_url

EXAMPLES = int(os.environ.get("TXPLAY_STATEFUL_EXAMPLES", "200"))
SESSIONS = ("A", "B", "C")
INPUTS = [
    "insert into jobs (payload) values ('x')",
    "update items set stock = stock + 1 where id = 1",
    "delete from jobs where id = (select max(id) from jobs)",
    "select count(*) from items",
    "u = session.get(User, 1)",
    "u.name = u.name + '!'",
    "session.add(Item(name='n', stock=1))",
    "session.add(Item(name='bad', stock=-1)); session.flush()",
    "j = session.get(Job, 2)\nif j is not None:\n    session.delete(j)",
    "session.expunge_all()",
    "u = session.get(User, 2); session.refresh(u)",
    "session.flush()",
    "\\savepoint",
    "SAVEPOINT sp_x",
    "\\release",
    "RELEASE sp_x",
    "\\rollback-to",
    "ROLLBACK TO sp_x",
    "commit",
    "rollback",
    "\\isolation SERIALIZABLE",
    "selct nonsense",
    "1/0",
    "\\nosuch",
]


def _state(obj: object) -> str:
    st_ = inspect(obj)
    for name in ("transient", "pending", "persistent", "deleted", "detached"):
        if getattr(st_, name):
            return name
    raise AssertionError("no state")


class Playground(RuleBasedStateMachine):
    url: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.ws: Workspace | None = None
        self.closed: set[str] = set()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    @initialize()
    def open(self) -> None:
        self.ws = self.run(Workspace.open(DEMO_KIT, self.url, sessions=SESSIONS, isolate=True,
                                          defaults=SessionSettings(lock_timeout=0.3)))

    @rule(session=st.sampled_from(SESSIONS), text=st.sampled_from(INPUTS))
    def step(self, session: str, text: str) -> None:
        if session in self.closed:
            return
        result = self.run(self.ws.run(session, text))
        assert result.status in ("ok", "error")
        if result.error is not None:
            assert result.error.type and result.error.message is not None

    @rule(session=st.sampled_from(SESSIONS))
    def close_and_reopen(self, session: str) -> None:
        if session in self.closed:
            self.run(self.ws.add_session(session))
            self.closed.discard(session)
        else:
            self.run(self.ws.close_session(session))
            self.closed.add(session)

    @invariant()
    def panels_tell_the_truth(self) -> None:
        if self.ws is None:
            return
        snap = self.ws.snapshot()
        for name, ps in self.ws.sessions.items():
            session_snap = snap.session(name)
            by_key = {e.key: e() for e in ps.tracker._entries.values()}
            for row in session_snap.objects:
                obj = by_key.get(row.key)
                if obj is not None:
                    assert row.state == _state(obj), (name, row)
            # The incremental rows equal rows rendered from scratch.
            ps.tracker._dirty |= set(ps.tracker._entries)
            assert session_snap.objects == ps.tracker.rows(ps.names()[1]), name
            chain = []
            current = ps.sync.get_nested_transaction() or ps.sync.get_transaction()
            while current is not None:
                if current.origin is not SessionTransactionOrigin.SUBTRANSACTION:
                    chain.append(current)
                current = current.parent
            assert len(session_snap.transactions) == len(chain), (name, session_snap.transactions)
            assert [t.nested for t in session_snap.transactions] == [t.nested for t in reversed(chain)]
            if not ps.sync.in_transaction():
                assert session_snap.status == "idle"
                assert not ps.in_database_transaction(), f"{name}: connection inside a transaction its Session ended"

    def teardown(self) -> None:
        if self.ws is not None:
            sessions = list(self.ws.sessions.values())
            for name in list(self.ws.sessions):
                self.run(self.ws.close_session(name))
            for ps in sessions:
                assert ps.base_engine.sync_engine.pool.checkedout() == 0
            self.run(self.ws.close())
        self.loop.close()


def _machine(url: str | None):
    return type("PlaygroundOn", (Playground,), {"url": url})


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_random_use_keeps_the_panels_true(backend):
    url = None if backend == "sqlite" else server_url(backend)
    machine = _machine(url)
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
