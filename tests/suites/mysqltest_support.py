"""Running mysqltest files through the real `mysqltest` and through txplay, each on a fresh database."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from playground.suites.mysqltest import MysqltestResult, _global_variables, _restore_globals, load, run_mysqltest
from playground.suites.mysqltest_client import Client, Endpoint
from tests.conftest import server_url

HERE = Path(__file__).parent / "mysqltest"


def suite_dir() -> Path | None:
    """MariaDB's mysql-test folder: TXPLAY_MARIADB_SUITE_DIR, else where Debian's mariadb-test puts it."""
    env = os.environ.get("TXPLAY_MARIADB_SUITE_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    default = Path("/usr/share/mysql/mysql-test")
    return default if default.is_dir() else None


def need_tools() -> tuple[str, Path, str]:
    """The real mysqltest, the suite folder and the MariaDB URL, or a skip saying which is missing."""
    url = server_url("mysql")
    tool = shutil.which("mysqltest") or shutil.which("mariadb-test")
    if tool is None:
        pytest.skip("the real mysqltest is not installed (Debian package mariadb-test)")
    suite = suite_dir()
    if suite is None:
        pytest.skip("MariaDB's mysql-test suite is not installed (set TXPLAY_MARIADB_SUITE_DIR)")
    return tool, suite, url


def endpoint(url: str) -> Endpoint:
    """The URL's server, user and password."""
    parsed = make_url(url)
    return Endpoint(parsed.host or "127.0.0.1", parsed.port or 3306, parsed.username or "root", parsed.password or "", None)


async def admin_query(url: str, sql: str) -> None:
    """Run one statement on a connection of its own; fail the test on an error."""
    client = await Client.open("admin", endpoint(url), endpoint(url).user, endpoint(url).password, None)
    try:
        _, error = await client.query(sql, 60)
        assert error is None, f"{sql}: {error}"
    finally:
        await client.close()


@pytest.fixture
async def mysql_database():
    """A fresh database on the MariaDB test server, and the URL that selects it."""
    url = server_url("mysql")
    name = new_database()
    await admin_query(url, f"CREATE DATABASE {name}")
    try:
        yield make_url(url).set(drivername="mysql+asyncmy", database=name).render_as_string(hide_password=False)
    finally:
        await admin_query(url, f"DROP DATABASE IF EXISTS {name}")


def new_database() -> str:
    """A database name no other test uses."""
    return "txplay_mt_" + uuid.uuid4().hex[:12]


def record(tool: str, suite: Path, url: str, test: Path, database: str) -> tuple[int, str, str]:
    """Run the real mysqltest with --record: (exit code, the .result text, its standard error)."""
    parsed = make_url(url)
    suite_of_test = test.parent.parent if test.parent.name == "t" else test.parent
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "out.result"
        command = [
            tool,
            f"--host={parsed.host or '127.0.0.1'}",
            f"--port={parsed.port or 3306}",
            f"--user={parsed.username or 'root'}",
            f"--database={database}",
            f"--basedir={suite}/",
            f"--suite-dir={suite_of_test}/",
            f"--test-file={test.resolve()}",
            f"--result-file={result}",
            f"--logdir={folder}",
            "--record",
            "--silent",
        ]
        if parsed.password:
            command.append(f"--password={parsed.password}")
        done = subprocess.run(command, capture_output=True, timeout=300, cwd=suite)
        text = result.read_bytes().decode("utf-8", "surrogateescape") if result.exists() else ""
        return done.returncode, text, done.stderr.decode("utf-8", "replace")


async def _recorded(tool: str, suite: Path, url: str, test: Path, database: str) -> tuple[int, str, str]:
    """record(), with the server's global variables set back afterwards (as txplay's runs do)."""
    admin = await Client.open("admin", endpoint(url), endpoint(url).user, endpoint(url).password, None)
    try:
        before = await _global_variables(admin, 60)
        try:
            return await asyncio.to_thread(record, tool, suite, url, test, database)
        finally:
            await _restore_globals(admin, before, 60)
    finally:
        await admin.close()


async def run_txplay(url: str, test: Path, database: str, suite: Path | None = None) -> MysqltestResult:
    """Run a test file through txplay on `database`."""
    target = make_url(url).set(drivername="mysql+asyncmy", database=database)
    return await run_mysqltest(load(test, basedir=suite), target.render_as_string(hide_password=False))


async def differential(test: Path) -> tuple[MysqltestResult, Path]:
    """Record `test` with the real mysqltest, run it through txplay, each on a fresh database:
    txplay's run and the expected file."""
    tool, suite, url = need_tools()
    database = new_database()
    expected_dir = Path(tempfile.mkdtemp(prefix="txplay-mysqltest-"))
    expected = expected_dir / (test.stem + ".result")
    await admin_query(url, f"CREATE DATABASE {database}")
    try:
        code, text, stderr = await _recorded(tool, suite, url, test, database)
        if code == 62:
            pytest.skip(f"the real mysqltest skips {test.name} on this server: {stderr.strip()}")
        assert code == 0, f"the real mysqltest failed on {test.name}:\n{stderr}"
        expected.write_bytes(text.encode("utf-8", "surrogateescape"))
        await admin_query(url, f"DROP DATABASE IF EXISTS {database}")
        await admin_query(url, f"CREATE DATABASE {database}")
        result = await run_txplay(url, test, database, suite)
    finally:
        await admin_query(url, f"DROP DATABASE IF EXISTS {database}")
    return result, expected
