"""Each session runs on its own thread: user code in one never stops another, and can be stopped.

Every wait here is on an event (a step's `done`); the timeouts only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio

import pytest

from playground.engine.stepping import STEP_TIMEOUT
from tests.conftest import ok, value

GUARD = 30.0


async def done(ws, handle, timeout: float = GUARD):
    await asyncio.wait_for(handle.done.wait(), timeout)
    return handle.result


async def until_running(ws, handle) -> None:
    """Until the step has started on its thread (so its own code is what runs there)."""
    async def started() -> None:
        while handle.thread_task is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)

    await asyncio.wait_for(started(), GUARD)


async def gated(ws, name: str):
    """Start `gate.wait(60)` in `name` (a sleep the test ends with `open_gate`) and wait until it runs."""
    await ok(ws, name, "import threading; gate = threading.Event()")
    handle = ws.submit(name, "gate.wait(60)")
    await until_running(ws, handle)
    return handle


def open_gate(ws, name: str) -> None:
    ws.sessions[name].namespace["gate"].set()


async def test_a_session_sleeping_in_python_stops_no_other(any_workspace):
    ws = any_workspace
    sleeping = await gated(ws, "A")  # A sleeps exactly until B has finished (no wall clock)
    selected = await ws.run("B", "select 1")
    committed = await ws.run("B", "commit")
    assert selected.rows == ((1,),) and committed.ok
    assert not sleeping.done.is_set(), "B finished while A slept: its steps did not wait for A"
    assert [s.badge for s in ws.snapshot().sessions if s.name == "B"] == ["idle"]
    open_gate(ws, "A")
    assert (await done(ws, sleeping)).ok


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_endless_loop_is_interrupted_and_the_session_goes_on(workspace, mode):
    ws = workspace
    await ok(ws, "A", f"\\mode {mode}")
    await ok(ws, "A", "u = User(name='kept'); session.add(u); " + ("await session.flush()" if mode == "async" else "session.flush()"))
    loop = ws.submit("A", "while True:\n    pass")
    await until_running(ws, loop)
    message = await ws.cancel("A")
    result = await done(ws, loop)
    assert message == f"interrupted step {loop.index}: KeyboardInterrupt"
    assert result.error is not None and result.error.type == "KeyboardInterrupt"
    assert "interrupted" in result.error.message
    # As SQLAlchemy leaves it: the transaction and the flushed object are still there.
    (a,) = [s for s in ws.snapshot().sessions if s.name == "A"]
    assert a.status == "active"
    assert [o.state for o in a.objects] == ["persistent"]
    after = await ws.run("A", "select count(*) from users where name = 'kept'")
    assert after.rows == ((1,),)


async def test_a_step_in_a_call_python_cannot_interrupt_is_told_and_stops_when_back(workspace):
    ws = workspace
    await ok(ws, "A", "import threading; gate = threading.Event()")
    blocked = ws.submit("A", "gate.wait(60)\nwhile True:\n    pass")
    await until_running(ws, blocked)
    message = await ws.cancel("A")
    assert "raised as soon as it is back in Python" in message
    assert not blocked.done.is_set()
    open_gate(ws, "A")  # back in Python: the pending interrupt lands
    result = await done(ws, blocked)
    assert result.error is not None and result.error.type == "KeyboardInterrupt"
    assert (await ws.run("A", "1 + 1")).value == "2"


async def test_an_awaiting_async_step_is_cancelled(workspace):
    ws = workspace
    await ok(ws, "A", "\\mode async")
    sleeping = ws.submit("A", "import asyncio\nawait asyncio.sleep(60)")
    await until_running(ws, sleeping)
    assert await ws.cancel("A") == f"cancelled step {sleeping.index}"
    result = await done(ws, sleeping)
    assert result.error is not None and result.error.type == "Cancelled"
    assert (await ws.run("A", "1 + 1")).value == "2"


async def test_the_step_time_limit_interrupts_a_loop_and_refuses_steps_behind_a_stuck_call(workspace):
    ws = workspace
    ws.step_timeout = 0.3
    looping = await done(ws, ws.submit("A", "while True:\n    pass"))
    assert looping.error is not None and looping.error.type == STEP_TIMEOUT
    assert "step-time limit of 0.3 s" in looping.error.message
    assert (await ws.run("A", "select 1")).rows == ((1,),)
    await ok(ws, "A", "import threading; gate = threading.Event()")
    stuck = await done(ws, ws.submit("A", "gate.wait(60)"))
    assert stuck.error is not None and stuck.error.type == STEP_TIMEOUT
    refused = await ws.run("A", "select 2")
    assert refused.error is not None and refused.error.type == "SessionBusy"
    assert f"inside step {stuck.index}" in refused.error.message
    assert (await ws.run("B", "select 3")).rows == ((3,),)  # the other session never noticed
    open_gate(ws, "A")


async def test_a_lock_wait_does_not_count_against_the_step_time_limit(workspace):
    ws = workspace
    ws.step_timeout = 0.2
    await ok(ws, "A", "\\timeout 1")
    await ok(ws, "B", "\\timeout 1")
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    waiting = ws.submit("B", "update items set stock = 2 where id = 1")
    await ws.settle()
    assert waiting.wait is not None
    result = await done(ws, waiting)
    assert result.error is not None and result.error.type != STEP_TIMEOUT  # the lock timeout ended it


async def test_closing_a_workspace_busy_in_a_loop_returns(workspace):
    ws = workspace
    loop = ws.submit("A", "while True:\n    pass")
    await until_running(ws, loop)
    await asyncio.wait_for(ws.close(), GUARD)
    assert ws.closed


async def test_a_warning_goes_to_the_session_whose_step_raised_it(workspace):
    ws = workspace
    waiting = await gated(ws, "B")
    warned = await ws.run("A", "import warnings; warnings.warn('from A')")
    open_gate(ws, "B")
    quiet = await done(ws, waiting)
    assert "warning: UserWarning: from A" in warned.messages
    assert not any("from A" in str(m) for m in quiet.messages)


async def test_the_gil_switch_interval_is_short_only_while_a_step_runs_python_long(workspace):
    """A session spinning in Python must not hold every other thread for Python's default 5 ms;
    ordinary steps keep the default (a short interval costs them throughput)."""
    import sys

    from playground.engine.worker import DEFAULT_SWITCH_INTERVAL, SWITCH_INTERVAL

    ws = workspace
    assert sys.getswitchinterval() == DEFAULT_SWITCH_INTERVAL > SWITCH_INTERVAL
    loop = ws.submit("A", "while True:\n    pass")
    await until_running(ws, loop)

    async def short() -> None:
        while sys.getswitchinterval() != SWITCH_INTERVAL:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(short(), GUARD)  # once it has run past RUNNING_SHOWN
    await ws.cancel("A")
    await done(ws, loop)
    await ws.run("A", "select 1")
    await ws.settle()

    async def default() -> None:
        while sys.getswitchinterval() != DEFAULT_SWITCH_INTERVAL:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(default(), GUARD)


async def test_an_interrupt_that_was_swallowed_is_raised_again_until_the_code_stops(workspace):
    """Python drops an interrupt landing in a GC or weakref callback on that thread; this code drops
    the first two itself, and must still be stopped."""
    ws = workspace
    stubborn = ws.submit("A", (
        "dropped = 0\n"
        "while True:\n"
        "    try:\n"
        "        while True:\n"
        "            pass\n"
        "    except KeyboardInterrupt:\n"
        "        dropped += 1\n"
        "        if dropped == 3:\n"
        "            raise\n"
    ))
    await until_running(ws, stubborn)
    await ws.cancel("A")
    result = await done(ws, stubborn)
    assert result.error is not None and result.error.type == "KeyboardInterrupt"
    assert await value(ws, "A", "dropped") == 3
