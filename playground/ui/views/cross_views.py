"""The tabs below the panes: committed data, the lock graph, the timeline and the isolation matrix."""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane

from playground.engine.snapshot import WorkspaceSnapshot
from playground.ui.views.committed_view import CommittedView
from playground.ui.views.lock_graph import LockGraph
from playground.ui.views.matrix_view import MatrixView
from playground.ui.views.timeline import Timeline


class CrossViews(TabbedContent):
    """The views across panes, as tabs; ctrl+g zooms them like a pane (a TabbedContent takes no focus)."""

    ALLOW_MAXIMIZE = True

    def __init__(self, **kwargs) -> None:
        super().__init__(initial="tab-committed", **kwargs)
        self.committed = CommittedView(id="committed")
        self.lock_graph = LockGraph(id="lock-graph")
        self.timeline = Timeline(id="timeline")
        self.matrix = MatrixView(id="matrix")
        self._locks_label = "Lock graph"
        self.compose_add_child(TabPane("Committed data", self.committed, id="tab-committed"))
        self.compose_add_child(TabPane("Lock graph", self.lock_graph, id="tab-locks"))
        self.compose_add_child(TabPane("Timeline", self.timeline, id="tab-timeline"))
        self.compose_add_child(TabPane("Matrix", self.matrix, id="tab-matrix"))

    def show(self, snapshot: WorkspaceSnapshot, now: float, unsent: dict[int, tuple[str, ...]]) -> None:
        """Draw the tab shown (the others when they are shown); the lock tab's label counts the waits.

        `unsent`: per step, the savepoints it ended without sending (for the timeline).
        """
        active = self.active if self.is_mounted else ""
        if active == "tab-locks":
            missing = next((f"{s.backend_note} for {s.backend}" for s in snapshot.sessions if s.backend_note), None)
            self.lock_graph.show(snapshot.locks, now, missing)
        elif active == "tab-timeline":
            running = {s.name: round(s.running, 1) for s in snapshot.sessions if s.running is not None}
            self.timeline.show(snapshot.timeline, tuple(s.name for s in snapshot.sessions), unsent, running, snapshot.timeline_dropped)
        label = f"Lock graph ({len(snapshot.locks)})" if snapshot.locks else "Lock graph"
        if self.is_mounted and label != self._locks_label:
            self._locks_label = label
            self.get_tab("tab-locks").label = label
