"""A session's own thread: an asyncio loop where that session's steps, and only they, run.

User code is arbitrary Python: `time.sleep(8)` or `while True: pass` must stop neither the
other sessions, nor the lock monitor, nor the screen. So every session runs on a thread of
its own with its own event loop (its engine, connection and `AsyncSession` live there), and
the workspace, on the caller's loop, hands it coroutines and awaits their results.

A runaway Python step is stopped the way Ctrl+C stops a REPL: `KeyboardInterrupt` is raised
in the session's thread, but only while that thread is running the step's own code, so it
never lands in the event loop's machinery or in a driver.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import sys
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# A session in a CPU-bound loop holds the GIL; every other thread (the screen's among them)
# waits for it up to the switch interval each time it wakes. Python's 5 ms default puts 5 ms
# of lag on every frame; 1 ms keeps a frame's lag within one 60 Hz frame. But a short interval
# also costs every ordinary step (threads hand the GIL back and forth more often: +13 % over
# 5,000 steps), so it is short only while some step has been running Python for a while.
SWITCH_INTERVAL = 0.001
DEFAULT_SWITCH_INTERVAL = sys.getswitchinterval()


def responsive_switching(on: bool) -> None:
    """A short GIL switch interval while a step runs long (`on`), Python's own otherwise."""
    sys.setswitchinterval(min(SWITCH_INTERVAL, DEFAULT_SWITCH_INTERVAL) if on else DEFAULT_SWITCH_INTERVAL)



class Signal:
    """An `asyncio.Event` whose wait takes a timeout without a task of its own.

    `asyncio.wait_for(event.wait(), t)` makes a task, a timer and a waiter each time; the
    workspace waits so once per step.
    """

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Unset the flag."""
        self._set = False

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    async def wait(self, timeout: float) -> bool:
        """Wait until the flag is set or `timeout` seconds pass; says whether it is set."""
        if self._set:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return self._set


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _set_async_exc(ident: int, exc: type[BaseException] | None) -> int:
    """CPython's PyThreadState_SetAsyncExc: raise `exc` in thread `ident` (None: drop a pending one)."""
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None))


class SessionThread:
    """A daemon thread running an event loop forever, until `stop`.

    Daemon, so that quitting never waits for a session stuck in user code or in a driver:
    the database rolls back what its connection had not committed.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._interrupt_lock = threading.Lock()
        self.user_code: str | None = None  # the pseudo file name of the step's code while it runs
        self.thread = threading.Thread(target=self._main, name=f"txplay session {name}", daemon=True)
        self.thread.start()
        self._started.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._started.set()
        while not self.loop.is_closed():
            try:
                self.loop.run_forever()
            except KeyboardInterrupt:
                continue  # an interrupt that arrived as the step ended: the loop serves on
            break
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the session's loop; returns at once."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the session's loop and await its result from the caller's loop."""
        future = asyncio.wrap_future(self.submit(coro))
        if timeout is None:
            return await future
        return await asyncio.wait_for(future, timeout)

    # -- interrupting user code ------------------------------------------------------------

    def running_user_code(self) -> bool:
        """Whether the thread is executing the current step's own code right now.

        A step awaiting the database (its greenlet switched out) is not: its stack is the
        event loop's, and an interrupt there would break the loop, not the step.
        """
        marker = self.user_code
        ident = self.thread.ident
        if marker is None or ident is None:
            return False
        frame = sys._current_frames().get(ident)
        while frame is not None:
            if frame.f_code.co_filename.startswith(marker):
                return True
            frame = frame.f_back
        return False

    def interrupt(self) -> bool:
        """Raise KeyboardInterrupt in the step's code; False when it is not running any now."""
        with self._interrupt_lock:
            if not self.running_user_code():
                return False
            assert self.thread.ident is not None
            return _set_async_exc(self.thread.ident, KeyboardInterrupt) == 1

    def keep_interrupting(self, period: float = 0.1, limit: float = 60.0) -> bool:
        """Interrupt the step's code now, and again every `period` while it still runs (up to `limit`).

        Once is not always enough: an interrupt that lands in a garbage-collection or weakref
        callback running on that thread is printed and dropped by Python, and the loop goes on.
        False when the thread is not running the step's code.
        """
        if not self.interrupt():
            return False

        def again() -> None:
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                time.sleep(period)
                if not self.interrupt():
                    return

        threading.Thread(target=again, name=f"txplay interrupt {self.name}", daemon=True).start()
        return True

    def cancel(self, task: asyncio.Task[Any] | None) -> None:
        """Cancel `task`, running on this thread's loop (nothing if the loop has closed)."""
        if task is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(task.cancel)

    @contextlib.contextmanager
    def running(self, marker: str) -> Any:
        """Marks the step's code as running (interruptible) within the block."""
        self.user_code = marker
        try:
            yield
        finally:
            with self._interrupt_lock:
                self.user_code = None
                if self.thread.ident is not None:
                    _set_async_exc(self.thread.ident, None)  # drop one not yet raised

    # -- ending ----------------------------------------------------------------------------

    async def last(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` as the thread's last work, waiting for it up to `timeout`.

        The loop stops once `coro` has ended, however long that takes: a session still busy
        when the caller stops waiting closes its connection (and its driver's thread) first,
        rather than having the loop closed under it.
        """
        async def then_stop() -> T:
            try:
                return await coro
            finally:
                self.loop.stop()

        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self.submit(then_stop()))), timeout)

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the loop and wait up to `timeout` for the thread; False if it is stuck in a step."""
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        return not self.thread.is_alive()
