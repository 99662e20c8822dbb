"""Command palette entries for every action."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from playground.ui.recording import palette_entries

if TYPE_CHECKING:
    from playground.engine.snapshot import WorkspaceSnapshot
    from playground.ui.session_pane import SessionPane
    from playground.ui.views.committed_view import CommittedView


class PaletteHost(Protocol):
    """What the palette asks of the app (which imports this module, so it is not imported here)."""

    committed: CommittedView

    @property
    def latest(self) -> WorkspaceSnapshot | None: ...

    def focused_pane(self) -> SessionPane | None: ...
    def action_txn(self, command: str) -> None: ...
    async def action_new_pane(self) -> None: ...
    async def action_close_pane(self) -> None: ...
    def action_screenshot(self) -> None: ...
    def action_toggle_panels(self) -> None: ...
    def action_zoom(self) -> None: ...
    def action_next_pane(self, step: int = 1) -> None: ...
    def action_change_theme(self) -> None: ...
    def action_run_matrix(self) -> None: ...
    def action_stop_matrix(self) -> None: ...
    def action_save_scenario(self) -> None: ...
    async def action_step_back(self) -> None: ...
    async def set_isolation(self, level: str) -> None: ...
    async def set_journal_mode(self, mode: str) -> None: ...
    async def show_table(self, table: str) -> None: ...
    async def open_scenario(self, name: str) -> None: ...


class TxplayCommands(Provider):
    """New pane, close pane, open scenario, isolation, async mode, journal mode, the matrix, screenshot, theme."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        app = cast(PaletteHost, self.app)
        commands: list[tuple[str, Any, str]] = [
            ("New pane", app.action_new_pane, "open another session"),
            ("Close pane", app.action_close_pane, "close the focused session (rolls back its transaction)"),
            ("Screenshot", app.action_screenshot, "save an SVG screenshot"),
            ("Toggle panels", app.action_toggle_panels, "log and panels → panels only → log only, ctrl+o"),
            ("Zoom pane", app.action_zoom, "zoom the focused pane (or the views below), ctrl+g"),
            ("Next pane", app.action_next_pane, "move to the next pane, F12"),
            ("Theme", app.action_change_theme, "choose a theme"),
            ("Async mode", partial(app.action_txn, "mode async"), "`session` becomes the AsyncSession"),
            ("Sync mode", partial(app.action_txn, "mode sync"), "`session` is the sync Session"),
            ("Run the isolation matrix", app.action_run_matrix,
             "which anomalies this database prevents at each isolation level, in the Matrix tab"),
            ("Stop the matrix", app.action_stop_matrix, "stop the matrix run (the cells measured stay)"),
            *palette_entries(app),
        ]
        for name in ("begin", "savepoint", "release", "rollback-to", "flush", "commit", "rollback", "cancel"):
            commands.append((f"Transaction: {name}", partial(app.action_txn, name), f"\\{name} in the focused pane"))
        pane = app.focused_pane()
        if pane is not None and pane.snapshot is not None:
            for level in pane.snapshot.isolation_levels:
                commands.append((f"Isolation: {level}", partial(app.set_isolation, level), f"for session {pane.session_name}"))
        latest = app.latest
        for mode in latest.journal_modes if latest is not None else ():
            commands.append((f"Journal mode: {mode}", partial(app.set_journal_mode, mode), "the journal mode of the database"))
        for mode in latest.begin_modes if latest is not None else ():
            commands.append((f"Begin mode: {mode}", partial(app.action_txn, f"begin-mode {mode}"), "the BEGIN this session emits"))
        for table in app.committed.tables:
            commands.append((f"Table: {table}", partial(app.show_table, table), "show its committed rows"))
        from playground.scenario import library

        for name in library.names():
            commands.append((f"Open scenario: {name}", partial(app.open_scenario, name), "demo mode"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
