"""`worker.Signal`: the workspace's wake-up between steps, waited on with a timeout."""

from __future__ import annotations

import asyncio

from playground.engine.worker import Signal


async def test_a_set_wakes_every_waiter_and_says_so() -> None:
    signal = Signal()
    waits = [asyncio.create_task(signal.wait(30.0)) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waits)
    signal.set()
    assert await asyncio.gather(*waits) == [True, True, True]
    assert await signal.wait(30.0) is True  # already set: no wait at all


async def test_the_timeout_ends_a_wait_unset_and_leaves_no_waiter_behind() -> None:
    signal = Signal()
    assert await signal.wait(0.01) is False
    assert signal._waiters == []
    signal.set()
    signal.clear()
    assert not signal.is_set()
    assert await signal.wait(0.01) is False


async def test_a_cancelled_wait_leaves_no_waiter_and_a_later_set_still_wakes_others() -> None:
    signal = Signal()
    gone = asyncio.create_task(signal.wait(30.0))
    kept = asyncio.create_task(signal.wait(30.0))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert len(signal._waiters) == 1
    signal.set()
    assert await kept is True
