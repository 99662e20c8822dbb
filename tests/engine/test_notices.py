"""What surprises people, said where it happens: objects the Session let go, isolation levels
that change nothing."""

from __future__ import annotations

from tests.conftest import ok


async def test_object_nothing_references_vanishes_with_a_notice_and_the_way_to_keep_it(workspace):
    result = await ok(workspace, "A", "session.add(User(name='zed', email='z@example.com')); session.flush()")
    said = [m for m in result.messages if getattr(m, "topic", None) == "object-vanished"]
    assert len(said) == 1 and "User(4) left the Objects panel" in said[0]
    assert "u = session.get(User, 4)" in said[0]
    snap = workspace.snapshot().session("A")
    assert snap.vanished == ("User(4)",)
    assert all(row.identity != (4,) for row in snap.objects)
    # Kept with a name, it stays; loaded again, it is no longer "vanished".
    await ok(workspace, "A", "u = session.get(User, 4)")
    snap = workspace.snapshot().session("A")
    assert snap.vanished == ()
    assert any(row.identity == (4,) and row.names == ("u",) for row in snap.objects)


async def test_object_bound_to_a_name_gives_no_notice(workspace):
    result = await ok(workspace, "A", "u = session.get(User, 1)")
    assert not [m for m in result.messages if getattr(m, "topic", None) == "object-vanished"]
    assert workspace.snapshot().session("A").vanished == ()


async def test_sqlite_read_uncommitted_says_it_changes_nothing(workspace):
    result = await ok(workspace, "A", "\\isolation read uncommitted")
    assert any("changes nothing" in m and "shared" in m for m in result.messages)
    result = await ok(workspace, "A", "\\isolation serializable")
    assert not any("changes nothing" in m for m in result.messages)


async def test_many_objects_that_vanish_in_one_step_get_one_notice(workspace):
    await ok(workspace, "A", "session.add_all([Job(id=100 + i, payload='p') for i in range(50)]); session.flush()")
    result = await ok(workspace, "A", "len(session.scalars(select(Job)).all())")
    said = [m for m in result.messages if getattr(m, "topic", None) == "object-vanished"]
    assert len(said) == 1
    assert "more objects left the Objects panel" in said[0]
    assert len(workspace.snapshot().session("A").vanished) == 3
