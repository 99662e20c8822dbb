"""psycopg, the other PostgreSQL driver txplay accepts: settings and transaction state hold as with asyncpg."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from tests.conftest import ok, server_url


@pytest.fixture
async def psycopg_workspace():
    pytest.importorskip("psycopg")
    url = make_url(server_url("postgresql")).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=True, defaults=SessionSettings(lock_timeout=5.0))
    try:
        yield ws
    finally:
        await ws.close()


async def lock_timeout(ws: Workspace) -> str:
    return (await ok(ws, "A", "show lock_timeout")).rows[0][0]


async def test_timeout_on_an_idle_connection_holds_and_begins_nothing(psycopg_workspace):
    ws = psycopg_workspace
    await ok(ws, "A", "\\timeout 0.7")
    assert not ws.sessions["A"].in_database_transaction()  # no transaction begun behind SQLAlchemy's back
    assert await lock_timeout(ws) == "700ms"


async def test_timeout_inside_a_transaction_survives_its_rollback(psycopg_workspace):
    ws = psycopg_workspace
    await ok(ws, "A", "update items set stock = 1 where id = 1")
    assert ws.sessions["A"].in_database_transaction()
    await ok(ws, "A", "\\timeout 0.3")
    await ok(ws, "A", "rollback")
    assert await lock_timeout(ws) == "300ms"
    # And it is the timeout a real wait ends at.
    await ok(ws, "B", "update items set stock = 2 where id = 1")
    refused = await ws.run("A", "update items set stock = 3 where id = 1")
    assert refused.error.sqlstate == "55P03"
