"""What the app redraws, and what it keeps: the log follows its end, lock countdowns redraw
only when their text changes, and panes are found again after one closes."""

from __future__ import annotations

from playground.ui import private_api
from tests.ui.conftest import caught_up, run_in, step_done


async def test_log_follows_its_end_and_shows_a_scrollbar_without_a_layout_per_line(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        log = app.pane("A").log_view
        for i in range(25):
            await run_in(pilot, "A", f"select {i}")
        await pilot.pause()
        assert log.max_scroll_y > 0
        assert log.scroll_y == log.max_scroll_y
        assert log.show_vertical_scrollbar
        assert any("select 24" in line.text for line in log.lines[-6:])
        assert log.vertical_scrollbar.window_virtual_size == log.virtual_size.height
        # A line that grows the log asks for no layout pass of the screen (the private override;
        # with TXPLAY_TEXTUAL_PRIVATE=0 it is Textual's own, which asks for one).
        await pilot.pause()
        assert not log._layout_required
        log.note("one more line")
        assert log._layout_required is not private_api.ENABLED
        await pilot.pause()
        assert log.vertical_scrollbar.window_virtual_size == log.virtual_size.height
        assert log.scroll_y == log.max_scroll_y


async def test_lock_countdown_redraws_only_when_its_text_changes(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        ws = app.workspace
        await run_in(pilot, "B", "\\timeout 30")
        await run_in(pilot, "A", "update items set stock = 7 where id = 1")
        waiting = ws.submit("B", "update items set stock = 6 where id = 1")
        await ws.settle()
        assert waiting.wait is not None
        panel = app.pane("B").locks
        drawn: list[object] = []
        original = panel.draw
        panel.draw = lambda renderable, key: (drawn.append(key), original(renderable, key))
        snapshot = ws.snapshot()
        session = snapshot.session("B")
        since = snapshot.locks[0].since
        panel.show(session, snapshot.locks, since + 1.0)
        panel.show(session, snapshot.locks, since + 1.02)
        assert len(drawn) == 1, "the same text was drawn twice"
        panel.show(session, snapshot.locks, since + 1.2)
        assert len(drawn) == 2, "a countdown that moved was not redrawn"
        await run_in(pilot, "A", "rollback")
        await step_done(pilot, waiting.index)


async def test_a_closed_pane_is_not_found_and_a_new_one_is(app_factory):
    app = app_factory()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        old = app.pane("B")
        assert old is not None and app.pane("B") is old
        old.input.focus()
        await pilot.press("ctrl+t")
        await caught_up(pilot)
        assert app.pane("B") is None
        await pilot.press("ctrl+n")
        await caught_up(pilot)
        opened = [name for name in app.workspace.sessions if name != "A"]
        assert len(opened) == 1
        pane = app.pane(opened[0])
        assert pane is not None and pane is not old and pane.parent is app.panes
        result = await run_in(pilot, opened[0], "select 1")
        assert result.status == "ok"


async def test_the_app_defers_full_collections_while_it_runs_and_gives_them_back_on_exit(app_factory):
    import gc

    from playground.ui.collector import NEVER

    saved = gc.get_threshold()
    app = app_factory()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert app.collector.installed
        assert gc.get_threshold()[2] == NEVER
        before = app.collector._last_activity
        await pilot.press("x")
        assert app.collector._last_activity > before, "a key press is activity"
        before = app.collector._last_activity
        await run_in(pilot, "A", "select 1")
        assert app.collector._last_activity > before, "a step is activity"
    assert not app.collector.installed
    assert gc.get_threshold() == saved


async def test_a_panes_log_keeps_a_bounded_scrollback(app_factory):
    """A long session's logs stop growing: each kept line holds its segments and Textual's caches."""
    from rich.text import Text

    from playground.ui.step_log import StepLog

    app = app_factory()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        log = app.pane("A").log_view
        for i in range(StepLog.KEPT_LINES * 3):
            log.put(Text(f"line {i}"))
        await pilot.pause()
        assert len(log.lines) <= 1000, len(log.lines)
        assert log.lines[-1].text.strip() == f"line {StepLog.KEPT_LINES * 3 - 1}"
