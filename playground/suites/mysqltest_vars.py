"""mysqltest's variables and its text expansion: `$name`, `\\$`, and the argument lists of commands.

A variable holds a string; it also counts as a number when the string starts with one (as C's
strtol reads it, ending at the end, a space or a tab). `inc`/`dec` change the number and the
string follows the next time the variable is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class MysqltestError(Exception):
    """The run stops here, as mysqltest's die(): the message says why."""


@dataclass
class Var:
    """One variable: its text, and its number when the text reads as one."""

    text: str = ""
    number: int = 0
    is_int: bool = False
    dirty: bool = False  # the number changed (inc/dec); the text follows on the next read

    def set(self, text: str) -> None:
        """Give the variable a new text, and the number it reads as."""
        self.text = text
        self.dirty = False
        self.number, self.is_int = read_int(text)

    def read(self) -> str:
        """The text, brought up to date with the number after inc/dec."""
        if self.dirty:
            self.text = str(self.number)
            self.dirty = False
        return self.text


def read_int(text: str) -> tuple[int, bool]:
    """(number, is_int) as mysqltest reads a value with strtol: leading spaces, a sign, digits,
    then the end of the text, a space or a tab."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\r\v\f":
        i += 1
    start = i
    if i < n and text[i] in "+-":
        i += 1
    digits = i
    while i < n and text[i].isdigit() and text[i].isascii():
        i += 1
    if i == digits:
        return 0, False
    value = int(text[start:i])
    value = (value + 2**31) % 2**32 - 2**31  # a C int
    return value, i == n or text[i] in " \t"


def is_var_char(c: str) -> bool:
    """A character that may stand in a variable name (letters, digits, underscore)."""
    return c == "_" or (c.isalnum() and c.isascii())


class Variables:
    """The run's variables: `$0`..`$9`, named ones, and the environment for names never set."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.named: dict[str, Var] = {}
        self.environ = dict(os.environ) if environ is None else environ

    def get(self, name: str) -> Var:
        """The variable `name` (without `$`), made from the environment (or empty) when new."""
        var = self.named.get(name)
        if var is None:
            var = Var()
            var.set(self.environ.get(name, ""))
            self.named[name] = var
        return var

    def set(self, name: str, text: str) -> None:
        """Set `name` (with or without its `$`) to a text."""
        self.get(name.lstrip("$")).set(text)

    def set_int(self, name: str, value: int) -> None:
        """Set `name` to a number."""
        self.set(name, str(value))

    def lookup(self, text: str, pos: int) -> tuple[Var, int]:
        """The variable named at text[pos] (a `$`): the variable and the position after its name."""
        i = pos + 1
        if i < len(text) and text[i].isdigit():
            return self.get(text[i]), i + 1
        while i < len(text) and is_var_char(text[i]):
            i += 1
        if i == pos + 1:
            raise MysqltestError("Empty variable")
        return self.get(text[pos + 1 : i]), i

    def expand(self, text: str, keep_escapes: bool = False) -> str:
        """mysqltest's do_eval: `$name` becomes its value, `\\$`, `\\\\` and `\\"` their character."""
        out: list[str] = []
        escaped = False
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "$":
                if escaped:
                    escaped = False
                    out.append(c)
                    i += 1
                    continue
                var, i = self.lookup(text, i)
                out.append(var.read())
                continue
            if c == "\\":
                following = text[i + 1] if i + 1 < n else ""
                if escaped:
                    escaped = False
                    out.append(c)
                elif following in ("\\", "$", '"'):
                    escaped = True
                    if keep_escapes:
                        out.append(c)
                else:
                    out.append(c)
            else:
                escaped = False
                out.append(c)
            i += 1
        return "".join(out)


def split_args(variables: Variables, text: str, count: int, separator: str) -> tuple[list[str], str]:
    """mysqltest's check_command_args for `count` string arguments separated by `separator`: each
    may be quoted with ' " or `, and is expanded. Returns the arguments and what is left over."""
    args: list[str] = []
    i, n = 0, len(text)
    for _ in range(count):
        while i < n and text[i] == " ":
            i += 1
        stop = separator
        if i < n and text[i] in "'`\"":
            stop = text[i]
            i += 1
        start = i
        while i < n and text[i] != stop:
            i += 1
        args.append(variables.expand(text[start:i]) if i > start else "")
        while i < n and text[i] != separator:
            i += 1
        if i < n:
            i += 1
    return args, text[i:]


def get_strings(variables: Variables, text: str) -> list[str]:
    """mysqltest's get_string, repeated: words separated by spaces, quoted with ' or ", with \\n,
    \\t and \\\\ escapes; a word that is exactly a `$variable` becomes its value."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        sep = " "
        if text[i] in "'\"":
            sep = text[i]
            i += 1
        out: list[str] = []
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                i += 1
                out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "Z": "\x1a"}.get(text[i], text[i]))
            elif c == sep:
                if c == " " or i + 1 >= n or text[i + 1] != c:
                    i += 1
                    break
                out.append(c)
                i += 1
            else:
                out.append(c)
            i += 1
        while i < n and text[i] in " \t\n\r\v\f":
            i += 1
        word = "".join(out)
        if word.startswith("$") and len(word) > 1 and all(is_var_char(ch) for ch in word[1:]):
            word = variables.get(word[1:]).read()
        words.append(word)
    return words
