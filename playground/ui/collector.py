"""When Python's cycle collector makes its full passes, and over what.

A full pass walks every object the app holds: the log lines, the snapshots, the ORM objects
of every session. In a long session that is hundreds of thousands of objects and up to a second
(measured in the soak: 1,055 ms), a visible stall, and CPython starts one whenever enough objects
have survived the young passes, even while a step runs or a key is pressed. Young passes are short
and stay automatic; this policy runs the old generation's passes instead:

- A pass over what is recent: only what is not frozen (what was made since the last pass) is
  walked, and what survives it is frozen, moved out of every later pass. Its cost follows what
  the steps made, not the heap. It runs once the user has been idle for `idle` seconds, or, never
  idle, once `recent` objects have come into the old generation (so that no pass is long) or the
  heap has grown by `growth` since the last pass (so that memory stays bounded).
- A complete pass unfreezes everything first, so that garbage among frozen objects (a reference
  cycle that died after it was frozen: a closed pane, a step dropped from the history) is found
  too. It runs at an idle moment once the heap has grown by `growth` since the last complete
  pass, or at once, idle or not, past `growth` squared.

What is alive when the app is ready (modules, widgets, mappers) is frozen at the start.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

# CPython starts a full pass after this many young (generation 1) passes, if enough survived.
YOUNG_PASSES = 10
# Objects in the old generation (not frozen) that make a pass due even while the user is busy: a
# pass walks about 1-2 µs an object on a slow machine, so this keeps one to a few tens of ms.
RECENT = 20_000
NEVER = 1 << 30


class Collector:
    """Defers the collector's full passes to idle moments; `tick()` runs them when due."""

    def __init__(self, idle: float = 1.0, growth: float = 1.5, recent: int = RECENT, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle, self.growth, self.recent, self.clock = idle, growth, recent, clock
        self._last_activity = clock()
        self._heap_after_pass = 0  # allocated blocks after the last pass of either kind
        self._heap_after_complete = 0  # after the last pass that walked everything
        self._saved: tuple[int, int, int] | None = None
        # Gauges for tests and benchmarks: passes over everything, and over what came since the last pass.
        self.full_passes = 0
        self.recent_passes = 0

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
        self._heap_after_pass = self._heap_after_complete = sys.getallocatedblocks()

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
        """Run a pass if one is due; True if it ran."""
        if self._saved is None or gc.get_count()[2] < YOUNG_PASSES:
            return False
        heap = sys.getallocatedblocks()
        idle = self.clock() - self._last_activity >= self.idle
        grown = heap / max(self._heap_after_complete, 1)
        if grown >= self.growth * self.growth or (idle and grown >= self.growth):
            self._complete_pass()
        elif idle or heap >= self._heap_after_pass * self.growth or len(gc.get_objects(2)) >= self.recent:
            self._recent_pass()
        else:
            return False
        return True

    def _recent_pass(self) -> None:
        """Walk only what is not frozen (made since the last pass), then freeze what survived."""
        gc.collect()
        gc.freeze()
        self.recent_passes += 1
        self._heap_after_pass = sys.getallocatedblocks()

    def _complete_pass(self) -> None:
        """Walk everything (what the busy passes froze too), then freeze what survived."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.full_passes += 1
        self._heap_after_pass = self._heap_after_complete = sys.getallocatedblocks()
