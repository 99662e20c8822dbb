"""Shared fixtures: a fresh workspace on a temporary SQLite file, and helpers to run steps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from playground.engine import SessionSettings, Workspace
from playground.engine.snapshot import StepResult


@pytest.fixture
async def workspace() -> AsyncIterator[Workspace]:
    """A workspace with sessions A and B on a fresh demo database (SQLite)."""
    ws = await Workspace.open(sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
    try:
        yield ws
    finally:
        await ws.close()


async def ok(ws: Workspace, session: str, text: str) -> StepResult:
    """Run a step and fail the test, with the error, unless it succeeded."""
    result = await ws.run(session, text)
    assert result.status == "ok", f"{text!r} failed: {result.error}"
    return result


async def value(ws: Workspace, session: str, expression: str):
    """The Python value of an expression evaluated in a session."""
    result = await ok(ws, session, expression)
    return result.raw_value


async def committed_rows(ws: Workspace, sql: str) -> list[tuple]:
    """Rows as a connection outside every session reads them."""
    from sqlalchemy import text

    async with ws.observer.connect() as conn:
        result = await conn.execute(text(sql))
        rows = [tuple(r) for r in result]
        await conn.rollback()
    return rows
