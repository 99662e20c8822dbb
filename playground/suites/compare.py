"""Comparing a run's output with an expected file (`.result`, `.out`), as the suites' tools do."""

from __future__ import annotations

import difflib
import os


def compare(actual: str, expected_path: str | os.PathLike[str]) -> tuple[bool, str]:
    """(same, diff): whether `actual` equals the file's text, line by line with trailing white space
    ignored, and a unified diff (expected → actual) when it does not. The file is read as UTF-8 with
    surrogate escapes, the way the runners hold text that is not UTF-8."""
    with open(expected_path, "rb") as handle:
        expected = handle.read().decode("utf-8", "surrogateescape")
    expected_lines = _lines(expected)
    actual_lines = _lines(actual)
    if expected_lines == actual_lines:
        return True, ""
    diff = difflib.unified_diff(
        expected_lines, actual_lines, fromfile=str(expected_path), tofile="actual", lineterm=""
    )
    return False, "\n".join(diff) + "\n"


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines
