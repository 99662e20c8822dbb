"""Python that sleeps or loops in one pane never freezes another pane or the app, and can be stopped."""

from __future__ import annotations

import asyncio

from tests.ui.conftest import TIMEOUT, caught_up, drawn, log_text, type_in


async def until(pilot, condition, what: str) -> None:
    """Let the app run until `condition()` holds; fails (instead of hanging) after TIMEOUT."""
    async def poll() -> None:
        while not condition():
            await pilot.pause(0.02)

    try:
        await asyncio.wait_for(poll(), TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


def badge(app, name: str) -> str:
    """The badge of the snapshot the pane last drew."""
    snapshot = app.pane(name).snapshot
    return snapshot.badge if snapshot is not None else ""


async def test_b_runs_and_commits_on_screen_while_a_sleeps(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        await type_in(pilot, "A", "import threading; gate = threading.Event()")
        await caught_up(pilot)
        await type_in(pilot, "A", "gate.wait(60)")  # a sleep the test ends (no wall clock)
        sleeping = app.workspace.last_index
        await type_in(pilot, "B", "select 1")
        await type_in(pilot, "B", "commit")
        committed = app.workspace.last_index
        await until(pilot, lambda: app.workspace.handle(committed).done.is_set(), "B's commit finished")
        await until(pilot, lambda: "COMMIT" in log_text(app.pane("B")), "B's COMMIT on screen")
        await until(pilot, lambda: badge(app, "B") == "idle", "B's badge says idle")
        await until(pilot, lambda: badge(app, "A").startswith("running"), "A's badge says it runs")
        app.bottom.active = "tab-timeline"
        await until(pilot, lambda: "gate.wait(60)  running" in drawn(app.timeline), "the timeline says A's step runs")
        assert not app.workspace.handle(sleeping).done.is_set()
        assert "select 1" in log_text(app.pane("B"))
        app.workspace.sessions["A"].namespace["gate"].set()
        await until(pilot, lambda: app.workspace.handle(sleeping).done.is_set(), "A's step finished")


async def test_ctrl_c_interrupts_an_endless_loop_and_the_pane_runs_the_next_step(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        await type_in(pilot, "A", "while True: pass")
        looping = app.workspace.last_index
        await until(pilot, lambda: badge(app, "A").startswith("running"), "A's badge says it runs")
        app.pane("A").input.focus()
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.workspace.handle(looping).done.is_set(), "the loop ended")
        result = app.workspace.handle(looping).result
        assert result is not None and result.error is not None and result.error.type == "KeyboardInterrupt"
        await caught_up(pilot)
        assert "KeyboardInterrupt" in log_text(app.pane("A"))
        await type_in(pilot, "A", "40 + 2")
        await caught_up(pilot)
        assert "42" in log_text(app.pane("A"))
