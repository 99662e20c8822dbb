"""Databases for the reference runner: the same starting data for every run, on each backend.

The reference's sessions connect with SQLAlchemy's own recipe for SQLite (`session_engine`), not
with txplay's engine code: the yardstick must not share what it measures.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from playground.demo import Base
from playground.demo.data import ROWS, create_demo


@dataclass
class Database:
    """A database for one run, where sessions connect, holding the demo rows or a setup's tables."""

    backend: str
    url: str
    connect_args: dict[str, Any]
    drop: str | None = None  # SQL that removes it, run on the server's own database
    path: str | None = None  # SQLite: the folder to delete


class Databases:
    """Databases for the runs on one backend, each starting from the same data.

    SQLite: a copy of a template file per run. A server: one schema (PostgreSQL) or database
    (MySQL) of its own, emptied and refilled with the demo rows before each run, identities
    restarted (cheaper than creating one per run, which the replays would multiply); a scenario
    with its own setup gets a new one per run. Everything is dropped by `close`.
    """

    def __init__(self, backend: str, server_url: str | None, lock_timeout: float = 2.0) -> None:
        self.backend = backend
        self.server_url = server_url
        self.lock_timeout = lock_timeout
        self._template: str | None = None
        self._demo: Database | None = None
        self._demo_engine: AsyncEngine | None = None
        self._admin_engine: AsyncEngine | None = None
        self._tempdir = tempfile.mkdtemp(prefix="txdiff-")

    async def fresh(self, setup: tuple[str, ...]) -> Database:
        """A database holding the demo schema and rows, or only what `setup` creates."""
        if self.backend == "sqlite":
            folder = tempfile.mkdtemp(dir=self._tempdir)
            path = os.path.join(folder, "run.db")
            db = Database("sqlite", f"sqlite+aiosqlite:///{path}", {"timeout": self.lock_timeout}, path=folder)
            if not setup:
                shutil.copyfile(await self._sqlite_template(), path)
                return db
        elif not setup:
            return await self._refilled_demo()
        else:
            db = await self._server_database()
        engine = create_async_engine(db.url, connect_args=db.connect_args, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                for stmt in setup:
                    await conn.exec_driver_sql(stmt)
        finally:
            await engine.dispose()
        return db

    async def _sqlite_template(self) -> str:
        if self._template is None:
            path = os.path.join(self._tempdir, "template.db")
            engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
            async with engine.begin() as conn:
                await conn.run_sync(create_demo)
            await engine.dispose()
            self._template = path
        return self._template

    async def _refilled_demo(self) -> Database:
        if self._demo is None:
            self._demo = await self._server_database()
            self._demo_engine = create_async_engine(self._demo.url, connect_args=self._demo.connect_args, pool_size=1,
                                                     pool_pre_ping=True)
            async with self._demo_engine.begin() as conn:
                await conn.run_sync(create_demo)
            return self._demo
        assert self._demo_engine is not None
        async with self._demo_engine.begin() as conn:
            await conn.run_sync(_refill, self.backend)
        return self._demo

    async def _server_database(self) -> Database:
        assert self.server_url is not None
        name = f"txdiff_{secrets.token_hex(4)}"
        base = make_url(self.server_url)
        if self.backend == "postgresql":
            await self._admin(f"CREATE SCHEMA {name}")
            settings = {"search_path": name, "lock_timeout": str(int(self.lock_timeout * 1000))}
            url = base.set(drivername="postgresql+asyncpg")
            return Database("postgresql", url.render_as_string(hide_password=False), {"server_settings": settings},
                            drop=f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await self._admin(f"CREATE DATABASE {name}")
        url = base.set(drivername="mysql+asyncmy", database=name)
        args = {"init_command": f"SET SESSION innodb_lock_wait_timeout = {max(1, round(self.lock_timeout))}"}
        return Database("mysql", url.render_as_string(hide_password=False), args, drop=f"DROP DATABASE IF EXISTS {name}")

    async def _admin(self, statement: str) -> None:
        if self._admin_engine is None:
            driver = "postgresql+asyncpg" if self.backend == "postgresql" else "mysql+asyncmy"
            url = make_url(self.server_url).set(drivername=driver)
            # Pre-pinged: these engines live for the whole module, longer than a server connection may.
            self._admin_engine = create_async_engine(url, pool_size=1, pool_pre_ping=True, isolation_level="AUTOCOMMIT")
        async with self._admin_engine.connect() as conn:
            await conn.exec_driver_sql(statement)

    async def remove(self, db: Database) -> None:
        """Drop a database made for one run (the shared demo one stays until `close`)."""
        if db is self._demo:
            return
        if db.drop:
            await self._admin(db.drop)
        if db.path:
            shutil.rmtree(db.path, ignore_errors=True)

    async def close(self) -> None:
        """Drop the shared demo database, remove the SQLite files, dispose of the engines."""
        try:
            if self._demo_engine is not None:
                await self._demo_engine.dispose()
            if self._demo is not None and self._demo.drop:
                await self._admin(self._demo.drop)
        finally:
            if self._admin_engine is not None:
                await self._admin_engine.dispose()
            shutil.rmtree(self._tempdir, ignore_errors=True)


def _refill(connection: Connection, backend: str) -> None:
    """Empty the demo tables, restart their identities and insert the demo rows again."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    if backend == "postgresql":
        connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            connection.exec_driver_sql(f"TRUNCATE TABLE {table}")
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    for model, rows in ROWS.items():
        connection.execute(insert(model), rows)


def session_engine(db: Database) -> AsyncEngine:
    """An engine of one connection for one session, with SQLAlchemy's SQLite recipe."""
    engine = create_async_engine(db.url, connect_args=db.connect_args, pool_size=1, max_overflow=0)
    if db.backend == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            # The documented recipe: the driver must not manage transactions itself.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine
