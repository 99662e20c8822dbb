"""The isolation matrix: which anomalies a database prevents at each isolation level, measured.

Each test is a built-in `.txp` scenario (`matrix_*`) run at a level; what it concludes comes
from what its sessions saw (the rows a read returned, whether a step waited, which error it
got, the committed state at the end), decided by the test's own rule — never from a table of
answers per database. The test designs follow Hermitage's (Martin Kleppmann, CC BY 4.0).
Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
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


def _refused(step: Observed, what: str) -> Verdict:
    """Prevented by the error `step` got (after a wait or not)."""
    return Verdict(True, "error", error_code(step.result), f"{what} was refused: {step.result.error if step.result else ''}")


def decide_g0(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write r1, T2 write r1, T1 write r2, T1 commit, T2 write r2,
    T2 commit, C read. The second writer of row 1 must wait or be refused."""
    second = steps[3]
    if second.error:
        return _refused(second, "T2's write of row 1")
    final = steps[8].rows
    if second.waited:
        mixed = final not in ([(1, 11), (2, 21)], [(1, 12), (2, 22)])
        if mixed:
            return Verdict(False, "occurs", None, f"T2 waited, yet the rows ended mixed: {final}")
        return Verdict(True, "wait", None, f"T2's write of row 1 waited for T1; the rows ended {final}")
    return Verdict(False, "occurs", None, f"T2 wrote row 1 over T1's uncommitted write without waiting; rows ended {final}")


def decide_g1a(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write 101, T2 read, T1 rollback, T2 read, T2 commit. T2 must
    never read 101."""
    read = steps[3]
    if read.error:
        return _refused(read, "T2's read")
    seen = read.rows
    if seen == [(101,)]:
        return Verdict(False, "occurs", None, "T2 read 101, which T1 then rolled back")
    if read.waited:
        return Verdict(True, "wait", None, f"T2's read waited for T1 and read {seen}")
    return Verdict(True, "snapshot", None, f"T2 read the committed value {seen} while T1's 101 was uncommitted")


def decide_p4(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read, T2 read, T1 write, T2 write, T1 commit, T2 commit,
    C read. Both increments commit from the same read: an update lost."""
    for index, what in ((5, "T2's write"), (7, "T2's commit"), (4, "T1's write"), (6, "T1's commit")):
        if steps[index].error:
            return _refused(steps[index], what)
    final = steps[8].rows
    return Verdict(False, "occurs", None, f"both transactions committed an increment from 10; the counter ended {final}")


def decide_g1b(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write 101, T2 read, T1 write 11, T1 commit, T2 read, T2 commit.
    T2 must never read the intermediate 101."""
    read = steps[3]
    if read.error:
        return _refused(read, "T2's read")
    if read.rows == [(101,)]:
        return Verdict(False, "occurs", None, "T2 read 101, which T1 overwrote before committing")
    if read.waited:
        return Verdict(True, "wait", None, f"T2's read waited for T1 and read {read.rows}")
    return Verdict(True, "snapshot", None, f"T2 read the committed value {read.rows}, not T1's intermediate 101")


def decide_g1c(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 write r1=11, T2 write r2=22, T1 read r2, T2 read r1, T1 commit,
    T2 commit. Each reading the other's uncommitted write is the cycle."""
    first, second = steps[4], steps[5]
    for step, what in ((first, "T1's read of row 2"), (second, "T2's read of row 1"), (steps[3], "T2's write")):
        if step.error:
            return _refused(step, what)
    if first.rows == [(22,)] and second.rows == [(11,)]:
        return Verdict(False, "occurs", None, "T1 read T2's uncommitted 22 and T2 read T1's uncommitted 11")
    if first.waited or second.waited:
        return Verdict(True, "wait", None, f"a read waited for the other's write; T1 read {first.rows}, T2 read {second.rows}")
    return Verdict(True, "snapshot", None, f"each read committed data: T1 read {first.rows}, T2 read {second.rows}")


def decide_g_single(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read r1, T2 write r1, T2 write r2, T2 commit, T1 read r2, T1
    commit. T1 seeing row 1 before T2 and row 2 after it is the skew."""
    for index, what in ((3, "T2's write of row 1"), (4, "T2's write of row 2"), (5, "T2's commit"), (6, "T1's read")):
        if steps[index].error:
            return _refused(steps[index], what)
    first, second = steps[2].rows, steps[6].rows
    if first == [(10,)] and second == [(18,)]:
        return Verdict(False, "occurs", None, "T1 read row 1 as 10 (before T2) and row 2 as 18 (after T2): 28, not 30")
    if steps[3].waited or steps[6].waited:
        return Verdict(True, "wait", None, f"T2's write waited for T1's read; T1 read {first} and {second}")
    return Verdict(True, "snapshot", None, f"T1 read one state: {first} and {second}")


def decide_g2_item(steps: list[Observed]) -> Verdict:
    """Steps: T1 begin, T2 begin, T1 read both, T2 read both, T1 write r1, T2 write r2, T1 commit,
    T2 commit, C read. Both committing, each on what it read before the other's write, is write skew."""
    for index, what in ((4, "T1's write"), (5, "T2's write"), (6, "T1's commit"), (7, "T2's commit")):
        if steps[index].error:
            return _refused(steps[index], what)
    return Verdict(False, "occurs", None, f"both committed a write based on what they read; rows ended {steps[8].rows}")


SUITE: tuple[MatrixTest, ...] = (
    MatrixTest("G0", "dirty write", "a transaction overwrites another's uncommitted write", "matrix_g0", decide_g0),
    MatrixTest("G1a", "aborted read", "a transaction reads a write that is later rolled back", "matrix_g1a", decide_g1a),
    MatrixTest("G1b", "intermediate read", "a transaction reads a value another overwrote before committing",
               "matrix_g1b", decide_g1b),
    MatrixTest("G1c", "circular information flow", "each of two transactions reads the other's uncommitted write",
               "matrix_g1c", decide_g1c),
    MatrixTest("P4", "lost update", "two read-modify-write cycles interleave and one increment vanishes", "matrix_p4",
               decide_p4),
    MatrixTest("G-single", "read skew", "a transaction sees part of another's changes: one row before, one after",
               "matrix_gsingle", decide_g_single),
    MatrixTest("G2-item", "write skew", "two transactions each update a row based on a read the other's write changes",
               "matrix_g2item", decide_g2_item),
)


def observations(report: Any) -> list[Observed]:
    """The steps of a run, in scenario order, as the decision rules read them."""
    return [Observed(record.result, record.waited) for record in report.steps]


async def run_cell(test: MatrixTest, level: str, url: str | None) -> Verdict:
    """Run `test` at `level` on `url` (a fresh SQLite file when None) and decide it."""
    from playground.scenario import library
    from playground.scenario.runner import run_scenario

    scenario = dataclasses.replace(library.load(test.scenario), isolation=level)
    report = await run_scenario(scenario, url, states=False)
    steps = observations(report)
    if report.error or len(steps) != len(scenario.steps) or any(s.result is None for s in steps):
        raise RuntimeError(f"{test.name} at {level} did not run to its end: {report.error or 'a step did not finish'}")
    return test.decide(steps)
