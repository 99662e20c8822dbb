"""Snapshots are incremental: a step that touched one object renders one row, and the cached
rows always equal rows rendered from scratch."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.demo.kit import DEMO_KIT
from playground.engine import Workspace
from tests.conftest import ok

MANY = 2000


async def _fill(ws: Workspace, n: int) -> None:
    values = ", ".join(f"({i}, 'item {i}', {i})" for i in range(100, 100 + n))
    await ok(ws, "A", f"insert into items (id, name, stock) values {values}")
    await ok(ws, "A", "commit")
    await ok(ws, "A", "items_held = session.scalars(select(Item)).all()")


def _fresh_rows(ws: Workspace, name: str):
    """Rows rendered again for every object, ignoring the cache."""
    tracker = ws.sessions[name].tracker
    tracker._dirty |= set(tracker._entries)
    return tracker.rows()


async def test_a_step_that_changes_one_object_renders_one_row(workspace):
    ws = workspace
    await _fill(ws, MANY)
    tracker = ws.sessions["A"].tracker
    first = ws.snapshot().session("A")
    assert len(first.objects) >= MANY
    target = (await ok(ws, "A", "items_held[7].id")).plain_value
    ws.snapshot()
    before = tracker.visits
    await ok(ws, "A", "items_held[7].stock = 999")
    snap = ws.snapshot().session("A")
    visited = tracker.visits - before
    assert 1 <= visited <= 3, f"{visited} rows rendered for a one-object change"
    changed = [row for row in snap.objects if row.modified]
    # _fill gives item i the stock i: the one changed row is that item, with its old and new stock.
    assert [(row.cls, row.identity, row.values, row.modified) for row in changed] == [
        ("Item", (target,), (target, f"item {target}", 999), (("stock", str(target), "999"),))]
    # A second snapshot with nothing changed renders nothing.
    before = tracker.visits
    ws.snapshot()
    assert tracker.visits == before


async def test_commit_expires_everything_so_every_row_is_rendered_again(workspace):
    ws = workspace
    await _fill(ws, 300)
    tracker = ws.sessions["A"].tracker
    ws.snapshot()
    before = tracker.visits
    await ok(ws, "A", "commit")
    snap = ws.snapshot().session("A")
    assert tracker.visits - before >= 300
    assert all(row.expired for row in snap.objects if row.cls == "Item")


OPERATIONS = [
    "u = session.get(User, 1)",
    "u.name = 'n' + str(len(u.name))",
    "session.add(Item(name='new', stock=1))",
    "session.flush()",
    "\\savepoint",
    "\\rollback-to",
    "\\release",
    "session.expunge(u)",
    "session.add(u)",
    "session.delete(session.get(Job, 1))",
    "session.commit()",
    "session.rollback()",
    "session.expire_all()",
    "session.refresh(u)",
    "acct = session.get(Account, 2); acct.balance += 1",
    "u.accounts.append(Account(balance=5))",
    "items = session.scalars(select(Item)).all()",
    "del items",
    "session.close()",
    "x = User(name='t')",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=12))
def test_cached_rows_always_equal_rows_rendered_from_scratch(steps):
    async def run() -> None:
        ws = await Workspace.open(DEMO_KIT, sessions=("A",))
        try:
            for text in steps:
                await ws.run("A", text)
                incremental = ws.snapshot().session("A").objects
                assert incremental == _fresh_rows(ws, "A"), f"after {text!r}"
        finally:
            await ws.close()

    asyncio.run(run())
