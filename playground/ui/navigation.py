"""Where the focus goes and what fills the screen: F12 from pane to pane, ctrl+g zoom, ctrl+o panels."""

from __future__ import annotations

from typing import Any

from textual.app import App

from playground.ui.session_pane import SessionPane
from playground.ui.session_panes import SessionPanes
from playground.ui.views.cross_views import CrossViews


class Navigation:
    """Moves the focus between the panes and the views across them, and zooms what holds it."""

    PANEL_VIEWS = ("both", "panels", "log")
    """What ctrl+o cycles through: log and panels, the panels alone, the log alone."""

    def __init__(self, app: App[Any], panes: SessionPanes, bottom: CrossViews) -> None:
        self.app, self.panes, self.bottom = app, panes, bottom
        self.panel_view = "both"

    def toggle_panels(self) -> None:
        """Cycle what the panes show: log and panels, the panels alone (all the room for them), the log alone."""
        views = self.PANEL_VIEWS
        self.panel_view = views[(views.index(self.panel_view) + 1) % len(views)]
        screen = self.app.screen
        screen.set_class(self.panel_view == "panels", "-panels-only")
        screen.set_class(self.panel_view == "log", "-log-only")
        said = {"both": "log and panels", "panels": "panels only (ctrl+o: log only)", "log": "log only (ctrl+o: both)"}
        self.app.notify(f"panes show: {said[self.panel_view]}", timeout=2)

    def zoomable(self) -> SessionPane | CrossViews | None:
        """What ctrl+g zooms: the pane holding the focus, or the views across panes when they hold it."""
        widget = self.app.focused
        while widget is not None:
            if widget is self.bottom:
                return self.bottom
            widget = widget.parent  # type: ignore[assignment]
        return self.panes.focused_pane()

    def zoom(self) -> None:
        """Zoom the focused pane (or the views across panes) to the whole screen, or back."""
        screen = self.app.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        target = self.zoomable()
        if target is not None:
            screen.maximize(target, container=False)

    def focus_stops(self) -> list[Any]:
        """Where F12 goes, in order: each pane's input, the committed-data table list, then the matrix
        once it has run (Enter on a cell replays it)."""
        stops: list[Any] = [pane.input for pane in self.panes.query(SessionPane)]
        stops.append(self.bottom.committed.select)
        if self.bottom.matrix.tests:
            stops.append(self.bottom.matrix.table)
        return stops

    def next_pane(self, step: int = 1) -> None:
        """Move the focus to the next pane (then the table list); a zoomed view follows it."""
        stops = self.focus_stops()
        focused, screen = self.app.focused, self.app.screen
        tabs = {self.bottom.committed.select: "tab-committed", self.bottom.matrix.table: "tab-matrix"}
        around = focused.ancestors_with_self if focused is not None else []
        current = next((i for i, stop in enumerate(stops) if stop in around), -1)  # the Select's list is inside it
        target = stops[(current + step) % len(stops)]
        if target in tabs:
            self.bottom.active = tabs[target]
        zoomed = screen.maximized is not None
        if zoomed:
            screen.minimize()
        target.focus()
        if zoomed:
            screen.maximize(self.bottom if target in tabs else target.parent, container=False)
