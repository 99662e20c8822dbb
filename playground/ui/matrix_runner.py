"""The isolation matrix, run for the app on a thread of its own.

`run_matrix` opens databases and waits on locks for seconds at a time; on the app's loop that
would freeze the panes. So it runs on its own thread with its own asyncio loop (a connection
belongs to the loop that made it), and what it measures reaches the app only through the
callbacks it is given, which must be thread-safe (the view posts messages). Nothing here
imports Textual or SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from playground.matrix import SUITE, MatrixTest, Verdict
from playground.matrix.run import Column, MatrixRun, run_matrix


class MatrixRunner:
    """One matrix run at a time, on its own thread; `stop()` cancels it as Ctrl+C does the CLI's.

    `on_columns`, `on_cell` and `on_end(run, stopped, error)` are called on the runner's thread.
    """

    def __init__(
        self,
        on_columns: Callable[[list[Column]], None],
        on_cell: Callable[[Column, MatrixTest, Verdict | str], None],
        on_end: Callable[[MatrixRun | None, bool, str | None], None],
    ) -> None:
        self._on_columns, self._on_cell, self._on_end = on_columns, on_cell, on_end
        self._lock = threading.Lock()  # guards the fields below, shared with the runner's thread
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[MatrixRun] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """A run has started and not yet ended (stopping included)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, urls: list[str | None], tests: tuple[MatrixTest, ...] = SUITE) -> bool:
        """Start a run; False (and nothing started) while one runs."""
        with self._lock:
            if self.running:
                return False
            self._stopping = False
            # A daemon: a server that never answers must not keep the process alive after the app left.
            self._thread = threading.Thread(target=asyncio.run, args=(self._main(urls, tests),), name="txplay-matrix",
                                            daemon=True)
            self._thread.start()
        return True

    async def _main(self, urls: list[str | None], tests: tuple[MatrixTest, ...]) -> None:
        task = asyncio.ensure_future(run_matrix(urls, self._on_cell, tests, self._on_columns))
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), task
            if self._stopping:  # stop() came before the loop existed
                task.cancel()
        run: MatrixRun | None = None
        error: str | None = None
        try:
            run = await task
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a bug in the runner: said in the view rather than lost on a thread
            from playground.engine.errors import describe

            error = str(describe(exc))
        finally:
            with self._lock:
                self._loop = self._task = None
        self._on_end(run, run is None and error is None, error)

    def stop(self) -> bool:
        """Cancel the run (its scenarios roll back and drop their schemas); False when none runs."""
        with self._lock:
            if not self.running:
                return False
            self._stopping = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
        return True

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait (without blocking the caller's loop) until the run's thread has ended; whether it has."""
        thread = self._thread
        if thread is None:
            return True
        await asyncio.to_thread(thread.join, timeout)
        return not thread.is_alive()
