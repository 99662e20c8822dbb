"""SQLite's waits are inferred; a stalled statement is waiting only if its thread is seen asleep.

A statement that makes no progress-handler calls may be in SQLite's busy handler, or merely
without a core (a loaded machine) or waiting for the GIL: only the first sleeps in nanosleep.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from playground.engine.locks import thread_sleeping

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def _in_thread(target) -> tuple[int, threading.Thread]:
    started, found = threading.Event(), []

    def run() -> None:
        found.append(threading.get_native_id())
        started.set()
        target()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait()
    time.sleep(0.05)
    return found[0], thread


def test_a_thread_asleep_is_sleeping_and_one_waiting_on_a_lock_is_not():
    asleep, t1 = _in_thread(lambda: time.sleep(0.5))
    lock = threading.Lock()
    lock.acquire()
    blocked, t2 = _in_thread(lock.acquire)
    assert thread_sleeping(asleep) is True
    assert thread_sleeping(blocked) is False  # a futex, as a thread waiting for the GIL
    lock.release()
    t1.join()
    t2.join()


def test_a_thread_it_cannot_see_is_unknown():
    assert thread_sleeping(None) is None
    assert thread_sleeping(2**31 - 1) is None  # no such thread in this process
