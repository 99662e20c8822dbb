"""What mysqltest prints: result sets, errors, sorting, and the replace_* filters on the way out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.suites.mysqltest_client import ResultSet

NULL = "NULL"
_POSIX_CLASSES = {
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:space:]": r" \t\n\r\f\v",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:punct:]": r"!-/:-@\[-`{-~",
    "[:blank:]": r" \t",
}


@dataclass
class Filters:
    """The one-command filters: replace_column, replace_result, replace_regex, lowercase_result."""

    columns: dict[int, str] = field(default_factory=dict)  # 0-based column → replacement
    pairs: list[tuple[str, str]] = field(default_factory=list)
    regexes: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = field(default_factory=list)
    lower: bool = False

    def clear(self) -> None:
        """Forget every filter (mysqltest does so once a command has run)."""
        self.columns.clear()
        self.pairs.clear()
        self.regexes.clear()
        self.lower = False

    def apply(self, text: str) -> str:
        """mysqltest's replace_dynstr_append: lowercase, then the regexes, then the replacements."""
        if self.lower and len(text) < 1023:
            text = text.lower()
        for pattern, replacement in self.regexes:
            text = pattern.sub(replacement, text)
        if self.pairs:
            text = _replace_strings(text, self.pairs)
        return text


def _replace_strings(text: str, pairs: list[tuple[str, str]]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        best: tuple[str, str] | None = None
        for old, new in pairs:
            if text.startswith(old, i) and (best is None or len(old) > len(best[0])):
                best = (old, new)
        if best is None:
            out.append(text[i])
            i += 1
        else:
            out.append(best[1])
            i += len(best[0])
    return "".join(out)


def parse_regexes(expression: str) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    """`/from/to/i /from/to/ ...` as replace_regex reads them (any delimiter; brackets pair)."""
    found: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = []
    i, n = 0, len(expression)
    while i < n:
        while i < n and expression[i].isspace():
            i += 1
        if i >= n:
            break
        opening = expression[i]
        closing = {"(": ")", "[": "]", "{": "}", "<": ">"}.get(opening, opening)
        i += 1
        parts: list[str] = []
        for _ in range(2):
            part: list[str] = []
            while i < n and expression[i] != closing:
                if expression[i] == "\\" and i + 1 < n and expression[i + 1] == closing:
                    i += 1
                part.append(expression[i])
                i += 1
            if i >= n:
                raise ValueError(f'Error parsing replace_regex "{expression}"')
            i += 1
            parts.append("".join(part))
        flags = re.DOTALL
        if i < n and expression[i] == "i":
            flags |= re.IGNORECASE
            i += 1
        pattern = parts[0]
        for posix, python in _POSIX_CLASSES.items():
            pattern = pattern.replace(posix, python)
        found.append((re.compile(pattern, flags), _expander(parts[1])))
    return found


def _expander(replacement: str) -> Callable[[re.Match[str]], str]:
    """The replacement as mysqltest expands it: `\\N` is group N, anything else stands as written."""

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        i, n = 0, len(replacement)
        while i < n:
            c = replacement[i]
            if c == "\\" and i + 1 < n and replacement[i + 1].isdigit() and int(replacement[i + 1]) <= (match.re.groups):
                out.append(match.group(int(replacement[i + 1])) or "")
                i += 2
            else:
                out.append(c)
                i += 1
        return "".join(out)

    return expand


def format_result(result: ResultSet, filters: Filters, *, vertical: bool, column_names: bool) -> str:
    """A result set as mysqltest prints it: tab-separated names, then rows; NULL as NULL."""
    if result.columns is None:
        return ""
    out: list[str] = []
    if not vertical and column_names:
        out.append("\t".join(filters.apply(name) for name in result.columns) + "\n")
    for row in result.rows:
        cells = [_cell(index, value, filters) for index, value in enumerate(row)]
        if vertical:
            out.extend(f"{name}\t{cell}\n" for name, cell in zip(result.columns, cells, strict=False))
        else:
            out.append("\t".join(cells) + "\n")
    return "".join(out)


def format_rows(rows: list[list[str | None]], filters: Filters) -> str:
    """Rows without a heading (SHOW WARNINGS as mysqltest appends it)."""
    return "".join("\t".join(_cell(i, v, filters) for i, v in enumerate(row)) + "\n" for row in rows)


def _cell(index: int, value: str | None, filters: Filters) -> str:
    if index in filters.columns:
        value = filters.columns[index]
    elif value is None:
        value = NULL
    return filters.apply(value)


def sort_lines(text: str, keep_header: bool) -> str:
    """mysqltest's dynstr_append_sorted: every line sorted, the first one kept on top if asked."""
    if not text:
        return ""
    header = ""
    if keep_header:
        cut = text.find("\n")
        header, text = (text, "") if cut < 0 else (text[: cut + 1], text[cut + 1 :])
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines.sort(key=lambda line: line.encode("utf-8", "surrogateescape"))
    return header + "".join(line + "\n" for line in lines)
