"""PostgreSQL's isolation tools for the tests and the benchmark: the real `isolationtester`, fresh
databases on the shared server, PostgreSQL 15's own suite, and txplay's runner, side by side.

The functions named `find_*` return None where a thing is absent (the benchmark says so and moves
on); the `require_*` ones skip the calling test with the reason.
"""

from __future__ import annotations

import difflib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN_SPECS = Path(__file__).resolve().parent / "specs"
UPSTREAM_ENV = "TXPLAY_PG_ISOLATION_DIR"
"""The folder holding PostgreSQL 15's `specs/` and `expected/` (`.ci/run` sets it)."""

STEP_TIMEOUT = 60
"""Seconds isolationtester lets a step wait before cancelling it (PGISOLATIONTIMEOUT): a wrong
permutation fails in a minute, not in five."""
RUN_TIMEOUT = 300
"""Seconds a whole run of either tool may take before the test fails (a guard, never waited out)."""

DATABASE_SETTINGS = {
    # What pg_regress gives the database it makes for PostgreSQL's own suites (their expected
    # files rest on them), as database settings so that every client sees them, whatever it reads
    # from its environment.
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "bytea_output": "hex",
    "timezone_abbreviations": "Default",
    "timezone": "PST8PDT",
    "datestyle": "Postgres, MDY",
    "intervalstyle": "postgres_verbose",
}


# -- the tools --------------------------------------------------------------------------------


def find_isolationtester() -> Path | None:
    """The real isolationtester of the installed PostgreSQL (beside its PGXS folder), or None."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    done = subprocess.run([pg_config, "--pgxs"], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        return None
    tool = Path(done.stdout.strip()).parent.parent / "test" / "isolation" / "isolationtester"
    return tool if os.access(tool, os.X_OK) else None


def require_isolationtester() -> Path:
    """The real isolationtester, or a skip saying why it is not there."""
    tool = find_isolationtester()
    if tool is None:
        pytest.skip("no isolationtester: it comes with PostgreSQL's server development files "
                    "(postgresql-server-dev-15), found through `pg_config --pgxs`")
    return tool


def find_upstream_dir() -> Path | None:
    """PostgreSQL 15's own isolation suite (the folder holding specs/ and expected/), or None."""
    folder = os.environ.get(UPSTREAM_ENV)
    if not folder:
        return None
    path = Path(folder)
    return path if (path / "specs").is_dir() and (path / "expected").is_dir() else None


def require_upstream_dir() -> Path:
    """PostgreSQL 15's own isolation suite, or a skip saying how to get it."""
    path = find_upstream_dir()
    if path is None:
        where = os.environ.get(UPSTREAM_ENV)
        reason = (f"{UPSTREAM_ENV}={where} holds no specs/ and expected/" if where else
                  f"{UPSTREAM_ENV} is not set: `export {UPSTREAM_ENV}=$(bash scripts/upstream_suites.sh)` "
                  "fetches PostgreSQL 15's isolation suite (.ci/run does)")
        pytest.skip(reason)
    return path


def own_specs() -> list[Path]:
    """The specs of this folder's own, by name."""
    return sorted(OWN_SPECS.glob("*.spec"))


# -- fresh databases --------------------------------------------------------------------------


@dataclass(frozen=True)
class PgDatabase:
    """A database of a test's own on a PostgreSQL server, addressed as each tool wants it."""

    host: str
    port: int
    user: str
    name: str

    @property
    def conninfo(self) -> str:
        """The libpq connection string isolationtester takes."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.name}"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL txplay takes."""
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{self.name}"


def _admin(server_url: str):
    """An autocommit psycopg connection to the server's `postgres` database."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname="postgres", autocommit=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[PgDatabase]:
    """A new database with a random name on the server at `server_url`, dropped afterwards even
    while sessions are still connected to it."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    db = PgDatabase(url.host or "127.0.0.1", url.port or 5432, url.username or "postgres",
                    f"txspec_{secrets.token_hex(5)}")
    # The admin connection is closed while the test runs: the shared server's connection slots
    # are few, and the tools open one per session.
    with _admin(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{db.name}" TEMPLATE template0 ENCODING \'UTF8\'')
        try:
            for name, value in DATABASE_SETTINGS.items():
                admin.execute(f"ALTER DATABASE \"{db.name}\" SET {name} TO '{value}'")
        except BaseException:
            admin.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
            raise
    try:
        yield db
    finally:
        with _admin(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def require_server() -> str:
    """The URL of the shared PostgreSQL test server, or a skip saying why it cannot be used."""
    from tests.conftest import server_url

    url = server_url("postgresql")
    try:
        import psycopg  # noqa: F401  (fresh_database makes and drops databases with it)
    except ImportError as exc:
        pytest.skip(f"psycopg is not installed (pip install 'txplay[postgres]'): {exc}")
    return url


# -- running a spec ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one tool did with one spec."""

    exit: int
    stdout: str
    stderr: str


def _run(command: list[str], stdin: Path | None = None, env: dict[str, str] | None = None) -> Run:
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
        done = subprocess.run(command, stdin=source, capture_output=True, timeout=RUN_TIMEOUT,
                              env={**os.environ, **(env or {})})
    return Run(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))


def isolationtester_run(tool: Path, spec: Path, db: PgDatabase) -> Run:
    """Run the real isolationtester on `spec` against `db`."""
    return _run([str(tool), db.conninfo], stdin=spec, env={"PGISOLATIONTIMEOUT": str(STEP_TIMEOUT)})


def run_isolationtester(tool: Path, spec: Path, db: PgDatabase) -> str:
    """What the real isolationtester prints for `spec` against `db`; fails the test if it fails."""
    run = isolationtester_run(tool, spec, db)
    assert run.exit == 0, f"isolationtester failed on {spec.name} ({run.exit}):\n{run.stderr}{run.stdout[-2000:]}"
    return run.stdout


def txplay_run(spec: Path, db: PgDatabase, expected: Path | None = None) -> Run:
    """Run `spec` through txplay's CLI (`txplay run SPEC --format isolation`) against `db`."""
    command = [sys.executable, "-m", "playground", "run", str(spec), "--format", "isolation", "--url", db.url]
    if expected is not None:
        command += ["--expected", str(expected)]
    return _run(command, env={"PYTHONPATH": str(ROOT), "TXPLAY_HEADLESS": "1"})


def output_diff(expected: str, actual: str, expected_name: str = "isolationtester",
                actual_name: str = "txplay") -> str:
    """A unified diff of two tools' outputs, line by line with trailing white space stripped;
    empty when they agree."""
    left = [line.rstrip() for line in expected.splitlines()]
    right = [line.rstrip() for line in actual.splitlines()]
    return "\n".join(difflib.unified_diff(left, right, expected_name, actual_name, lineterm=""))
