"""Regenerate the SVG screenshots in screenshots/ (shown in README.md) with the real app.

    python scripts/screenshots.py
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


SHOTS = {
    "two_panes_mid_transaction": ({}, mid_transaction),
    "savepoint_rolled_back": ({}, savepoint_rolled_back),
    "lock_wait": ({}, lock_wait),
    "demo_mode": ({"scenario": "process_payment"}, demo_mode),
}


async def shoot(name: str, kwargs: dict, script) -> Path:
    with tempfile.TemporaryDirectory() as data:
        app = make_app(history_dir=Path(data), **kwargs)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await script(pilot)
            await _settle(pilot)
            return Path(app.save_screenshot(f"{name}.svg", str(OUT)))


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    for number, (name, (kwargs, script)) in enumerate(SHOTS.items(), 1):
        path = await shoot(name, kwargs, script)
        print(f"[{number}/{len(SHOTS)}] {path.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
