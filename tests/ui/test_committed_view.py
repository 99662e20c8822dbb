"""The committed-data view pages through a big table: only what is on screen is read and held."""

from __future__ import annotations

import pytest

from tests.ui.conftest import run_in, show_big_table

ROWS = 5000


async def _settle(pilot) -> None:
    """Wait for scrolling to end, for the committed data to be re-read and for the rows on screen."""
    await pilot.wait_for_scheduled_animations()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.committed.rows.settled.wait()
    await pilot.pause()


def _shown(view) -> list[str]:
    return [view.line_text(y) for y in range(view.size.height)]


@pytest.mark.slow
async def test_scrolled_end_to_end_reading_only_pages_on_screen(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        view = await show_big_table(pilot, ROWS)
        lines = _shown(view)
        assert lines[0].split() == ["#", "id", "v", "note"]
        assert lines[1].split()[:4] == ["1", "1", "row", "1"]
        view.focus()
        await pilot.press("end")
        await _settle(pilot)
        last = [line for line in _shown(view) if line][-1]
        assert last.split()[:4] == [str(ROWS), str(ROWS), "row", str(ROWS)]
        assert "…" not in "".join(_shown(view))
        # Scrolling page by page through the middle reads each page once and keeps a few.
        assert len(view.reads) <= 8, f"End read pages on the way: {view.reads}"
        await pilot.press("home")
        await _settle(pilot)
        before = len(view.reads)
        for _ in range(40):
            await pilot.press("pagedown")
            await _settle(pilot)
            assert "…" not in "".join(_shown(view)), "rows on screen were not read"
        assert view.rows_held <= view.KEEP * view.PAGE
        assert all(limit == view.PAGE for _, limit in view.reads)
        scrolled = view.reads[before:]
        assert len(scrolled) == len(set(scrolled)), f"a page was read twice: {scrolled}"
        assert len(scrolled) <= 40 * view.size.height // view.PAGE + 2
        top = int(view.scroll_offset.y)
        assert _shown(view)[1].split()[0] == str(top + 1)


async def test_a_commit_shows_up_where_the_view_is_scrolled(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        view = await show_big_table(pilot, ROWS)
        view.scroll_to(0, 2999, animate=False, immediate=True)
        await _settle(pilot)
        assert _shown(view)[1].split()[:4] == ["3000", "3000", "row", "3000"]
        await run_in(pilot, "A", "update big set v = 'changed' where id = 3000")
        await _settle(pilot)
        assert _shown(view)[1].split()[:4] == ["3000", "3000", "row", "3000"], "uncommitted data shown"
        await run_in(pilot, "A", "commit")
        await _settle(pilot)
        assert int(view.scroll_offset.y) == 2999
        assert _shown(view)[1].split()[:3] == ["3000", "3000", "changed"]
        await run_in(pilot, "A", "delete from big where id > 10")
        await run_in(pilot, "A", "commit")
        await _settle(pilot)
        assert view.total == 10
        assert str(app.committed.status.content) == "big: 10 committed row(s)"


async def test_a_step_that_commits_nothing_redraws_nothing(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        view = await show_big_table(pilot, ROWS)
        redraws: list[object] = []
        original = view.refresh
        view.refresh = lambda *a, **k: (redraws.append(a), original(*a, **k))[1]
        reads = len(view.reads)
        await run_in(pilot, "A", "update big set v = 'changed' where id = 1")
        await run_in(pilot, "B", "select count(*) from big")
        await run_in(pilot, "B", "rollback")  # B's read lock would hold A's commit back
        await _settle(pilot)
        assert len(view.reads) > reads, "the committed data was not read again after the steps"
        assert redraws == [], "the view was redrawn though the committed rows on screen did not change"
        await run_in(pilot, "A", "commit")
        await _settle(pilot)
        assert redraws, "a commit that changed a row on screen was not drawn"
        assert _shown(view)[1].split()[:3] == ["1", "1", "changed"]


async def test_cells_with_control_characters_stay_on_one_line(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        await app.workspace.run_outside("create table odd (id integer primary key, v text)")
        await app.workspace.run_outside("insert into odd values (1, 'a' || char(10) || 'b' || char(9) || 'c'), (2, NULL)")
        app.committed.reread(tables=True)
        await app.workers.wait_for_complete()
        app.committed.select.value = "odd"
        await _settle(pilot)
        view = app.committed.rows
        assert _shown(view)[1].split() == ["1", "1", "a\\nb\\tc"]
        assert _shown(view)[2].split() == ["2", "2", "NULL"]


async def test_a_step_that_only_reads_does_not_read_the_committed_data_again(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        view = await show_big_table(pilot, ROWS)
        reads = len(view.reads)
        await run_in(pilot, "B", "select count(*) from big")
        await run_in(pilot, "B", "x = session.execute(text('select 1')).all()")
        await run_in(pilot, "B", "1 + 1")
        await _settle(pilot)
        assert len(view.reads) == reads, "a step that only read made the committed view read again"
        await run_in(pilot, "B", "rollback")  # may release a lock a read was held back by: read again
        await _settle(pilot)
        assert len(view.reads) > reads
