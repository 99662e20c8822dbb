"""The real app, driven with Pilot: panes, panels, lock waits, closing panes, demo mode."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from textual.command import CommandPalette

from playground.ui.session_pane import SessionPane
from tests.ui.conftest import TIMEOUT, caught_up, demo_step, log_text, run_in, step_done, type_in, workers_done


async def test_typing_into_both_panes_runs_steps_in_each_session(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        result = await run_in(pilot, "A", "u = session.get(User, 1)")
        assert result.status == "ok"
        result = await run_in(pilot, "B", "select name from users where id = 2")
        assert result.rows == (("bob",),)
        a, b = app.pane("A"), app.pane("B")
        assert "session.get(User, 1)" in log_text(a)
        assert "select name from users" in log_text(b)
        assert "bob" in log_text(b)
        assert a.snapshot.status == "active" and b.snapshot.status == "active"
        assert "persistent" in a.objects.plain


async def test_savepoint_rollback_shows_the_object_as_expunged(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "\\savepoint sp1")
        await run_in(pilot, "A", 'u = User(name="dee", email="dee@example.com")')
        await run_in(pilot, "A", "session.add(u); session.flush()")
        await run_in(pilot, "A", "\\rollback-to sp1")
        pane = app.pane("A")
        rows = {row.names[0]: row for row in pane.snapshot.objects if row.names}
        assert rows["u"].panel == "expunged"
        assert rows["u"].cause == "rollback of savepoint sp1"
        drawn = pane.objects.plain
        assert "expunged (1)" in drawn and "rollback of savepoint sp1" in drawn


async def test_waiting_pane_keeps_the_app_interactive_and_completes_after_commit(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "update items set stock = 7 where id = 1")
        await type_in(pilot, "B", "update items set stock = 6 where id = 1")
        ws = app.workspace
        waiting = ws.handle(ws.last_index)
        await caught_up(pilot)
        assert waiting.wait is not None and waiting.wait.holders == ("A",)
        b = app.pane("B")
        assert b.snapshot.status == "waiting"
        assert "on A" in b.snapshot.badge
        assert b.has_class("-waiting")
        assert "waiting on A" in log_text(b)
        # A keeps accepting input while B waits.
        result = await run_in(pilot, "A", "select stock from items where id = 1")
        assert result.rows == ((7,),)
        assert not waiting.done.is_set()
        await run_in(pilot, "A", "commit")
        await step_done(pilot, waiting.index)
        assert waiting.result.status == "ok"
        assert "finished after step" in log_text(b)
        assert app.pane("B").snapshot.status == "active"


async def test_closing_a_pane_mid_transaction_rolls_back_and_says_so(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await pilot.pause()
        await run_in(pilot, "B", "insert into jobs (id, payload) values (7, 'x')")
        app.pane("B").input.focus()
        await pilot.press("ctrl+t")
        await caught_up(pilot)
        assert app.pane("B") is None
        assert "B" not in app.workspace.sessions
        assert "rolled back" in str(app.status_line.content)
        rows = await app.workspace.committed("jobs")
        assert all(row[0] != 7 for row in rows.rows)


async def test_new_pane_key_opens_a_session(app_factory):
    app = app_factory()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await caught_up(pilot)
        assert app.pane("C") is not None
        result = await run_in(pilot, "C", "select 1")
        assert result.status == "ok"


async def test_transaction_keys_run_commands_in_the_focused_pane(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.pane("B").input.focus()
        await pilot.press("f3")
        ws = app.workspace
        await step_done(pilot, ws.last_index)
        assert ws.handle(ws.last_index).session == "B"
        assert app.pane("B").snapshot.badge == "savepoint ×1"
        await pilot.press("f8")
        await step_done(pilot, ws.last_index)
        assert app.pane("B").snapshot.status == "idle"


async def test_demo_mode_steps_to_the_end_with_every_expectation_passed(app_factory):
    app = app_factory(scenario="process_payment")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert app.banner.display
        total = len(app.scenario.steps)
        assert "step 0/" in str(app.banner.content)
        for _ in range(total + 1):  # and one press past the end, which changes nothing
            await demo_step(pilot)
        banner = str(app.banner.content)
        assert "0 failed" in banner, banner
        checks = [c for r in app.demo.report.steps for c in r.checks]
        assert checks and all(c.passed for c in checks)
        logs = "\n".join(log_text(p) for p in app.query(SessionPane))
        assert logs.count("✓") >= len(checks)
        assert "✗" not in "\n".join(line for line in logs.splitlines() if "=>" in line)


async def test_demo_writes_a_steps_expectations_after_its_output_when_the_app_is_behind(app_factory):
    """The app may not have handled a step's events yet when the demo checks the step (a busy
    moment, a long draw): its `=> ok ✓` still comes after the SQL the step sent, not before."""
    app = app_factory(scenario="flush_is_not_commit")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        demo = app.demo
        for steps in (1, 2):  # session.add(…), then session.flush() with its `=> ok`

            async def behind(steps: int = steps) -> None:
                # Holds the app's queue until the demo has checked the step.
                while len(demo.report.steps) < steps:
                    await asyncio.sleep(0.005)

            demo.next_step()
            app.call_later(behind)
            await asyncio.wait_for(demo.idle.wait(), TIMEOUT)
            await caught_up(pilot)
        lines = log_text(app.pane("A")).splitlines()
        flushed = next(n for n, line in enumerate(lines) if line.startswith("INSERT INTO users"))
        checked = next(n for n, line in enumerate(lines) if "=> ok ✓" in line)
        assert flushed < checked, "\n".join(lines)


async def test_python_block_continues_on_enter_until_complete(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        pane = app.pane("A")
        pane.input.focus()
        pane.input.insert("for i in range(2):")
        await pilot.press("enter")
        assert pane.input.text.startswith("for i in range(2):\n")
        pane.input.insert("    x = i")
        await pilot.press("enter")
        await pilot.press("enter")
        ws = app.workspace
        await step_done(pilot, ws.last_index)
        assert ws.handle(ws.last_index).result.status == "ok"
        assert ws.sessions["A"].namespace["x"] == 1


async def test_history_recalls_inputs_and_is_private(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "select 42")
        pane = app.pane("A")
        pane.input.focus()
        await pilot.press("up")
        assert pane.input.text == "select 42"
    files = list((tmp_path / "data").rglob("*.txt"))
    assert files and oct(files[0].stat().st_mode & 0o777) == "0o600"


def test_no_widget_imports_sqlalchemy():
    ui = Path(__file__).resolve().parents[2] / "playground" / "ui"
    offenders = []
    for path in ui.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "sqlalchemy"]
    assert offenders == []


async def test_flush_and_commit_keys_win_over_the_text_area(app_factory):
    # TextArea binds F6/F7 to selections; the transaction keys must still reach the app.
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "session.add(Job(id=8, payload='p'))")
        await pilot.press("f6")
        await step_done(pilot, app.workspace.last_index)
        assert app.workspace.handle(app.workspace.last_index).input == "\\flush"
        await pilot.press("f7")
        await step_done(pilot, app.workspace.last_index)
        assert app.workspace.handle(app.workspace.last_index).input == "\\commit"
        data = await app.workspace.committed("jobs")
        assert any(row[0] == 8 for row in data.rows)


async def test_command_palette_opens_a_new_pane(app_factory):
    app = app_factory()
    opened = asyncio.Event()

    def hook(message) -> None:
        if isinstance(message, CommandPalette.Opened):
            opened.set()

    async with app.run_test(size=(200, 50), message_hook=hook) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        await workers_done(pilot)  # the palette has gathered its commands
        await pilot.press(*"New pane")
        await workers_done(pilot)  # and searched them
        await pilot.pause()
        await pilot.press("enter")
        async with app.waits.pane_mounted:
            await asyncio.wait_for(app.waits.pane_mounted.wait_for(lambda: app.pane("C") is not None), TIMEOUT)
        await caught_up(pilot)
        assert app.pane("C") is not None


async def test_objects_panel_renders_only_visible_lines_of_thousands(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        values = ", ".join(f"({i}, 'item {i}', {i})" for i in range(100, 3100))
        await run_in(pilot, "A", f"insert into items (id, name, stock) values {values}")
        await run_in(pilot, "A", "held = session.scalars(select(Item)).all()")
        panel = app.pane("A").objects
        assert "3003 objects" in str(panel.border_subtitle)
        rendered = panel.lines_rendered
        assert 0 < rendered <= 2 * panel.size.height, f"{rendered} lines rendered for {panel.size.height} visible"
        await run_in(pilot, "A", "held[0].stock = -5")
        assert panel.lines_rendered - rendered <= 2  # only the changed, visible row
        assert "-5" in panel.plain


async def test_demo_restart_reopens_a_fresh_workspace_and_follows_it(app_factory):
    app = app_factory(scenario="flush_is_not_commit")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await demo_step(pilot)
        old, old_pane = app.workspace, app.pane("A")
        assert "step 1/" in str(app.banner.content)
        await pilot.press("ctrl+r")
        await caught_up(pilot)
        assert old.closed and app.workspace is not old and not app.workspace.closed
        assert app.pane("A") is not old_pane and "step 0/" in str(app.banner.content)
        await demo_step(pilot)  # the new workspace's events reach the new panes
        assert "step 1/" in str(app.banner.content)
        assert app.demo.player.ws is app.workspace
        assert log_text(app.pane(app.scenario.steps[0].session)).strip()


async def test_open_scenario_leaves_the_free_sessions_for_demo_mode(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "u = session.get(User, 1)")
        old = app.workspace
        await app.open_scenario("flush_is_not_commit")
        await caught_up(pilot)
        assert old.closed and app.demo is not None and app.banner.display
        assert set(app.workspace.sessions) == set(app.scenario.sessions)
        assert [p.session_name for p in app.query(SessionPane)] == list(app.workspace.sessions)
        await demo_step(pilot)
        assert "step 1/" in str(app.banner.content)
