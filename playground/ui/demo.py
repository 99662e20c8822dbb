"""Demo mode: a scenario's steps queued in their panes, narration in a banner, one key a step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playground.ui.demo_banner import DemoBanner
from playground.ui.opening import scenario_url
from playground.ui.session_pane import SessionPane
from playground.ui.session_panes import SessionPanes

if TYPE_CHECKING:
    from playground.engine import Workspace
    from playground.scenario.parser import Scenario
    from playground.scenario.runner import RunReport, ScenarioPlayer


class DemoController:
    """Drives a ScenarioPlayer from the app's keys and shows each expectation on its step.

    It draws into the panes and the banner it is given; the app opens and leaves its workspace
    (`open`, `leave`) through `TxplayApp.reopen`. The scenario runs where `scenario_url` puts it for
    the database `url`: its setup drops and creates tables, which in a SQLite file are the user's own.
    """

    def __init__(self, scenario: Scenario, url: str | None, panes: SessionPanes, banner: DemoBanner,
                 headline: str | None = None) -> None:
        self.panes = panes
        self.headline = headline  # a line the banner keeps above the narration (a matrix cell's verdict)
        self.banner = banner
        self.scenario = scenario
        self.url = scenario_url(url)  # where the scenario runs (None: a fresh temporary SQLite file)
        self.player: ScenarioPlayer | None = None
        self.report: RunReport | None = None
        self.note: str | None = None
        self.idle = asyncio.Event()  # set while no step runs, for callers and tests to wait on
        self.idle.set()
        self.summary: str | None = None

    @property
    def busy(self) -> bool:
        """A step is running."""
        return not self.idle.is_set()

    async def open(self) -> Workspace:
        """A fresh workspace for the scenario, and a player on it."""
        # Imported here: the app draws its panes before SQLAlchemy is loaded.
        from playground.scenario.runner import RunReport, ScenarioPlayer, check_requirements, open_workspace

        ws = await open_workspace(self.scenario, self.url)
        self.report = RunReport(self.scenario, ws.backend.name, ws.backend.display_url, [], [])
        self.player = ScenarioPlayer(self.scenario, ws, self.report, self._event, states=False)
        self.note = self.scenario.description or None
        # As the headless runner does: a setting the narration depends on is read first.
        self.summary = self.scenario.skip_reason(ws.backend.name) or await check_requirements(self.scenario, ws, self._event)
        return ws

    def _later(self, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback` from the app's message queue, behind the step events the workspace has
        posted there: a step's expectations are written after its output, whichever task the
        loop runs first (at once when the app no longer takes messages)."""
        if not self.panes.app.call_later(callback, *args):
            callback(*args)

    def _event(self, event: dict[str, Any]) -> None:
        if event["event"] == "note":
            self.note = event["text"]  # the banner's, at its next refresh
        self._later(self._show, event)

    def _show(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "note":
            for each in self.panes.query(SessionPane):
                each.log_view.note(f"note: {event['text']}")
        elif kind in ("step", "completed"):
            pane = self.panes.pane(event["session"])
            if pane is not None and event.get("expect"):
                pane.log_view.expectations(event["expect"] if kind == "step" else [c for c in event["expect"] if "then" in c["text"]])

    def refresh(self) -> None:
        """Redraw the banner and each pane's queue."""
        player = self.player
        if player is None:
            return
        upcoming = self.scenario.steps[player.position :]
        next_session = upcoming[0].session if upcoming else None
        for pane in self.panes.query(SessionPane):
            name = pane.session_name
            pane.show_queue([s.input for s in upcoming if s.session == name], runs_next=name == next_session)
        next_notes = upcoming[0].notes if upcoming else []
        note = next_notes[-1] if next_notes and self.note is None else self.note
        self.banner.show(self.scenario.title or self.scenario.source, note, player.position, len(self.scenario.steps), self.summary,
                         self.headline)

    def next_step(self) -> None:
        """Run the next step (in a task: the app stays interactive while it settles)."""
        if self.player is None or self.busy or self.summary:
            return
        self.idle.clear()
        self.panes.run_worker(self._next(), group="demo", exclusive=False)

    async def _next(self) -> None:
        player = self.player
        assert player is not None and self.report is not None
        try:
            if not player.finished:
                await player.next()
            if player.finished:
                await player.finish()
                checks = [c for r in self.report.steps for c in r.checks]
                passed = sum(c.passed for c in checks)
                failed = len(checks) - passed
                self.summary = f"done: {passed} expectation(s) passed, {failed} failed" + ("" if failed else " ✓")
        finally:
            self._later(self._settled)

    def _settled(self) -> None:
        self.idle.set()
        self.refresh()

    async def leave(self, ws: Workspace) -> None:
        """Tear the scenario's workspace down (rolling back, running its teardown SQL, closing it)."""
        if self.player is not None and self.report is not None:
            from playground.scenario.runner import teardown

            await teardown(self.scenario, ws, self.report, lambda e: None)
