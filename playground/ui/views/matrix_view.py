"""The Matrix tab: the isolation matrix filling in cell by cell while it runs; Enter on a cell replays it.

The run happens on the runner's own thread (playground/ui/matrix_runner.py); what it measures
comes back as messages posted to this view, so the app's loop never waits on a database.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.text import Text
from textual import on
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from playground.matrix import SUITE, MatrixTest, Verdict
from playground.matrix.run import Column, MatrixRun, cell_text
from playground.ui.matrix_runner import MatrixRunner

IDLE = "ctrl+p › Run the isolation matrix: which anomalies this database prevents at each isolation level, measured"
PENDING = Text("·", style="dim")
FIXED = ("test", "anomaly")  # the row's own columns, before one a database and level


def outcome(cell: Verdict | str | None) -> str:
    """What a cell concluded, in words."""
    if cell is None:
        return "not measured yet"
    if isinstance(cell, str):
        return cell
    if not cell.prevented:
        return "the anomaly OCCURS"
    return f"prevented by {'a ' if cell.how in ('wait', 'snapshot') else ''}{cell_text(cell)}"


def narration(column: Column, test: MatrixTest, cell: Verdict | str | None) -> str:
    """The line demo mode shows over a cell's replay: the level, and what the matrix concluded and from what."""
    evidence = f" Evidence: {cell.evidence}" if isinstance(cell, Verdict) and cell.evidence else ""
    return f"Matrix: {test.name} ({test.anomaly}) at {column.level} on {column.database}: {outcome(cell)}.{evidence}"


def styled(cell: Verdict | str | None) -> Text:
    """A cell as the table shows it: prevented in green, OCCURS in red, could not run in yellow."""
    if cell is None:
        return PENDING
    style = "yellow" if isinstance(cell, str) else "green" if cell.prevented else "bold red"
    return Text(cell_text(cell), style=style)


class MatrixView(Vertical):
    """A progress bar and a table: a row a test, a column a database and level, filled in as cells are decided."""

    DEFAULT_CSS = """
    MatrixView { height: 1fr; }
    MatrixView > Horizontal { height: 1; }
    MatrixView ProgressBar { width: auto; }
    MatrixView .matrix-status { width: 1fr; padding: 0 1; color: $text-muted; }
    MatrixView DataTable { height: 1fr; }
    MatrixView .matrix-detail { height: auto; max-height: 2; color: $text-muted; }
    """

    class ColumnsFound(Message, bubble=False):
        """A database's columns are known (its cells have not run yet)."""

        def __init__(self, columns: list[Column]) -> None:
            super().__init__()
            self.columns = columns

    class CellDecided(Message, bubble=False):
        """A cell has been measured: its verdict, or why it could not run."""

        def __init__(self, column: Column, test: MatrixTest, cell: Verdict | str) -> None:
            super().__init__()
            self.column, self.test, self.cell = column, test, cell

    class RunEnded(Message, bubble=False):
        """The run has ended: finished (`run`), stopped, or failed (`error`)."""

        def __init__(self, run: MatrixRun | None, stopped: bool, error: str | None) -> None:
            super().__init__()
            self.run, self.stopped, self.error = run, stopped, error

    class CellChosen(Message):
        """Enter on a cell: replay that test at that level."""

        def __init__(self, view: MatrixView, column: Column, test: MatrixTest, cell: Verdict | str | None) -> None:
            super().__init__()
            self.view, self.column, self.test, self.cell = view, column, test, cell

        @property
        def control(self) -> MatrixView:
            return self.view

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.progress = ProgressBar(total=None, show_eta=False)
        self.status = Static(IDLE, classes="matrix-status", markup=False)
        self.table: DataTable[Text | str] = DataTable(cursor_type="cell", header_height=2)
        self.detail = Static("", classes="matrix-detail", markup=False)
        self.runner = MatrixRunner(
            lambda columns: self._post(self.ColumnsFound(columns)),
            lambda column, test, cell: self._post(self.CellDecided(column, test, cell)),
            lambda run, stopped, error: self._post(self.RunEnded(run, stopped, error)),
        )
        self.tests: tuple[MatrixTest, ...] = ()
        self.columns: list[Column] = []
        self.cells: dict[tuple[Column, str], Verdict | str] = {}
        self.ended = asyncio.Event()  # set once a run's end is shown, for callers and tests to wait on
        self.running = False  # from start() until the run's end is shown
        self._where = ""
        self._started = 0.0

    def _post(self, message: Message) -> None:
        """Deliver a message from the runner's thread (`post_message` is thread-safe)."""
        self.post_message(message)

    def compose(self) -> Any:
        with Horizontal():
            yield self.progress
            yield self.status
        yield self.table
        yield self.detail

    @property
    def total(self) -> int:
        """The cells known so far (a test × a column of each database whose columns came)."""
        return len(self.tests) * len(self.columns)

    def start(self, url: str | None, tests: tuple[MatrixTest, ...] | None = None) -> bool:
        """Run `tests` (default: the whole suite) on `url` (None: a temporary SQLite file); refused, with a
        message, while a run goes on."""
        tests = tests or SUITE
        if self.running:
            self.notify("the matrix is already running (ctrl+p › Stop the matrix stops it)", severity="warning")
            return False
        from playground.engine.backends import resolve

        self.tests, self.columns, self.cells = tests, [], {}
        self._where = resolve(url).display_url if url else "a temporary SQLite file"
        self.table.clear(columns=True)
        self.table.add_column(Text("test", style="bold"), key=FIXED[0])
        self.table.add_column(Text("anomaly", style="bold"), key=FIXED[1])
        for test in tests:
            self.table.add_row(test.name, test.anomaly, key=test.name)
        self.progress.update(total=None, progress=0)
        self.status.update(f"opening {self._where}…")
        self.detail.update("")
        self.ended.clear()
        self._started = time.monotonic()
        self.running = self.runner.start([url], tests)
        return self.running

    def stop(self) -> bool:
        """Cancel the run (what was measured stays); False, with a message, when none runs."""
        if not self.running or not self.runner.stop():
            self.notify("the matrix is not running", severity="warning")
            return False
        self.status.update(f"stopping after {len(self.cells)} of {self.total} cells…")
        return True

    @on(ColumnsFound)
    def _columns_found(self, message: ColumnsFound) -> None:
        for column in message.columns:
            self.columns.append(column)
            self.table.add_column(Text(f"{column.database}\n{column.level}", style="bold"), key=column.title, default=PENDING)
        self.progress.update(total=self.total, progress=len(self.cells))
        self._say_progress()

    @on(CellDecided)
    def _cell_decided(self, message: CellDecided) -> None:
        self.cells[message.column, message.test.name] = message.cell
        self.table.update_cell(message.test.name, message.column.title, styled(message.cell), update_width=True)
        self.progress.update(progress=len(self.cells))
        self._say_progress(f" · last: {message.test.name} at {message.column.level} → {cell_text(message.cell)}")

    def _say_progress(self, last: str = "") -> None:
        self.status.update(f"{len(self.cells)}/{self.total} cells on {self._where}{last}")

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        took = time.monotonic() - self._started
        done = f"{len(self.cells)} of {self.total} cells"
        if message.error:
            self.status.update(f"the matrix failed after {done}: {message.error}")
        elif message.stopped:
            self.status.update(f"stopped after {done} ({took:.1f} s); the cells measured stay · Enter on a cell replays it")
        else:
            verdicts = [c for c in self.cells.values() if isinstance(c, Verdict)]
            occurs = sum(not v.prevented for v in verdicts)
            self.status.update(f"done: {done} in {took:.1f} s · {len(verdicts) - occurs} prevented, {occurs} OCCURS, "
                               f"{len(self.cells) - len(verdicts)} could not run · Enter on a cell replays it")
        problems = message.run.problems if message.run is not None else []
        if problems:
            self.detail.update("not run: " + "; ".join(problems))
            self.notify("the matrix could not run: " + "; ".join(problems), severity="error", timeout=10)
        self.running = False
        self.ended.set()

    def _chosen(self, row: int, column: int) -> tuple[Column, MatrixTest] | None:
        """The database level and the test under a table coordinate (None on the test's own columns)."""
        if column < len(FIXED) or row >= len(self.tests) or column - len(FIXED) >= len(self.columns):
            return None
        return self.columns[column - len(FIXED)], self.tests[row]

    @on(DataTable.CellHighlighted)
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        chosen = self._chosen(event.coordinate.row, event.coordinate.column)
        if chosen is None:
            test = self.tests[event.coordinate.row] if event.coordinate.row < len(self.tests) else None
            self.detail.update(f"{test.name}, {test.anomaly}: {test.explanation}" if test else "")
            return
        column, test = chosen
        self.detail.update(f"{narration(column, test, self.cells.get((column, test.name)))} · Enter replays it")

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        chosen = self._chosen(event.coordinate.row, event.coordinate.column)
        if chosen is not None:
            column, test = chosen
            self.post_message(self.CellChosen(self, column, test, self.cells.get((column, test.name))))
