"""The playground's domain: workspaces, sessions, tracking, locks. Imports nothing from Textual.

The names below are loaded on first use (PEP 562): the UI imports the snapshot, state and event
modules before its first paint, and those must not pull in SQLAlchemy's ORM through this package.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.engine.events import CommittedTable, SessionsChanged, SettingChanged, StateChanged, StepFinished
    from playground.engine.events import StepHandle, StepStarted, StepSubmitted, StepWaiting, WorkspaceError
    from playground.engine.session import SessionSettings
    from playground.engine.workspace import Workspace

# SQLAlchemy logs pool trouble at ERROR; without a handler Python prints it to stderr, which
# would write over the app's screen. Errors reach the user through the step that caused them.
logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())

_HOMES = {
    "SessionSettings": "session",
    "Workspace": "workspace",
    **{name: "events" for name in (
        "CommittedTable", "SessionsChanged", "SettingChanged", "StateChanged", "StepFinished", "StepHandle",
        "StepStarted", "StepSubmitted", "StepWaiting", "WorkspaceError",
    )},
}

__all__ = [
    "CommittedTable",
    "SessionSettings",
    "SessionsChanged",
    "SettingChanged",
    "StateChanged",
    "StepFinished",
    "StepHandle",
    "StepStarted",
    "StepSubmitted",
    "StepWaiting",
    "Workspace",
    "WorkspaceError",
]


def __getattr__(name: str) -> Any:
    """Load `name` from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
