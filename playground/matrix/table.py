"""The matrix as text: a table (text or Markdown) with the facts and a legend under it, or JSON lines."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from playground.matrix import SUITE, MatrixTest, Verdict

if TYPE_CHECKING:
    from playground.matrix.run import Column, MatrixRun

NOT_RUN = "not run"

MEANINGS = (
    ("wait", "prevented: a statement waited for the other transaction's lock, then went on"),
    ("error CODE", "prevented: the database refused a statement or a commit with CODE (SQLSTATE, MySQL/MariaDB "
                   "error number, or SQLITE_BUSY / SQLITE_LOCKED)"),
    ("snapshot", "prevented: the reads saw committed data, one consistent state, without waiting"),
    ("OCCURS", "the anomaly happened"),
    (NOT_RUN, "the cell could not run (the reason is below the table)"),
)


def cell_text(cell: Verdict | str | None) -> str:
    """`wait`, `error 40001`, `snapshot`, `OCCURS`, `not run` (could not run), or `—` (never started)."""
    if cell is None:
        return "—"
    if isinstance(cell, str):
        return NOT_RUN
    if not cell.prevented:
        return "OCCURS"
    return f"{cell.how} {cell.error_code}" if cell.error_code else cell.how


def write_table(run: MatrixRun, fmt: str, out: TextIO | None = None, tests: tuple[MatrixTest, ...] = SUITE) -> None:
    """The matrix as a text or Markdown table: a row a test, a column a database and level (to
    stdout by default); under it the facts each database was measured under, and the legend."""
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
    bullet = "- " if fmt == "markdown" else "  "
    if run.interrupted:
        out.write(f"\ninterrupted after {len(run.cells)} of {len(run.columns) * len(tests)} cells; — marks a cell not done\n")
    out.write("\n" + "\n".join(fact_lines(run, bullet)) + "\n")
    reasons = [f"{bullet}{problem}" for problem in run.problems]
    reasons += [f"{bullet}{name} on {run.columns[i].title}: {cell}" for (i, name), cell in run.cells.items()
                if isinstance(cell, str) and run.columns[i].problem is None]
    if reasons:
        out.write("\nnot run:\n" + "\n".join(reasons) + "\n")
    out.write("\n" + "\n".join(legend_lines(tests, bullet)) + "\n")


def fact_lines(run: MatrixRun, bullet: str = "  ") -> list[str]:
    """What each database was measured under: version and the settings that change the answer."""
    lines = ["measured on:"]
    for db in run.databases:
        if db.problem is not None:
            lines.append(f"{bullet}{db.where}: could not be opened")
            continue
        facts = ", ".join(f"{name} {value}" for name, value in db.facts)
        lines.append(f"{bullet}{db.backend} {db.server_version} ({db.where}): {facts}")
    if run.lock_timeouts:
        seconds = " / ".join(f"{t:g} s" for t in run.lock_timeouts)
        lines.append(f"{bullet}every scenario sets lock-timeout: {seconds} (each session's lock or busy timeout)")
    return lines


def legend_lines(tests: tuple[MatrixTest, ...], bullet: str = "  ") -> list[str]:
    """Each test's anomaly and what it means, then what a cell's word means."""
    lines = ["tests:"] + [f"{bullet}{t.name} ({t.anomaly}): {t.explanation}" for t in tests]
    return lines + ["cells:"] + [f"{bullet}{word}: {meaning}" for word, meaning in MEANINGS]


def cell_json(column: Column, test: MatrixTest, cell: Verdict | str) -> dict[str, Any]:
    """One JSON line of the matrix."""
    out: dict[str, Any] = {"backend": column.backend, "server_version": column.server_version, "level": column.level,
                           "test": test.name, "anomaly": test.anomaly, "scenario": test.scenario}
    if column.journal_mode:
        out["journal_mode"] = column.journal_mode
    if isinstance(cell, str):
        out.update(prevented=None, how=NOT_RUN, error_code=None, reason=cell)
    else:
        out.update(prevented=cell.prevented, how=cell.how, error_code=cell.error_code, evidence=cell.evidence)
    return out
