"""A long session costs nothing per step of history: old steps are forgotten, and counted."""

from __future__ import annotations

import asyncio
import gc
import linecache
import weakref

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine import sources
from playground.engine.events import StepHandle, WorkspaceError
from tests.conftest import ok

KEEP = 5


@pytest.fixture
async def short_memory(monkeypatch):
    """A workspace that keeps the last KEEP steps, set as a user would: $TXPLAY_HISTORY."""
    monkeypatch.setenv("TXPLAY_HISTORY", str(KEEP))
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=10.0))
    try:
        yield ws
    finally:
        await ws.close()


async def test_only_the_last_steps_handles_and_timeline_entries_are_kept(short_memory):
    ws = short_memory
    handles: list[weakref.ref[StepHandle]] = []
    for i in range(KEEP + 7):
        handle = ws.submit("A" if i % 3 else "B", f"x = {i}")
        handles.append(weakref.ref(handle))
        await handle.done.wait()
        assert handle.result.status == "ok"
    del handle
    gc.collect()
    last = ws.last_index
    alive = [i + 1 for i, ref in enumerate(handles) if ref() is not None]
    assert alive == list(range(last - KEEP + 1, last + 1)), "handles outlived the history kept"
    snap = ws.snapshot()
    assert [e.index for e in snap.timeline] == alive
    assert getattr(snap, "timeline_dropped", 0) == last - KEEP
    assert ws.handle(last).result.status == "ok"
    with pytest.raises(WorkspaceError, match="forgotten"):
        ws.handle(1)


async def test_a_waiting_step_and_each_sessions_latest_are_never_forgotten(short_memory):
    ws = short_memory
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    waiting = ws.submit("B", "update items set stock = 2 where id = 1")
    await ws.settle()
    assert waiting.wait is not None, "B should wait on A's write lock"
    for i in range(KEEP + 3):
        await ok(ws, "A", f"select {i}")
    assert ws.handle(waiting.index) is waiting
    assert waiting.index in [e.index for e in ws.snapshot().timeline]
    await ok(ws, "A", "commit")
    await asyncio.wait_for(waiting.done.wait(), 15)
    for i in range(KEEP + 3):
        await ok(ws, "A", f"select {i}")
    # B's latest step: the runner waits on it before B's next one.
    assert ws.handle(waiting.index).result.status == "ok"
    await ok(ws, "B", "commit")
    with pytest.raises(WorkspaceError):
        ws.handle(waiting.index)


async def test_python_sources_in_linecache_are_bounded_but_a_live_functions_stays(workspace, monkeypatch):
    monkeypatch.setattr(sources, "KEPT", KEEP)
    gc.collect()  # functions of workspaces closed earlier in this process keep their sources until then
    await ok(workspace, "A", "def boom():\n    return 1 / 0")
    for i in range(KEEP + 10):
        await ok(workspace, "A", f"y = {i}")
    names = [name for name in linecache.cache if name.startswith("<A:")]
    assert len(names) <= KEEP + 1, names
    result = await workspace.run("A", "boom()")
    assert "line 2 in boom" in result.error.message, result.error
    assert any("return 1 / 0" in "".join(linecache.cache[name][2]) for name in names)


async def test_an_object_a_step_returned_or_its_failure_held_dies_once_the_user_has_no_name_for_it(workspace):
    await ok(workspace, "A", "import weakref\nprobe = []")
    gc.collect()
    gc.disable()  # only reference counts free them: the collector's full passes wait for idle moments
    try:
        shown = await ok(workspace, "A", "probe.append(weakref.ref(session.get(Item, 2)))\nsession.get(Item, 2)")
        assert shown.value.startswith("Item(id=2")
        failed = await workspace.run("A", "def f():\n    it = session.get(Item, 3)\n    probe.append(weakref.ref(it))\n    1 / 0\nf()")
        assert failed.error.type == "ZeroDivisionError"
        alive = await ok(workspace, "A", "[ref() is not None for ref in probe]")
        assert alive.plain_value == [False, False], "the step's Item is still alive (returned, held by the failure)"
    finally:
        gc.enable()
