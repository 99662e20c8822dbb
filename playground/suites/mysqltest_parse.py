"""Reading a mysqltest file into commands, the way `mysqltest` reads it.

mysqltest reads one command at a time: everything up to the current delimiter, or one line when
the line starts with `#` (a comment) or `--` (a command written without a delimiter). A `{` ends
an `if`/`while` head, a `}` at the start of a line ends a block. A file that uses a command txplay
does not run is refused here, before anything runs, with the file, the line and the command.

`source` is followed at load time: the included file's commands come right after the `source`
command, as mysqltest caches them on first read. Files are read as UTF-8 with surrogate escapes,
so that every byte goes to the server and into the output as it stood in the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from playground.suites import SuiteError
from playground.suites.mysqltest_errors import code_of

ENCODING = "utf-8"
ERRORS = "surrogateescape"
MAX_INCLUDE_DEPTH = 16
SPACES = " \t\n\r\v\f"

# Commands txplay runs; any other mysqltest command is refused at load time.
SUPPORTED = frozenset(
    (
        "connection", "query", "connect", "sleep", "real_sleep", "inc", "dec", "source", "disconnect",
        "let", "echo", "while", "end", "error", "send", "reap", "dirty_close",
        "replace_column", "eval", "evalp", "send_eval", "enable_query_log", "disable_query_log",
        "enable_result_log", "disable_result_log", "enable_connect_log", "disable_connect_log",
        "enable_warnings", "disable_warnings", "enable_info", "disable_info", "enable_column_names",
        "disable_column_names", "enable_abort_on_error", "disable_abort_on_error", "delimiter",
        "sorted_result", "lowercase_result", "vertical_results", "horizontal_results", "query_vertical",
        "query_horizontal", "if", "exit", "skip", "die", "replace_result", "replace_regex",
        "disable_ps_protocol", "enable_ps_protocol", "disable_ps2_protocol", "enable_ps2_protocol",
        "disable_view_protocol", "enable_view_protocol", "disable_cursor_protocol",
        "enable_cursor_protocol", "disable_service_connection", "enable_service_connection",
        "disable_non_blocking_api", "enable_non_blocking_api", "disable_prepare_warnings",
        "enable_prepare_warnings", "disable_reconnect", "enable_reconnect", "disable_parsing",
        "enable_parsing", "ping", "disable_metadata", "disable_session_track_info", "start_timer",
        "end_timer", "require"
    )
)

# Every command name mysqltest 10.11 knows: a word outside this list starts an SQL statement.
KNOWN = SUPPORTED | frozenset(
    (
        "system", "result", "save_master_pos", "sync_with_master", "sync_slave_with_master",
        "wait_for_slave_to_stop", "enable_metadata", "enable_session_track_info", "exec",
        "character_set", "remove_file", "file_exists", "write_file", "write_line", "copy_file", "perl",
        "chmod", "append_file", "cat_file", "diff_files", "send_quit", "change_user", "mkdir", "rmdir",
        "list_files", "list_files_write_file", "list_files_append_file", "send_shutdown",
        "shutdown_server", "result_format", "move_file", "remove_files_wildcard", "reset_connection",
        "optimizer_trace", "ps_prepare", "ps_bind", "ps_execute", "ps_close"
    )
)


@dataclass(frozen=True)
class Command:
    """One command as mysqltest reads it.

    `kind` is a mysqltest command name (`connect`, `echo`, ...), `query` for SQL, `comment`,
    `empty` or `}` (the end of a block). `text` is the command without its delimiter (for SQL: the
    statement; for `--cmd` lines: the line after `--`), `argument` what follows the first word.
    `delimiter` is the delimiter in force when the command was read.
    """

    kind: str
    text: str
    argument: str
    source: str
    line: int
    delimiter: str
    line_form: bool = False
    path: str = ""  # source and require: the file found for the name




@dataclass(frozen=True)
class MysqlTest:
    """A loaded mysqltest file: its commands (included files inlined) and its connection names."""

    path: str
    commands: tuple[Command, ...]
    sessions: tuple[str, ...]


def load(path: str | os.PathLike[str], *, basedir: str | os.PathLike[str] | None = None) -> MysqlTest:
    """Read a `.test` file and every file it sources; raise SuiteError on anything txplay cannot run.

    Included files are looked for as mysqltest does: beside the including file, then in the
    folders above the test file, then in `basedir` (MariaDB's `mysql-test` folder: the argument,
    else `TXPLAY_MARIADB_SUITE_DIR`, else `/usr/share/mysql/mysql-test` where it exists).
    """
    main = Path(path)
    try:
        text = main.read_bytes().decode(ENCODING, ERRORS)
    except OSError as exc:
        raise SuiteError(str(main), 0, f"cannot read the file: {exc.strerror or exc}") from None
    reader = _Loader(main, _basedir(basedir))
    commands: list[Command] = []
    reader.read_file(main, text, commands, depth=0)
    _check_blocks(commands)
    return MysqlTest(str(main), tuple(commands), tuple(_sessions(commands)))


def _basedir(basedir: str | os.PathLike[str] | None) -> Path | None:
    if basedir is not None:
        return Path(basedir)
    env = os.environ.get("TXPLAY_MARIADB_SUITE_DIR")
    if env:
        return Path(env)
    default = Path("/usr/share/mysql/mysql-test")
    return default if default.is_dir() else None


class _Loader:
    """Reads files command by command, tracking the delimiter across included files."""

    def __init__(self, main: Path, basedir: Path | None) -> None:
        self.main = main
        self.basedir = basedir
        self.delimiter = ";"
        self.parsing_disabled = False

    def read_file(self, path: Path, text: str, into: list[Command], depth: int) -> None:
        source = str(path)
        text = text.replace("\r\n", "\n")
        pos, line = 0, 1
        while True:
            raw, pos, line, start = _read_line(text, pos, line, self.delimiter, source)
            if raw is None:
                return
            command = self._command(raw, source, start)
            if command is None:
                continue
            into.append(command)
            if self.parsing_disabled and command.kind not in ("enable_parsing", "disable_parsing"):
                continue
            if command.kind == "delimiter":
                self.delimiter = _new_delimiter(command)
            elif command.kind == "source":
                self._source(command, into, depth)
            elif command.kind == "require":
                into[-1] = replace(command, path=str(self._file(command, "require")))

    def _command(self, raw: str, source: str, line: int) -> Command | None:
        raw = _format_v1(raw)
        line_form = False
        if raw.startswith("#"):
            return Command("comment", raw, "", source, line, self.delimiter)
        if raw.startswith("--"):
            line_form = True
            raw = raw[2:]
        elif raw.startswith("\n"):
            return Command("empty", "", "", source, line, self.delimiter)
        text = raw.lstrip(SPACES)
        end = 0
        while end < len(text) and text[end] not in SPACES and text[end] != "(" and not text.startswith(self.delimiter, end):
            end += 1
        word, argument = text[:end], text[end:].lstrip(SPACES)
        if text.startswith("}"):
            return Command("}", text, "", source, line, self.delimiter, line_form)
        name = word.lower()
        if self.parsing_disabled and name not in ("enable_parsing", "disable_parsing"):
            return Command("comment", text, "", source, line, self.delimiter, line_form)
        if name in KNOWN:
            if name not in SUPPORTED:
                raise SuiteError(source, line, f"unsupported mysqltest command '{word}'")
            if name == "query":
                return Command("query", argument, argument, source, line, self.delimiter, line_form)
            command = Command(name, text, argument, source, line, self.delimiter, line_form)
            self._check(command)
            return command
        if line_form:
            raise SuiteError(
                source, line, f"'--{word}' is not a mysqltest command (write # for a comment)"
            )
        return Command("query", text, argument, source, line, self.delimiter)

    def _check(self, command: Command) -> None:
        """Refuse now what mysqltest would only refuse when it gets there."""
        if command.kind == "disable_parsing":
            self.parsing_disabled = True
        elif command.kind == "enable_parsing":
            self.parsing_disabled = False
        elif command.kind == "error":
            for item in re.split(r"[ ,]+", command.argument.strip()):
                if item and item[0] in "EWH" and "$" not in item and code_of(item) is None:
                    raise SuiteError(command.source, command.line, f"unknown error name '{item}' in --error")
        elif command.kind in ("if", "while") and "(" not in command.argument:
            raise SuiteError(command.source, command.line, f"missing '(' in {command.kind}")

    def _file(self, command: Command, what: str) -> Path:
        name = command.argument.split("#", 1)[0].strip().strip("'\"`")
        if not name:
            raise SuiteError(command.source, command.line, f"{what} needs a file name")
        if "$" in name:
            raise SuiteError(command.source, command.line, f"{what} of a file named by a variable ({name}) is not supported")
        path = self._find(name, Path(command.source))
        if path is None:
            raise SuiteError(command.source, command.line, f"could not find the file '{name}'")
        return path

    def _source(self, command: Command, into: list[Command], depth: int) -> None:
        if depth + 1 >= MAX_INCLUDE_DEPTH:
            raise SuiteError(command.source, command.line, "source directives are nesting too deep")
        path = self._file(command, "source")
        into[-1] = replace(command, path=str(path))
        name = command.argument.strip()
        try:
            text = path.read_bytes().decode(ENCODING, ERRORS)
        except OSError as exc:
            raise SuiteError(command.source, command.line, f"cannot read '{name}': {exc.strerror or exc}") from None
        self.read_file(path, text, into, depth + 1)

    def _find(self, name: str, including: Path) -> Path | None:
        candidate = Path(name)
        if candidate.is_absolute():
            return candidate if candidate.is_file() else None
        places = [including.parent, *self.main.resolve().parents]
        if self.basedir is not None:
            places.append(self.basedir)
        for place in places:
            if (place / name).is_file():
                return place / name
        return None


def _read_line(text: str, pos: int, line: int, delimiter: str, source: str) -> tuple[str | None, int, int, int]:
    """One raw command from `pos`: mysqltest's read_line. Returns (text, new pos, new line, start line);
    text is None at the end of the file."""
    buf: list[str] = []
    state = "start"
    last_quote = ""
    last_char = ""
    have_slash = False
    start = line
    n = len(text)
    while True:
        if pos >= n:
            rest = "".join(buf)
            if state == "comment" or not rest.strip(SPACES):
                return (rest if state == "comment" else None), pos, line, start
            raise SuiteError(source, start, f"end of file before the delimiter '{delimiter}' was found")
        c = text[pos]
        pos += 1
        skip = False
        if c == "\n":
            line += 1
        if state == "normal":
            if text.startswith(delimiter, pos - 1):
                pos += len(delimiter) - 1
                return "".join(buf), pos, line, start
            if c == "{" and _opens_block(buf):
                buf.append(c)
                return "".join(buf), pos, line, start
            if c in "'\"`" and not have_slash:
                last_quote, state = c, "quote"
            have_slash = c == "\\" and last_quote != "`"
        elif state == "comment":
            if c == "\n":
                return "".join(buf), pos, line, start
        elif state == "start":
            if c in "#-":
                state = "comment"
            elif c in SPACES:
                if c == "\n":
                    if last_char == "\n":
                        return "\n", pos, line, start
                    start = line
                skip = True
            elif text.startswith(delimiter, pos - 1):
                pos += len(delimiter) - 1
                return "".join(buf), pos, line, start
            elif c == "}":
                return "}", pos, line, start
            elif c in "'\"`":
                last_quote, state = c, "quote"
            else:
                state = "normal"
        elif state == "quote":
            if c == last_quote:
                state = "normal"
            elif c == "\\" and last_quote != "`":
                state = "escape"
        else:  # escape inside a quoted string
            state = "quote"
        last_char = c
        if not skip:
            buf.append(c)


def _opens_block(buf: list[str]) -> bool:
    head = "".join(buf[:5]).lower()
    return head == "while" or head[:2] == "if"


def _format_v1(query: str) -> str:
    """mysqltest's result format 1: the spaces that start a continuation line are dropped, except
    after a line that ends in a quoted string."""
    out: list[str] = []
    i, n = 0, len(query)
    after_quote = False
    while i < n:
        c = query[i]
        if c == "\n" and not after_quote:
            out.append(c)
            i += 1
            while i < n and query[i] in SPACES:
                i += 1
            after_quote = False
        elif c in "'\"`":
            end = query.find(c, i + 1)
            end = n - 1 if end < 0 else end
            out.append(query[i : end + 1])
            i = end + 1
            after_quote = True
        else:
            out.append(c)
            i += 1
            after_quote = False
    return "".join(out)


def _new_delimiter(command: Command) -> str:
    value = command.argument.strip(SPACES) if command.line_form else command.argument.lstrip(SPACES)
    if not value:
        raise SuiteError(command.source, command.line, "can't set an empty delimiter")
    if len(value) > 16:
        raise SuiteError(command.source, command.line, "the delimiter is longer than 16 characters")
    return value


def _check_blocks(commands: list[Command]) -> None:
    depth: list[Command] = []
    for command in commands:
        if command.kind in ("if", "while"):
            depth.append(command)
        elif command.kind == "}" or command.kind == "end":
            if not depth:
                raise SuiteError(command.source, command.line, "'}' ends a block that was never opened")
            depth.pop()
    if depth:
        raise SuiteError(depth[-1].source, depth[-1].line, f"the {depth[-1].kind} block is never closed with '}}'")


def _sessions(commands: list[Command]) -> list[str]:
    names = ["default"]
    for command in commands:
        if command.kind == "connect":
            name = command.argument.strip().lstrip("(").split(",", 1)[0].strip().strip("'\"`")
            if name and name not in names:
                names.append(name)
    return names
