"""Layout and moving around: zoom, the panels at 80×24, badges that stay readable, logs that
wrap again, the status line, F12 between panes, the keys in the footer and in F1."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tests.ui.conftest import caught_up, drawn, demo_step, log_text, run_in, type_in


def shown(widget) -> bool:
    """Whether `widget` takes room on screen now (displayed, with a region of its own)."""
    return widget.display and widget.region.height > 0 and widget.region.width > 0 and widget in widget.screen._compositor.visible_widgets


async def test_ctrl_g_zooms_the_focused_pane_and_back(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        a, b = app.pane("A"), app.pane("B")
        b.input.focus()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.maximized is b
        assert shown(b) and not shown(a)
        assert b.region.width == 80
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.maximized is None
        assert shown(a) and shown(b)
        assert app.focused is b.input


async def test_every_panel_is_reachable_at_80x24(app_factory):
    app = app_factory(scenario="flush_is_not_commit")
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        await demo_step(pilot)
        a = app.pane("A")
        # With the demo banner, 80×24 leaves the panels no room next to the log...
        assert not shown(a.objects)
        # ...ctrl+o gives them the pane, and a zoomed pane gives them the screen.
        await pilot.press("ctrl+o")
        await pilot.pause()
        for panel in (a.objects, a.transactions, a.locks):
            assert shown(panel), panel
        assert "transaction" in drawn(a.transactions)
        a.input.focus()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert a.objects.region.height >= 4 and shown(a.transactions) and shown(a.locks)
        await pilot.press("ctrl+g", "ctrl+o")
        await pilot.pause()
        assert not shown(a.objects) and shown(a.log_view)  # the log alone
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert shown(a.log_view)


async def test_the_views_across_panes_zoom_too(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        app.committed.select.focus()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.maximized is app.bottom
        assert app.committed.rows.region.height >= 15


async def test_badges_stay_readable_at_80x24(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        a = app.pane("A")
        await run_in(pilot, "A", "select 1")
        assert "in transaction" in a.header.plain
        await run_in(pilot, "A", "\\savepoint")
        assert "savepoint ×1" in a.header.plain
        assert a.header.render().cell_len <= a.header.size.width


async def test_badges_of_six_panes_at_200_columns_are_shortened_deliberately(app_factory):
    app = app_factory(sessions=6)
    async with app.run_test(size=(200, 50)) as pilot:
        await caught_up(pilot)
        await run_in(pilot, "A", "\\savepoint")
        await run_in(pilot, "A", "\\savepoint")
        await run_in(pilot, "B", "select 1")
        await run_in(pilot, "C", "update items set stock = 1 where id = 1")
        await type_in(pilot, "D", "update items set stock = 2 where id = 1")
        await caught_up(pilot)
        headers = {name: app.pane(name).header for name in "ABCDEF"}
        for header in headers.values():
            assert header.render().cell_len <= header.size.width
        assert "savepoint ×2" in headers["A"].plain or "sp×2" in headers["A"].plain
        assert "in transaction" in headers["B"].plain or "in txn" in headers["B"].plain
        assert "wait" in headers["D"].plain and headers["D"].plain.rstrip().endswith("C")
        assert "idle" in headers["F"].plain
        await run_in(pilot, "C", "rollback")


async def test_old_log_lines_wrap_again_on_resize(app_factory):
    app = app_factory()
    async with app.run_test(size=(200, 40)) as pilot:
        await caught_up(pilot)
        a = app.pane("A")
        await run_in(pilot, "A", "select '" + "x" * 60 + "' as a, '" + "y" * 60 + "' as b")
        before = len(a.log_view.lines)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        width = a.log_view.scrollable_content_region.width
        assert max(line.cell_length for line in a.log_view.lines) <= width
        assert len(a.log_view.lines) > before  # wrapped into more lines, nothing cut
        assert "x" * 20 in log_text(a).replace("\n", "")


async def test_status_line_forgets_a_closed_session_once_it_is_open_again(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot)
        app.pane("A").input.focus()
        await pilot.press("ctrl+t")
        await caught_up(pilot)
        assert "session A closed" in str(app.status_line.content)
        await pilot.press("ctrl+n")
        await caught_up(pilot)
        assert app.pane("A") is not None
        assert "closed" not in str(app.status_line.content)


async def test_f12_moves_between_panes_and_reaches_the_table_list(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot)
        a, b = app.pane("A"), app.pane("B")
        assert app.focused is a.input
        await pilot.press("f12")
        assert app.focused is b.input
        await pilot.press("f12")
        assert app.focused is app.committed.select
        # Pick another committed table without a mouse.
        first = app.committed.current
        await pilot.press("enter", "down", "enter")
        await caught_up(pilot)
        assert app.committed.current not in (None, first)
        assert app.committed.status.content.plain.startswith(app.committed.current) if hasattr(app.committed.status.content, "plain") else app.committed.current in str(app.committed.status.content)
        await pilot.press("f12")
        assert app.focused is a.input
        await pilot.press("shift+f12")
        assert app.focused is app.committed.select
        # A zoomed view follows the focus.
        await pilot.press("f12", "ctrl+g", "f12")
        await pilot.pause()
        assert app.screen.maximized is b and app.focused is b.input


async def test_the_palette_shows_a_table(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Table: users")
        await pilot.pause()
        await pilot.press("enter")
        await caught_up(pilot)
        assert app.committed.current == "users"


async def test_footer_shows_quit_and_next_pane_and_f1_lists_the_keys(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        footer = app.query_one(Footer)
        keys = {key.key: key for key in footer.query(FooterKey)}
        palette = footer.query_one(".-command-palette").region.x
        for key in ("ctrl+q", "f12", "ctrl+g", "ctrl+o"):  # quit, and what moves around, in sight at 80 columns
            assert keys[key].region.width > 0 and keys[key].region.right <= palette, key
        await pilot.press("f1")
        await caught_up(pilot)
        text = log_text(app.pane("A"))
        assert "Next pane" in text and "Quit" in text and "Zoom" in text and "\\savepoint" in text


async def test_closing_a_zoomed_pane_shows_the_others_again(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        app.pane("A").input.focus()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.maximized is app.pane("A")
        await pilot.press("ctrl+t")
        await caught_up(pilot)
        assert app.screen.maximized is None
        assert shown(app.pane("B")) and app.focused is app.pane("B").input


async def test_a_log_at_its_end_stays_at_its_end_when_it_wraps_again(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await caught_up(pilot)
        a = app.pane("A")
        for n in range(8):
            await run_in(pilot, "A", f"select {n} as n, '" + "w" * 50 + "' as wide")
        log = a.log_view
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        for size in ((200, 50), (80, 24), (120, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await caught_up(pilot)
            assert log.scroll_y == log.max_scroll_y, size  # the newest step is still in sight
            assert "select 7 as n" in drawn(log)  # the last step, not the first
