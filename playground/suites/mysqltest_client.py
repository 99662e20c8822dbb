"""One mysqltest connection, on asyncmy: send a statement now, read its results later.

mysqltest talks the text protocol and prints values as the server sent them; the connection here
asks asyncmy for raw bytes (no converters) and turns them into text with UTF-8 surrogate escapes,
so that every byte comes out as the server sent it. Like mysqltest, it connects with the latin1
character set and multi-statements on, and leaves autocommit and sql_mode to the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

ENCODING = "utf-8"
ERRORS = "surrogateescape"
COM_QUERY = 3
GONE = 2006  # CR_SERVER_GONE_ERROR
SERVER_STATUS_IN_TRANS = 1


def text_of(value: bytes | str | None) -> str | None:
    """A raw value from the server as text, byte for byte."""
    if value is None or isinstance(value, str):
        return value
    return value.decode(ENCODING, ERRORS)


@dataclass
class ResultSet:
    """One result of a statement: its columns and rows (None for a statement without rows), the
    affected row count, the server's info line and how many warnings it raised."""

    columns: list[str] | None
    rows: list[list[str | None]] = field(default_factory=list)
    affected_rows: int = 0
    info: str | None = None
    warning_count: int = 0


class ServerError(Exception):
    """An error the server (or the client library) reported for a statement."""

    def __init__(self, errno: int, sqlstate: str, message: str) -> None:
        super().__init__(f"{errno} ({sqlstate}): {message}")
        self.errno = errno
        self.sqlstate = sqlstate
        self.message = message


class ReadTimeout(Exception):
    """A statement's results did not come within the run's limit."""


def server_error(exc: BaseException) -> ServerError:
    """asyncmy's exception as the errno, SQLSTATE and message mysqltest prints."""
    args: tuple[object, ...] = tuple(getattr(exc, "args", ()))
    errno = args[0] if args and isinstance(args[0], int) else 2013
    message = str(args[1]) if len(args) > 1 else str(exc)
    sqlstate = getattr(exc, "sqlstate", None) or "HY000"
    return ServerError(errno, sqlstate, message)


def _info(message: bytes | None) -> bytes | None:
    """The info text of an OK packet: with session tracking on, the server sends it length-prefixed."""
    if not message:
        return message
    first = message[0]
    size, start = first, 1
    if first == 0xFC:
        size, start = int.from_bytes(message[1:3], "little"), 3
    elif first == 0xFD:
        size, start = int.from_bytes(message[1:4], "little"), 4
    if (first < 0xFB or first in (0xFC, 0xFD)) and start + size <= len(message):
        return message[start : start + size]
    return message


@dataclass
class Endpoint:
    """Where and as whom connections go: the run's URL, parsed."""

    host: str
    port: int
    user: str
    password: str
    database: str | None
    socket: str | None = None
    """The server's Unix socket, when it runs on this machine: `connect` to host `localhost` goes
    through it, as the MariaDB client library does (the server then sees user@localhost)."""


class Client:
    """A named connection, as mysqltest keeps them: `pending` between a send and its reap."""

    def __init__(self, name: str, connection: Any) -> None:
        self.name = name
        self.connection = connection
        self.pending = False

    @classmethod
    async def open(
        cls, name: str, endpoint: Endpoint, user: str, password: str, database: str | None, *, local: bool = False
    ) -> Client:
        """Connect (`local`: through the server's Unix socket when there is one); raise ServerError
        when the server refuses."""
        import asyncmy

        where: dict[str, Any] = {"host": endpoint.host, "port": endpoint.port}
        if local and endpoint.socket:
            where = {"unix_socket": endpoint.socket}
        try:
            connection = await asyncmy.connect(
                **where,
                user=user,
                password=password,
                database=database or None,
                charset="latin1",
                autocommit=None,
                conv={},
                use_unicode=False,
                program_name="mysqltest",
            )
        except Exception as exc:
            raise server_error(exc) from None
        # asyncmy decodes column names with Python's cp1252 for MySQL's latin1, which fails on five
        # byte values; latin1 maps every byte to one character, so the names' bytes come back whole.
        connection._encoding = "latin1"  # type: ignore[attr-defined]
        return cls(name, connection)

    @property
    def thread_id(self) -> int | None:
        """The server's id of this connection (for KILL)."""
        try:
            return int(self.connection.thread_id())
        except Exception:
            return None

    @property
    def in_transaction(self) -> bool:
        """Whether the server said, with its last answer, that a transaction is open here."""
        try:
            return bool(self.connection.server_status & SERVER_STATUS_IN_TRANS)
        except Exception:
            return False

    async def send(self, sql: str) -> None:
        """Send a statement without waiting for its results (mysql_send_query)."""
        # asyncmy has no public send-now, read-later pair; its cursor does these two steps at once.
        try:
            await self.connection._execute_command(COM_QUERY, sql.encode(ENCODING, ERRORS))
        except Exception as exc:
            raise server_error(exc) from None

    async def read(self, timeout: float) -> tuple[list[ResultSet], ServerError | None]:
        """Read every result of the statement sent last: the results read, and the error that
        ended them (None when all went well). Raise ReadTimeout after `timeout` seconds."""
        results: list[ResultSet] = []
        try:
            async with asyncio.timeout(timeout):
                await self.connection._read_query_result()
                results.append(self._result())
                while self.connection._result is not None and self.connection._result.has_next:
                    await self.connection.next_result()
                    results.append(self._result())
        except TimeoutError:
            raise ReadTimeout() from None
        except Exception as exc:
            return results, server_error(exc)
        return results, None

    async def query(self, sql: str, timeout: float) -> tuple[list[ResultSet], ServerError | None]:
        """Send a statement and read its results."""
        try:
            await self.send(sql)
        except ServerError as error:
            return [], error
        return await self.read(timeout)

    def _result(self) -> ResultSet:
        result = self.connection._result
        info = text_of(_info(result.message)) or None
        if not result.description:
            return ResultSet(None, [], result.affected_rows, info, result.warning_count)
        columns = [field.name.encode("latin1", "replace").decode(ENCODING, ERRORS) for field in result.fields]
        rows = [[text_of(value) for value in row] for row in (result.rows or ())]
        return ResultSet(columns, rows, result.affected_rows, info, result.warning_count)

    async def close(self, dirty: bool = False) -> None:
        """Close: QUIT to the server, or (dirty, or a statement still running) just drop the socket."""
        connection, self.connection = self.connection, None
        pending, self.pending = self.pending, False
        if connection is None:
            return
        if dirty or pending:
            connection.close()
            return
        try:
            await asyncio.wait_for(connection.ensure_closed(), 5)
        except Exception:
            connection.close()
