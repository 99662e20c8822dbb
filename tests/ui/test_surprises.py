"""What surprises people, shown where it happens: savepoints never sent, their SQL names,
objects the Session let go."""

from __future__ import annotations

from tests.ui.conftest import caught_up, drawn, log_text, run_in


async def test_savepoint_shows_its_sql_name_and_one_never_sent_is_in_the_tree_and_timeline(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        a = app.pane("A")
        await run_in(pilot, "A", "select 1")
        await run_in(pilot, "A", "\\savepoint")
        await run_in(pilot, "A", "select 2")
        assert "sp1 (sa_savepoint_1)" in drawn(a.transactions)
        await run_in(pilot, "A", "n = session.begin_nested()")
        await run_in(pilot, "A", "n.rollback()")
        tree = drawn(a.transactions)
        assert "n rolled back · never sent" in tree
        assert "without ever being sent" in log_text(a)
        app.bottom.active = "tab-timeline"
        await caught_up(pilot)
        timeline = drawn(app.timeline)
        assert "n never sent" in timeline, timeline


async def test_nested_rollback_says_in_the_log_that_it_ended_the_savepoint(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        await run_in(pilot, "A", "m = session.begin_nested(); session.execute(text('select 1'))")
        await run_in(pilot, "A", "m.rollback()")
        text = log_text(app.pane("A"))
        assert "rolled back and ended" in text and "keeps it open" in text
        await run_in(pilot, "A", "\\savepoint")
        await run_in(pilot, "A", "select 1")
        await pilot.press("f5")
        await caught_up(pilot)
        assert "it is open again" in log_text(app.pane("A"))


async def test_an_object_nothing_references_is_said_gone_under_the_objects_panel(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        a = app.pane("A")
        await run_in(pilot, "A", "session.add(User(name='zed', email='z@example.com')); session.flush()")
        assert a.vanished.display
        said = drawn(a.vanished)
        assert "gone, unreferenced: User(4)" in said and "u = session.get(User, 4)" in said
        assert "User(4) left the Objects panel" in log_text(a)
        await run_in(pilot, "A", "u = session.get(User, 4)")
        assert not a.vanished.display
        assert "User(4) u" in a.objects.plain
