"""Comparing a run's output with an expected file (`--expected`): trailing whitespace aside."""

from __future__ import annotations

import difflib
from pathlib import Path


def compare(actual: str, expected_path: str | Path) -> tuple[bool, str]:
    """Whether `actual` equals the file's text, line by line with trailing whitespace ignored,
    and a unified diff (expected → actual) where it does not."""
    path = Path(expected_path)
    expected = path.read_bytes().decode("utf-8", errors="surrogateescape")  # as the runners hold bytes that are not UTF-8
    want = [line.rstrip() for line in expected.splitlines()]
    got = [line.rstrip() for line in actual.splitlines()]
    while want and not want[-1]:
        want.pop()
    while got and not got[-1]:
        got.pop()
    if want == got:
        return True, ""
    diff = difflib.unified_diff(want, got, fromfile=str(path), tofile="this run", lineterm="")
    return False, "\n".join(diff) + "\n"
