"""Helpers for driving the real app."""

from __future__ import annotations

import pytest

from playground.ui.app import make_app


@pytest.fixture
def app_factory(tmp_path):
    """Build the app exactly as `txplay` does, with history kept in a temporary folder."""

    def build(**kwargs):
        kwargs.setdefault("history_dir", tmp_path / "data")
        return make_app(**kwargs)

    return build


async def type_in(pilot, pane: str, text: str) -> None:
    """Focus a pane's input, type `text` and press Enter."""
    app = pilot.app
    app.pane(pane).input.focus()
    await pilot.pause()
    app.pane(pane).input.insert(text)
    await pilot.press("enter")


async def step_done(pilot, index: int) -> None:
    """Wait until step `index` has finished and the screen has caught up."""
    await pilot.app.workspace.handle(index).done.wait()
    await pilot.pause()
    await pilot.app.workspace.settle()
    await pilot.pause(0.05)


async def run_in(pilot, pane: str, text: str):
    """Type a step and wait for it to finish; returns its result."""
    await type_in(pilot, pane, text)
    ws = pilot.app.workspace
    index = ws.last_index
    await step_done(pilot, index)
    return ws.handle(index).result


async def show_big_table(pilot, rows: int):
    """Commit a table `big` of `rows` rows and show it in the committed-data view."""
    app = pilot.app
    ws = app.workspace
    await ws.run_outside("create table big (id integer primary key, v text, note text)")
    await ws.run_outside(
        f"insert into big (id, v, note) with recursive c(x) as (select 1 union all select x + 1 from c where x < {rows}) "
        "select x, 'row ' || x, hex(randomblob(8)) from c"
    )
    app.refresh_committed(tables=True)
    await app.workers.wait_for_complete()
    app.committed.select.value = "big"
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    view = app.committed.rows
    assert view.table == "big" and view.total == rows, (view.table, view.total)
    return view
