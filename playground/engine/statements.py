"""What one statement is: its kind for lock inference, the names it uses, what it holds after.

The session records each statement it sends as an `Inflight`; the lock monitors read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_PARAM_REPR = 300
WRITE_WORDS = frozenset(["insert", "update", "delete", "replace", "create", "drop", "alter", "merge", "upsert", "truncate"])
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass
class Inflight:
    """The statement a session's connection is executing right now.

    Each statement gets an object of its own: a lock monitor's observation names the one it
    saw waiting, and applies to nothing else (not to the next statement of the same session).
    """

    statement: str
    kind: str  # read | write | commit
    since: float
    progress: int = 0  # SQLite: the connection's progress-handler calls when it started


def statement_kind(statement: str) -> str:
    """read / write / begin-write for lock inference, from the statement's first word."""
    words = statement.split(None, 2)
    first = words[0].lower() if words else ""
    if first == "begin" and len(words) > 1 and words[1].lower() in ("immediate", "exclusive"):
        return "write"
    if first in WRITE_WORDS:
        return "write"
    if first == "with" and any(w in statement.lower() for w in (" insert ", " update ", " delete ")):
        return "write"
    return "read"


def sql_names(statement: str) -> set[str]:
    """The words of a statement that could name a table, in lower case."""
    return {word.lower() for word in IDENTIFIER.findall(statement)}


def shown_params(parameters: Any) -> str | None:
    """A statement's bound parameters as the log shows them, cut to a readable length."""
    if not parameters:
        return None
    text = repr(parameters)
    return text if len(text) <= MAX_PARAM_REPR else text[: MAX_PARAM_REPR - 1] + "…"
