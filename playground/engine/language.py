"""What a user typed: SQL, transaction-control SQL, Python, or a command (DESIGN §3)."""

from __future__ import annotations

import ast
import codeop
import keyword
import re
import warnings
from dataclasses import dataclass

from playground.engine.states import StepKind

COMMAND_PREFIX = "\\"

COMMANDS: dict[str, str] = {
    "begin": "start a transaction (session.begin())",
    "commit": "commit the transaction",
    "rollback": "roll back the whole transaction",
    "savepoint": "savepoint [name]: open a savepoint (session.begin_nested())",
    "release": "release [name]: release a savepoint (commit the nested transaction)",
    "rollback-to": "rollback-to [name]: roll back to a savepoint, which stays open",
    "flush": "flush pending changes to the database",
    "expunge": "expunge NAME: remove an object from the session",
    "refresh": "refresh NAME: reload an object's attributes",
    "isolation": "isolation LEVEL: set this session's isolation level",
    "timeout": "timeout SECONDS: how long a statement waits on a lock",
    "begin-mode": "begin-mode deferred|immediate|exclusive: the BEGIN SQLite emits",
    "cancel": "cancel the statement this session is waiting on",
    "mode": "mode sync|async: how Python input runs",
    "clear": "clear this pane's log",
    "help": "list the commands",
}

SQL_KEYWORDS = frozenset(
    ["select", "insert", "update", "delete", "with", "create", "drop", "alter", "begin", "commit", "rollback", "savepoint", "release", "start", "end", "pragma", "explain", "set", "show", "values", "replace", "truncate", "lock", "grant", "revoke", "analyze", "vacuum", "reindex", "describe", "desc", "call", "do", "table", "reset", "declare", "fetch", "merge", "upsert", "abort", "prepare", "deallocate", "listen", "unlisten", "notify", "discard", "comment", "checkpoint", "cluster", "refresh", "load", "use", "handler", "kill", "copy", "execute", "close", "move", "security", "import", "reassign", "attach", "detach", "optimize", "repair", "check", "checksum", "rename", "flush", "purge", "xa"]
)
# SQL keywords that are a whole statement alone; any other keyword alone is a Python name.
BARE_SQL = frozenset(["begin", "commit", "rollback", "end", "savepoint", "release", "abort", "checkpoint", "vacuum", "analyze", "reindex", "cluster", "reset", "start"])

# Leading whitespace and SQL comments (`-- …`, `/* … */`, MySQL's `# …`) before the first word.
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|#[^\n]*)*", re.S)
# What follows a name in Python and never a keyword in SQL: a call, attribute or item, an assignment.
_PYTHON_AFTER_NAME = re.compile(r"[(.\[]|\s*(=(?!=)|,|:(?!:)|(//|\*\*|>>|<<|[-+*/%&|^@])=)")
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_FIRST_WORD = re.compile(r"(\(\s*)*([A-Za-z_]\w*)")
_TYPED_SPACE = " \t\r\n"
_COMMAND_SPACE = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class SqlStatement:
    """One SQL statement; `control` names a transaction-control statement mapped onto the Session."""

    text: str
    control: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Command:
    """A playground command such as `\\savepoint sp1`."""

    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Classified:
    """An input and what kind of thing it is."""

    kind: StepKind
    text: str
    statements: tuple[SqlStatement, ...] = ()
    command: Command | None = None


def classify(text: str) -> Classified:
    """Decide whether `text` is SQL, Python or a command."""
    # Only the whitespace a user types: str.strip() would also drop control characters (\x1c…).
    stripped = text.strip(_TYPED_SPACE)
    if not stripped:
        return Classified(StepKind.EMPTY, text)
    if stripped.startswith(COMMAND_PREFIX):
        words = [word for word in _COMMAND_SPACE.split(stripped[len(COMMAND_PREFIX) :]) if word]
        name = words[0].lower() if words else ""
        return Classified(StepKind.COMMAND, text, command=Command(name, tuple(words[1:])))
    if stripped.lower() in ("help", "help()", "?"):
        return Classified(StepKind.COMMAND, text, command=Command("help", ()))
    if looks_like_sql(stripped):
        return Classified(StepKind.SQL, text, statements=tuple(split_sql(stripped)))
    return Classified(StepKind.PYTHON, text)


def looks_like_sql(text: str) -> bool:
    """Whether `text` is SQL rather than Python, decided from the parse of the whole input.

    Only input whose first word (after SQL comments and opening parentheses) is an SQL keyword
    can be SQL. Then: input that is not valid Python is SQL (`select * from t`,
    `with x as (select 1) select * from x`, `values (1), (2)`), except unfinished Python that
    starts as Python does (`select(User).where(`, `with session.begin():` before its body).
    Input that is valid Python is Python (`select(User)`, `values = [1]`, `with session.begin():`),
    except the few statements that read the same in both: SQL keywords alone (`commit;`,
    `begin; commit`), and a keyword followed by whitespace and then a parenthesis or a sign, as
    SQL is written and Python is not (`select (1 + 2) * 2`, `select -1`).
    """
    leading = _LEADING_COMMENTS.match(text)
    assert leading is not None  # the pattern matches the empty string too
    body = text[leading.end() :]
    first = _FIRST_WORD.match(body)
    if first is None or first.group(2).lower() not in SQL_KEYWORDS:
        return False
    sql_comments = re.sub(r"#[^\n]*", "", leading.group())  # a `#` comment may mention `--` or `/*`
    if "--" in sql_comments or "/*" in sql_comments:
        return True  # an SQL comment before an SQL keyword (as Python, `-- done` would negate `done` twice)
    word = first.group(2)
    rest = body[first.end() :]
    tree, incomplete = _parse_python(text)
    if tree is None:
        # Python still being typed: `select(User).where(`, `values = [`, a `with …:` header.
        python_start = first.group(1) is None and (keyword.iskeyword(word) or _PYTHON_AFTER_NAME.match(rest) is not None)
        return not (incomplete and python_start)
    if first.group(1) is not None or keyword.iskeyword(word) or not tree.body:
        return False  # `(select(User))`, `with session.begin():`, `import x`
    if all(_is_bare_sql_word(stmt) for stmt in tree.body):
        return True
    after = rest.lstrip(" \t")
    if not isinstance(tree.body[0], ast.Expr) or len(after) == len(rest):
        return False  # `values = [1]`, `select(User).where(...)`, `values[0]`
    return after[:1] == "(" or (after[:1] in ("-", "+", "~") and after[1:2] not in ("", " ", "\t", "=", "\n"))


def _parse_python(text: str) -> tuple[ast.Module | None, bool]:
    """The Python parse of `text` (None if it is not Python), and whether it is Python unfinished."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    with warnings.catch_warnings():
        # Only classifying: the step's own compile reports the warnings (`x is 1`) once.
        warnings.simplefilter("ignore")
        try:
            return compile(text, "<input>", "exec", flags, dont_inherit=True), False
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            pass
        try:
            return None, codeop.compile_command(text, "<input>", "exec") is None
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            return None, False


def _is_bare_sql_word(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name) and stmt.value.id.lower() in BARE_SQL


def split_sql(text: str) -> list[SqlStatement]:
    """Split SQL on semicolons outside quotes and comments; classify transaction control."""
    statements: list[SqlStatement] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    depth_dollar: str | None = None
    while i < len(text):
        ch = text[i]
        if depth_dollar is not None:
            if text.startswith(depth_dollar, i):
                buf.append(depth_dollar)
                i += len(depth_dollar)
                depth_dollar = None
                continue
            buf.append(ch)
        elif quote is not None:
            buf.append(ch)
            if ch == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    buf.append(quote)
                    i += 1
                else:
                    quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif ch == "$":
            m = re.match(r"\$[A-Za-z_]*\$", text[i:])
            if m:
                depth_dollar = m.group()
                buf.append(depth_dollar)
                i += len(depth_dollar)
                continue
            buf.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
            buf.append(text[i:end])
            i = end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = len(text) if end == -1 else end + 2
            buf.append(text[i:end])
            i = end
            continue
        elif ch == ";":
            _flush(buf, statements)
            buf = []
        else:
            buf.append(ch)
        i += 1
    _flush(buf, statements)
    return statements


def _flush(buf: list[str], out: list[SqlStatement]) -> None:
    stmt = "".join(buf).strip()
    if _SQL_COMMENT.sub("", stmt).strip():  # not comments alone
        out.append(classify_statement(stmt))


_CONTROL = [
    (re.compile(r"^(begin|start\s+transaction)(\s+(transaction|work|deferred|immediate|exclusive))*$", re.I), "begin"),
    (re.compile(r"^(commit|end)(\s+(transaction|work))?$", re.I), "commit"),
    (re.compile(r"^(rollback|abort)(\s+(transaction|work))?$", re.I), "rollback"),
    (re.compile(r"^savepoint\s+(?P<name>\w+)$", re.I), "savepoint"),
    (re.compile(r"^release(\s+savepoint)?\s+(?P<name>\w+)$", re.I), "release"),
    (re.compile(r"^rollback(\s+(transaction|work))?\s+to(\s+savepoint)?\s+(?P<name>\w+)$", re.I), "rollback-to"),
]


def classify_statement(stmt: str) -> SqlStatement:
    """Recognise BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE / ROLLBACK TO."""
    # A comment must not hide a COMMIT from the Session (it would be sent behind its back).
    flat = " ".join(_SQL_COMMENT.sub(" ", stmt).split())
    for pattern, control in _CONTROL:
        m = pattern.match(flat)
        if m:
            name = m.groupdict().get("name")
            return SqlStatement(stmt, control, name)
    return SqlStatement(stmt)


def escape_colons(stmt: str) -> str:
    """Escape colons inside quoted literals so `text()` does not read them as bind parameters."""
    out: list[str] = []
    quote: str | None = None
    for ch in stmt:
        if quote is not None:
            if ch == ":":
                out.append("\\:")
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        out.append(ch)
    return "".join(out)


# C0 controls, DEL and C1 controls, except tab, newline and carriage return (README: refused).
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_C0_NAMES = ["NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"]


def control_character_problem(text: str) -> str | None:
    """Why `text` may not run because it holds a control character, or None when it holds none.

    Names the first one (code point, abbreviation, line and column) and counts the others.
    """
    match = _CONTROL_CHARACTER.search(text)
    if match is None:
        return None
    char = match.group()
    code = ord(char)
    name = _C0_NAMES[code] if code < 0x20 else "DEL" if code == 0x7F else "C1 control"
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    others = len(_CONTROL_CHARACTER.findall(text)) - 1
    more = f" (and {others} more)" if others else ""
    return (
        f"the input holds the control character U+{code:04X} ({name}) at line {line}, column {column}{more}; "
        "nothing ran: only tab, newline and carriage return may be typed (build others with chr() / char())"
    )
