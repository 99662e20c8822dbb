"""The session panes side by side."""

from __future__ import annotations

from textual.containers import Horizontal

from playground.engine.snapshot import WorkspaceSnapshot
from playground.ui.session_pane import SessionPane


class SessionPanes(Horizontal):
    """Holds one `SessionPane` per session, finds them by name and draws a snapshot into them."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._panes: dict[str, SessionPane] = {}

    def pane(self, name: str) -> SessionPane | None:
        """The pane of session `name` (a DOM query per event cost more than a draw)."""
        pane = self._panes.get(name)
        if pane is not None and pane.parent is self:
            return pane
        query = self.query(f"#pane-{name}") if name.isidentifier() else None
        found = query.first(SessionPane) if query else None
        if found is not None:
            self._panes[name] = found
        else:
            self._panes.pop(name, None)
        return found

    def focused_pane(self) -> SessionPane | None:
        """The pane holding the focus (or the first one)."""
        widget = self.app.focused
        while widget is not None:
            if isinstance(widget, SessionPane):
                return widget
            widget = widget.parent  # type: ignore[assignment]
        panes = list(self.query(SessionPane))
        return panes[0] if panes else None

    async def remove_all(self) -> None:
        """Remove every pane (their sessions are gone)."""
        for pane in list(self.query(SessionPane)):
            await pane.remove()

    def show(self, snapshot: WorkspaceSnapshot, now: float) -> None:
        """Draw each session's part of `snapshot` in its pane."""
        for session in snapshot.sessions:
            pane = self.pane(session.name)
            if pane is not None:
                pane.show(session, snapshot.locks, now)
