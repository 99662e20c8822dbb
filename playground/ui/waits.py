"""The app's waiting API: what callers and tests await instead of sleeping.

The app owns one `Waits` (`app.waits`):

- `drawn`: set once the screen has been painted the first time (the panes, before the database is open).
- `opened`: set once the app has opened its workspace, or given up (then `app.failure` says why).
- `pane_mounted`: a Condition notified each time a session pane has been mounted.
- `caught_up()`: returns once every step has finished or waits on a lock, every pane action
  (see `pane_action`) has ended, and the screen shows it all.
- `progress`: set whenever a draw, a committed-data read or a pane action ends; `caught_up()`
  waits on it between its checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from playground.engine import Workspace


class Host(Protocol):
    """The app as `Waits` sees it."""

    workspace: Workspace | None

    @property
    def busy(self) -> bool:
        """A draw or a committed-data read is due or running."""
        ...

    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run `callback` after the messages already queued (Textual's `MessagePump.call_later`)."""
        ...


class Waits:
    """The events and waits of the app (see the module's docstring)."""

    def __init__(self, app: Host) -> None:
        self._app = app
        self.drawn = asyncio.Event()
        self.opened = asyncio.Event()
        self.pane_mounted = asyncio.Condition()
        self.progress = asyncio.Event()
        self.pane_actions = 0  # pane actions running

    async def caught_up(self) -> None:
        """Return once every step has finished or waits on a lock, and the screen shows it."""
        app = self._app
        while True:
            if app.workspace is not None:
                await app.workspace.settle()
            handled = asyncio.Event()
            if app.call_later(handled.set):  # messages are handled in order: the workspace's events first
                await handled.wait()
            if not self.pane_actions:
                break
            self.progress.clear()
            await self.progress.wait()
        # Not settled again: while a step waits on a lock, each poll asks for another draw.
        while app.busy:
            self.progress.clear()
            await self.progress.wait()

    @contextmanager
    def acting(self) -> Iterator[None]:
        """Count a pane action while it runs, so that `caught_up()` waits for it."""
        self.pane_actions += 1
        try:
            yield
        finally:
            self.pane_actions -= 1
            self.progress.set()

    async def notify_pane_mounted(self) -> None:
        """Wake whoever waits on `pane_mounted`."""
        async with self.pane_mounted:
            self.pane_mounted.notify_all()


Action = TypeVar("Action", bound=Callable[..., Awaitable[None]])


def pane_action(action: Action) -> Action:
    """Decorate an app action that opens or closes panes: `caught_up()` waits for it to end."""

    @wraps(action)
    async def run(app: Any, *args: Any) -> None:
        with app.waits.acting():
            await action(app, *args)

    return run  # type: ignore[return-value]
