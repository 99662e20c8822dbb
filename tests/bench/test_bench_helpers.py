"""The benchmarks' own logic (not their timings): the soak's steps, where run.py writes, what counts as an echo."""

from __future__ import annotations

import argparse
import gc
import itertools

from textual.app import App
from textual.widgets import TextArea

from tests.bench.in_app import update_shows
from tests.bench.run import write_results
from tests.bench.soak import PANES, Checkpoint, Figures, collector_passes, plan, slope, summary


def test_soak_steps_are_seeded_and_keep_each_transaction_whole():
    steps = list(itertools.islice(plan(19), 5000))
    assert steps == list(itertools.islice(plan(19), 5000))
    assert steps != list(itertools.islice(plan(20), 5000))
    kinds = {step.kind for step in steps}
    assert kinds == {"orm", "sql", "savepoint", "end", "hold", "wait", "release"}
    assert {step.pane for step in steps} == set(PANES)
    open_savepoints, pane = 0, None
    for i, step in enumerate(steps):
        if step.kind == "hold":  # a lock wait: a write held, another pane's write waits, both end
            waiter = steps[i + 1].pane
            assert [s.kind for s in steps[i:i + 4]] == ["hold", "wait", "release", "end"]
            assert [s.pane for s in steps[i:i + 4]] == [step.pane, waiter, step.pane, waiter] and waiter != step.pane
            assert steps[i].text.split(" set ")[0] == steps[i + 1].text.split(" set ")[0] == "update items"
            assert steps[i].text.split(" where ")[1] == steps[i + 1].text.split(" where ")[1]
            pane = None
        elif step.kind in ("wait", "release") or (step.kind == "end" and i >= 3 and steps[i - 3].kind == "hold"):
            continue
        else:  # a transaction: one pane until its end, savepoints released only while one is open
            assert pane in (None, step.pane), f"step {i} writes in {step.pane} while {pane}'s transaction is open"
            pane = None if step.kind == "end" else step.pane
            if step.text == "\\savepoint":
                open_savepoints += 1
            elif step.text in ("\\release", "\\rollback-to"):
                assert open_savepoints > 0, f"step {i}: {step.text} with no savepoint open"
                open_savepoints -= 1
            if step.kind == "end":
                open_savepoints = 0


def test_growth_is_the_least_squares_slope():
    assert slope([(1, 100.0), (2, 130.0), (3, 160.0)]) == 30.0
    assert slope([(1, 100.0), (2, 90.0), (3, 110.0), (4, 100.0)]) == 2.0
    assert slope([(1, 5.0)]) == 0.0


def test_writing_results_keeps_the_other_benchmarks_sections(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n| old table |\n\n## The databases' own suites\n\nkept\n\n## Soak\n\nkept too\n")
    write_results("| new table |", argparse.Namespace(runs=5, quick=False), results)
    text = results.read_text()
    assert "| new table |" in text and "| old table |" not in text
    assert text.index("| new table |") < text.index("## The databases' own suites\n\nkept\n\n## Soak\n\nkept too\n")


async def test_an_echo_is_the_update_that_draws_the_typed_text():
    updates = []

    class Typing(App):
        def compose(self):
            yield TextArea(compact=True)

        def _display(self, screen, renderable) -> None:
            updates.append(renderable)
            super()._display(screen, renderable)

    app = Typing()
    async with app.run_test(size=(60, 10)) as pilot:
        field = app.query_one(TextArea)
        field.focus()
        await pilot.pause()
        updates.clear()
        await pilot.press(*"select 42")
        await pilot.pause()
        drawn = [u for u in updates if u is not None]
        assert any(update_shows(u, field.region, "select 42") for u in drawn)
        assert not any(update_shows(u, field.region, "select 43") for u in drawn)
        assert not any(update_shows(u, field.region.translate((0, 3)), "select 42") for u in drawn)


def test_the_soak_times_the_collector_s_oldest_passes_and_keeps_only_the_longest_young_one():
    figures = Figures()
    with collector_passes(figures.full_passes, figures.young_pass_max):
        gc.collect(0)
        gc.collect(2)
    assert len(figures.full_passes) == 1
    assert figures.young_pass_max[0] > 0.0


def test_the_soak_summary_puts_a_lock_wait_s_steps_apart_from_the_longest_step():
    """The longest-step figure covers the steps no lock wait is part of; the waiting step and the
    holder's COMMIT have rows of their own, with how long after the COMMIT the waiter went on."""
    figures = Figures()
    for seconds, kind in [(0.04, "orm"), (0.05, "sql"), (0.22, "wait"), (0.06, "hold"), (0.13, "release"), (0.04, "end")]:
        figures.steps.append(seconds)
        figures.cpu.append(0.01)
        figures.kinds.append(kind)
    figures.lags.extend([1.0, 2.0, 30.0])
    figures.woken.append(0.08)
    figures.shown_from = figures.hidden_from = len(figures.steps)
    figures.checkpoints = [Checkpoint(0, 0.0, 80.0, 100, 1000, None, None), Checkpoint(6, 1.0, 81.0, 110, 1100, None, None)]
    numbers = summary(figures, argparse.Namespace(seed=19, url=None))
    assert round(numbers["step_ms_max"]) == 60
    assert (round(numbers["wait_step_ms_max"]), round(numbers["release_step_ms_max"]), round(numbers["woken_ms_max"])) == (220, 130, 80)
    assert numbers["stall_ms_max"] == 30.0
