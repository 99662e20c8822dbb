"""`txplay matrix`: the suite at every isolation level of each database, cell by cell.

Cells run several at once, all in this process: each on a temporary SQLite file or in a
schema/database of its own, so that they never see each other's rows or locks. A database is
probed first (its levels, version and the settings that change the answer); one that cannot be
opened becomes a column that says why, and the others still run. Setting `stop` ends the run
early: cells not started are left out, running ones are cancelled, and every cell still rolls
back and drops what it created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playground.matrix import SUITE, MatrixTest, Verdict, run_cell
from playground.matrix.table import cell_json, cell_text, write_table

__all__ = ["Column", "Database", "MatrixRun", "cell_json", "cell_text", "columns_for", "probe", "refusal", "run_matrix",
           "write_table"]

NOT_LEVELS = ("AUTOCOMMIT",)  # a dialect's isolation values that are not a transaction's level
STRENGTH = ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SNAPSHOT", "SERIALIZABLE")  # columns' order
PARALLEL = 4  # cells at once on one database where each has its own file or namespace (2 cores: more only queue)
PROBE_TIMEOUT = 15.0  # seconds a database may take to answer the first look before its column says so
TEMPORARY = "a temporary SQLite file"

T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    """One database at one level (SQLite: and one journal mode); or a database that could not be
    opened (`problem` says why, and every cell of the column is not run)."""

    url: str | None
    backend: str
    server_version: str
    level: str
    journal_mode: str | None = None
    problem: str | None = None

    @property
    def database(self) -> str:
        """The database the column measured: backend, version and (SQLite) journal mode."""
        mode = f" ({self.journal_mode})" if self.journal_mode else ""
        return f"{self.backend} {self.server_version}{mode}"

    @property
    def title(self) -> str:
        if self.problem is not None:
            return f"{self.backend}: {shorten(self.problem)}"
        return f"{self.database}: {self.level}"


@dataclass(frozen=True)
class Database:
    """One database of the run: where it is, what it is, and the settings it was measured under."""

    where: str  # the URL with its password masked, or TEMPORARY
    backend: str
    server_version: str = ""
    facts: tuple[tuple[str, str], ...] = ()  # (setting, value), as a session saw them
    problem: str | None = None  # why it could not be opened


@dataclass
class MatrixRun:
    """Everything measured: the columns, each cell's verdict or why it could not run."""

    columns: list[Column] = field(default_factory=list)
    cells: dict[tuple[int, str], Verdict | str] = field(default_factory=dict)  # (column, test) → verdict | reason
    problems: list[str] = field(default_factory=list)  # a database that could not be opened, and why
    databases: list[Database] = field(default_factory=list)
    lock_timeouts: tuple[float, ...] = ()  # what the scenarios' lock-timeout: headers set
    interrupted: bool = False  # stopped before every cell had run

    @property
    def exit_code(self) -> int:
        """130 when interrupted (as a shell reports Ctrl+C), 1 when a cell could not run, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.problems or any(isinstance(v, str) for v in self.cells.values()) else 0


def shorten(text: str, width: int = 60) -> str:
    """The first line of `text`, cut to `width` characters: a reason that fits a column's title."""
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= width else line[: width - 1] + "…"


def refusal(url: str) -> str | None:
    """Why the matrix cannot run on `url` (no strategy that can tell a lock wait), or None.

    Raises BackendError for a URL txplay cannot use at all.
    """
    from playground.engine.backends import resolve

    backend = resolve(url)
    if backend.watches_locks:
        return None
    return (f"txplay has no strategy for {backend.url.drivername} ({backend.display_url}): without a lock monitor "
            "it cannot tell a statement waiting on a lock from a slow one, so no cell could be decided; "
            "the matrix runs on SQLite, PostgreSQL, MySQL and MariaDB")


def _lock_timeout(tests: tuple[MatrixTest, ...]) -> tuple[float, ...]:
    from playground.scenario import library

    return tuple(sorted({t for t in (library.load(test.scenario).lock_timeout for test in tests) if t is not None}))


async def probe(url: str | None, lock_timeout: float | None = None) -> tuple[Database, list[Column]]:
    """Open `url` once: its levels (from the dialect), its version, and the facts a session there
    sees with the scenarios' lock timeout in force. SQLite: a column per journal mode too."""
    from playground.demo.kit import DEMO_KIT
    from playground.engine import SessionSettings, Workspace

    defaults = SessionSettings()
    if lock_timeout is not None:
        defaults.lock_timeout = lock_timeout
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), demo=False, isolate=url is not None, defaults=defaults)
    try:
        session = ws.snapshot().session("A")
        levels = sorted((lv for lv in session.isolation_levels if lv not in NOT_LEVELS),
                        key=lambda lv: STRENGTH.index(lv) if lv in STRENGTH else len(STRENGTH))
        async with ws.observer.connect() as conn:
            info = conn.dialect.server_version_info or ()
            await conn.rollback()
        version = ".".join(str(part) for part in info)
        facts = [("default isolation", session.isolation)]
        for label, sql in ws.backend.fact_queries:
            result = await ws.run("A", sql)
            if result.error is None and result.rows:  # a setting this server does not have is left out
                facts.append((label, str(result.rows[0][0])))
        await ws.run("A", "rollback")
        modes: list[str | None] = list(ws.snapshot().journal_modes) or [None]
        if len(modes) > 1:  # the probe's own mode is one of them; each column runs in its own
            facts = [f for f in facts if f[0] != "journal mode"] + [("journal modes", f"{', '.join(map(str, modes))} (a column each)")]
        where = ws.backend.display_url if url is not None else TEMPORARY
        columns = [Column(url, ws.backend.name, version, level, mode) for mode in modes for level in levels]
        return Database(where, ws.backend.name, version, tuple(facts)), columns
    finally:
        await ws.close()


async def columns_for(url: str | None) -> list[Column]:
    """The levels `url`'s dialect offers, with the server's version; SQLite in both journal modes."""
    return (await probe(url))[1]


def _width(url: str | None) -> int:
    """How many cells may run at once: each on its own temporary file or namespace, else one."""
    from playground.engine.backends import resolve

    return PARALLEL if url is None or resolve(url).has_namespaces else 1


async def until_stopped(works: list[Awaitable[T]], stop: asyncio.Event | None) -> list[T] | None:
    """Await every one of `works`; if `stop` is set first (or this is cancelled), cancel them and
    wait until each has cleaned up. Their results, or None when stopped."""
    tasks = [asyncio.ensure_future(work) for work in works]
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending and not (stopper is not None and stopper.done()):
            done, pending = await asyncio.wait(pending | ({stopper} if stopper else set()),
                                               return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stopper)
            if any(not t.cancelled() and t.exception() is not None for t in done if t is not stopper):
                break  # one failed: the others are stopped too, and its error raised below
    finally:
        if stopper is not None:
            stopper.cancel()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)  # every one rolls back and drops what it made, whatever the others do
    failed = next((t.exception() for t in tasks if not t.cancelled() and t.exception() is not None), None)
    if failed is not None:
        raise failed
    if (stop is not None and stop.is_set()) or any(t.cancelled() for t in tasks):
        return None
    return [t.result() for t in tasks]


async def run_matrix(urls: list[str | None], on_cell: Callable[[Column, MatrixTest, Verdict | str], None] | None = None,
                     tests: tuple[MatrixTest, ...] = SUITE,
                     on_columns: Callable[[list[Column]], None] | None = None,
                     stop: asyncio.Event | None = None) -> MatrixRun:
    """Run every test at every column of every database; a database that cannot be opened is a
    column of its own saying why, and the others still run. `on_columns` hears each database's
    columns once they are known, before any of its cells runs; `on_cell` hears each cell as it is
    decided (in the order they finish). Setting `stop` ends the run early (`interrupted`)."""
    from playground.engine.backends import name_of
    from playground.engine.errors import describe

    run = MatrixRun(lock_timeouts=_lock_timeout(tests))
    timeout = run.lock_timeouts[-1] if run.lock_timeouts else None
    for url in urls:
        try:
            probed = await until_stopped([asyncio.wait_for(probe(url, timeout), PROBE_TIMEOUT)], stop)
        except Exception as exc:
            reason = f"no answer within {PROBE_TIMEOUT:g} s" if isinstance(exc, TimeoutError) else str(describe(exc))
            _unreachable(run, url, name_of(url), reason, tests, on_columns, on_cell)
            continue
        if probed is None:
            run.interrupted = True
            break
        database, found = probed[0]
        run.databases.append(database)
        if on_columns is not None:
            on_columns(found)
        first = len(run.columns)
        run.columns.extend(found)
        # The strongest levels first: their cells are the ones that wait, and may end in a lock timeout.
        jobs = iter([(first + i, column, test) for i, column in reversed(list(enumerate(found))) for test in tests])

        async def worker(jobs: Iterator[tuple[int, Column, MatrixTest]] = jobs) -> None:
            for index, column, test in jobs:  # one iterator shared by the workers: each cell is taken once
                if stopping(stop):
                    return
                cell = await run_cell_at(column, test)
                if cancelled():  # it ran on after its cancel was swallowed: its steps may have been cut short
                    return
                run.cells[index, test.name] = cell
                if on_cell is not None:
                    on_cell(column, test, cell)

        if await until_stopped([worker() for _ in range(_width(url))], stop) is None:
            run.interrupted = True
            break
    return run


def cancelled() -> bool:
    """Whether this task was asked to cancel, even where something below swallowed the
    CancelledError (as asyncio.wait_for may when what it waits for ends at the same moment)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def stopping(stop: asyncio.Event | None) -> bool:
    """Whether to start no more cells: `stop` is set, or this task was cancelled."""
    return (stop is not None and stop.is_set()) or cancelled()


def _unreachable(run: MatrixRun, url: str | None, backend: str, reason: str, tests: tuple[MatrixTest, ...],
                 on_columns: Callable[[list[Column]], None] | None,
                 on_cell: Callable[[Column, MatrixTest, Verdict | str], None] | None) -> None:
    """A database that could not be opened: a column saying why, each of its cells not run."""
    from playground.engine.backends import resolve

    where = resolve(url).display_url if url is not None else TEMPORARY
    run.problems.append(f"{where}: {reason}")
    run.databases.append(Database(where, backend, problem=reason))
    column = Column(url, backend, "", "", problem=reason)
    if on_columns is not None:
        on_columns([column])
    run.columns.append(column)
    for test in tests:
        cell = f"could not run: {where}: {reason}"
        run.cells[len(run.columns) - 1, test.name] = cell
        if on_cell is not None:
            on_cell(column, test, cell)


async def run_cell_at(column: Column, test: MatrixTest) -> Verdict | str:
    """One cell: `test`'s scenario at the column's level (and journal mode), decided; or why not."""
    from playground.engine.errors import describe

    try:
        return await run_cell(test, column.level, column.url, column.journal_mode or None)
    except Exception as exc:
        return f"could not run: {describe(exc)}"


def summary_json(run: MatrixRun) -> dict[str, Any]:
    """The JSON format's last line: counts, each database with its facts, and how the run ended."""
    return {"event": "summary", "columns": len(run.columns), "cells": len(run.cells), "problems": run.problems,
            "databases": [{"url": d.where, "backend": d.backend, "server_version": d.server_version,
                           "facts": dict(d.facts), "problem": d.problem} for d in run.databases],
            "lock_timeout": list(run.lock_timeouts), "interrupted": run.interrupted, "exit": run.exit_code}
