"""MariaDB's mysqltest files, run by txplay: `load(path)` reads one, `run_mysqltest(...)` runs it.

`run_mysqltest` is a coroutine. It writes to `out` exactly what `mysqltest --record` would put in
the `.result` file, reports the run as events (see playground/suites/__init__.py) to `emit`, and
returns a `MysqltestResult`. The shared server is left as found: the global variables a test
changes are set back, and every connection is closed, also when the test fails.

Text is handled as UTF-8 with surrogate escapes: bytes that are not UTF-8 (in the file or from the
server) survive the round trip, so the output is byte for byte what mysqltest records.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, cast
from urllib.parse import SplitResult, unquote, urlsplit

from playground.suites import Emit, SuiteError
from playground.suites.mysqltest_client import Client, Endpoint, ServerError
from playground.suites.mysqltest_parse import MysqlTest, load
from playground.suites.mysqltest_run import Before, Exited, Interpreter, Skipped
from playground.suites.mysqltest_vars import MysqltestError

__all__ = ["MysqlTest", "MysqltestResult", "load", "run_mysqltest"]

DEFAULT_TIMEOUT = 120.0
"""Seconds a statement may run (or a reap wait) before the run fails: longer than InnoDB's default
lock wait timeout (50 s), so that the server's own timeouts end lock waits first."""

MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass
class MysqltestResult:
    """How a run went: `exit_code` 0 (passed, or skipped) or 1 (the test failed: an unexpected error,
    an expected one that did not come, ...), everything printed, and why it failed or was skipped."""

    exit_code: int
    output: str
    error: str | None = None
    skipped: str | None = None
    steps: int = 0
    restored: list[str] = field(default_factory=list)
    """The global variables the test changed and the run set back."""


async def run_mysqltest(
    test: MysqlTest,
    url: str | None,
    *,
    out: IO[str] | Callable[[str], object] | None = None,
    emit: Emit | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    before: Before | None = None,
) -> MysqltestResult:
    """Run a loaded test against the MySQL/MariaDB server at `url` (a SQLAlchemy URL; its database
    is the one `mysqltest --database` would get). Connections named in `connect` go to that server.
    `out` is a text stream or a callable, written as the run goes; `emit` gets the events of
    playground/suites but the summary, which the caller makes of the result (a `step` also names
    its `file`, which may be an included one); `timeout`
    bounds each statement and each reap wait. `before`, when given, is awaited before each statement,
    send or reap runs, with its session, SQL, line, file and kind (a live view steps the run with it).
    Raises SuiteError, before anything runs, when the URL is not a MySQL/MariaDB one."""
    endpoint = _endpoint(test, url)
    printed: list[str] = []
    write = _writer(out, printed)

    if emit is not None:
        emit({"event": "suite", "kind": "mysqltest", "source": test.path, "sessions": list(test.sessions)})
    try:
        admin = await Client.open("txplay-admin", endpoint, endpoint.user, endpoint.password, None)
    except ServerError as refused:
        error = f"mysqltest: Could not open connection 'default': {refused.errno} {refused.message}"
        return MysqltestResult(1, "", error=error)
    endpoint.socket = await _local_socket(admin, endpoint, timeout)
    interpreter = Interpreter(test, endpoint, write, emit, timeout, before)
    result = MysqltestResult(0, "")
    try:
        found = await _global_variables(admin, timeout)
        try:
            await interpreter.run()
        except Skipped as skip:
            result.skipped = str(skip) or "skipped"
        except Exited:
            pass
        except MysqltestError as failure:
            result.exit_code, result.error = 1, "mysqltest: " + str(failure)
        except ServerError as failure:
            result.exit_code, result.error = 1, f"mysqltest: {failure.message}"
        finally:
            busy = await interpreter.close()
            await _kill(admin, busy, timeout)
            result.restored = await _restore_globals(admin, found, timeout)
    finally:
        await admin.close()
    result.output = "".join(printed)
    result.steps = interpreter.steps
    return result


def _writer(out: IO[str] | Callable[[str], object] | None, printed: list[str]) -> Callable[[str], None]:
    """What writes the printed text: to `printed`, and to `out` as it comes. A text stream that
    cannot encode bytes the server sent that are not UTF-8 (held as surrogate escapes) gets them
    raw through its binary buffer, as mysqltest would write them."""
    stream: IO[str] | None = None
    call: Callable[[str], object] | None = None
    if isinstance(out, io.IOBase) or hasattr(out, "write"):
        stream = cast("IO[str]", out)
    elif out is not None:
        call = cast("Callable[[str], object]", out)

    def write(text: str) -> None:
        printed.append(text)
        if call is not None:
            call(text)
        elif stream is not None:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                buffer = getattr(stream, "buffer", None)
                if buffer is None:
                    raise
                stream.flush()
                buffer.write(text.encode("utf-8", "surrogateescape"))
                buffer.flush()

    return write


def _endpoint(test: MysqlTest, url: str | None) -> Endpoint:
    """The server of a MySQL/MariaDB URL (SQLAlchemy's form: mysql[+driver]://user:password@host:port/db);
    a SuiteError (nothing run) for any other. Read with urllib, not SQLAlchemy: a `txplay run`
    process spends a fifth of a second less before the run starts, as mysqltest does not."""
    if not url:
        raise SuiteError(test.path, 1, "mysqltest files run on MySQL or MariaDB: give --url mysql://…")
    parts = urlsplit(url)
    if "://" not in url or not parts.scheme:
        raise SuiteError(test.path, 1, f"not a database URL: {url!r}")
    dialect = parts.scheme.split("+", 1)[0].lower()
    if dialect not in MYSQL_DIALECTS:
        raise SuiteError(test.path, 1, f"a mysqltest file runs on MySQL or MariaDB, not on {dialect} ({_masked(parts)})")
    try:
        port = parts.port
    except ValueError:
        raise SuiteError(test.path, 1, f"not a port in the URL: {_masked(parts)}") from None
    return Endpoint(
        host=parts.hostname or "127.0.0.1",
        port=port or 3306,
        user=unquote(parts.username or "") or "root",
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or None,
    )


def _masked(parts: SplitResult) -> str:
    """The URL with its password hidden."""
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def _local_socket(admin: Client, endpoint: Endpoint, timeout: float) -> str | None:
    """The server's Unix socket, when the server runs on this machine and the socket is there."""
    if endpoint.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    results, error = await admin.query("SELECT @@socket", timeout)
    socket = results[0].rows[0][0] if error is None and results and results[0].rows else None
    return socket if socket and os.path.exists(socket) else None


async def _global_variables(admin: Client, timeout: float) -> dict[str, str | None]:
    results, error = await admin.query("SHOW GLOBAL VARIABLES", timeout)
    if error is not None or not results:
        return {}
    return {str(row[0]): row[1] for row in results[0].rows}


async def _restore_globals(admin: Client, before: dict[str, str | None], timeout: float) -> list[str]:
    """SET GLOBAL back every variable whose value changed during the run."""
    if not before or admin.connection is None:
        return []
    after = await _global_variables(admin, timeout)
    restored: list[str] = []
    for name, value in before.items():
        if name in after and after[name] != value and value is not None:
            literal = value if _NUMBER.fullmatch(value) else "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
            _, error = await admin.query(f"SET GLOBAL {name} = {literal}", timeout)
            if error is None:
                restored.append(name)
    return restored


async def _kill(admin: Client, busy: list[int], timeout: float) -> None:
    """End on the server the statements that were still running when the run stopped."""
    for thread in busy:
        await admin.query(f"KILL {thread}", timeout)
