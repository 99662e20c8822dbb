"""Messages the app passes between its widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class WorkspaceEvent(Message, bubble=False):
    """An event published by the engine's workspace, delivered on the app's loop."""

    event: Any
