"""The playground's domain: workspaces, sessions, tracking, locks. Imports nothing from Textual."""

import logging

from playground.engine.session import SessionSettings
from playground.engine.events import (
    CommittedTable,
    SessionsChanged,
    SettingChanged,
    StateChanged,
    StepFinished,
    StepHandle,
    StepStarted,
    StepSubmitted,
    StepWaiting,
    WorkspaceError,
)
from playground.engine.workspace import Workspace

# SQLAlchemy logs pool trouble at ERROR; without a handler Python prints it to stderr, which
# would write over the app's screen. Errors reach the user through the step that caused them.
logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())

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
