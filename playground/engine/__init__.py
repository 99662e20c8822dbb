"""The playground's domain: workspaces, sessions, tracking, locks. Imports nothing from Textual."""

from playground.engine.session import SessionSettings
from playground.engine.workspace import (
    CommittedTable,
    SessionsChanged,
    StateChanged,
    StepFinished,
    StepHandle,
    StepStarted,
    StepWaiting,
    Workspace,
    WorkspaceError,
)

__all__ = [
    "CommittedTable",
    "SessionSettings",
    "SessionsChanged",
    "StateChanged",
    "StepFinished",
    "StepHandle",
    "StepStarted",
    "StepWaiting",
    "Workspace",
    "WorkspaceError",
]
