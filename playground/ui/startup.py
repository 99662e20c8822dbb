"""Start-up: the panes are drawn first; the workspace opens behind them, and what the user does
meanwhile waits its turn.

Importing SQLAlchemy's ORM and opening the demo database take longer than drawing the whole app,
so the app composes its panes (their badges say `opening database…`), paints them, and only then
imports the engine on a worker thread and opens the workspace on its loop. A step typed, or an
action asked for, before the workspace is open is queued and run, in order, once it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar

from textual.widget import MountError
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from playground.ui.opening import load_engine
from playground.ui.waits import Waits


class Host(Protocol):
    """The app as `Startup` sees it."""

    scenario: Any
    signalled: bool
    waits: Waits

    def run_worker(self, work: Any, name: str | None = "", group: str = "default", description: str = "",
                   exit_on_error: bool = True, start: bool = True, exclusive: bool = False,
                   thread: bool = False) -> Worker[Any]:
        """Textual's `App.run_worker`."""
        ...

    async def open_first_workspace(self) -> bool:
        """Open the workspace; False (the app leaving, saying why) when it cannot be opened."""
        ...

    async def bind_workspace(self) -> None:
        """Show the workspace just opened."""
        ...

# Set in the task that runs the queued actions: what they call runs, where the user's own input queues.
_REPLAYING: contextvars.ContextVar[bool] = contextvars.ContextVar("replaying", default=False)


class Startup:
    """Opens the app's workspace in the background and holds the actions asked for meanwhile."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.worker: Worker[None] | None = None
        self._queued: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._done = False  # opened (or given up) and every queued action handed on

    @property
    def opening(self) -> bool:
        """The workspace is not open yet, or actions queued meanwhile still wait their turn."""
        return not self._done

    def later(self, action: Callable[..., Any], *args: Any) -> bool:
        """Queue `action(*args)` while the workspace opens; False (nothing queued) once it is open."""
        if self._done or _REPLAYING.get():
            return False
        self._queued.append((action, args))
        return True

    def begin(self) -> None:
        """Open the workspace off the drawing: the engine is imported on a thread, then opened."""
        self.worker = self.app.run_worker(self._open(), name="opening the workspace", group="startup", exclusive=False)

    async def _open(self) -> None:
        app = self.app
        try:
            # A thread: the loop keeps drawing and taking keys while the imports run.
            await asyncio.to_thread(load_engine, app.scenario is not None)
            if await app.open_first_workspace() and not app.signalled:
                await app.bind_workspace()
                await self._run_queued()
        except MountError:
            if not app.signalled:
                raise  # a signal while the panes mount: they are going anyway
        finally:
            self._done = True
            self._queued.clear()  # the database could not be opened: nothing queued can run
            app.waits.opened.set()

    async def _run_queued(self) -> None:
        # Actions queued while these run (an awaited one lets the loop take keys) go behind them.
        _REPLAYING.set(True)  # this worker's task only
        while self._queued:
            action, args = self._queued.pop(0)
            result = action(*args)
            if inspect.isawaitable(result):
                await result

    async def stop(self, timeout: float) -> None:
        """Leaving while the workspace opens: stop opening (a workspace half open is closed)."""
        worker = self.worker
        if worker is None or worker.is_finished:
            return
        worker.cancel()
        with contextlib.suppress(WorkerCancelled, WorkerFailed, TimeoutError):
            await asyncio.wait_for(worker.wait(), timeout)


Action = TypeVar("Action", bound=Callable[..., Any])


def when_open(action: Action) -> Action:
    """Decorate an app action that needs the workspace: asked for while it opens, it runs once it is open."""

    @wraps(action)
    def run(app: Any, *args: Any) -> Any:
        if app.startup.later(action, app, *args):
            return None
        return action(app, *args)

    return run  # type: ignore[return-value]

