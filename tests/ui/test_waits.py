"""What the tests wait on: the app's and the demo's hooks hold only once what they promise is true.

Each hook is awaited in the test's own task (`asyncio.timeout`, not `asyncio.wait_for`, which
runs it in another task): the checks after it run before the app can catch up by itself.
"""

from __future__ import annotations

import asyncio

from tests.ui.conftest import TIMEOUT, log_text


async def test_caught_up_waits_for_the_workspace_events_to_be_handled(app_factory, monkeypatch):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        ws = app.workspace
        gate = asyncio.Event()
        app.call_later(gate.wait)  # the app handles no message until the gate opens
        settle = ws.settle

        async def settle_then_open() -> None:
            await settle()
            gate.set()  # the step has finished; its events are still queued

        monkeypatch.setattr(ws, "settle", settle_then_open)
        app.submit("A", "select 1000 + 234")
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        assert gate.is_set()
        assert "1234" in log_text(app.pane("A")), "the step's result was not in the log yet"


async def test_caught_up_waits_for_the_snapshot_to_be_drawn(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.submit("A", "u = session.get(User, 1)")
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        assert "persistent" in app.pane("A").objects.plain, "the snapshot after the step was not drawn yet"


async def test_caught_up_waits_for_the_committed_data_to_be_read_again(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        table = app.committed.current
        await app.workspace.run_outside(f"delete from {table}")
        app.committed.reread()
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        assert str(app.committed.status.content) == f"{table}: 0 committed row(s)"


async def test_caught_up_waits_for_a_pane_being_opened(app_factory):
    app = app_factory()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        opening = asyncio.create_task(app.action_new_pane())
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        assert opening.done() and app.pane("C") is not None


async def test_caught_up_wakes_when_a_pane_action_ends_having_drawn_nothing(app_factory, monkeypatch):
    app = app_factory()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        release = asyncio.Event()

        async def refuse() -> str:
            await release.wait()
            raise RuntimeError("no room for another session")

        monkeypatch.setattr(app.workspace, "add_session", refuse)
        progress = app.waits.progress.wait

        async def release_then_wait() -> bool:
            release.set()  # caught_up() waits for the action now: end it, with nothing drawn
            return await progress()

        monkeypatch.setattr(app.waits.progress, "wait", release_then_wait)
        opening = asyncio.create_task(app.action_new_pane())
        async with asyncio.timeout(TIMEOUT):
            await app.waits.caught_up()
        assert opening.done() and release.is_set() and app.pane("C") is None


async def test_pane_mounted_is_notified_once_the_pane_is_mounted(app_factory):
    app = app_factory()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        async with app.waits.pane_mounted:
            opening = asyncio.create_task(app.action_new_pane())
            async with asyncio.timeout(TIMEOUT):
                await app.waits.pane_mounted.wait()
            assert app.pane("C") is not None
        await asyncio.wait_for(opening, TIMEOUT)


async def test_demo_idle_is_clear_while_a_step_runs_and_set_after(app_factory):
    app = app_factory(scenario="flush_is_not_commit")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        demo = app.demo
        assert demo.idle.is_set() and not demo.busy
        demo.next_step()
        assert not demo.idle.is_set() and demo.busy
        async with asyncio.timeout(TIMEOUT):
            await demo.idle.wait()
        assert demo.player.position == 1
        assert "step 1/" in str(app.banner.content)


async def test_opened_is_set_once_the_panes_are_mounted(app_factory):
    app = app_factory()
    seen: list[bool] = []

    async def watch() -> None:
        await app.waits.opened.wait()
        seen.append(app.pane("A") is not None and app.pane("B") is not None)  # checked as soon as it wakes

    watcher = asyncio.create_task(watch())
    async with app.run_test(size=(160, 50)):
        async with asyncio.timeout(TIMEOUT):
            await watcher
    assert seen == [True], "opened was set before the panes were mounted"


async def test_opened_is_set_when_the_database_cannot_be_opened(app_factory, tmp_path):
    app = app_factory(url=f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/db.sqlite")
    async with app.run_test(size=(160, 50)):
        async with asyncio.timeout(TIMEOUT):
            await app.waits.opened.wait()
        assert app.failure is not None and "cannot open" in app.failure
    assert app.return_code == 2


async def test_the_tests_wait_fails_at_once_naming_the_error_when_the_app_is_taken_down(app_factory):
    """A crashed app handles no more messages: the tests' `caught_up` says why instead of timing out."""
    from tests.ui.conftest import caught_up

    app = app_factory()
    started = asyncio.get_running_loop().time()
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()

            def broken() -> None:
                raise LookupError("drawn before its stylesheet came")

            app.call_later(broken)
            app.call_later(app.waits.progress.clear)
            app.waits.pane_actions += 1  # caught up only once an action ends: it never will
            try:
                await caught_up(pilot)
            except AssertionError as error:
                said = str(error)
            else:
                raise AssertionError("caught_up returned although the app was taken down")
    except LookupError:
        pass  # run_test raises the app's error as it leaves
    assert said == "the app was taken down: LookupError: drawn before its stylesheet came"
    assert asyncio.get_running_loop().time() - started < TIMEOUT / 2
