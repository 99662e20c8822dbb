"""Shared fixtures: a fresh workspace on a temporary SQLite file, and helpers to run steps."""

from __future__ import annotations

import importlib
import os
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.snapshot import UNSET, StepResult
from tests.servers import PrivateServers


SERVERS = {
    "postgresql": os.environ.get("TXPLAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("TXPLAY_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test"),
}


def _reachable(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=1):
            return True
    except OSError:
        return False


DRIVERS = {"postgresql": ("asyncpg", "postgres"), "mysql": ("asyncmy", "mysql")}
"""The async driver each server backend needs, and the txplay extra that installs it."""


def missing_driver(backend: str) -> str | None:
    """Why the tests cannot talk to `backend` (its driver does not import), or None."""
    module, extra = DRIVERS[backend]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"the {backend} driver {module} is not installed (pip install 'txplay[{extra}]'): {exc}"
    return None


def server_url(backend: str) -> str:
    """The URL of a test server, or a skip (with the reason) when it is not running or its driver
    is not installed."""
    reason = missing_driver(backend)
    if reason:
        pytest.skip(reason)
    url = SERVERS[backend]
    if not _reachable(url):
        pytest.skip(f"no {backend} server at {url} (start it to run the {backend} tests)")
    return url


BACKENDS = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(scope="session")
def private_servers(request) -> Iterator[PrivateServers]:
    """Servers of the run's own, for tests that restart a server or kill its connections:
    `private_servers.get("postgresql").url`. Started on first use, removed at the end of the run."""
    servers = PrivateServers()
    request.config.stash[_PRIVATE] = servers
    try:
        yield servers
    finally:
        servers.remove_all()


_PRIVATE = pytest.StashKey[PrivateServers]()


_STARTUP = pytest.StashKey[dict[str, float]]()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the marks
def pytest_collection_modifyitems(items) -> None:
    """Slow tests first, so that parallel workers do not wait for one that started last; the tests
    that use the private servers in one worker, so that one set of them is started."""
    for item in items:
        if "private_servers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("private_servers"))
        elif any(name in item.nodeid.lower() for name in ("mysql", "mariadb")):
            # MariaDB refills INNODB_TRX only after 0.1 s without a reader: lock monitors of
            # several workers polling at once keep it stale, and waits go unseen. One worker,
            # and one group only (pytest-xdist makes a new group of a test's several groups).
            item.own_markers[:] = [m for m in item.own_markers if m.name != "xdist_group"]
            item.add_marker(pytest.mark.xdist_group("mysql"))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionfinish(session) -> None:
    """In a pytest-xdist worker: hand the private servers' start-up times to the main process."""
    servers = session.config.stash.get(_PRIVATE, None)
    if servers is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["private_servers_startup"] = dict(servers.startup)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """In the main process: gather the start-up times the workers handed over."""
    took = getattr(node, "workeroutput", {}).get("private_servers_startup")
    if took:
        node.config.stash.setdefault(_STARTUP, {}).update(took)


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Say how long the private servers took to start (CI's run time budget includes them)."""
    servers = config.stash.get(_PRIVATE, None)
    startup = dict(servers.startup) if servers is not None else {}
    startup.update(config.stash.get(_STARTUP, {}))
    if startup:
        took = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in startup.items())
        terminalreporter.write_line(f"private servers started: {took}")


@pytest.fixture(params=BACKENDS)
def backend_url(request) -> str | None:
    """None for a fresh SQLite file, or the URL of a running server (skipped when absent)."""
    return None if request.param == "sqlite" else server_url(request.param)


@pytest.fixture
async def any_workspace(backend_url) -> AsyncIterator[Workspace]:
    """A workspace with sessions A and B on the demo schema, on each backend in turn.

    On a server it works in a schema/database of its own, dropped afterwards.
    """
    ws = await Workspace.open(DEMO_KIT, backend_url, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0), isolate=True)
    try:
        yield ws
    finally:
        await ws.close()


@pytest.fixture
async def workspace() -> AsyncIterator[Workspace]:
    """A workspace with sessions A and B on a fresh demo database (SQLite)."""
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
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
    """The Python value of an expression evaluated in a session (a copy: it must be plain data)."""
    result = await ok(ws, session, expression)
    assert result.plain_value is not UNSET, f"{expression!r} gave {result.value}, which is not plain data"
    return result.plain_value


async def committed_rows(ws: Workspace, sql: str) -> list[tuple]:
    """Rows as a connection outside every session reads them."""
    from sqlalchemy import text

    async with ws.observer.connect() as conn:
        result = await conn.execute(text(sql))
        rows = [tuple(r) for r in result]
        await conn.rollback()
    return rows


async def deadlock(ws: Workspace) -> tuple[str, str]:
    """A and B each update a row of items, then want the other's: returns (victim, survivor)."""
    import asyncio

    await ok(ws, "A", "update items set stock = 31 where id = 1")
    await ok(ws, "B", "update items set stock = 32 where id = 2")
    first = ws.submit("A", "update items set stock = 33 where id = 2")
    await ws.settle()
    second = ws.submit("B", "update items set stock = 34 where id = 1")
    await asyncio.wait_for(asyncio.gather(first.done.wait(), second.done.wait()), 15)
    return ("A", "B") if first.result.status == "error" else ("B", "A")
