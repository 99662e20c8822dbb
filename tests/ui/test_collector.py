"""The collector's old-generation passes wait for an idle moment, unless the heap outgrows its
bound; a pass walks what came since the last one and freezes its survivors, and a complete pass
(everything unfrozen first) finds the garbage among frozen objects."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import pytest

from playground.ui.collector import NEVER, YOUNG_PASSES, Collector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Node:
    """One object in a reference cycle: only a full pass frees it once it is old."""

    def __init__(self) -> None:
        self.me = self


def old_cyclic_garbage() -> weakref.ref:
    """A cycle that survives the young passes into the old generation, then dies."""
    node = Node()
    ref = weakref.ref(node)
    gc.collect(1)  # survivors of a generation-1 pass move to the old generation
    del node
    return ref


def make_due() -> None:
    """As many young passes as CPython would wait for before a full one."""
    for _ in range(YOUNG_PASSES):
        gc.collect(1)


FULL_PASSES: list[str] = []  # the threads that ran a full pass while a test here ran


def _note_full_pass(phase: str, info: dict) -> None:
    if phase == "start" and info["generation"] == 2:
        FULL_PASSES.append(threading.current_thread().name)


@pytest.fixture
def collector():
    saved = gc.get_threshold()
    clock = Clock()
    c = Collector(idle=1.0, growth=1.05, clock=clock)
    c.install()
    FULL_PASSES.clear()
    gc.callbacks.append(_note_full_pass)
    try:
        yield c, clock
    finally:
        gc.callbacks.remove(_note_full_pass)
        c.uninstall()
    assert gc.get_threshold() == saved


def test_no_full_pass_while_busy(collector):
    c, clock = collector
    assert gc.get_threshold()[2] == NEVER
    ref = old_cyclic_garbage()
    make_due()
    c.activity()
    clock.now += 0.5
    assert not c.tick()
    assert ref() is not None, "a full pass ran while the user was busy"
    assert c.full_passes == 0


def test_full_pass_once_idle(collector):
    c, clock = collector
    for _ in range(5):
        ref = old_cyclic_garbage()
        FULL_PASSES.clear()
        make_due()
        c.activity()
        clock.now += 1.0
        ran = c.tick()
        if ran or not FULL_PASSES:
            break
        # A full pass ran elsewhere between (another test's thread): nothing is due; make it due again.
    assert ran, f"not due: {gc.get_count()}; full passes meanwhile on threads {FULL_PASSES}"
    assert ref() is None
    assert (c.full_passes, c.recent_passes) == (0, 1), "the heap has not grown: a pass over what is recent"
    assert not c.tick(), "nothing more is due right after a full pass"


def test_not_due_yet_even_when_idle(collector):
    c, clock = collector
    ref = old_cyclic_garbage()
    gc.collect(1)
    clock.now += 10
    assert not c.tick()
    assert ref() is not None


def test_full_pass_while_busy_once_the_heap_outgrows_its_bound(collector):
    c, clock = collector
    ref = old_cyclic_garbage()
    make_due()
    c.activity()
    ballast = [[] for _ in range(sys.getallocatedblocks() // 10)]  # grows the heap by more than 5 %
    assert c.tick()
    assert ref() is None
    del ballast


def test_uninstall_unfreezes_what_was_frozen():
    c = Collector()
    c.install()
    assert gc.get_freeze_count() > 0
    c.uninstall()
    assert gc.get_freeze_count() == 0
    assert not c.tick(), "an uninstalled policy runs no pass"


def frozen(obj: object) -> bool:
    """Whether `obj` is out of every pass (in no generation the collector walks)."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


def test_a_pass_while_busy_walks_what_is_recent_and_freezes_its_survivors(collector):
    c, clock = collector
    kept = Node()
    ref = old_cyclic_garbage()
    make_due()
    c.activity()
    ballast = [[] for _ in range(sys.getallocatedblocks() // 15)]  # past `growth` (5 %), short of its square
    assert not frozen(kept)
    assert c.tick()
    assert (c.full_passes, c.recent_passes) == (0, 1)
    assert ref() is None, "the recent garbage was collected"
    assert frozen(kept) and frozen(ballast), "what survived is out of the later passes"
    del ballast


def test_garbage_among_frozen_objects_is_found_by_a_complete_pass_once_idle(collector):
    c, clock = collector
    node = Node()
    ref = weakref.ref(node)
    make_due()
    clock.now += 1.0
    assert c.tick() and c.recent_passes == 1 and frozen(node)
    del node
    make_due()
    clock.now += 1.0
    assert c.tick() and c.recent_passes == 2, "idle, the heap not grown: a recent pass, which cannot see frozen garbage"
    assert ref() is not None
    ballast = [[] for _ in range(sys.getallocatedblocks() // 15)]  # the heap grows past `growth`
    make_due()
    clock.now += 1.0
    assert c.tick() and c.full_passes == 1
    assert ref() is None, "the complete pass found the cycle that died frozen"
    del ballast


def test_never_idle_a_complete_pass_runs_once_the_heap_has_grown_by_growth_squared(collector):
    c, clock = collector
    node = Node()
    ref = weakref.ref(node)
    make_due()
    c.activity()
    first = [[] for _ in range(sys.getallocatedblocks() // 15)]
    assert c.tick() and c.recent_passes == 1 and frozen(node)
    del node
    second = [[] for _ in range(sys.getallocatedblocks() // 15)]  # 1.07 × 1.07 > 1.05 squared
    make_due()
    c.activity()
    assert c.tick() and c.full_passes == 1
    assert ref() is None
    del first, second


def test_never_idle_a_pass_runs_once_enough_objects_came_into_the_old_generation():
    """However flat the heap (old objects dying as new ones come), a pass never walks many more
    than `recent` objects: in the soak, 480,000 had piled up and their pass took 880 ms."""
    saved = gc.get_threshold()
    clock = Clock()
    c = Collector(idle=1.0, growth=10.0, recent=5000, clock=clock)
    c.install()
    try:
        make_due()
        c.activity()
        assert not c.tick(), "busy, few old objects, the heap far from its bound: no pass"
        kept = [[] for _ in range(6000)]
        gc.collect(1)  # into the old generation
        make_due()
        c.activity()
        assert c.tick() and (c.full_passes, c.recent_passes) == (0, 1)
        assert frozen(kept[0]) and len(gc.get_objects(2)) < 5000
    finally:
        c.uninstall()
    assert gc.get_threshold() == saved
