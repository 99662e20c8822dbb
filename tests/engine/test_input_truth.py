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


# -- control characters: refused before anything is sent -------------------------------------

CONTROL_INPUTS = [
    pytest.param("select 1\x01 + 2", "U+0001 (SOH) at line 1, column 9", id="sql"),
    pytest.param("insert into items (id, name, stock) values (20, 'x\x1b[31m', 1)", "U+001B (ESC)", id="sql-in-a-literal"),
    pytest.param("select 1\x00", "U+0000 (NUL)", id="nul-sql"),
    pytest.param("session.add(Item(id=20, name='x', stock=1))\x07", "U+0007 (BEL) at line 1, column 44", id="python"),
    pytest.param("x = 1\x00", "U+0000 (NUL)", id="nul-python"),
    pytest.param("session.add(Item(id=20, name='x', stock=1))\nsession.flush()\n\x0c", "U+000C (FF) at line 3, column 1",
                 id="python-block"),
    pytest.param("for n in range(2):\n    session.execute(text('select 1'))\x85\n", "U+0085 (C1 control) at line 2", id="c1"),
    pytest.param("\\begin\x01", "U+0001", id="command"),
    pytest.param("\\savepoint\x1fsp", "U+001F (US)", id="command-split-on-unit-separator"),
    pytest.param("\\cancel\x1c", "U+001C (FS)", id="cancel-command"),
    pytest.param("select 1\x7f", "U+007F (DEL)", id="del"),
    pytest.param("\x01\x02\x03", "(and 2 more)", id="only-control-characters"),
]


@pytest.mark.parametrize(("text", "where"), CONTROL_INPUTS)
@pytest.mark.parametrize("in_transaction", [False, True], ids=["idle", "in-transaction"])
async def test_a_control_character_is_refused_and_nothing_runs(workspace: Workspace, text, where, in_transaction):
    ws = workspace
    if in_transaction:
        await ok(ws, "A", "update items set stock = 5 where id = 1")
    before = ws.snapshot().session("A")

    result = await ws.run("A", text)

    assert result.status == "error" and result.error is not None
    assert result.error.type == "txplay"
    assert "control character" in result.error.message and where in result.error.message, result.error.message
    assert "nothing ran" in result.error.message
    assert result.sql == ()
    after = ws.snapshot().session("A")
    assert (after.status, after.badge, after.transactions, after.objects) == (
        before.status, before.badge, before.transactions, before.objects)
    assert "x" not in ws.sessions["A"].namespace
    assert await committed_rows(ws, "select count(*) from items where id = 20") == [(0,)]


@pytest.mark.parametrize("text", ["select 1\t+ 2", "select 1\r\n + 2", "x = 1\r\nx\t+ 1"])
async def test_tab_newline_and_carriage_return_are_allowed(workspace: Workspace, text):
    result = await ok(workspace, "A", text)
    assert result.rows == ((3,),) or result.raw_value == 2


async def test_the_headless_runner_refuses_a_control_character():
    from playground.scenario import parse, run_scenario

    text = "title: control\nsessions: A\n\nA: select 1\x01 + 2\n=> error txplay: the input holds the control character U+0001\n"
    report = await run_scenario(parse(text, "control.txp"))
    assert report.exit_code == 0, report.events
    step = next(event for event in report.events if event["event"] == "step")
    assert step["status"] == "error" and step["sql"] == []
