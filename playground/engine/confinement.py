"""What a process serving one web visitor may not do: run Python input, or reach files through SQLite.

Process-wide on purpose: under `txplay web` each visitor has a process of their own, and every
workspace that process opens (the free sessions, a scenario in demo mode, a matrix cell) must
obey the same limits, however it was opened. A terminal user's process never calls `confine`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from playground.engine.snapshot import ErrorInfo

# sqlite3 names these action codes only from Python 3.11 on; SQLite's numbers never change.
SQLITE_ATTACH = getattr(sqlite3, "SQLITE_ATTACH", 24)
SQLITE_DETACH = getattr(sqlite3, "SQLITE_DETACH", 25)
SQLITE_PRAGMA = getattr(sqlite3, "SQLITE_PRAGMA", 19)
SQLITE_FUNCTION = getattr(sqlite3, "SQLITE_FUNCTION", 31)
# PRAGMAs that point SQLite at another folder for the whole process.
FOLDER_PRAGMAS = frozenset({"temp_store_directory", "data_store_directory"})


@dataclass(frozen=True)
class Confinement:
    """The limits in force: Python input allowed or not; SQLite kept to its own file or not."""

    python_allowed: bool = True
    sqlite_confined: bool = False


_current = Confinement()


def confine(*, python_allowed: bool) -> None:
    """Keep SQLite to its own file from now on, and refuse Python input unless `python_allowed`."""
    global _current
    _current = Confinement(python_allowed=python_allowed, sqlite_confined=True)


def current() -> Confinement:
    """The limits this process runs under."""
    return _current


def python_refused() -> ErrorInfo:
    """The error of a Python step in a process that refuses Python."""
    return ErrorInfo(
        "PythonRefused", "Python input is turned off on this server: SQL and backslash commands only",
        "the host can allow it with `txplay web --allow-python`, on a network they trust",
    )


def sqlite_authorizer(action: int, arg1: Any, arg2: Any, database: Any, trigger: Any) -> int:
    """SQLite's authorizer for a confined process: no other database file, no extension, no folder switch.

    ATTACH with an empty name is what a plain VACUUM asks for (a private temporary copy), so it
    passes; `VACUUM INTO 'file'` names a file and is refused like `ATTACH 'file'`.
    """
    if action == SQLITE_ATTACH and arg1 != "":
        return sqlite3.SQLITE_DENY
    if action == SQLITE_DETACH:
        return sqlite3.SQLITE_DENY
    if action == SQLITE_FUNCTION and str(arg2).lower() == "load_extension":
        return sqlite3.SQLITE_DENY
    if action == SQLITE_PRAGMA and str(arg1).lower() in FOLDER_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
