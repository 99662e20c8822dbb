"""What the tracker keeps per object, and for how long: entries leave with their objects, rows
keep the values they were built with, and rows of a class share what they have in common."""

from __future__ import annotations

import datetime
import enum
import gc
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import inspect

from playground.engine import Workspace, tracking
from playground.engine.snapshot import EXPIRED, UNLOADED, VALUE_WIDTH, ObjectRow, Shown, kept, short, shown
from playground.ui.render import object_line
from tests.conftest import ok


def tracker(ws: Workspace, session: str = "A") -> tracking.ObjectTracker:
    return ws.sessions[session].tracker


def rows(ws: Workspace, session: str = "A") -> tuple[ObjectRow, ...]:
    return ws.snapshot().session(session).objects


def items(ws: Workspace, session: str = "A") -> list[ObjectRow]:
    return [row for row in rows(ws, session) if row.cls == "Item"]


async def test_a_collected_object_leaves_the_tracker_and_its_row_goes(workspace):
    await ok(workspace, "A", "items = session.scalars(select(Item)).all()")
    assert len(items(workspace)) == 3
    assert len(tracker(workspace)._entries) == 3
    await ok(workspace, "A", "del items")
    gc.collect()
    assert tracker(workspace)._entries == {}
    assert items(workspace) == []


async def test_a_departed_object_is_held_until_cleared(workspace):
    await ok(workspace, "A", "u = session.get(User, 1)\nsession.expunge(u)\ndel u")
    gc.collect()
    [row] = rows(workspace)
    assert (row.cls, row.panel, row.cause) == ("User", "expunged", "expunge()")
    await ok(workspace, "A", "\\clear")
    gc.collect()
    assert rows(workspace) == ()
    assert tracker(workspace)._entries == {}


async def test_departed_objects_beyond_the_bound_are_let_go_oldest_first(workspace, monkeypatch):
    monkeypatch.setattr(tracking, "MAX_DEPARTED", 2)
    await ok(workspace, "A", "items = session.scalars(select(Item).order_by(Item.id)).all()")
    await ok(workspace, "A", "for i in items: session.expunge(i)")
    assert tracker(workspace).dropped == 1
    await ok(workspace, "A", "del items, i")
    gc.collect()
    assert [row.identity for row in items(workspace)] == [(2,), (3,)]


@pytest.mark.parametrize(("setup", "change", "then", "now"), [
    ("u = session.get(User, 1)", "u.name = 'changed'", "'ann'", "'changed'"),
    # A list changed in place: no event tells the session; the row kept its text.
    ("u = session.get(User, 1)\nu.name = ['a']", "u.name.append('b')\nu.email = 'x'", "['a']", "['a', 'b']"),
], ids=["assigned", "changed-in-place"])
async def test_a_row_keeps_the_values_it_was_built_with(workspace, setup, change, then, now):
    await ok(workspace, "A", setup)
    before = rows(workspace)[0]
    await ok(workspace, "A", change)
    after = rows(workspace)[0]
    assert ("name", then) in before.attrs
    assert then in object_line(before).plain
    assert ("name", now) in after.attrs


async def test_rows_of_a_class_share_their_kind_and_column_names(workspace):
    await ok(workspace, "A", "held = {'items': session.scalars(select(Item)).all()}")  # unnamed
    first, second, third = items(workspace)
    assert first.kind is second.kind is third.kind
    assert first.columns is second.columns
    assert first.columns == ("id", "name", "stock")
    await ok(workspace, "A", "session.commit()")
    first, second, third = items(workspace)
    assert first.kind is second.kind
    assert first.expired == ("id", "name", "stock")
    assert first.values == (EXPIRED, EXPIRED, EXPIRED)


async def test_a_named_row_has_its_own_kind(workspace):
    await ok(workspace, "A", "items = session.scalars(select(Item)).all()\nfirst = items[0]")
    named = [row for row in items(workspace) if "first" in row.names]
    assert len(named) == 1
    [row] = named
    assert row.names == ("items[0]", "first")
    others = [r for r in items(workspace) if r is not row]
    assert row.kind is not others[0].kind and row.cls == others[0].cls


async def test_building_rows_does_not_memoize_the_mapper_on_every_state(workspace):
    await ok(workspace, "A", "items = session.scalars(select(Item)).all()")
    rows(workspace)
    ns = workspace.sessions["A"].namespace
    assert all("mapper" not in inspect(item).__dict__ for item in ns["items"])


async def test_rows_are_slotted_and_their_json_is_built_once(workspace):
    await ok(workspace, "A", "u = session.get(User, 1)\nu.name = 'x'")
    [row] = rows(workspace)
    assert not hasattr(row, "__dict__")
    assert row.to_json() is row.to_json()
    assert row.to_json() == {
        "key": 1, "class": "User", "identity": [1], "names": ["u"], "state": "persistent", "panel": "persistent",
        "cause": None, "modified": {"name": ["'ann'", "'x'"]}, "expired": [],
    }


class Colour(enum.Enum):
    RED = "red"


class Shape(enum.Enum):
    BOX = ["mutable"]


class Name(str):
    pass


def test_values_that_cannot_change_are_kept_as_they_are():
    for value in (None, True, 7, 2.5, 1j, Decimal("1.10"), datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4),
                  datetime.time(1, 2), datetime.timedelta(seconds=3), uuid.UUID(int=5), "short", b"bytes", Colour.RED):
        assert kept(value) is value
        assert shown(kept(value)) == short(value)


def test_values_that_could_change_or_are_long_are_kept_as_text():
    items = ["a"]
    held = kept(items)
    items.append("b")
    assert (type(held), held) == (Shown, "['a']")
    assert shown(held) == "['a']"
    for value in ("x" * (VALUE_WIDTH + 1), b"x" * (VALUE_WIDTH + 1), Name("n"), Shape.BOX, {"a": 1}, (1, [2])):
        held = kept(value)
        assert type(held) is Shown and len(held) <= VALUE_WIDTH, value
    assert kept("x" * (VALUE_WIDTH + 1)).endswith("…")


def test_a_value_whose_repr_fails_is_shown_as_such():
    class Broken:
        def __repr__(self) -> str:
            raise ValueError

    assert kept(Broken()) == "<repr failed: ValueError>"


async def test_expired_and_unloaded_attributes_are_drawn_as_such(workspace):
    await ok(workspace, "A", "u = session.get(User, 1)\nsession.expire(u, ['name'])")
    [row] = rows(workspace)
    assert row.values[1] is EXPIRED
    assert "name=⟳ expired" in object_line(row).plain
    await ok(workspace, "A", "from sqlalchemy.orm import defer\nsession.expunge_all()\n"
                             "u = session.scalars(select(User).options(defer(User.email))).first()")
    [row] = [r for r in rows(workspace) if r.state == "persistent"]
    assert row.values[2] is UNLOADED
    assert ("email", "… unloaded") in row.attrs
    assert "email=… not loaded" in object_line(row).plain


async def test_a_name_moved_to_another_object_leaves_the_first_row(workspace):
    await ok(workspace, "A", "u = session.get(User, 1)\nsession.close()")
    rows(workspace)
    tracker(workspace)._dirty |= set(tracker(workspace)._entries)
    tracker(workspace).rows()  # rendered again without the namespace's objects
    await ok(workspace, "A", "u = session.get(User, 1)")
    old, new = rows(workspace)
    assert (old.state, old.names) == ("detached", ())
    assert (new.state, new.names) == ("persistent", ("u",))


async def test_rows_come_in_the_order_objects_were_first_seen(workspace):
    await ok(workspace, "A", "a = session.get(Item, 3)")
    await ok(workspace, "A", "b = session.get(Item, 1)")
    await ok(workspace, "A", "del a\nsession.expunge_all()")
    gc.collect()
    await ok(workspace, "A", "a = session.get(Item, 2)\nc = session.get(Item, 3)")
    assert [(row.key, row.identity) for row in rows(workspace)] == [(2, (1,)), (3, (2,)), (4, (3,))]


def test_expiring_the_state_of_a_collected_object_is_not_an_error():
    """A commit expires every state in the identity map, also one whose object the collector
    has just freed (its target is None then); the tracker's listeners must take that."""
    import gc

    from sqlalchemy import inspect

    from playground.demo import User
    from playground.engine.tracking import _install_global_listeners

    _install_global_listeners()
    user = User(name="gone")
    state = inspect(user)
    del user
    gc.collect()
    assert state.obj() is None
    state.manager.dispatch.expire(state, None)
