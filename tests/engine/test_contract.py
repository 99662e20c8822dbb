"""What crosses from the engine to the UI and the runner is plain data, never a live object.

A scripted run on each backend publishes events and snapshots; every value reachable from them
must be a dataclass of the contract (snapshot.py, events.py), an enum, or plain data. A value of
a step is copied (`plain_value`) when it is plain data, so an expectation still compares it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid

from playground.engine import events as contract_events
from playground.engine import snapshot as contract_snapshot
from playground.engine.events import StateChanged, StepFinished, StepStarted, StepWaiting
from playground.engine.snapshot import UNSET, Opaque, StepResult, plain_copy, plain_rows
from playground.engine.states import StepKind, StepStatus
from playground.engine import states
from tests.conftest import ok

LEAVES = (type(None), bool, int, float, complex, str, bytes, decimal.Decimal, datetime.date, datetime.time,
          datetime.timedelta, uuid.UUID, enum.Enum)
CONTRACT_MODULES = {contract_snapshot.__name__, contract_events.__name__}
# Fields that hold a private copy (a step's plain_copy, a row's own JSON): lists, dicts and sets are allowed there.
COPIES = {"plain_value", "_json"}


def live_values(value: object, path: str = "event", copy: bool = False) -> list[str]:
    """Where `value` holds anything but contract dataclasses, enums and plain data, as `path: type`."""
    if isinstance(value, LEAVES):
        return []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__module__ not in CONTRACT_MODULES or not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return [f"{path}: {type(value).__name__}"]
        found = []
        for f in dataclasses.fields(value):
            found += live_values(getattr(value, f.name), f"{path}.{f.name}", copy or f.name in COPIES)
        return found
    if isinstance(value, tuple) or (copy and isinstance(value, (list, set, frozenset))):
        return [p for i, item in enumerate(value) for p in live_values(item, f"{path}[{i}]", copy)]
    if copy and isinstance(value, dict):
        return [p for k, v in value.items() for p in live_values(k, f"{path} key", copy) + live_values(v, f"{path}[{k!r}]", copy)]
    return [f"{path}: {type(value).__name__}"]


SCRIPT = [
    ("A", "u = session.get(User, 1)"),
    ("A", "u"),  # a value that is an ORM object
    ("A", "session.execute(select(User).where(User.id < 3)).all()"),  # rows of ORM objects
    ("A", "session.execute(text('select id, name from users order by id')).all()"),
    ("A", "[1, 'two', {'three': (3,)}]"),
    ("A", "p = User(name='pat', email='pat@example.com'); session.add(p)"),
    ("A", "\\savepoint sp1"),
    ("A", "session.flush()"),
    ("A", "\\rollback-to sp1"),
    ("A", "select * from no_such_table"),
    ("A", "rollback"),
    ("B", "help"),
    ("A", "update items set stock = 9 where id = 1"),
]


async def test_every_event_and_snapshot_of_a_run_is_plain_data(any_workspace):
    ws = any_workspace
    published: list[object] = []
    _, first = ws.subscribe(published.append)
    assert [s.name for s in first.sessions] == ["A", "B"], "subscribe hands out the snapshot of now"
    published.append(StateChanged(first))
    for session, text in SCRIPT:
        await ws.run(session, text)
    waiting = ws.submit("B", "update items set stock = 8 where id = 1")
    await ws.settle()
    assert waiting.waiting, "B should wait on A's row lock"
    await ok(ws, "A", "commit")
    await waiting.done.wait()
    await ok(ws, "B", "commit")
    published.append(StateChanged(ws.snapshot()))

    found = [p for i, event in enumerate(published) for p in live_values(event, f"event {i} {type(event).__name__}")]
    assert found == []
    kinds = {type(e) for e in published}
    assert {StepStarted, StepWaiting, StepFinished, StateChanged} <= kinds
    # The ORM objects of the script reached the contract only as text.
    rows = next(e.result.rows for e in published if isinstance(e, StepFinished) and "select(User)" in e.result.input)
    assert rows is not None and all(isinstance(cell, Opaque) for row in rows for cell in row)


async def test_the_states_are_enums_with_the_transcripts_strings(any_workspace):
    ws = any_workspace
    started: list[StepStarted] = []
    ws.subscribe(lambda e: started.append(e) if isinstance(e, StepStarted) else None)
    await ok(ws, "A", "u = session.get(User, 1); n = User(name='nia', email='nia@example.com')")
    await ok(ws, "A", "\\savepoint")
    result = await ws.run("B", "select 1 from no_such_table")
    await ws.run("A", "")
    assert [e.kind for e in started] == [StepKind.PYTHON, StepKind.COMMAND, StepKind.SQL, StepKind.EMPTY]
    assert result.status is StepStatus.ERROR and result.kind is StepKind.SQL
    snap = ws.snapshot()
    a = snap.session("A")
    assert isinstance(a.status, states.SessionStatus) and a.status == "active"
    assert {row.state for row in a.objects} == {states.ObjectState.PERSISTENT, states.ObjectState.TRANSIENT}
    assert all(type(row.state) is states.ObjectState and type(row.panel) is states.Panel for row in a.objects)
    assert [type(t.state) for t in a.transactions] == [states.TransactionState, states.TransactionState]
    outcomes = [entry.outcome for entry in snap.timeline]
    assert all(type(o) is states.TimelineOutcome for o in outcomes)
    assert outcomes == ["ok", "ok", "error", "ok"]
    assert "✓" not in outcomes and "✗" not in outcomes  # glyphs are the UI's
    # The transcript's JSON holds the very strings it held before the enums.
    state = json.loads(json.dumps(a.to_json()))
    assert state["status"] == "active"
    assert sorted(o["state"] for o in state["objects"]) == ["persistent", "transient"]
    assert [t["state"] for t in state["transactions"]] == ["active", "active"]


async def test_a_step_value_is_a_copy_an_expectation_can_compare(workspace):
    result = await ok(workspace, "A", "xs = [1, 'a', (2.5, None)]; xs")
    await ok(workspace, "A", "xs.append('later')")
    assert result.plain_value == [1, "a", (2.5, None)]
    assert (await ok(workspace, "A", "session.execute(text('select 1, 2')).all()")).plain_value == [(1, 2)]
    assert (await ok(workspace, "A", "session.get(User, 1)")).plain_value is UNSET
    assert (await ok(workspace, "A", "[session.get(User, 1)]")).plain_value is UNSET


def test_plain_copy_copies_plain_data_and_refuses_the_rest():
    value = {"a": [1, decimal.Decimal("2.5")], "b": {3, 4}, "c": (datetime.date(2024, 1, 2), b"x")}
    copied = plain_copy(value)
    assert copied == value and copied is not value and copied["a"] is not value["a"]
    assert plain_copy([object()]) is UNSET
    assert plain_copy(list(range(20)), limit=10) is UNSET
    assert plain_copy(StepKind.SQL) is UNSET  # an enum is compared by its text, as any other object


def test_a_cell_that_is_not_plain_keeps_its_texts_and_equals_no_literal():
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

        def __str__(self) -> str:
            return "thing"

    ((cell, number),) = plain_rows([(Thing(), 1)])
    assert isinstance(cell, Opaque) and str(cell) == "thing" and cell.repr == "<Thing>"
    assert cell != "thing" and number == 1
    assert json.dumps([cell]) == '["thing"]'


def test_the_contract_walker_finds_a_planted_live_object():
    planted = StepResult(1, "A", "x", StepKind.PYTHON, StepStatus.OK, rows=((object(),),))
    assert live_values(planted) == ["event.rows[0][0]: object"]
    assert live_values(StepStarted(1, "A", "x", StepKind.SQL)) == []
    assert live_values(StepResult(1, "A", "x", StepKind.PYTHON, StepStatus.OK, messages=[])) == ["event.messages: list"]  # type: ignore[arg-type]
