"""What a step reports is what the input did: DML results, SQL vs Python, control characters."""

from __future__ import annotations

import pytest

from playground.engine import Workspace
from tests.conftest import committed_rows, ok

# -- a Python step whose last expression is a DML session.execute(...) -----------------------

SYNCHRONIZE = ["'auto'", "'fetch'", "'evaluate'", "False"]

# (the call, as the step's last expression; SQL that reads what it changed; those rows after commit)
DML_CASES = [
    ('session.execute(text("update items set stock = 9 where id = 1"))', "select stock from items where id = 1", [(9,)]),
    *[
        (f"session.execute(update(Item).where(Item.id == 1).values(stock={20 + n}), "
         f"execution_options={{'synchronize_session': {sync}}})", "select stock from items where id = 1", [(20 + n,)])
        for n, sync in enumerate(SYNCHRONIZE)
    ],
    *[
        (f"session.execute(delete(Job).where(Job.id == {n + 1}), execution_options={{'synchronize_session': {sync}}})",
         f"select count(*) from jobs where id = {n + 1}", [(0,)])
        for n, sync in enumerate(SYNCHRONIZE[:3])
    ],
    ("session.execute(delete(Item).where(Item.id == 3), execution_options={'synchronize_session': False})",
     "select count(*) from items where id = 3", [(0,)]),
    ('session.execute(insert(Job).values(payload="p"))', "select count(*) from jobs where payload = 'p'", [(1,)]),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_shows_its_row_count_and_is_applied(any_workspace: Workspace, mode):
    ws = any_workspace
    await ok(ws, "A", f"\\mode {mode}")
    prefix = "await " if mode == "async" else ""
    for call, check, after in DML_CASES:
        # An object in the identity map gives the synchronize_session strategies something to do.
        result = await ws.run("A", f"i = {prefix}session.get(Item, 1)\n{prefix}{call}")
        assert result.status == "ok", f"{call}: {result.error}"
        assert "1 row affected" in result.messages, f"{call}: {result.messages}"
        assert result.rows is None and result.value is None
        await ok(ws, "A", "commit")
        assert await committed_rows(ws, check) == after, call


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_counts_every_row_it_changed(any_workspace: Workspace, mode):
    ws = any_workspace
    await ok(ws, "A", f"\\mode {mode}")
    prefix = "await " if mode == "async" else ""
    result = await ok(ws, "A", f"{prefix}session.execute(update(Job).values(taken_by='A'))")
    assert "3 rows affected" in result.messages
    result = await ok(ws, "A", f'{prefix}session.execute(text("delete from jobs where id > 1"))')
    assert "2 rows affected" in result.messages
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select id, taken_by from jobs") == [(1, "A")]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_with_returning_shows_its_rows(any_workspace: Workspace, mode):
    ws = any_workspace
    await ok(ws, "A", f"\\mode {mode}")
    prefix = "await " if mode == "async" else ""
    result = await ok(ws, "A", f'{prefix}session.execute(insert(Job).values(payload="r").returning(Job.payload))')
    assert result.columns == ("payload",) and result.rows == (("r",),)
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select payload from jobs where payload = 'r'") == [("r",)]


async def test_a_bulk_insert_through_python_is_applied(any_workspace: Workspace):
    ws = any_workspace
    await ok(ws, "A", 'session.execute(insert(Job), [{"payload": "x"}, {"payload": "y"}])')
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select payload from jobs where payload in ('x', 'y') order by payload") == [("x",), ("y",)]
