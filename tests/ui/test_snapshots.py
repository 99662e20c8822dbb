"""SVG snapshots of the main screens at a projector's 100×30 and a large 220×60, and a zoomed
pane at 80×24."""

from __future__ import annotations

import pytest

from tests.ui.conftest import caught_up, demo_step, run_in, until_opened, workers_done

SIZES = [(100, 30), (220, 60)]


async def _settled(pilot) -> None:
    from playground.ui.session_input import SessionInput

    await until_opened(pilot)  # snap_compare starts its pilot as the app starts
    for text_input in pilot.app.query(SessionInput):
        text_input.cursor_blink = False  # a blinking cursor makes two runs' pictures differ
    await pilot.pause()
    await workers_done(pilot)
    await caught_up(pilot)


async def _mid_transaction(pilot) -> None:
    await until_opened(pilot)  # snap_compare starts its pilot as the app starts
    await pilot.pause()
    await run_in(pilot, "A", "u = session.get(User, 1)")
    await run_in(pilot, "A", "u.name = 'annie'")
    await run_in(pilot, "B", "select id, name from users where id < 3")
    await _settled(pilot)


async def _savepoint_rolled_back(pilot) -> None:
    await until_opened(pilot)  # snap_compare starts its pilot as the app starts
    await pilot.pause()
    await run_in(pilot, "A", "u = session.get(User, 1)")
    await run_in(pilot, "A", "\\savepoint sp1")
    await run_in(pilot, "A", "n = User(name='dee', email='d@x'); session.add(n); session.flush()")
    await run_in(pilot, "A", "\\rollback-to sp1")
    await _settled(pilot)


async def _demo(pilot) -> None:
    await until_opened(pilot)  # snap_compare starts its pilot as the app starts
    await pilot.pause()
    for _ in range(3):
        await demo_step(pilot)
    await _settled(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start_screen(snap_compare, app_factory, size):
    assert snap_compare(app_factory(), terminal_size=size, run_before=_settled)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_two_panes_mid_transaction(snap_compare, app_factory, size):
    assert snap_compare(app_factory(), terminal_size=size, run_before=_mid_transaction)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_savepoint_rolled_back_with_expunged_object(snap_compare, app_factory, size):
    assert snap_compare(app_factory(), terminal_size=size, run_before=_savepoint_rolled_back)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_mode_with_narration(snap_compare, app_factory, size):
    assert snap_compare(app_factory(scenario="flush_is_not_commit"), terminal_size=size, run_before=_demo)


async def _zoomed_small(pilot) -> None:
    await until_opened(pilot)  # snap_compare starts its pilot as the app starts
    await pilot.pause()
    await run_in(pilot, "A", "u = session.get(User, 1)")
    await run_in(pilot, "A", "\\savepoint")
    await run_in(pilot, "A", "u.name = 'annie'; session.flush()")
    await pilot.press("ctrl+g")
    await _settled(pilot)


def test_zoomed_pane_at_80x24(snap_compare, app_factory):
    assert snap_compare(app_factory(), terminal_size=(80, 24), run_before=_zoomed_small)
