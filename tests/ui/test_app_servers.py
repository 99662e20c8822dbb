"""The app on PostgreSQL and MariaDB: the demo schema goes into txplay_demo, waits show the holder."""

from __future__ import annotations

import pytest

from playground.demo.kit import DEMO_KIT

from tests.conftest import server_url
from tests.ui.conftest import caught_up, run_in, step_done, type_in

# These tests share the server's txplay_demo schema/database: one worker runs them in turn
# (on MariaDB, the one that runs every MySQL test: tests/conftest.py).
ON_SERVERS = [pytest.param("postgresql", marks=pytest.mark.xdist_group("txplay_demo")), "mysql"]


@pytest.mark.parametrize("backend", ON_SERVERS)
async def test_app_on_a_server_waits_and_shows_the_holder(app_factory, backend):
    url = server_url(backend)
    app = app_factory(url=url, demo=True, reset_demo=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        ws = app.workspace
        assert ws is not None and ws.backend.namespace == "txplay_demo"
        assert "txplay_demo" in ws.backend.session_url.render_as_string() or backend == "postgresql"
        result = await run_in(pilot, "A", "update items set stock = stock - 1 where id = 1")
        assert result.status == "ok", result.error
        await type_in(pilot, "B", "update items set stock = stock - 2 where id = 1")
        waiting = ws.handle(ws.last_index)
        await caught_up(pilot)
        assert waiting.wait is not None and waiting.wait.holders == ("A",)
        assert app.pane("B").snapshot.status == "waiting"
        await run_in(pilot, "A", "rollback")
        await step_done(pilot, waiting.index)
        assert waiting.result.status == "ok"
        await run_in(pilot, "B", "rollback")
        data = await ws.committed("items")
        assert data.error is None and data.total == 3


@pytest.mark.parametrize("backend", ON_SERVERS)
async def test_quitting_while_a_statement_waits_ends_the_app_and_leaves_no_connection(app_factory, backend):
    from playground.engine import Workspace

    url = server_url(backend)
    app = app_factory(url=url, demo=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        ws = app.workspace
        await run_in(pilot, "A", "update items set stock = 0 where id = 2")
        await type_in(pilot, "B", "update items set stock = 1 where id = 2")
        await ws.settle()
        waiting = ws.handle(ws.last_index)
        assert waiting.wait is not None
        ids = {ps.server_id for ps in ws.sessions.values()}
        # How long quitting takes is a benchmark figure (tests/bench/run.py, "quit while waiting").
        await app.action_quit()
    assert ws.closed and waiting.done.is_set(), "the app ended with its workspace open or a step still running"
    observer = await Workspace.open(DEMO_KIT, url, sessions=("O",), demo=False)
    try:
        listing = ("select pid from pg_stat_activity" if backend == "postgresql"
                   else "select id from information_schema.PROCESSLIST")
        alive = {row[0] for row in (await observer.run("O", listing)).rows}
    finally:
        await observer.close()
    assert not alive & ids
