"""A mysqltest file opened live (`txplay --scenario FILE.test`), driven with Pilot on the MariaDB
test server, each test on a database of its own."""

from __future__ import annotations

import asyncio

from textual.command import CommandPalette

from playground.cli import main
from playground.suites.live import Phase
from playground.ui.suite_app import SpecApp, make_spec_app
from tests.suites import mysqltest_support
from tests.suites.test_live_mysqltest import (
    FOREGROUND_WAIT,
    FOREGROUND_WAIT_RESULT,
    deadlock_suite,
    our_connections,
    record_result,
    write,
)
from tests.ui.conftest import TIMEOUT, drawn

mysql_database = mysqltest_support.mysql_database
SIZE = (160, 45)


async def settled(pilot) -> None:
    """Wait until the app's calls have returned and the screen shows their outcome."""
    app: SpecApp = pilot.app
    await asyncio.wait_for(app.opened.wait(), TIMEOUT)
    await asyncio.wait_for(app.idle.wait(), TIMEOUT)
    await pilot.pause(0.05)


async def step_until(pilot, done, limit: int = 40) -> None:
    """F10 (each once the one before has returned) until `done()` holds."""
    for _ in range(limit):
        if done():
            return
        await pilot.press("f10")
        await settled(pilot)
    raise AssertionError(f"never reached: {pilot.app.banner.plain}")


def panes(app: SpecApp) -> list[str]:
    return [p.session_name for p in app.panes]


async def test_mysql_app_steps_deadlock_test_shows_the_wait_its_holder_and_the_comparison(tmp_path, mysql_database):
    test = deadlock_suite(tmp_path)
    await record_result(test, mysql_database, tmp_path / "r" / "deadlock.result")
    app = make_spec_app(str(test), mysql_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert panes(app) == ["default"]
        assert "statement 0  next: deadlock.test:5" in app.banner.plain
        assert "F10 runs:  line 5  CREATE TABLE t1" in str(app.pane("default").queued.render())
        assert app.query_one("#spec-output").border_title == "Output, as mysqltest prints it"
        await step_until(pilot, lambda: "con2" in panes(app) and app.pane("con2").badge == "waiting on con1")
        assert panes(app) == ["default", "con1", "con2"]
        con2 = app.pane("con2")
        assert con2.has_class("-waiting") and "sent, waiting for reap · lock wait on con1" in con2.log_text
        assert app.pane("con1").badge == "in transaction"
        graph = drawn(app.lock_graph.body)
        assert "con2" in graph and "→" in graph and "con1" in graph and "RECORD X" in graph
        assert "✓ matches so far: r/deadlock.result" in app.banner.plain
        assert "F10 runs:  line 24  UPDATE t1 SET v=22 WHERE id=2" in str(app.pane("con1").queued.render())

        await step_until(pilot, lambda: app.pane("con1").badge == "error")  # the deadlock's victim
        assert "ERROR 40001: Deadlock found" in app.pane("con1").log_text
        await step_until(pilot, lambda: "done" in app.banner.plain)
        assert "✓ the whole file, identical: r/deadlock.result" in app.banner.plain
        assert "↳ reaped (waited on con1)" in con2.log_text
        assert all(p.badge == "disconnected" for p in app.panes)
        assert "no session waits for another" in drawn(app.lock_graph.body)


async def test_mysql_app_a_wrong_result_file_shows_its_first_differing_line(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    test.with_suffix(".result").write_text(FOREGROUND_WAIT_RESULT.replace("v\n10\n", "v\n99\n"))
    app = make_spec_app(str(test), mysql_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await step_until(pilot, lambda: "statement 3" in app.banner.plain)
        assert "✓ matches so far: " in app.banner.plain
        await step_until(pilot, lambda: "statement 4" in app.banner.plain)
        assert "✗ " in app.banner.plain and "wait.result:7: expected '99' got '10'" in app.banner.plain


async def test_mysql_app_stays_responsive_while_a_statement_waits_f9_kills_it_ctrl_r_restarts(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    test.with_suffix(".result").write_text(FOREGROUND_WAIT_RESULT)
    opened = asyncio.Event()

    def hook(message) -> None:
        if isinstance(message, CommandPalette.Opened):
            opened.set()

    app = make_spec_app(str(test), mysql_database)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settled(pilot)
        await step_until(pilot, lambda: "F10 runs:  line 8" in str(app.pane("default").queued.render()))
        await pilot.press("f10")  # default's UPDATE waits on con1's row lock
        await settled(pilot)
        default = app.pane("default")
        assert default.badge == "waiting on con1" and "<waiting ...> on con1" in default.log_text
        assert "a statement is under way" in app.banner.plain
        assert "default" in drawn(app.lock_graph.body) and "con1" in drawn(app.lock_graph.body)
        await pilot.press("ctrl+p")  # keys are handled while the statement waits
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        await pilot.press("escape")
        await pilot.press("f10")  # nothing to let go: the run stays inside the UPDATE
        await settled(pilot)
        assert default.badge == "waiting on con1"

        await pilot.press("f9")  # KILL QUERY: an error the file expects
        await settled(pilot)
        for _ in range(100):
            if default.badge == "error":
                break
            await pilot.pause(0.05)
        assert default.badge == "error" and "Got one of the listed errors" in default.log_text
        assert "statement 5  next: wait.test:10" in app.banner.plain

        await pilot.press("ctrl+r")  # a fresh run: connections closed, t1 dropped
        await settled(pilot)
        assert panes(app) == ["default"] and "statement 0  next: wait.test:1" in app.banner.plain
        await step_until(pilot, lambda: "statement 4" in app.banner.plain)  # CREATE TABLE t1 runs again
        assert panes(app) == ["default", "con1"] and "stopped" not in app.banner.plain
        assert "✓ matches so far: " in app.banner.plain


async def test_mysql_app_ctrl_q_while_a_statement_waits_stops_the_run_cleanly(tmp_path, mysql_database):
    test = write(tmp_path, FOREGROUND_WAIT)
    app = make_spec_app(str(test), mysql_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await step_until(pilot, lambda: "F10 runs:  line 8" in str(app.pane("default").queued.render()))
        await pilot.press("f10")
        await settled(pilot)
        assert app.pane("default").badge == "waiting on con1"
        assert await our_connections(mysql_database) == 2
        await pilot.press("ctrl+q")
    assert app.live.phase == Phase.CLOSED
    assert await our_connections(mysql_database) == 0


def test_txplay_opens_a_mysqltest_file_only_when_it_loads_and_the_url_is_mysql(tmp_path, capsys):
    bad = tmp_path / "bad.test"
    bad.write_text("SELECT 1;\n--frobnicate\n")
    assert main(["--scenario", str(bad), "--url", "mysql://root@127.0.0.1/x"]) == 2
    assert capsys.readouterr().err.startswith(f"txplay: {bad}:2: '--frobnicate' is not a mysqltest command")
    good = tmp_path / "good.test"
    good.write_text("SELECT 1;\n")
    assert main(["--scenario", str(good), "--url", "postgresql://localhost/x"]) == 2
    assert capsys.readouterr().err.startswith(f"txplay: {good}:1: a mysqltest file runs on MySQL or MariaDB, not on postgresql")


async def test_mysql_app_panes_that_go_and_come_back_at_once_are_the_same_widgets(tmp_path, mysql_database):
    """A restart's new run connects its connections again while the old run's panes may still be
    on screen: a pane that goes is hidden, and comes back as itself (no second widget with its id)."""
    app = make_spec_app(str(deadlock_suite(tmp_path)), mysql_database)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = app.pane("default")
        app._sync_panes(["default", "con1", "con2"])
        app._sync_panes([])  # no await between: nothing is removed and mounted again under one id
        app._sync_panes(["default", "con1"])
        # Asked at once: once the app breathes, the run's own next snapshot may set its panes again.
        assert panes(app) == ["default", "con1"] and app.pane("default") is first
        assert [p.session_name for p in app.panes if p.display] == ["default", "con1"]
        await pilot.pause()  # the mounts happen: a widget a name, none mounted twice under one id
        assert app.pane("default") is first
        assert sorted(p.session_name for p in app.query("SpecPane")) == ["con1", "con2", "default"]
