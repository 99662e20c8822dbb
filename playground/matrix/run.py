"""`txplay matrix`: the suite at every isolation level of each database, cell by cell."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from playground.matrix import SUITE, MatrixTest, Verdict, observations

NOT_LEVELS = ("AUTOCOMMIT",)  # a dialect's isolation values that are not a transaction's level
STRENGTH = ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SNAPSHOT", "SERIALIZABLE")  # columns' order


@dataclass(frozen=True)
class Column:
    """One database at one level (SQLite: and one journal mode)."""

    url: str | None
    backend: str
    server_version: str
    level: str
    journal_mode: str | None = None

    @property
    def title(self) -> str:
        mode = f" ({self.journal_mode})" if self.journal_mode else ""
        return f"{self.backend} {self.server_version}{mode}: {self.level}"


@dataclass
class MatrixRun:
    """Everything measured: the columns, each cell's verdict or why it could not run."""

    columns: list[Column] = field(default_factory=list)
    cells: dict[tuple[int, str], Verdict | str] = field(default_factory=dict)  # (column, test) → verdict | reason
    problems: list[str] = field(default_factory=list)  # a database that could not be opened, and why

    @property
    def exit_code(self) -> int:
        """0 when every cell ran, 1 when one could not."""
        return 1 if self.problems or any(isinstance(v, str) for v in self.cells.values()) else 0


async def columns_for(url: str | None) -> list[Column]:
    """The levels `url`'s dialect offers, with the server's version; SQLite in both journal modes."""
    from playground.demo.kit import DEMO_KIT
    from playground.engine import Workspace

    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), demo=False, isolate=url is not None)
    try:
        snapshot = ws.snapshot()
        levels = sorted((lv for lv in snapshot.session("A").isolation_levels if lv not in NOT_LEVELS),
                        key=lambda lv: STRENGTH.index(lv) if lv in STRENGTH else len(STRENGTH))
        async with ws.observer.connect() as conn:
            info = conn.dialect.server_version_info or ()
            await conn.rollback()
        version = ".".join(str(part) for part in info)
        modes: list[str | None] = list(snapshot.journal_modes) or [None]
        return [Column(url, ws.backend.name, version, level, mode) for mode in modes for level in levels]
    finally:
        await ws.close()


async def run_matrix(urls: list[str | None], on_cell: Callable[[Column, MatrixTest, Verdict | str], None] | None = None,
                     tests: tuple[MatrixTest, ...] = SUITE,
                     on_columns: Callable[[list[Column]], None] | None = None) -> MatrixRun:
    """Run every test at every column of every database; a database that cannot be opened is a
    problem of its own, and the others still run. `on_columns` hears each database's columns
    once they are known, before any of its cells runs; `on_cell` hears each cell as it is decided."""
    from playground.engine.errors import describe
    from playground.scenario import library
    from playground.scenario.runner import run_scenario

    run = MatrixRun()
    for url in urls:
        try:
            found = await columns_for(url)
        except Exception as exc:
            run.problems.append(f"{url or 'a temporary SQLite file'}: {describe(exc)}")
            continue
        if on_columns is not None:
            on_columns(found)
        for column in found:
            run.columns.append(column)
            index = len(run.columns) - 1
            for test in tests:
                scenario = dataclasses.replace(library.load(test.scenario), isolation=column.level,
                                               journal_mode=column.journal_mode or None)
                try:
                    report = await run_scenario(scenario, column.url, states=False)
                    steps = observations(report)
                    if report.error or len(steps) != len(scenario.steps) or any(s.result is None for s in steps):
                        raise RuntimeError(report.error or "a step did not finish")
                    cell: Verdict | str = test.decide(steps)
                except Exception as exc:
                    cell = f"could not run: {describe(exc)}"
                run.cells[index, test.name] = cell
                if on_cell is not None:
                    on_cell(column, test, cell)
    return run


def cell_text(cell: Verdict | str | None) -> str:
    """`wait`, `error 40001`, `snapshot`, `OCCURS`, or `—` (could not run)."""
    if cell is None or isinstance(cell, str):
        return "—"
    if not cell.prevented:
        return "OCCURS"
    return f"{cell.how} {cell.error_code}" if cell.error_code else cell.how


def write_table(run: MatrixRun, fmt: str, out: TextIO | None = None, tests: tuple[MatrixTest, ...] = SUITE) -> None:
    """The matrix as a text or Markdown table: a row a test, a column a database and level (to stdout by default)."""
    out = out if out is not None else sys.stdout
    header = ["test", "anomaly"] + [c.title for c in run.columns]
    rows = [[t.name, t.anomaly] + [cell_text(run.cells.get((i, t.name))) for i in range(len(run.columns))] for t in tests]
    if fmt == "markdown":
        out.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
        for row in rows:
            out.write("| " + " | ".join(row) + " |\n")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    for problem in run.problems:
        out.write(f"\nnot run: {problem}\n")
    for (i, name), cell in run.cells.items():
        if isinstance(cell, str):
            out.write(f"\n{name} on {run.columns[i].title}: {cell}\n")


def cell_json(column: Column, test: MatrixTest, cell: Verdict | str) -> dict[str, Any]:
    """One JSON line of the matrix."""
    out: dict[str, Any] = {"backend": column.backend, "server_version": column.server_version, "level": column.level,
                           "test": test.name, "anomaly": test.anomaly, "scenario": test.scenario}
    if column.journal_mode:
        out["journal_mode"] = column.journal_mode
    if isinstance(cell, str):
        out.update(prevented=None, how="not run", error_code=None, reason=cell)
    else:
        out.update(prevented=cell.prevented, how=cell.how, error_code=cell.error_code, evidence=cell.evidence)
    return out
