"""The recorder and the .txp it writes: observed expectations, timing notes, and replay."""

from __future__ import annotations

import asyncio

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.scenario.parser import parse
from playground.scenario.record_writer import write_txp
from playground.scenario.recording import Recorder, RecordingSetup, replay
from playground.scenario.runner import run_scenario


async def recorded(steps: list[tuple[str, str] | float], sessions=("A", "B")) -> tuple[str, Workspace, Recorder]:
    """Run `steps` as a user would (each submitted once the others settle; a number: that many
    seconds of the user's thinking); returns the written scenario, the open workspace and the recorder."""
    ws = await Workspace.open(DEMO_KIT, sessions=sessions, defaults=SessionSettings(lock_timeout=5.0))
    recorder = Recorder()
    recorder.attach(ws, RecordingSetup("sqlite", "a temporary SQLite file", tuple(ws.sessions), lock_timeout=5.0))
    for step in steps:
        if isinstance(step, float):
            await asyncio.sleep(step)
            continue
        ws.submit(*step)
        await ws.settle()
    await ws.settle()
    assert recorder.setup is not None
    return write_txp(recorder.setup, recorder.entries), ws, recorder


async def replayed(text: str):
    report = await run_scenario(parse(text, "recorded.txp"))
    return report


async def test_a_wait_that_ran_out_before_the_next_step_is_noted_and_still_replays():
    text, ws, recorder = await recorded([
        ("A", "begin"), ("A", "update items set stock = 1 where id = 1"),
        ("B", "\\timeout 0.3"), ("B", "update items set stock = 2 where id = 1"),
        1.0,  # the user waits: B's lock timeout runs out before A commits
        ("A", "commit"), ("B", "select stock from items where id = 1"),
    ])
    await ws.close()
    fresh = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
    try:  # step back's replay holds A's commit back the same way
        await replay(fresh, recorder.entries)
        assert fresh.handle(4).result.error is not None and fresh.handle(6).result.rows == ((1,),)
    finally:
        await fresh.close()
    assert "B: update items set stock = 2 where id = 1\n=> waits, then error OperationalError\nnote: B's wait ran out" in text, text
    assert "\nB: pass\nA: commit\n" in text
    assert "=> rows [(1,)]" in text
    report = await replayed(text)
    assert report.exit_code == 0, [c for r in report.steps for c in r.checks if not c.passed]


async def test_a_step_typed_while_another_still_ran_is_noted_and_not_checked():
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
    recorder = Recorder()
    recorder.attach(ws, RecordingSetup("sqlite", "here", tuple(ws.sessions)))
    slow = ws.submit("A", "import time as t; t.sleep(0.5)")
    ws.submit("B", "select count(*) from items")  # typed before A's step ended: the runner would wait for it
    await slow.done.wait()
    await ws.settle()
    assert recorder.setup is not None
    text = write_txp(recorder.setup, recorder.entries)
    await ws.close()
    assert "note: Step 2: typed while step 1 (A) still ran" in text
    assert "B: select count(*) from items\n" in text and "=> rows" not in text.split("B: select count(*)")[1], text
    assert "# it uses time: only whether it succeeded is expected" in text
    report = await replayed(text)
    assert report.exit_code == 0


async def test_a_closed_session_rolls_back_and_its_name_opened_again_is_another_session():
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
    recorder = Recorder()
    recorder.attach(ws, RecordingSetup("sqlite", "here", tuple(ws.sessions)))
    await ws.run("B", "update items set stock = 9 where id = 2")
    await ws.close_session("B")
    await ws.add_session("B")
    await ws.run("B", "select stock from items where id = 2")
    assert recorder.setup is not None
    text = write_txp(recorder.setup, recorder.entries)
    entries = recorder.without_last_step()
    await ws.close()
    assert "sessions: A B B2" in text
    assert "note: Session B is closed here: its open transaction is rolled back.\nB: \\rollback\n" in text
    assert "B2: select stock from items where id = 2\n=> rows [(" in text
    assert (await replayed(text)).exit_code == 0
    # Step back replays the close and the opening again, under the workspace's own names.
    fresh = await Workspace.open(DEMO_KIT, sessions=("A", "B"))
    try:
        assert entries is not None
        done = await replay(fresh, entries)
        assert done.steps == 1 and list(fresh.sessions) == ["A", "B"] and fresh.last_index == 1
        assert fresh.sessions["B"].latest is not None and not fresh.sessions["B"].latest.transactions
    finally:
        await fresh.close()


async def test_a_recording_keeps_of_each_step_only_what_the_scenario_will_say():
    """A long session must not keep every step's SQL, output and rows twice (the pane has them)."""
    many = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 50) select i from n"
    text, ws, recorder = await recorded([
        ("A", "select id, name from users order by id"),
        ("A", many),
        ("A", "print('x' * 5000); u = session.get(User, 1); u.name"),
        ("A", "session.execute(text('select 1')).all() * 3000"),
    ])
    try:
        small, large, printed, big_value = (s.result for s in recorder.steps)
        assert all(r is not None and r.sql == () and r.output == "" and r.columns is None
                   for r in (small, large, printed, big_value))
        assert small.rows and large.rows is None
        assert len(big_value.value) <= 200 and big_value.value.startswith("[(1,), (1,)")
        lines = text.splitlines()
        assert f"=> rows {[tuple(r) for r in small.rows]!r}" in lines
        at = lines.index(f"A: {many}")
        assert lines[at + 1] == "=> ok"
        assert lines[lines.index("A: print('x' * 5000); u = session.get(User, 1); u.name") + 1] == "=> value 'ann'"
    finally:
        await ws.close()
