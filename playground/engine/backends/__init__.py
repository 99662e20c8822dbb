"""One strategy per backend (DESIGN §6), and `resolve()`, which picks it from a URL.

SQLite, PostgreSQL and MySQL/MariaDB have strategies of their own; any other SQLAlchemy
async dialect runs with `GenericBackend`. This package is the only place that knows which
backend a workspace talks to.
"""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from playground.engine.backends.base import IMPLICIT_BEGIN, Backend, BackendError, Traits, reached_server
from playground.engine.backends.engines import ConnectionHooks, create_observer_engine, create_session_engine
from playground.engine.backends.generic import GenericBackend
from playground.engine.backends.mysql import MysqlBackend, mysql_errno
from playground.engine.backends.postgresql import PostgresBackend, psycopg_in_transaction
from playground.engine.backends.sqlite import SqliteBackend, sqlite_txn_state, temporary_url

__all__ = [
    "IMPLICIT_BEGIN",
    "Backend",
    "BackendError",
    "ConnectionHooks",
    "GenericBackend",
    "MysqlBackend",
    "PostgresBackend",
    "SqliteBackend",
    "Traits",
    "create_observer_engine",
    "create_session_engine",
    "install_hint",
    "mask",
    "mysql_errno",
    "name_of",
    "psycopg_in_transaction",
    "reached_server",
    "resolve",
    "sqlite_txn_state",
    "temporary_url",
]

# dialect → (its strategy, the default async driver, the async drivers accepted, the pip extra)
STRATEGIES: dict[str, tuple[type[Backend], str, tuple[str, ...], str | None]] = {
    "sqlite": (SqliteBackend, "aiosqlite", ("aiosqlite",), None),
    "postgresql": (PostgresBackend, "asyncpg", ("asyncpg", "psycopg"), "postgres"),
    "mysql": (MysqlBackend, "asyncmy", ("asyncmy", "aiomysql"), "mysql"),
    "mariadb": (MysqlBackend, "asyncmy", ("asyncmy", "aiomysql"), "mysql"),
}
DRIVER_MODULES = {"aiosqlite": "aiosqlite", "asyncpg": "asyncpg", "psycopg": "psycopg", "asyncmy": "asyncmy", "aiomysql": "aiomysql"}
ALIASES = {"postgres": "postgresql"}


def resolve(url: str | URL) -> Backend:
    """Parse a URL, pick its strategy and async driver, and check the driver is installed."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError as exc:
        raise BackendError(f"not a database URL: {mask(str(url))} ({exc})") from None
    dialect, _, driver = parsed.drivername.partition("+")
    dialect = ALIASES.get(dialect, dialect)
    if dialect not in STRATEGIES:
        return _generic(parsed)
    strategy, default, accepted, extra = STRATEGIES[dialect]
    driver = driver or default
    if driver not in accepted:
        names = ", ".join(f"{dialect}+{d}" for d in accepted)
        raise BackendError(f"{dialect}+{driver} is not an async driver txplay can use; use {names}")
    module = DRIVER_MODULES[driver]
    if importlib.util.find_spec(module) is None:
        hint = install_hint(extra) if extra else f"pip install {module}"
        raise BackendError(f"the {driver} driver for {dialect} is not installed: {hint}")
    if strategy is SqliteBackend and parsed.database in (None, "", ":memory:"):
        raise BackendError("an in-memory SQLite database cannot be shared by several sessions; give a file: sqlite:///demo.db")
    return strategy(parsed.set(drivername=f"{dialect}+{driver}"))


def _generic(parsed: URL) -> Backend:
    """Any other dialect SQLAlchemy can load, provided its driver is asynchronous."""
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise BackendError(
            f"SQLAlchemy has no dialect {parsed.drivername!r}; txplay knows sqlite, postgresql, mysql and mariadb, "
            "and runs any other dialect that has an async driver"
        ) from None
    if not getattr(dialect, "is_async", False):
        raise BackendError(f"{parsed.drivername} is not an async driver; txplay needs one (dialect+asyncdriver://…)")
    return GenericBackend(parsed)


def name_of(url: str | None) -> str:
    """What scenarios call the backend at `url`; None is the temporary SQLite file txplay opens."""
    return SqliteBackend.name if url is None else resolve(url).name


def install_hint(extra: str) -> str:
    """The pip command that adds an extra: by name for an installed txplay (editable or not), by
    folder for a source checkout run without installing it (where pip does not know the name)."""
    from importlib import metadata
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[3]
    try:
        metadata.distribution("txplay")
    except metadata.PackageNotFoundError:
        if (checkout / "pyproject.toml").is_file():
            folder = "." if Path.cwd().resolve() == checkout else str(checkout)
            return f"pip install '{folder}[{extra}]'"
    return f"pip install 'txplay[{extra}]' (in a source checkout: pip install '.[{extra}]')"


def mask(text: str) -> str:
    """Mask any password in a URL-looking string (for error messages built from raw input)."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text
