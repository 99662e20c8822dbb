"""What a matrix cell is made of: the observations of a run, the verdict, and a test's shape.

Kept apart from the rules (suite.py) so that each rule module reads only these types.
Nothing here imports Textual.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.engine.snapshot import StepResult


@dataclass(frozen=True)
class Verdict:
    """A cell of the matrix."""

    prevented: bool
    how: str  # wait | error | snapshot | occurs
    error_code: str | None = None
    evidence: str = ""


@dataclass(frozen=True)
class Observed:
    """What one step of a run showed: its result (after any wait) and whether it waited."""

    result: StepResult | None
    waited: bool

    @property
    def error(self) -> bool:
        return self.result is not None and self.result.error is not None

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (self.result.rows or ())] if self.result is not None else []


Decide = Callable[[list[Observed]], Verdict]


@dataclass(frozen=True)
class MatrixTest:
    """One anomaly test: its scenario, the anomaly and how to read the run."""

    name: str
    anomaly: str
    explanation: str
    scenario: str
    decide: Decide


def error_code(result: StepResult | None) -> str | None:
    """The code a database gave an error: SQLSTATE, MySQL's error number, or SQLite's BUSY/LOCKED."""
    if result is None or result.error is None:
        return None
    message = result.error.message
    number = re.search(r"\((\d{4}),", message)
    if number:
        return number.group(1)
    if result.error.sqlstate:
        return result.error.sqlstate
    if "database is locked" in message:
        return "SQLITE_BUSY"
    if "database table is locked" in message:
        return "SQLITE_LOCKED"
    return result.error.type


class Unclassifiable(RuntimeError):
    """A run showed something a test's rule has no reading for: said, never guessed at."""


def refused(step: Observed, what: str) -> Verdict:
    """Prevented by the error `step` got (after a wait or not)."""
    return Verdict(True, "error", error_code(step.result), f"{what} was refused: {step.result.error if step.result else ''}")


def first_refusal(steps: list[Observed], *checked: tuple[int, str]) -> Verdict | None:
    """The first of `checked` (step index, what it was) that got an error, as a verdict.

    `checked` lists the steps the anomaly is made of: if one of them was refused the
    anomaly could not form, whatever the other steps show.
    """
    for index, what in checked:
        if steps[index].error:
            return refused(steps[index], what)
    return None


def held_back(steps: list[Observed], indexes: tuple[int, ...], evidence: str) -> Verdict:
    """Prevented: by a wait when one of `indexes` waited, else by the snapshot a read was given."""
    if any(steps[i].waited for i in indexes):
        return Verdict(True, "wait", None, evidence)
    return Verdict(True, "snapshot", None, evidence)
