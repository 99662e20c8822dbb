"""A scenario opened in the app on the user's SQLite file runs on a temporary file, and says so.

A scenario's setup drops and creates tables (and one without a setup creates the demo schema):
on a server the app gives it a schema or database of its own, but a SQLite file has none, so
its tables would be the user's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from playground.matrix import SUITE
from playground.matrix.run import Column
from playground.ui.opening import scenario_url
from playground.ui.views.matrix_view import MatrixView
from tests.ui.conftest import caught_up, demo_step, palette, palette_watch, run_in, until

SIZE = (160, 50)
DESTRUCTIVE = "matrix_g1a"  # setup: drop table if exists test; create table test …; teardown: drop table test
DEMO_SCHEMA = "flush_is_not_commit"  # no setup: the demo schema and rows


def user_file(folder: Path) -> Path:
    """The user's own SQLite file: a table `test` (the name the scenario drops) and one of its own."""
    path = folder / "mine.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "create table test (id int primary key, value int);"
            "insert into test (id, value) values (1, 1000), (3, 3000);"
            "create table notes (body text); insert into notes values ('keep me');"
        )
    conn.close()
    return path


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every table of the file and its rows, in order."""
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        found = {table: conn.execute(f'select * from "{table}" order by 1').fetchall() for table in tables}
    conn.close()
    return found


async def open_from(pilot, opened, entry: str, scenario: str) -> None:
    """Open `scenario` as a user does: `--scenario` (already open at start), the command palette, or
    Enter on a matrix cell (a cell of the app's database, whose matrix ran where `scenario_url` said)."""
    app = pilot.app
    await caught_up(pilot)
    if entry == "palette":
        await palette(pilot, opened, f"Open scenario: {scenario}")
    elif entry == "matrix cell":
        test = next(t for t in SUITE if t.scenario == scenario)
        column = Column(scenario_url(app.config.url), "sqlite", "3", "SERIALIZABLE", "delete")
        app.matrix.post_message(MatrixView.CellChosen(app.matrix, column, test, None))
    await until(pilot, lambda: app.demo is not None and app.demo.scenario.source.endswith(f"{scenario}.txp"))
    await caught_up(pilot)


@pytest.mark.parametrize("entry", ["--scenario", "palette", "matrix cell"])
async def test_a_destructive_setup_leaves_the_user_s_file_as_it_was(app_factory, tmp_path, entry):
    mine = user_file(tmp_path)
    before = contents(mine)
    url = f"sqlite:///{mine}"
    app = app_factory(url=url, scenario=DESTRUCTIVE) if entry == "--scenario" else app_factory(url=url, demo=False)
    opened, hook = palette_watch()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await open_from(pilot, opened, entry, DESTRUCTIVE)
        assert Path(app.workspace.backend.url.database).resolve() != mine.resolve()
        assert f"not on sqlite:///{mine}" in str(app.status_line.content)
        for _ in app.scenario.steps:
            await demo_step(pilot)
        assert "0 failed" in str(app.banner.content)
        # The sessions see the scenario's rows, not the user's.
        assert (await run_in(pilot, "T1", "select id, value from test order by id")).rows == ((1, 10), (2, 20))
        assert contents(mine) == before
    assert contents(mine) == before


async def test_a_scenario_without_setup_does_not_put_the_demo_schema_in_the_user_s_file(app_factory, tmp_path):
    mine = user_file(tmp_path)
    before = contents(mine)
    app = app_factory(url=f"sqlite:///{mine}", scenario=DEMO_SCHEMA)
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        await demo_step(pilot)
        assert (await run_in(pilot, "B", "select count(*) from users")).rows[0][0] > 0
    assert contents(mine) == before


async def test_a_server_s_scenario_still_runs_on_the_server(app_factory):
    from tests.conftest import server_url

    url = server_url("postgresql")
    app = app_factory(url=url, scenario=DESTRUCTIVE)
    async with app.run_test(size=SIZE) as pilot:
        await caught_up(pilot)
        assert app.workspace.backend.name == "postgresql" and app.workspace.backend.namespace.startswith("txplay_")
        assert "not on" not in str(app.status_line.content)
