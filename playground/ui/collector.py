"""When Python's cycle collector makes its full passes: while the user is idle, not mid-step.

A full pass walks every object the app holds: the log lines, the snapshots, the ORM objects
of every session. With a few sessions in use that is 50-100 ms, a visible stall, and CPython
starts one whenever enough objects have survived the young passes, even while a step runs or
a key is pressed. Young passes are short and stay automatic. Full passes wait until nothing
has happened for `idle` seconds, when nobody sees them; if the app is never idle, one runs
anyway once the heap has grown by `growth` since the last full pass, so memory stays bounded.

What is alive when the app is ready (modules, widgets, mappers) is frozen out of every pass.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

# CPython starts a full pass after this many young (generation 1) passes, if enough survived.
YOUNG_PASSES = 10
NEVER = 1 << 30


class Collector:
    """Defers the collector's full passes to idle moments; `tick()` runs them when due."""

    def __init__(self, idle: float = 1.0, growth: float = 1.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle, self.growth, self.clock = idle, growth, clock
        self._last_activity = clock()
        self._heap_after_full = 0
        self._saved: tuple[int, int, int] | None = None
        self.full_passes = 0  # run by this policy (a gauge for tests and benchmarks)

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        """Freeze what lives now and take over the full passes."""
        if self._saved is not None:
            return
        gc.freeze()
        self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, NEVER)
        self._heap_after_full = sys.getallocatedblocks()

    def uninstall(self) -> None:
        """Give the full passes back to CPython and unfreeze (what died since is collected again)."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def activity(self) -> None:
        """Something the user sees just happened (a key, a step started or ended)."""
        self._last_activity = self.clock()

    def tick(self) -> bool:
        """Run a full pass if one is due; True if it ran."""
        if self._saved is None or gc.get_count()[2] < YOUNG_PASSES:
            return False
        busy = self.clock() - self._last_activity < self.idle
        if busy and sys.getallocatedblocks() < self._heap_after_full * self.growth:
            return False
        gc.collect()
        self.full_passes += 1
        self._heap_after_full = sys.getallocatedblocks()
        return True
