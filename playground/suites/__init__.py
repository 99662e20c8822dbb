"""The databases' own isolation test suites, run by txplay.

- `.spec` files: PostgreSQL's isolationtester language (`spec.py` parses, `isolation.py` runs).
- `.test` files: the multi-connection part of MariaDB's mysqltest language (`mysqltest.py`).

Both runners print what the real tool prints (`--format isolation` / `--format mysqltest`) and
report the same run as events for txplay's other transcript formats. An event is a plain dict:

- `{"event": "suite", "kind": "isolation"|"mysqltest", "source": PATH, "sessions": [NAME, ...]}`
- `{"event": "permutation", "index": N, "steps": [STEP, ...]}` (spec files only)
- `{"event": "step", "session": NAME, "name": STEP|None, "sql": TEXT, "line": N,
   "status": "ok"|"error"|"waiting"|"sent", "output": TEXT}`: `output` is what the real tool
   printed for it (result table, error line, notices)
- `{"event": "completed", "session": NAME, "name": STEP|None, "status": "ok"|"error", "output": TEXT}`:
  a step reported `waiting` (or `sent`) has finished
- `{"event": "summary", "steps": N, "exit": CODE, "error": TEXT (only when the run failed)}`

Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Emit = Callable[[dict[str, Any]], None]


class SuiteError(Exception):
    """A suite file that cannot be run: says file, line and reason (nothing has run)."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


__all__ = ["Emit", "SuiteError"]
