"""The app on a dialect txplay has no strategy for: it runs, and says there is no lock monitor."""

from __future__ import annotations

from sqlalchemy.dialects import registry

from tests.ui.conftest import caught_up, run_in

UNKNOWN = "txplaygenericui"
registry.register(f"{UNKNOWN}.aiosqlite", "sqlalchemy.dialects.sqlite.aiosqlite", "SQLiteDialect_aiosqlite")


async def test_the_pane_header_and_the_lock_graph_say_there_is_no_lock_monitor(app_factory, tmp_path):
    app = app_factory(url=f"{UNKNOWN}+aiosqlite:///{tmp_path / 'generic.db'}", demo=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        result = await run_in(pilot, "A", "select name from users where id = 2")
        assert result.rows == (("bob",),)
        assert f"{UNKNOWN} (no lock monitor)" in app.pane("A").header.plain
        app.bottom.active = "tab-locks"
        await run_in(pilot, "B", "select 1")
        await caught_up(pilot)
        drawn = str(app.bottom.lock_graph.body.render())
        assert drawn == f"no lock monitor for {UNKNOWN}: waits are not shown"
