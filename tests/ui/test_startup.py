"""Start-up: the panes are drawn before SQLAlchemy is imported, and what is typed while the
database opens runs, in order, once it is open (issue 19)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import playground.ui.app as app_module
from tests.ui.conftest import TIMEOUT, caught_up, log_text, type_in, until_opened

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: the test process has SQLAlchemy loaded already. The first update
# the app displays is recorded (`App._display` is the one place every screen update goes through,
# private but stable; an update inside a batch is not displayed, so it does not count).
FIRST_PAINT = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    from textual.app import App

    painted = []
    display = App._display

    def first_paint(self, screen, renderable):
        if renderable is not None and not self._batch_count and not painted:
            from playground.ui.session_input import SessionInput

            painted.append({
                "sqlalchemy": sorted(m for m in sys.modules if m.split(".")[0] == "sqlalchemy")[:5],
                "inputs": [w.parent.session_name for w in screen._compositor.visible_widgets if isinstance(w, SessionInput)],
            })
        display(self, screen, renderable)

    App._display = first_paint

    from playground.ui.app import make_app

    app = make_app(history_dir=Path(sys.argv[1]), **json.loads(sys.argv[2]))

    async def leave(pilot):
        while not painted:  # the first update displayed, whenever it comes
            await pilot.pause()
        await pilot.app.waits.opened.wait()  # and the database opened behind it
        pilot.app.exit()

    app.run(headless=True, auto_pilot=leave, size=(160, 50))
    print(json.dumps({"painted": painted, "failure": app.failure, "opened": app.workspace is not None}))
""")


def first_paint(tmp_path: Path, **options) -> dict:
    done = subprocess.run([sys.executable, "-c", FIRST_PAINT, str(tmp_path / "data"), json.dumps(options)],
                          capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_panes_are_drawn_before_sqlalchemy_is_imported(tmp_path):
    seen = first_paint(tmp_path)
    assert seen["painted"], "the app never displayed an update"
    first = seen["painted"][0]
    assert sorted(first["inputs"]) == ["A", "B"], "the first paint did not show both panes' inputs"
    assert first["sqlalchemy"] == [], f"SQLAlchemy was imported before the first paint: {first['sqlalchemy']}"
    assert seen["opened"] and seen["failure"] is None  # and the database opened after it


def test_demo_mode_draws_the_scenario_panes_before_sqlalchemy_is_imported(tmp_path):
    seen = first_paint(tmp_path, scenario="flush_is_not_commit")
    first = seen["painted"][0]
    assert sorted(first["inputs"]) == ["A", "B"] and first["sqlalchemy"] == []
    assert seen["opened"] and seen["failure"] is None


@contextlib.contextmanager
def held_open(monkeypatch):
    """Hold the app's database opening back until the event yielded is set."""
    release = asyncio.Event()
    real = app_module.open_workspace

    async def open_when_released(*args, **kwargs):
        # A guard, not a wait for the test: the old app took no key before its database was open.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 60)
        return await real(*args, **kwargs)

    monkeypatch.setattr(app_module, "open_workspace", open_when_released)
    yield release


async def test_steps_and_keys_used_while_the_database_opens_run_in_order_once_it_is_open(app_factory, monkeypatch):
    with held_open(monkeypatch) as release:
        app = app_factory(opened=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            assert app.workspace is None, "the app took no key before its database was open"
            assert "opening database…" in app.pane("A").header.plain
            await pilot.press("f2")  # begin, in A (its input has the focus)
            await type_in(pilot, "A", "u = session.get(User, 1)")
            await type_in(pilot, "B", "select 40 + 2")
            await pilot.press("ctrl+n")  # a third pane
            await type_in(pilot, "A", "u.name")
            await pilot.pause()
            assert app.workspace is None and "runs once the database is open" in log_text(app.pane("B"))
            release.set()
            await until_opened(pilot)
            await caught_up(pilot)
            ws = app.workspace
            ran = [(ws.handle(i).session, ws.handle(i).input) for i in range(1, ws.last_index + 1)]
            assert ran == [("A", "\\begin"), ("A", "u = session.get(User, 1)"), ("B", "select 40 + 2"), ("A", "u.name")]
            assert all(ws.handle(i).result.status.name == "OK" for i in range(1, ws.last_index + 1))
            assert ws.handle(4).result.value == "'ann'"
            assert "42" in log_text(app.pane("B")) and "'ann'" in log_text(app.pane("A"))
            assert app.pane("C") is not None, "ctrl+n pressed while the database opened was lost"
            assert "opening database…" not in app.pane("A").header.plain


async def test_a_step_typed_while_the_database_cannot_be_opened_is_dropped_with_the_usual_message(app_factory, tmp_path, monkeypatch):
    with held_open(monkeypatch) as release:
        app = app_factory(opened=False, url=f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/db.sqlite")
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            await type_in(pilot, "A", "select 1")
            release.set()
            async with asyncio.timeout(TIMEOUT):
                await app.waits.opened.wait()
            assert app.workspace is None
            assert app.failure is not None and app.failure.startswith("txplay: cannot open sqlite+aiosqlite://")
    assert app.return_code == 2


async def test_quitting_while_the_database_opens_leaves_at_once(app_factory, monkeypatch):
    with held_open(monkeypatch):
        app = app_factory(opened=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            assert app.workspace is None, "the app took no key before its database was open"
            await pilot.press("ctrl+q")  # the opening is stopped: it is never released
    assert app.workspace is None and app.return_code == 0
