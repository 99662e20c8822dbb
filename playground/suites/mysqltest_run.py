"""Running a loaded mysqltest file: mysqltest's main loop, command by command.

The rules follow MariaDB's mysqltest: what goes into the `.result` text (statements with the
delimiter, `connect`/`connection`/`disconnect` lines, result sets, `ERROR` lines, warnings), which
errors a `--error` list accepts, how `if`/`while` blocks and their variables evaluate, and which
one-command settings (sorted_result, replace_column, ...) last until the next command runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from playground.suites import Emit
from playground.suites.mysqltest_client import Client, Endpoint, ReadTimeout, ResultSet, ServerError
from playground.suites.mysqltest_errors import code_of, name_of
from playground.suites.mysqltest_output import Filters, format_result, format_rows, parse_regexes, sort_lines
from playground.suites.mysqltest_parse import SPACES, Command, MysqlTest
from playground.suites.mysqltest_vars import MysqltestError, Var, Variables, get_strings, read_int, split_args

Before = Callable[[dict[str, Any]], Awaitable[None]]
"""Awaited before each statement runs, send or reap (a live view paces the run with it); its dict
also lists the open connections (`connections`, see `Interpreter.connection_states`) and gives the
command's place in `MysqlTest.commands` (`index`)."""

CLOSED = "-closed_connection-"
SEND, REAP = 1, 2
# the settings --enable_X/--disable_X change: name → (attribute, value when enabled, variable)
SWITCHES = {
    "query_log": ("query_log", True, "ENABLED_QUERY_LOG"),
    "result_log": ("result_log", True, "ENABLED_RESULT_LOG"),
    "warnings": ("warnings", True, "ENABLED_WARNINGS"),
    "info": ("info", True, "ENABLED_INFO"),
    "connect_log": ("connect_log", True, "ENABLED_CONNECT_LOG"),
    "abort_on_error": ("abort_on_error", True, "ENABLED_ABORT_ON_ERROR"),
}
NO_EFFECT = {
    "ps_protocol", "ps2_protocol", "view_protocol", "cursor_protocol", "service_connection",
    "non_blocking_api", "prepare_warnings", "reconnect", "parsing", "metadata", "session_track_info",
}


class Skipped(Exception):
    """The test asked to be skipped (`skip`)."""


class Exited(Exception):
    """`exit`: stop here, successfully."""


@dataclass
class Expected:
    """One entry of a `--error` list: an error number or an SQLSTATE."""

    errno: int | None = None
    sqlstate: str | None = None


@dataclass
class Block:
    """An if/while block being run (or skipped)."""

    kind: str
    ok: bool
    delimiter: str = ""
    line: int = 0


@dataclass
class Settings:
    """The switches, as mysqltest starts."""

    query_log: bool = True
    result_log: bool = True
    warnings: bool = True
    info: bool = False
    connect_log: bool = True
    abort_on_error: bool = True
    column_names: bool = True
    vertical: bool = False
    sorted: bool = False


@dataclass
class Interpreter:
    """One run of a test: its connections, variables, settings and the text printed so far."""

    test: MysqlTest
    endpoint: Endpoint
    write: Callable[[str], None]
    emit: Emit | None
    timeout: float
    before: Before | None = None
    vars: Variables = field(default_factory=Variables)
    settings: Settings = field(default_factory=Settings)
    filters: Filters = field(default_factory=Filters)
    connections: list[Client] = field(default_factory=list)
    current: Client | None = None
    blocks: list[Block] = field(default_factory=lambda: [Block("", True)])
    delimiter: str = ";"
    saved_errors: list[Expected] = field(default_factory=list)
    errors_of: dict[int, list[Expected]] = field(default_factory=dict)
    used_replace: set[int] = field(default_factory=set)
    once: dict[str, bool] = field(default_factory=dict)
    index: int = 0
    at: int = 0  # the command being run (the index moves on during if/while)
    executed: int = 0
    steps: int = 0
    send_next: bool = False
    require: str = ""  # the file the next statement's output must equal (`require`)
    requiring: bool = False
    buffer: list[str] = field(default_factory=list)
    last_error: ServerError | None = None  # the error of the statement being reported

    # ----------------------------------------------------------------- the main loop

    async def run(self) -> None:
        """Run every command; raise MysqltestError (a failed test), Skipped, or return."""
        self._builtins()
        self.current = await self._connect_client("default", self.endpoint.user, self.endpoint.password, self.endpoint.database)
        self._set_current(self.current)
        self.vars.set_int("mysql_errno", -1)
        commands = self.test.commands
        try:
            while self.index < len(commands):
                await self._step(commands[self.index])
        except Exited:
            pass
        finally:
            self._flush()

    async def _step(self, command: Command) -> None:
        index = self.at = self.index
        if index not in self.errors_of and command.kind not in ("comment", "empty", "}"):
            self.errors_of[index] = list(self.saved_errors)
        ok = self.blocks[-1].ok or command.kind == "delimiter"
        if not ok and command.kind in ("source", "error"):
            ok = any(block.kind == "while" for block in self.blocks[:-1])
        executed_before = self.executed
        advance = 1
        if command.kind in ("if", "while", "}", "end"):
            advance = 0
            try:
                if command.kind in ("if", "while"):
                    await self._block(command)
                else:
                    self._end_block()
            except MysqltestError as exc:
                raise self._failure(command, exc) from None
        elif ok:
            try:
                await self._execute(command)
            except (MysqltestError, ReadTimeout) as exc:
                raise self._failure(command, exc) from None
        if command.kind not in ("error", "comment"):
            self.saved_errors = []
        if self.executed != executed_before or index in self.used_replace:
            self.filters.clear()
            self.settings.sorted = False
        self.index += advance
        self._flush()

    def _failure(self, command: Command, exc: BaseException) -> MysqltestError:
        message = str(exc) if not isinstance(exc, ReadTimeout) else (
            f"no answer to the statement on connection '{self.current.name if self.current else '?'}' within "
            f"{self.timeout:g} s (a wait that the server's lock timeouts did not end)"
        )
        where = f"At line {command.line}: "
        if command.source != self.test.path:
            where = f'In included file "{command.source}": ' + where
        return MysqltestError(where + message)

    # ----------------------------------------------------------------- dispatch

    async def _execute(self, command: Command) -> None:
        kind = command.kind
        if kind in ("comment", "empty", "source", "delimiter"):
            if kind == "delimiter":
                self.delimiter = command.argument.strip(SPACES) if command.line_form else command.argument.lstrip(SPACES)
            return
        if kind in ("query", "eval", "evalp", "query_vertical", "query_horizontal", "reap"):
            await self._query_command(command)
        elif kind in ("send", "send_eval"):
            if not command.argument:
                self.send_next = True
                return
            text = self.vars.expand(command.argument) if kind == "send_eval" else command.argument
            await self._run_query(command, text, SEND)
            self.executed += 1
        elif kind == "connect":
            await self._connect(command)
        elif kind == "connection":
            (name,), _ = split_args(self.vars, command.argument, 1, " ")
            self._set_current(self._find(name))
            if self.settings.connect_log and self.settings.query_log:
                self._out(f"connection {self.filters.apply(name)};\n")
        elif kind in ("disconnect", "dirty_close"):
            await self._disconnect(command)
        elif kind == "echo":
            self._out(self.vars.expand(command.argument) + "\n")
            self.executed += 1
        elif kind == "let":
            await self._let(command)
        elif kind in ("inc", "dec"):
            self._modify(command)
        elif kind == "error":
            self.saved_errors = self._expected_errors(command.argument)
        elif kind == "require":
            self.require = command.path
        elif kind in ("sleep", "real_sleep"):
            await asyncio.sleep(self._seconds(command))
        else:
            await self._setting(command)

    async def _setting(self, command: Command) -> None:
        kind = command.kind
        argument = command.argument.split("#", 1)[0].strip()
        if kind.startswith(("enable_", "disable_")):
            on = kind.startswith("enable_")
            name = kind.split("_", 1)[1]
            if name in SWITCHES:
                self._switch(name, on, once=argument == "ONCE")
            elif name == "column_names":
                self.settings.column_names = on
                self.vars.set_int("ENABLED_COLUMN_NAMES", 0 if on else 1)
            elif name not in NO_EFFECT:
                raise MysqltestError(f"'{kind}' is not supported")
        elif kind == "sorted_result":
            self.settings.sorted = True
        elif kind == "lowercase_result":
            self.filters.lower = True
        elif kind == "vertical_results":
            self.settings.vertical = True
        elif kind == "horizontal_results":
            self.settings.vertical = False
        elif kind == "replace_column":
            self._replace_column(command)
        elif kind == "replace_result":
            words = get_strings(self.vars, command.argument)
            if not words or len(words) % 2:
                raise MysqltestError(f"Wrong number of arguments to replace_result in '{command.text}'")
            self.filters.pairs = list(zip(words[::2], words[1::2], strict=True))
        elif kind == "replace_regex":
            try:
                self.filters.regexes = parse_regexes(self.vars.expand(command.argument))
            except Exception as exc:
                raise MysqltestError(str(exc)) from None
        elif kind == "exit":
            raise Exited()
        elif kind == "skip":
            raise Skipped(self.vars.expand(command.argument))
        elif kind == "die":
            raise MysqltestError(self.vars.expand(command.argument) or "Explicit --die command executed")
        elif kind == "ping":
            if self.current is None or self.current.connection is None:
                raise MysqltestError('command "ping" failed with error: 2006')
        elif kind not in ("start_timer", "end_timer"):
            raise MysqltestError(f"'{kind}' is not supported")

    def _switch(self, name: str, on: bool, once: bool) -> None:
        attribute, _, variable = SWITCHES[name]
        if once:
            self.once.setdefault(attribute, getattr(self.settings, attribute))
        setattr(self.settings, attribute, on)
        self.vars.set_int(variable, 1 if on else 0)

    def _revert(self) -> None:
        """Undo the `--disable_X ONCE` settings once their command has run."""
        for attribute, value in self.once.items():
            setattr(self.settings, attribute, value)
            variable = next(v for a, _, v in SWITCHES.values() if a == attribute)
            self.vars.set_int(variable, 1 if value else 0)
        self.once.clear()

    # ----------------------------------------------------------------- statements

    async def _query_command(self, command: Command) -> None:
        kind = command.kind
        flags = SEND | REAP
        if self.send_next:
            flags, self.send_next = SEND, False
        elif kind == "reap":
            flags = REAP
        text = command.text
        if kind in ("eval", "evalp"):
            text = self.vars.expand(command.argument)
        elif kind in ("query_vertical", "query_horizontal"):
            text = command.argument
        printed = command.argument if kind == "evalp" else text
        vertical = self.settings.vertical
        if kind == "query_vertical":
            self.settings.vertical = True
        try:
            await self._run_query(command, text, flags, printed)
        finally:
            self.settings.vertical = vertical
        self.executed += 1

    async def _run_query(self, command: Command, text: str, flags: int, printed: str | None = None) -> None:
        client = self._need_current()
        if client.pending and flags & SEND:
            raise MysqltestError("Cannot run query on connection between send and reap")
        if not flags & SEND and not client.pending:
            raise MysqltestError("Cannot reap on a connection without pending send")
        if self.before is not None:
            await self.before({
                "session": client.name, "sql": text if flags & SEND else None, "line": command.line,
                "file": command.source, "kind": "send" if flags == SEND else "reap" if flags == REAP else "query",
                "connections": self.connection_states(), "index": self.at,
            })
        require, self.require = self.require, ""
        if require:
            return await self._required(command, client, text, flags, require)
        if self.settings.query_log and flags & SEND:
            self._out(self.filters.apply(printed if printed is not None else text) + self.delimiter + "\n")
        self._flush()
        outer, self.buffer = self.buffer, []
        status = "ok"
        try:
            status = await self._query_results(command, client, text, flags)
        except MysqltestError:
            status = "error"  # an error the file did not expect: the run ends with this statement
            raise
        finally:
            produced = "".join(self.buffer)
            if self.settings.sorted:
                produced = sort_lines(produced, keep_header=True)
            self.buffer = outer
            self._out(produced)
            self._report(command, client, text, flags, status, produced)

    async def _required(self, command: Command, client: Client, text: str, flags: int, require: str) -> None:
        """A statement after `require FILE`: its output (statement included) must equal the file,
        or the test is skipped as not supported here."""
        outer, self.buffer = self.buffer, []
        if self.settings.query_log and flags & SEND:
            self._out(self.filters.apply(text) + self.delimiter + "\n")
        self.requiring = True
        try:
            await self._query_results(command, client, text, flags)
        finally:
            self.requiring = False
            produced, self.buffer = "".join(self.buffer), outer
        with open(require, "rb") as handle:
            wanted = handle.read().decode("utf-8", "surrogateescape")
        if produced != wanted:
            name = require.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            raise Skipped(f"Test requires: '{name}'")

    async def _query_results(self, command: Command, client: Client, text: str, flags: int) -> str:
        if client.connection is None:
            self._no_connection(command, client)
            return "error"
        if flags & SEND:
            try:
                await client.send(text)
            except ServerError as refused:
                self._handle_error(command, refused)
                self._set_errno(refused.errno)
                return "error"
        if not flags & REAP:
            client.pending = True
            return "sent"
        results, error = await client.read(self.timeout)
        client.pending = False
        for position, result in enumerate(results):
            if not self.settings.result_log:
                continue
            self._out(format_result(result, self.filters, vertical=self.settings.vertical, column_names=self.settings.column_names))
            if self.settings.info:
                self._out(f"affected rows: {result.affected_rows}\n")
                if result.info:
                    self._out(f"info: {result.info}\n")
            last = position == len(results) - 1 and error is None
            if self.settings.warnings and last and result.warning_count:
                await self._warnings(client)
        self._set_errno(error.errno if error else 0)
        if error is not None:
            self._handle_error(command, error)
            return "error"
        self._handle_no_error(command)
        self._revert()
        return "ok"

    async def _warnings(self, client: Client) -> None:
        results, error = await client.query("SHOW WARNINGS", self.timeout)
        if error is not None:
            raise MysqltestError(f'Error running query "SHOW WARNINGS": {error.message}')
        rows = format_rows(results[0].rows if results else [], self.filters)
        if self.settings.sorted:
            rows = sort_lines(rows, keep_header=False)
        self._out("Warnings:\n" + rows)

    def _report(self, command: Command, client: Client, text: str, flags: int, status: str, output: str) -> None:
        self.steps += 1
        error, self.last_error = self.last_error, None
        if self.emit is None:
            return
        event: dict[str, object]
        if flags & SEND:
            event = {
                "event": "step", "session": client.name, "name": None, "sql": text, "line": command.line,
                "file": command.source, "status": status, "output": output,
            }
        else:
            event = {"event": "completed", "session": client.name, "name": None, "status": status, "output": output}
        if status == "error" and error is not None:
            event["error"] = {"errno": error.errno, "sqlstate": error.sqlstate, "message": error.message}
        self.emit(event)

    # ----------------------------------------------------------------- errors

    def _expected_errors(self, argument: str) -> list[Expected]:
        text = self.vars.expand(argument, keep_escapes=True)
        if not text.strip():
            raise MysqltestError("Missing argument(s) to 'error'")
        found: list[Expected] = []
        for raw in text.split(","):
            item = raw.strip(" ").split(" ", 1)[0]
            if not item:
                continue
            if item.startswith("$"):
                item = self.vars.lookup(item, 0)[0].read()
            if item.startswith("S"):
                if len(item) != 6:
                    raise MysqltestError("The sqlstate must be exactly 5 chars long")
                found.append(Expected(sqlstate=item[1:]))
            elif item[:1] in ("E", "W", "H"):
                code = code_of(item)
                if code is None:
                    raise MysqltestError(f"Unknown SQL error name '{item}'")
                found.append(Expected(errno=code))
            elif item.isdigit():
                found.append(Expected(errno=int(item)))
            else:
                raise MysqltestError(f"Invalid argument to error: '{argument}' - the errno may only consist of digits[0-9]")
        if len(found) >= 12:
            raise MysqltestError("Too many errorcodes specified")
        return found

    def _expected(self) -> list[Expected]:
        return self.errors_of.get(self.at, [])

    def _aborts(self) -> bool:
        return not self._expected() and self.settings.abort_on_error

    def _handle_error(self, command: Command, error: ServerError) -> None:
        """mysqltest's handle_error: print the error as the `--error` list says, or stop the run."""
        self.last_error = error  # for the step's event, whatever the `--error` list lets mysqltest print
        self.vars.set_int("errno", error.errno)
        self.used_replace.add(self.at)
        if self.requiring:
            raise Skipped(f"Query '{self._text(command)}' failed, required functionality not supported")
        expected = self._expected()
        if self._aborts():
            raise MysqltestError(
                f"query '{self._text(command)}' failed: {name_of(error.errno)} ({error.errno}): {error.message}"
            )
        line = f"ERROR {self.filters.apply(error.sqlstate)}: {self.filters.apply(error.message)}\n"
        for item in expected:
            if item.errno == error.errno or (item.sqlstate is not None and item.sqlstate == error.sqlstate[:5]):
                if self.settings.result_log:
                    first = expected[0]
                    if len(expected) == 1:
                        self._out(line)
                    elif first.sqlstate is not None or first.errno:
                        self._out("Got one of the listed errors\n")
                self._revert()
                return
        if self.settings.result_log:
            self._out(line)
        if expected:
            first = expected[0]
            if first.errno is not None:
                raise MysqltestError(
                    f"query '{self._text(command)}' failed with wrong errno {name_of(error.errno)} ({error.errno}): "
                    f"'{error.message}', instead of {name_of(first.errno)} ({first.errno})..."
                )
            raise MysqltestError(
                f"query '{self._text(command)}' failed with wrong sqlstate {error.sqlstate}: '{error.message}', "
                f"instead of {first.sqlstate}..."
            )
        self._revert()

    def _handle_no_error(self, command: Command) -> None:
        expected = self._expected()
        if not expected:
            return
        first = expected[0]
        if first.errno:
            raise MysqltestError(
                f"query '{self._text(command)}' succeeded - should have failed with error "
                f"{name_of(first.errno)} ({first.errno})..."
            )
        if first.sqlstate is not None and first.sqlstate != "00000":
            raise MysqltestError(
                f"query '{self._text(command)}' succeeded - should have failed with sqlstate {first.sqlstate}..."
            )

    def _no_connection(self, command: Command, client: Client) -> None:
        self._handle_error(command, ServerError(2006, "000000", "MariaDB server has gone away"))
        client.pending = False
        self._set_errno(2006)

    def _set_errno(self, errno: int) -> None:
        self.vars.set_int("mysql_errno", errno)
        self.vars.set("mysql_errname", name_of(errno) if errno >= 0 else "<Unknown>")

    @staticmethod
    def _text(command: Command) -> str:
        return command.argument if command.kind in ("eval", "evalp", "send", "send_eval") else command.text

    # ----------------------------------------------------------------- connections

    async def _connect_client(self, name: str, user: str, password: str, database: str | None) -> Client:
        try:
            return await Client.open(name, self.endpoint, user, password, database)
        except ServerError as error:
            raise MysqltestError(f"Could not open connection '{name}': {error.errno} {error.message}") from None

    async def _connect(self, command: Command) -> None:
        argument = command.argument
        stripped = argument.strip(SPACES)
        shown = command.text
        if stripped.startswith("("):
            if not stripped.endswith(")"):
                raise MysqltestError("connect - argument list started with '(' must be ended with ')'")
            head = command.text[: len(command.text) - len(argument)]
            opened = argument.index("(")
            closed = argument.rindex(")")
            argument = argument[:opened] + " " + argument[opened + 1 : closed]
            shown = head + argument
        args, rest = split_args(self.vars, argument, 9, ",")
        if rest.split("#", 1)[0].strip():
            raise MysqltestError(f"Extra argument '{rest}' passed to 'connect'")
        name, host, user, password, database, _port, _socket, options, _auth = args
        if not name:
            raise MysqltestError("Missing required argument 'connection name' to command 'connect'")
        if options.strip():
            raise MysqltestError(f"Illegal option to connect: {options.strip()}")
        if any(c.name == name for c in self.connections):
            raise MysqltestError(f"Connection {name} already exists")
        default_db = not database
        db = self.endpoint.database if default_db else ("" if database == "*NO-ONE*" else database)
        if self._expected() and self.settings.query_log:
            self._out(self.filters.apply(
                f"connect({host},{user},{password},{db or ''},{self.endpoint.port},{self.endpoint.socket or ''})"
            ) + self.delimiter + "\n")
        if self.settings.connect_log and self.settings.query_log:
            self._out(self.filters.apply(shown) + ";\n")
        user = user or self.endpoint.user
        if not password and user == self.endpoint.user:
            password = self.endpoint.password
        try:
            client = await Client.open(
                name, self.endpoint, user, password, None if default_db else db, local=host == "localhost"
            )
        except ServerError as error:
            self._set_errno(error.errno)
            self._handle_error(command, error)
            return
        if default_db and db:
            # mysqltest selects the run's database afterwards and ignores a refusal (a user without rights there)
            await client.query("USE `" + db.replace("`", "``") + "`", self.timeout)
        self._set_errno(0)
        self._handle_no_error(command)
        self._revert()
        self.connections.append(client)
        self._set_current(client)

    async def _disconnect(self, command: Command) -> None:
        (name,), _ = split_args(self.vars, command.argument, 1, " ")
        client = self._find(name)
        await client.close(dirty=command.kind == "dirty_close")
        self.connections.remove(client)
        client.name = CLOSED
        if client is self.current:
            self.vars.set_int("mysql_get_server_version", 0xFFFFFFFF)
            self.vars.set("CURRENT_CONNECTION", CLOSED)
        if self.settings.connect_log and self.settings.query_log:
            self._out(f"disconnect {self.filters.apply(name)};\n")

    def _find(self, name: str) -> Client:
        for client in self.connections:
            if client.name == name:
                return client
        raise MysqltestError(f"connection '{name}' not found in connection pool")

    def _set_current(self, client: Client) -> None:
        if client not in self.connections:
            self.connections.append(client)
        self.current = client
        self.vars.set("CURRENT_CONNECTION", client.name)

    def _need_current(self) -> Client:
        if self.current is None:
            raise MysqltestError("no current connection")
        return self.current

    # ----------------------------------------------------------------- variables

    def _builtins(self) -> None:
        for name, value in (
            ("ENABLED_QUERY_LOG", 1), ("ENABLED_ABORT_ON_ERROR", 1), ("ENABLED_RESULT_LOG", 1),
            ("ENABLED_CONNECT_LOG", 0), ("ENABLED_WARNINGS", 1), ("ENABLED_INFO", 0), ("ENABLED_METADATA", 0),
            ("PS_PROTOCOL", 0), ("NON_BLOCKING_API", 0), ("SP_PROTOCOL", 0), ("VIEW_PROTOCOL", 0),
            ("CURSOR_PROTOCOL", 0),
        ):
            self.vars.set_int(name, value)
        self.vars.set("MYSQLTEST_FILE", self.test.path)
        self.vars.set("SYSTEM_PATH_SEPARATOR", "/")

    async def _let(self, command: Command) -> None:
        text = command.argument
        if not text:
            raise MysqltestError("Missing arguments to let")
        end = 0
        while end < len(text) and text[end] != "=" and text[end] not in SPACES:
            end += 1
        name = text[:end]
        if not name or name == "$":
            raise MysqltestError("Missing variable name in let")
        rest = text[end:].lstrip(SPACES)
        if not rest.startswith("="):
            raise MysqltestError("Missing assignment operator in let")
        value = await self._evaluate(self.vars.expand(rest[1:].lstrip(SPACES)))
        target = self.vars.get(name[1:] if name.startswith("$") else name)
        target.text, target.number, target.is_int, target.dirty = value.read(), value.number, value.is_int, False
        self._revert()

    async def _evaluate(self, text: str, *, open_end: bool = False) -> Var:
        """mysqltest's eval_expr: a `$variable`, a `` `query` ``, query_get_value(...), or a string."""
        if text.startswith("$"):
            var, end = self.vars.lookup(text, 0)
            if end < len(text) and not open_end:
                raise MysqltestError(f"Found junk '{text[end:]}' after $variable in expression")
            copy = Var()
            copy.text, copy.number, copy.is_int = var.read(), var.number, var.is_int
            return copy
        if text.startswith("`"):
            return await self._query_value(text)
        if text.startswith("query_get_value"):
            return await self._query_get_value(text[len("query_get_value") :])
        value = Var()
        value.set(text)
        return value

    async def _query_value(self, text: str) -> Var:
        end = len(text)
        while end > 0 and text[end - 1] != "`":
            if text[end - 1] not in " \t\n)":
                raise MysqltestError("Spurious text after `query` expression")
            end -= 1
        if end <= 1:
            raise MysqltestError("Syntax error in query, missing '`'")
        results, ok = await self._side_query(self.vars.expand(text[1 : end - 1]))
        value = Var()
        if ok and results[0].rows and results[0].rows[0][0] is not None:
            row = results[0].rows[0]
            value.set("\t".join(self.filters.apply(cell) if cell is not None else "" for cell in row))
        return value

    async def _query_get_value(self, text: str) -> Var:
        stripped = text.strip(SPACES)
        if not (stripped.startswith("(") and stripped.endswith(")")):
            raise MysqltestError("query_get_value - argument list started with '(' must be ended with ')'")
        (query, column, row), rest = split_args(self.vars, stripped[1:-1], 3, ",")
        if rest.strip(" "):
            raise MysqltestError(f"Extra argument '{rest}' passed to 'query_get_value'")
        number, is_int = read_int(row)
        if not is_int or not row.strip():
            raise MysqltestError(f"Invalid row number: '{row}'")
        if query.strip().startswith('"') and query.strip().endswith('"'):
            query = query.strip()[1:-1]
        results, ok = await self._side_query(query)
        value = Var()
        if not ok:
            return value
        result = results[0] if results else ResultSet(None)
        if result.columns is None:
            raise MysqltestError(f"Query '{query}' didn't return a result set")
        if column not in result.columns:
            raise MysqltestError(f"Could not find column '{column}' in the result of '{query}'")
        position = result.columns.index(column)
        text_value = "No such row"
        if 1 <= number <= len(result.rows):
            cell = result.rows[number - 1][position]
            text_value = "NULL" if cell is None else cell
        value.set(text_value)
        return value

    async def _side_query(self, query: str) -> tuple[list[ResultSet], bool]:
        """A query for a variable (let, if, while): its results, and whether it succeeded."""
        client = self._need_current()
        command = self.test.commands[self.at]
        if client.connection is None:
            self._no_connection(command, client)
            return [], False
        results, error = await client.query(query, self.timeout)
        if error is None and (not results or results[0].columns is None):
            error = ServerError(0, "00000", "")
        if error is not None:
            self._handle_error(command, error)
            return [], False
        return results, True

    def _modify(self, command: Command) -> None:
        argument = command.argument.strip(SPACES)
        if not argument:
            raise MysqltestError(f"Missing argument to {command.kind}")
        if not argument.startswith("$"):
            raise MysqltestError(f"The argument to {command.kind} must be a variable (start with $)")
        var, _ = self.vars.lookup(argument, 0)
        if not var.is_int:
            raise MysqltestError("Cannot perform inc/dec on a non-numeric value")
        var.number += 1 if command.kind == "inc" else -1
        var.dirty = True

    def _seconds(self, command: Command) -> float:
        (value,), _ = split_args(self.vars, command.argument, 1, " ")
        value = value.strip(SPACES)
        if not value or not value[0].isdigit():
            raise MysqltestError(f'Invalid argument to {command.kind} "{value}"')
        try:
            return float(value.split("#", 1)[0].strip())
        except ValueError:
            raise MysqltestError(f'Invalid argument to {command.kind} "{value}"') from None

    def _replace_column(self, command: Command) -> None:
        words = get_strings(self.vars, command.argument)
        if not words:
            raise MysqltestError(f"Missing argument in {command.text}")
        for position in range(0, len(words), 2):
            number, _ = read_int(words[position])
            if number < 1 or number > 256:
                raise MysqltestError(f"Wrong column number to replace_column in '{command.text}'")
            if position + 1 >= len(words):
                raise MysqltestError(f"Wrong number of arguments to replace_column in '{command.text}'")
            self.filters.columns[number - 1] = words[position + 1]

    # ----------------------------------------------------------------- blocks

    async def _block(self, command: Command) -> None:
        outer = self.blocks[-1]
        outer.line = self.index
        self.index += 1
        kind = command.kind
        if not outer.ok:
            self.blocks.append(Block(kind, False))
            return
        ok = await self._condition(kind, command.argument)
        self.blocks.append(Block(kind, ok, "" if ok else self.delimiter))

    async def _condition(self, kind: str, argument: str) -> bool:
        opened = argument.find("(")
        if opened < 0:
            raise MysqltestError(f"missing '(' in {kind}")
        expr = argument[opened + 1 :].lstrip(SPACES)
        negate = expr.startswith("!")
        if negate:
            expr = expr[1:].lstrip(SPACES)
        closed = expr.rfind(")")
        if closed < 0:
            raise MysqltestError(f"missing ')' in {kind}")
        after = expr[closed + 1 :].strip(SPACES)
        if after and not after.startswith("{"):
            raise MysqltestError(f'Missing \'{{\' after {kind}. Found "{after}"')
        expr = expr[:closed]
        if expr.startswith("$"):
            value = await self._compare(expr, negate)
        else:
            if not expr.startswith("`") and not expr[:1].isdigit():
                raise MysqltestError(f"Expression in {kind} must begin with $, ` or a number")
            value = await self._evaluate(expr)
        if value.is_int:
            ok = value.number != 0
        else:
            head = value.read().lstrip(" \t\n\r\v\f+-")
            ok = bool(head) and not head.startswith("0")
        return not ok if negate else ok

    async def _compare(self, expr: str, negate: bool) -> Var:
        var, end = self.vars.lookup(expr, 0)
        left = await self._evaluate(expr[:end])
        rest = expr[end:].lstrip(SPACES)
        if not rest:
            return left
        operator = next((op for op in ("==", "!=", ">=", "<=", ">", "<") if rest.startswith(op)), None)
        if operator is None:
            raise MysqltestError(f"Found junk '{rest}' after $variable in condition")
        if negate:
            raise MysqltestError("Negation and comparison should not be combined, please rewrite")
        right_text = rest[len(operator) :].strip(SPACES)
        if not right_text:
            raise MysqltestError("Missing right operand in comparison")
        if right_text[0] in "'\"":
            if right_text[-1] != right_text[0] or len(right_text) < 2:
                raise MysqltestError("Unterminated string value")
            right_text = right_text[1:-1]
        right = await self._evaluate(right_text)
        if operator not in ("==", "!=") and not (left.is_int and right.is_int):
            raise MysqltestError("Only == and != are supported for string values")
        if operator in ("==", "!="):
            same = (right.is_int and right.number == left.number) if left.is_int else left.read() == right.read()
            result = same if operator == "==" else not same
        else:
            a, b = left.number, right.number
            result = {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[operator]
        outcome = Var()
        outcome.set("1" if result else "0")
        return outcome

    def _end_block(self) -> None:
        if len(self.blocks) == 1:
            raise MysqltestError("Stray '}' - end of block before beginning")
        block = self.blocks[-1]
        if block.ok and block.kind == "while":
            self.blocks.pop()
            self.index = self.blocks[-1].line
            return
        if block.delimiter:
            self.delimiter = block.delimiter
        self.blocks.pop()
        self.index += 1

    # ----------------------------------------------------------------- output

    def _out(self, text: str) -> None:
        if text:
            self.buffer.append(text)

    def _flush(self) -> None:
        if self.buffer:
            text = "".join(self.buffer)
            self.buffer = []
            self.write(text)

    def connection_states(self) -> list[dict[str, Any]]:
        """The open connections as a live view shows them: name, the server's thread id (what
        CONNECTION_ID() returns there), whether a transaction is open, whether a send awaits its reap."""
        return [
            {"session": c.name, "thread": c.thread_id, "in_transaction": c.in_transaction, "pending": c.pending}
            for c in self.connections if c.connection is not None
        ]

    async def close(self) -> list[int]:
        """Close every connection (as mysqltest does at its end); return the server ids of those whose
        statement was still running."""
        busy = [client.thread_id for client in self.connections if client.pending]
        for client in self.connections:
            await client.close(dirty=client.pending)
        return [thread for thread in busy if thread is not None]
