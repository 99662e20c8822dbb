"""The command palette of a spec opened live: a permutation to choose, and the app's actions."""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol, cast

from playground.ui.commands import TxplayCommands


class SpecHost(Protocol):
    """What the palette asks of the app (which imports this module)."""

    @property
    def permutation_labels(self) -> list[str]: ...

    def choose(self, index: int) -> None: ...
    def action_restart(self) -> None: ...
    def action_cancel(self) -> None: ...
    def action_screenshot(self) -> None: ...


class SpecCommands(TxplayCommands):
    """"Permutation N: …" for each permutation, restart, cancel, screenshot (found and listed as
    the app's palette does)."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        app = cast(SpecHost, self.app)
        commands: list[tuple[str, Any, str]] = [
            (f"Permutation {i}: {label}", partial(app.choose, i - 1), "leave this one (rolled back, torn down), set that one up")
            for i, label in enumerate(app.permutation_labels, 1)
        ]
        if app.permutation_labels:
            commands.append(("Restart permutation", app.action_restart, "set the permutation up again, ctrl+r"))
        else:  # a mysqltest file: one run
            commands.append(("Restart the run", app.action_restart, "stop it (connections closed, globals restored), run afresh, ctrl+r"))
        commands += [
            ("Cancel waiting steps", app.action_cancel, "cancel a step stuck waiting, F9"),
            ("Screenshot", app.action_screenshot, "save an SVG screenshot, ctrl+s"),
        ]
        return commands
