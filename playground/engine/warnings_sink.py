"""Python's and the drivers' warnings, shown in the pane whose step raised them, not on stderr."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any

# asyncmy logs the server's warnings (`Division by 0`) instead of raising Python warnings.
LOGGING_DRIVERS = ("asyncmy",)


class WarningSink:
    """While installed, every warning goes to `route(thread, text)` and is kept in `seen`.

    A warning is raised on the thread that caused it: each session's step runs on a thread of
    its own, so the thread says which pane it belongs to.
    """

    def __init__(self, route: Callable[[threading.Thread, str], None]) -> None:
        self.route = route
        self.seen: list[str] = []
        self._showwarning: Any = None
        self._handler = _WarningLog(self._warn)

    def install(self) -> None:
        self._showwarning = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
            self._warn(f"warning: {category.__name__}: {message}")

        warnings.showwarning = show
        for name in LOGGING_DRIVERS:
            logging.getLogger(name).addHandler(self._handler)
            logging.getLogger(name).propagate = False

    def uninstall(self) -> None:
        if self._showwarning is not None:
            warnings.showwarning = self._showwarning
            self._showwarning = None
        for name in LOGGING_DRIVERS:
            logging.getLogger(name).removeHandler(self._handler)

    def _warn(self, text: str) -> None:
        self.route(threading.current_thread(), text)
        self.seen.append(text)


class _WarningLog(logging.Handler):
    """Routes a driver's logged warnings as the sink's own."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink(f"warning: {record.getMessage()}")
