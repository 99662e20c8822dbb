"""The UI draws what it is pushed: snapshots and events, never a live engine object.

Tab completion and the palette's isolation levels come from the session's snapshot; the UI
calls the workspace's named queries and commands (submit, settle, committed, tables…) only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import playground.ui
from tests.ui.conftest import run_in

UI = Path(playground.ui.__file__).parent
# What a workspace holds that is live (sessions, their namespaces, engines, models), by attribute.
LIVE_ATTRIBUTES = {"sessions", "namespace", "models", "kit", "observer", "monitor"}
# Methods that hand out live state or a copy the UI must not pull on top of what it is pushed.
PULLS = {"snapshot", "handle"}


def _receiver(node: ast.expr) -> str:
    """The last name of an attribute's receiver: `ws`, `workspace` (for `self.app.workspace`)…"""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def live_reaches(source: str) -> list[str]:
    """Each place in `source` that reaches into a workspace past its named queries, as `line: text`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        on_workspace = _receiver(node.value) in ("ws", "workspace")
        if node.attr == "namespace" or (on_workspace and node.attr in LIVE_ATTRIBUTES) or (on_workspace and node.attr in PULLS):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_ui_reaches_no_live_engine_object():
    offenders = {}
    for path in sorted(UI.rglob("*.py")):
        found = live_reaches(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(UI))] = found
    assert offenders == {}


def test_the_check_flags_a_planted_reach():
    planted = [
        "words = ws.sessions[name].namespace",
        "self._latest = self.workspace.snapshot()",
        "kind = self.app.workspace.handle(3).kind",
        "for m in ws.models: pass",
    ]
    for source in planted:
        assert live_reaches(source), source
    assert live_reaches("ws.submit('A', 'x'); snap.sessions; await ws.committed('t')") == []


async def test_tab_completes_names_bound_in_the_session_from_its_snapshot(app_factory):
    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await run_in(pilot, "A", "zebra_count = 3")
        words = app._completions("A")
        assert "zebra_count" in words and "User" in words and "\\commit" in words
        assert "zebra_count" not in app._completions("B"), "each session completes its own names"
        pane = app.pane("A")
        assert "zebra_count" in pane.snapshot.names
        pane.input.focus()
        pane.input.insert("zebra_c")
        await pilot.press("tab")
        assert pane.input.text == "zebra_count"


async def test_the_palette_offers_the_isolation_levels_of_the_session_snapshot(app_factory):
    from playground.ui.commands import TxplayCommands

    app = app_factory()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.pane("A").input.focus()
        await pilot.pause()
        levels = app.pane("A").snapshot.isolation_levels
        assert "SERIALIZABLE" in levels
        names = [name for name, _, _ in TxplayCommands(app.screen)._commands()]
        assert [n for n in names if n.startswith("Isolation: ")] == [f"Isolation: {level}" for level in levels]
        assert "Journal mode: wal" in names
