"""The Matrix tab, driven through the real app: progress, cell by cell, refusal, stop, Enter on a cell."""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager

import pytest

from playground.matrix import SUITE, Verdict
from playground.matrix.run import Column, MatrixRun, cell_text
from playground.ui.opening import scenario_url
from playground.ui.keys import key_help
from tests.ui.conftest import TIMEOUT, caught_up, drawn, palette, palette_watch, run_in, until

SIZE = (160, 50)
REAL_RUN_TIMEOUT = 600.0  # the whole suite on SQLite, both journal modes: a guard, never waited out
COLUMNS = [Column(None, "sqlite", "3.40.1", level, "wal") for level in ("READ UNCOMMITTED", "SERIALIZABLE")]
TESTS = SUITE[:3]
CELLS = [Verdict(True, "wait", None, "T2 waited"), Verdict(False, "occurs", None, "T2 read 101"), "could not run: no"]


class GatedMatrix:
    """Stands in for `run_matrix`: the given columns, then one cell each time the test lets one through."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[None] | None = None
        self.started = threading.Event()
        self.cancelled = False
        self.cleaned_up = False

    async def __call__(self, urls, on_cell=None, tests=SUITE, on_columns=None):
        self.loop, self.queue = asyncio.get_running_loop(), asyncio.Queue()
        self.started.set()
        try:
            on_columns(COLUMNS)
            for index, (column, test) in enumerate((c, t) for c in COLUMNS for t in tests):
                await self.queue.get()
                on_cell(column, test, CELLS[index % len(CELLS)])
            return MatrixRun(list(COLUMNS))
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.cleaned_up = True  # where the real runner's scenarios roll back and drop their schemas

    async def let_through(self, count: int = 1) -> None:
        """Let `count` cells be decided (from the app's loop)."""
        await asyncio.wait_for(asyncio.to_thread(self.started.wait), TIMEOUT)
        assert self.loop is not None and self.queue is not None
        for _ in range(count):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


@pytest.fixture
def gated(monkeypatch) -> GatedMatrix:
    fake = GatedMatrix()
    monkeypatch.setattr("playground.ui.matrix_runner.run_matrix", fake)
    monkeypatch.setattr("playground.ui.views.matrix_view.SUITE", TESTS)
    return fake


@asynccontextmanager
async def running_matrix(app):
    """The app, its matrix started from the command palette; yields the pilot and the palette's opened event."""
    opened, hook = palette_watch()
    async with app.run_test(size=SIZE, message_hook=hook, notifications=True) as pilot:
        await caught_up(pilot)
        await palette(pilot, opened, "Run the isolation matrix")
        yield pilot, opened


def shown(view, test: str, column: Column) -> tuple[str, str]:
    """A cell's text and style as the table has it."""
    cell = view.table.get_cell(test, column.title)
    return cell.plain, str(cell.style)


async def test_the_tab_fills_in_cell_by_cell_with_a_progress_bar(app_factory, gated):
    app = app_factory()
    async with running_matrix(app) as (pilot, opened):
        view = app.matrix
        assert app.bottom.active == "tab-matrix"
        await until(pilot, lambda: view.progress.total is not None)
        total = len(TESTS) * len(COLUMNS)
        assert (view.progress.total, view.progress.progress) == (total, 0)
        assert all(shown(view, t.name, c)[0] == "·" for t in TESTS for c in COLUMNS)
        order = [(c, t) for c in COLUMNS for t in TESTS]
        styles = {"wait": "green", "OCCURS": "bold red", cell_text("could not run"): "yellow"}
        for done, (column, test) in enumerate(order, 1):
            await gated.let_through()
            await until(pilot, lambda done=done: len(view.cells) == done)
            assert view.progress.progress == done
            text, style = shown(view, test.name, column)
            assert text == cell_text(CELLS[(done - 1) % len(CELLS)]) and style == styles[text]
            assert [shown(view, t.name, c)[0] for c, t in order[done:]] == ["·"] * (total - done)
            assert f"{done}/{total} cells" in str(view.status.content) or done == total
        await asyncio.wait_for(view.ended.wait(), TIMEOUT)
        assert not view.running and "done: 6 of 6 cells" in str(view.status.content)
        assert "2 prevented, 2 OCCURS, 2 could not run" in str(view.status.content)


async def test_a_second_run_is_refused_and_stop_keeps_the_cells_measured(app_factory, gated):
    app = app_factory()
    async with running_matrix(app) as (pilot, opened):
        view = app.matrix
        await gated.let_through()
        await until(pilot, lambda: len(view.cells) == 1)
        await palette(pilot, opened, "Run the isolation matrix")
        assert any("already running" in n.message for n in app._notifications)
        assert view.running and len(view.cells) == 1 and view.progress.progress == 1
        await palette(pilot, opened, "Stop the matrix")
        await asyncio.wait_for(view.ended.wait(), TIMEOUT)
        assert gated.cancelled and gated.cleaned_up
        assert await view.runner.wait(TIMEOUT)
        assert "stopped after 1 of 6 cells" in str(view.status.content)
        assert shown(view, TESTS[0].name, COLUMNS[0])[0] == "wait"
        await palette(pilot, opened, "Stop the matrix")
        assert any("not running" in n.message for n in app._notifications)


async def test_closing_the_app_stops_the_run(app_factory, gated):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        app.action_run_matrix()
        await gated.let_through()
        await until(pilot, lambda: len(app.matrix.cells) == 1)
    assert gated.cancelled and gated.cleaned_up
    assert not app.matrix.runner.running


async def test_enter_on_a_cell_replays_its_test_at_its_level_in_demo_mode(app_factory, gated):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        app.action_run_matrix()
        await gated.let_through(len(TESTS) + 2)  # the first column, and the second's first two cells
        view = app.matrix
        await until(pilot, lambda: len(view.cells) == len(TESTS) + 2)
        view.table.focus()
        # G1a at READ UNCOMMITTED (WAL), an OCCURS: neither SQLite's default level nor its default journal mode
        view.table.move_cursor(row=1, column=2)
        await pilot.press("enter")
        await until(pilot, lambda: app.demo is not None)
        await caught_up(pilot)
        test, column = TESTS[1], COLUMNS[0]
        assert app.scenario.source == f"{test.scenario}.txp"
        assert {s.isolation for s in app.latest.sessions} == {column.level}
        assert app.workspace.journal_mode == "wal"
        banner = str(app.banner.content)
        assert f"at {column.level}" in banner and "the anomaly OCCURS. Evidence: T2 read 101" in banner
        assert app.scenario.description[:40] in banner
        await gated.let_through(1)
        await asyncio.wait_for(view.ended.wait(), TIMEOUT)  # the matrix ran on beside the demo


async def test_the_real_suite_on_sqlite_through_the_command_while_panes_stay_usable(app_factory):
    app = app_factory()
    async with running_matrix(app) as (pilot, opened):
        view = app.matrix
        await until(pilot, lambda: len(view.cells) >= 1, REAL_RUN_TIMEOUT)
        result = await run_in(pilot, "A", "select name from users where id = 2")
        assert result.rows == (("bob",),) and view.running  # a pane answers while the matrix runs
        await asyncio.wait_for(view.ended.wait(), REAL_RUN_TIMEOUT)
        assert [(c.backend, c.journal_mode) for c in view.columns][::2] == [("sqlite", "delete"), ("sqlite", "wal")]
        assert len(view.cells) == view.total == len(SUITE) * len(view.columns) == view.progress.progress
        assert not [cell for cell in view.cells.values() if isinstance(cell, str)]
        for (column, name), cell in view.cells.items():
            assert view.table.get_cell(name, column.title).plain == cell_text(cell)
        assert app.workspace.journal_mode == "delete"  # the app's own database was left as it was


def test_the_matrix_of_a_sqlite_file_runs_on_a_temporary_file_and_a_server_s_there():
    assert scenario_url(None) is None
    assert scenario_url("sqlite+aiosqlite:///mine.db") is None
    assert scenario_url("postgresql+asyncpg://127.0.0.1/test") == "postgresql+asyncpg://127.0.0.1/test"


async def test_stopping_a_run_on_postgresql_drops_the_schemas_it_made(app_factory, monkeypatch):
    import asyncpg

    import playground.scenario.runner as runner
    from playground.engine.backends.postgresql import PostgresBackend
    from tests.conftest import server_url

    url = server_url("postgresql")
    made: list[str] = []
    create, run_scenario = PostgresBackend.create_namespace, runner.run_scenario

    async def recorded(self, name, *args, **kwargs):
        made.append(name)
        return await create(self, name, *args, **kwargs)

    async def paced(*args, **kwargs):  # a second before each step: the stop lands while a cell's schema exists
        return await run_scenario(*args, **kwargs, pace=1.0)

    monkeypatch.setattr(PostgresBackend, "create_namespace", recorded)
    monkeypatch.setattr(runner, "run_scenario", paced)
    app = app_factory(url=url, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        made.clear()  # the app's own sessions' schema is not the matrix's
        app.action_run_matrix()
        view = app.matrix
        await until(pilot, lambda: len(made) >= 2 and view.columns, REAL_RUN_TIMEOUT)  # the levels read, a cell begun
        app.action_stop_matrix()
        await asyncio.wait_for(view.ended.wait(), TIMEOUT)
        assert "stopped after 0 of" in str(view.status.content)
        assert await view.runner.wait(TIMEOUT)
    conn = await asyncpg.connect(url)
    try:
        left = await conn.fetch("select nspname from pg_namespace where nspname = any($1::text[])", made)
    finally:
        await conn.close()
    assert not left, f"the stopped run left {[r[0] for r in left]}"


async def test_ctrl_l_runs_the_matrix_then_stops_it_and_f1_lists_it_outside_the_footer(app_factory, gated):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        await pilot.press("ctrl+l")
        view = app.matrix
        assert view.running and app.bottom.active == "tab-matrix"
        await gated.let_through(1)
        await until(pilot, lambda: len(view.cells) == 1)
        await pilot.press("ctrl+l")
        await asyncio.wait_for(view.ended.wait(), TIMEOUT)
        assert gated.cancelled and "stopped after 1 of" in str(view.status.content)
        assert any(line.split()[:3] == ["^l", "Isolation", "matrix:"] for line in key_help(app, demo=False))
        assert "matrix" not in drawn(app.footer).lower()
