"""A PostgreSQL spec opened live (`txplay --scenario FILE.spec`), driven with Pilot."""

from __future__ import annotations

import asyncio

from playground.cli import main
from playground.ui.suite_app import SpecApp, make_spec_app
from tests.suites import conftest as suites
from tests.ui.conftest import TIMEOUT, drawn, palette_watch

pg_database = suites.pg_database
row_lock_spec = suites.row_lock_spec
SIZE = (160, 45)
STUCK = suites.ROW_LOCK.split("permutation")[0] + "permutation s1u s2u s2s s1c s2c\n"
"""s2s is sent while s2u waits on s1's lock, which only s1c (after it) releases: stuck until F9."""


async def settled(pilot) -> None:
    """Wait until the app's calls on the spec have returned and the screen shows their outcome."""
    app: SpecApp = pilot.app
    await asyncio.wait_for(app.opened.wait(), TIMEOUT)
    await asyncio.wait_for(app.idle.wait(), TIMEOUT)
    await pilot.pause()


async def press_step(pilot, times: int = 1) -> None:
    """Press F10 `times` times, each once the step before has returned."""
    for _ in range(times):
        await pilot.press("f10")
        await settled(pilot)


async def test_f10_steps_through_a_wait_its_holder_and_the_completion(row_lock_spec, pg_database):
    app = make_spec_app(str(row_lock_spec), pg_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert [p.session_name for p in app.panes] == ["s1", "s2"]
        assert "step 0/5  permutation 1/2: s1u s2u s1c s2s s2c" in app.banner.plain
        assert "F10 runs:  s1u" in str(app.pane("s1").queued.render())
        await press_step(pilot, 2)
        s1, s2 = app.pane("s1"), app.pane("s2")
        assert s2.badge == "waiting on s1" and s2.has_class("-waiting")
        assert "<waiting ...> on s1" in s2.log_text
        assert s1.badge == "in transaction"
        graph = drawn(app.lock_graph.body)
        assert "s2" in graph and "→" in graph and "s1" in graph and "transactionid ShareLock" in graph
        assert "step 2/5" in app.banner.plain
        assert "✓ matches so far: expected/row_lock.out" in app.banner.plain
        assert "F10 runs:  s1c" in str(s1.queued.render())

        await press_step(pilot)  # s1c commits: s2u completes after it
        assert s2.badge == "in transaction" and not s2.has_class("-waiting")
        assert "↳ <... completed> after s1c (waited on s1)" in s2.log_text
        assert "no session waits for another" in drawn(app.lock_graph.body)
        output = str(app.output.render())
        assert output.index("step s1c: COMMIT;") < output.index("step s2u: <... completed>")

        await press_step(pilot, 3)  # s2s, s2c, then the permutation's end (teardown)
        assert "22" in s2.log_text
        assert "✓ the whole section, identical: expected/row_lock.out" in app.banner.plain
        assert "F10 runs permutation 2" in app.banner.plain


async def test_a_wrong_expected_file_shows_the_first_differing_line(row_lock_spec, pg_database):
    expected = row_lock_spec.parent.parent / "expected" / "row_lock.out"
    expected.write_text(suites.ROW_LOCK_EXPECTED.replace("step s2u: <... completed>", "step s2u: <... completed>\nERROR:  oops"))
    app = make_spec_app(str(row_lock_spec), pg_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await press_step(pilot, 3)
        assert "✓ matches so far" in app.banner.plain
        await press_step(pilot)
        assert ("✗ expected/row_lock.out:8: expected 'ERROR:  oops' got 'step s2s: SELECT v FROM t WHERE id = 1;'"
                in app.banner.plain)


async def test_the_palette_switches_to_another_permutation(row_lock_spec, pg_database):
    app = make_spec_app(str(row_lock_spec), pg_database)
    opened, hook = palette_watch()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settled(pilot)
        await press_step(pilot, 2)  # mid-wait: the switch cancels it and rolls both sessions back
        await pilot.press("ctrl+p")
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        await pilot.press(*"Permutation 2")
        await pilot.pause()
        await pilot.press("enter")
        await settled(pilot)
        assert "step 0/4  permutation 2/2: s2u s1u s2c s1c" in app.banner.plain
        assert app.pane("s2").badge == "in transaction" and app.pane("s2").log_text == ""
        await press_step(pilot, 2)
        assert app.pane("s1").badge == "waiting on s2"
        await press_step(pilot, 3)
        assert "✓ the whole section, identical" in app.banner.plain


async def test_the_screen_stays_responsive_while_a_step_waits_and_f9_frees_it(pg_database, tmp_path):
    path = tmp_path / "stuck.spec"
    path.write_text(STUCK)
    app = make_spec_app(str(path), pg_database)
    opened, hook = palette_watch()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settled(pilot)
        await press_step(pilot, 2)
        await pilot.press("f10")  # s2s cannot be sent before s2u, which waits on s1 for ever
        assert not app.idle.is_set()
        await pilot.press("ctrl+p")  # meanwhile keys are handled
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        await pilot.press("escape")
        assert not app.idle.is_set(), "the stuck step came back by itself"
        await pilot.press("f9")
        await settled(pilot)
        s2 = app.pane("s2").log_text
        assert "ERROR:  canceling statement due to user request" in s2
        assert "step s2s" in s2 and "step 3/5" in app.banner.plain


def test_txplay_opens_a_spec_only_when_it_parses_and_the_url_is_postgresql(tmp_path, capsys):
    bad = tmp_path / "bad.spec"
    bad.write_text("session s1\nstep a { SELECT 1; }\npermutation a b\n")
    assert main(["--scenario", str(bad), "--url", "postgresql://localhost/x"]) == 2
    assert capsys.readouterr().err == f'txplay: {bad}:3: undefined step "b" specified in permutation\n'
    good = tmp_path / "good.spec"
    good.write_text(suites.ROW_LOCK)
    assert main(["--scenario", str(good), "--url", "sqlite:///x.db"]) == 2
    assert capsys.readouterr().err.startswith(f"txplay: {good}:1: isolationtester specs run on PostgreSQL, not sqlite")


async def test_a_failed_setup_is_said_in_the_banner_and_ctrl_r_tries_again(pg_database, tmp_path):
    path = tmp_path / "setup.spec"
    path.write_text("setup { CREATE TABLE once (id int); }\n"
                    "session s1\nstep s1a { SELECT 1 AS one; }\n")  # no teardown: the second setup fails
    app = make_spec_app(str(path), pg_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await press_step(pilot, 2)  # s1a, then the end: the first permutation is done
        assert "done, teardown run" in app.banner.plain
        await pilot.press("ctrl+r")
        await settled(pilot)
        assert 'stopped: setup failed: ERROR:  relation "once" already exists' in app.banner.plain


async def test_a_database_that_cannot_be_opened_ends_the_app_with_exit_code_2(row_lock_spec, pg_database):
    app = make_spec_app(str(row_lock_spec), pg_database + "_missing")
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.opened.wait(), TIMEOUT)
        await pilot.pause()
    assert app.return_code == 2
    assert app.failure.startswith(f"txplay: cannot open {row_lock_spec} on postgresql://")
    assert "does not exist" in app.failure


def test_a_narrow_pane_says_its_badge_short():
    from playground.suites.live import SessionState, SessionView
    from playground.ui.spec_pane import header_text

    waiting = SessionView("s2", SessionState.WAITING, ("s1",), False, (), ())
    assert header_text(waiting, 40).plain == " s2   waiting on s1 "
    assert header_text(waiting, 15).plain == " s2   wait s1 "
    busy = SessionView("s3", SessionState.IN_TRANSACTION, (), False, (), ())
    assert header_text(busy, 15).plain == " s3   in txn "
