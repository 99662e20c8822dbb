"""Regenerate the SVG screenshots in screenshots/ (shown in README.md) with the real app.

    python scripts/screenshots.py [NAME ...]    (names: only those, e.g. matrix_mid_run)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.ui.app import make_app  # noqa: E402
from tests.ui.conftest import run_in, type_in  # noqa: E402

SIZE = (160, 45)
OUT = ROOT / "screenshots"


async def _settle(pilot) -> None:
    from textual.worker import WorkerCancelled

    while True:
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause(0.2)


async def mid_transaction(pilot) -> None:
    await run_in(pilot, "A", "u = session.get(User, 1)")
    await run_in(pilot, "A", "u.name = 'annie'")
    await run_in(pilot, "A", "session.add(Item(name='mug', stock=5))")
    await run_in(pilot, "B", "acct = session.get(Account, 2)")
    await run_in(pilot, "B", "session.delete(acct)")
    await run_in(pilot, "B", "select id, name, stock from items")


async def savepoint_rolled_back(pilot) -> None:
    await run_in(pilot, "A", "u = session.get(User, 1)")
    await run_in(pilot, "A", "SAVEPOINT before_import")
    await run_in(pilot, "A", "dee = User(name='dee', email='dee@example.com')\nsession.add(dee)\nsession.flush()")
    await run_in(pilot, "A", "u.email = 'ann@new.example'")
    await run_in(pilot, "A", "ROLLBACK TO before_import")


async def lock_wait(pilot) -> None:
    await run_in(pilot, "A", "update items set stock = stock - 1 where id = 1")
    await type_in(pilot, "B", "update items set stock = stock - 2 where id = 1")
    await pilot.app.workspace.settle()
    await run_in(pilot, "A", "select id, stock from items where id = 1")
    await pilot.pause(1.2)
    pilot.app.query_one("#bottom").active = "tab-locks"


async def demo_mode(pilot) -> None:
    for _ in range(5):
        await pilot.press("f10")
        while pilot.app.demo.busy:
            await pilot.pause(0.02)


async def matrix_mid_run(pilot) -> None:
    """The Matrix tab zoomed, half its cells measured, the cursor on a decided cell (its evidence below)."""
    app = pilot.app
    app.action_run_matrix()
    view = app.matrix
    while not view.total or len(view.cells) < view.total // 2:
        await pilot.pause(0.05)
    view.table.focus()
    view.table.move_cursor(row=4, column=2)  # P4 at the first level
    await pilot.pause()  # the focus has moved: ctrl+g zooms the views, not a pane
    app.action_zoom()
    await pilot.pause(0.2)


SHOTS = {
    "two_panes_mid_transaction": ({}, mid_transaction),
    "savepoint_rolled_back": ({}, savepoint_rolled_back),
    "lock_wait": ({}, lock_wait),
    "demo_mode": ({"scenario": "process_payment"}, demo_mode),
    "matrix_mid_run": ({}, matrix_mid_run),
}


async def shoot(name: str, kwargs: dict, script) -> Path:
    with tempfile.TemporaryDirectory() as data:
        app = make_app(history_dir=Path(data), **kwargs)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await script(pilot)
            await _settle(pilot)
            return Path(app.save_screenshot(f"{name}.svg", str(OUT)))


async def spec_live() -> Path | None:
    """A PostgreSQL isolation spec stepped through live, s2 waiting on s1's row lock (on the test
    PostgreSQL server, TXPLAY_TEST_POSTGRES; None when it cannot be reached)."""
    import os
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    from playground.ui.suite_app import make_spec_app
    from tests.suites.conftest import ROW_LOCK, ROW_LOCK_EXPECTED

    url = make_url(os.environ.get("TXPLAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"))
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"txplay_shot_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"spec_live: skipped, no PostgreSQL server ({exc})".splitlines()[0])
        return None
    try:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "specs").mkdir()
            (Path(folder) / "expected").mkdir()
            (Path(folder) / "expected" / "row_lock.out").write_text(ROW_LOCK_EXPECTED)
            spec = Path(folder) / "specs" / "row_lock.spec"
            spec.write_text(ROW_LOCK)
            app = make_spec_app(str(spec), url.set(database=name).render_as_string(hide_password=False))
            async with app.run_test(size=SIZE) as pilot:
                await app.opened.wait()
                for _ in range(2):
                    await pilot.press("f10")
                    await app.idle.wait()
                await pilot.pause(0.6)
                return Path(app.save_screenshot("spec_live.svg", str(OUT)))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main(names: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    chosen = {name: shot for name, shot in SHOTS.items() if not names or name in names}
    for number, (name, (kwargs, script)) in enumerate(chosen.items(), 1):
        path = await shoot(name, kwargs, script)
        print(f"[{number}/{len(chosen)}] {path.relative_to(ROOT)}")
    if names and "spec_live" not in names:
        return
    path = await spec_live()
    if path is not None:
        print(f"[+1] {path.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
