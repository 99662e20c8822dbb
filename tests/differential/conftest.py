"""The reference runner's databases, shared by the tests of one module and dropped at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.differential.databases import Databases


class DatabasesByBackend:
    """One `Databases` per backend, made on first use."""

    def __init__(self) -> None:
        self.made: dict[str, Databases] = {}

    def on(self, backend: str, url: str | None) -> Databases:
        """The databases on `backend` (a server at `url`)."""
        if backend not in self.made:
            self.made[backend] = Databases(backend, url)
        return self.made[backend]

    async def close(self) -> None:
        """Drop everything made; one backend's failure does not leave the others behind."""
        failures = []
        for dbs in self.made.values():
            try:
                await dbs.close()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def databases() -> AsyncIterator[DatabasesByBackend]:
    """Fresh databases for the reference runner, on each backend a test asks for."""
    made = DatabasesByBackend()
    try:
        yield made
    finally:
        await made.close()
