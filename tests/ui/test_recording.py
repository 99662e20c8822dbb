"""Recording in the real app: save a session as a scenario, replay it headless, and step back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import server_url
from tests.ui.conftest import caught_up, demo_step, run_in, step_done, type_in

ITEMS = "select id, stock from items order by id"


def replay_cli(path: Path, url: str | None = None) -> tuple[int, list[dict]]:
    """`txplay run FILE --format json` in a process of its own: the exit code and the events."""
    args = [sys.executable, "-m", "playground", "run", str(path), "--format", "json"]
    if url is not None:
        args += ["--url", url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.stderr == "" or done.returncode == 0, done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def outcomes_in_app(ws) -> list[tuple]:
    """Each step the app ran: its session, its input, how it ended, its error class, its rows."""
    out = []
    for index in range(1, ws.last_index + 1):
        result = ws.handle(index).result
        rows = [list(r) for r in result.rows] if result.rows is not None else None
        out.append((result.session, result.input, result.status, result.error.type if result.error else None, rows))
    return out


def outcomes_replayed(events: list[dict]) -> list[tuple]:
    """The same, from a JSON transcript (a step that waited: from its `completed` event)."""
    ends = {e["index"]: e for e in events if e["event"] in ("step", "completed") and e["status"] != "waiting"}
    steps = [e for e in events if e["event"] == "step"]
    return [(s["session"], s["input"], ends[s["index"]]["status"], (ends[s["index"]]["error"] or {}).get("type"),
             ends[s["index"]]["rows"]) for s in steps]


async def save_through_prompt(pilot, path: Path) -> None:
    """ctrl+e, type the path over the default one, Enter; wait until the file is there."""
    from textual.widgets import Input

    await pilot.press("ctrl+e")
    await pilot.pause()
    prompt = pilot.app.screen.query_one("#save-path", Input)
    assert prompt.value.startswith("./txplay-") and prompt.value.endswith(".txp")
    prompt.value = str(path)
    await pilot.press("enter")
    await pilot.pause()
    assert path.exists(), "ctrl+e did not write the scenario"
    assert str(path) in str(pilot.app.status_line.render())


async def test_a_recorded_session_replays_headless_to_the_same_transcript(app_factory, tmp_path):
    path = tmp_path / "found.txp"
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        for session, text in [("A", "begin"), ("A", "update items set stock = stock - 1 where id = 1"),
                              ("B", ITEMS), ("B", "commit"), ("A", "select count(*) from nope"), ("A", "commit"),
                              ("B", "n = session.scalar(select(func.count()).select_from(Item))"), ("B", "n * 10"),
                              ("A", ITEMS)]:
            await run_in(pilot, session, text)
        await pilot.press("f7")  # an F-key action is a step too (A's commit, with nothing to commit)
        await step_done(pilot, app.workspace.last_index)
        seen = outcomes_in_app(app.workspace)
        await save_through_prompt(pilot, path)
    text = path.read_text()
    assert "=> error OperationalError" in text and "=> rows [(1, " in text and "=> value 30" in text
    code, events = replay_cli(path)
    assert code == 0, text
    assert outcomes_replayed(events) == seen, text


@pytest.mark.xdist_group("txplay_demo")
async def test_a_recorded_lock_wait_on_postgresql_replays_the_same(app_factory, tmp_path):
    url = server_url("postgresql")
    path = tmp_path / "wait.txp"
    app = app_factory(url=url, demo=True, reset_demo=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        ws = app.workspace
        await run_in(pilot, "A", "begin")
        await run_in(pilot, "A", "update items set stock = stock - 1 where id = 1")
        await type_in(pilot, "B", "update items set stock = stock - 2 where id = 1")
        waiting = ws.handle(ws.last_index)
        await caught_up(pilot)
        assert waiting.wait is not None
        await run_in(pilot, "A", "commit")
        await step_done(pilot, waiting.index)
        await run_in(pilot, "B", ITEMS)
        seen = outcomes_in_app(ws)
        await save_through_prompt(pilot, path)
    text = path.read_text()
    assert "backends: postgresql" in text and "=> waits, then ok" in text and "note:" not in text, text
    code, events = replay_cli(path, url)
    assert code == 0, text
    assert outcomes_replayed(events) == seen, text
    assert [e["waiting_for"] for e in events if e["event"] == "step" and e["status"] == "waiting"] == [["A"]]


def pane_state(app) -> dict:
    """What each pane shows of its session (the clock-driven badge left out)."""
    return {s.name: {k: v for k, v in s.to_json().items() if k not in ("badge",)} for s in app.latest.sessions}


async def committed_items(app) -> tuple:
    data = await app.workspace.committed("items")
    return data.rows


@pytest.mark.parametrize("demo_mode", [False, True], ids=["free", "demo"])
async def test_step_back_twice_after_a_savepoint_rollback_and_a_commit(app_factory, demo_mode):
    app = app_factory(scenario="flush_is_not_commit") if demo_mode else app_factory()
    states = []
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        if demo_mode:  # the scenario's first step, by F10, then the user's own
            await demo_step(pilot)
            await run_in(pilot, "A", "rollback")
        steps = ["begin", "update items set stock = 50 where id = 1", "\\savepoint sp",
                 "item = session.get(Item, 1); item.stock = 7; session.flush()",
                 "\\rollback-to sp", "commit"]
        first = app.workspace.last_index
        for text in steps:
            await run_in(pilot, "A", text)
            states.append((pane_state(app), await committed_items(app)))
        await pilot.press("ctrl+z")
        await caught_up(pilot)
        assert app.workspace.last_index == first + len(steps) - 1
        assert (pane_state(app), await committed_items(app)) == states[-2]
        await pilot.press("ctrl+z")
        await caught_up(pilot)
        assert (pane_state(app), await committed_items(app)) == states[-3]
        said = str(app.status_line.render())
        assert f"{first + len(steps) - 2} step(s) replayed" in said and " s" in said
        if demo_mode:
            assert app.demo.player.position == 1, "the scenario's own step was replayed as its own"
        assert states[-3][1] != states[-1][1], "the test must step back over a change to the committed data"


async def test_step_back_names_a_step_that_cannot_be_replayed_faithfully(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        await run_in(pilot, "A", "import random; r = random.random()")
        await run_in(pilot, "A", "select 1")
        await pilot.press("ctrl+z")
        await caught_up(pilot)
        said = str(app.status_line.render())
        assert "not replayed faithfully: step 1 (A): it uses random" in said



async def test_record_saves_the_session_on_quit_and_the_palette_offers_saving_and_stepping_back(app_factory, tmp_path):
    from playground.ui.commands import TxplayCommands

    path = tmp_path / "kept" / "session.txp"
    app = app_factory(record=str(path))
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        await run_in(pilot, "B", "insert into users (name, email) values ('kim', 'kim@example.com')")
        names = [name for name, _, _ in TxplayCommands(app.screen)._commands()]
        assert {"Save as scenario", "Step back"} <= set(names)
        assert not path.exists(), "--record saves on quit, not before"
    assert app.recording.quit_message == f"txplay: session saved as a scenario: {path}"
    text = path.read_text()
    assert "B: insert into users (name, email) values ('kim', 'kim@example.com')\n=> ok\n" in text
    code, _ = replay_cli(path)
    assert code == 0, text
