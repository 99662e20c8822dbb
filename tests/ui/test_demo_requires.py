"""Demo mode reads a scenario's `requires:` as `txplay run` does: the audience is told which case
it sees, and a scenario whose condition does not hold says so instead of running."""

from __future__ import annotations

from tests.ui.conftest import caught_up, demo_step

SCENARIO = """title: Depends on a setting
sessions: A
requires: {condition}

A: select 1
"""


async def test_an_unmet_requirement_stops_the_demo_with_the_reason(app_factory, tmp_path):
    path = tmp_path / "needs.txp"
    path.write_text(SCENARIO.format(condition="1 = 2"))
    app = app_factory(scenario=str(path))
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        assert "requires `1 = 2`" in str(app.banner.content)
        await demo_step(pilot)
        assert app.demo.player.position == 0  # nothing ran


async def test_a_met_requirement_is_said_and_the_demo_runs(app_factory, tmp_path):
    path = tmp_path / "needs.txp"
    path.write_text(SCENARIO.format(condition="1 = 1"))
    app = app_factory(scenario=str(path))
    async with app.run_test(size=(160, 50)) as pilot:
        await caught_up(pilot)
        assert "as the scenario requires" in str(app.banner.content)
        await demo_step(pilot)
        assert app.demo.player.position == 1
