"""The app's recording: save the session as a scenario (ctrl+e, `--record`), and step back (ctrl+z).

The recorder (playground/scenario/recording.py) hears the workspace; this module says how the
app's database was made, asks where to save, and steps back by opening the database afresh and
replaying every step but the last, on the panes the user sees.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from playground.scenario.record_writer import write_txp
from playground.scenario.recording import Recorder, RecordingSetup, Replayed, replay

if TYPE_CHECKING:
    from playground.engine import Workspace
    from playground.engine.snapshot import WorkspaceSnapshot
    from playground.ui.demo import DemoController
    from playground.ui.opening import AppConfig
    from playground.ui.session_pane import SessionPane
    from playground.ui.status_line import StatusLine


class RecordingHost(Protocol):
    """What recording asks of the app (which imports this module, so it is not imported here)."""

    config: AppConfig
    demo: DemoController | None
    models: Any
    workspace: Workspace | None
    status_line: StatusLine

    @property
    def latest(self) -> WorkspaceSnapshot | None: ...

    def notify(self, message: str, *, severity: Any = ..., timeout: float | None = ...) -> None: ...
    def push_screen(self, screen: Any, callback: Any = ...) -> Any: ...
    async def reopen(self, open_workspace: Callable[[], Awaitable[Workspace]],
                     leave: Callable[[Workspace], Awaitable[None]] | None = None) -> None: ...
    async def mount_pane(self, name: str) -> SessionPane: ...
    def pane(self, name: str) -> SessionPane | None: ...


def default_path(now: datetime | None = None) -> str:
    """Where a scenario is saved unless the user says otherwise: ./txplay-YYYYmmdd-HHMMSS.txp."""
    return f"./txplay-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}.txp"


class SavePrompt(ModalScreen[str | None]):
    """Asks for the path to save the scenario to (Enter saves, Escape does not)."""

    DEFAULT_CSS = """
    SavePrompt { align: center middle; }
    SavePrompt > Vertical { width: 80; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS = [("escape", "dismiss_prompt", "Cancel")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the session as a scenario (.txp) to:")
            yield Input(value=self.path, id="save-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)


class AppRecording:
    """The app's recorder, what `--record` asked for, saving and stepping back."""

    def __init__(self, app: RecordingHost, record_to: str | None = None) -> None:
        self.app = app
        self.record_to = record_to
        self.recorder = Recorder()
        self.quit_message: str | None = None

    def attach(self, ws: Workspace) -> None:
        """Record the workspace just opened from its first step (a new workspace, a new recording)."""
        self.recorder.attach(ws, self._setup(ws))

    def _setup(self, ws: Workspace) -> RecordingSetup:
        config, demo = self.app.config, self.app.demo
        base = RecordingSetup(
            backend=ws.backend.name, where=ws.backend.display_url, sessions=self._open_sessions(),
            lock_timeout=ws.defaults.lock_timeout, isolation=ws.defaults.isolation,
            begin_mode=None if ws.defaults.begin_mode == "deferred" else ws.defaults.begin_mode,
            mode=None if ws.defaults.mode == "sync" else ws.defaults.mode,
            journal_mode=ws.journal_mode if ws.backend.journal_modes else None,
        )
        if demo is None:
            models = str(Path(config.models).resolve()) if config.models else None
            return dataclasses.replace(base, demo=config.demo, models=models,
                                       fresh=config.url is None or (config.demo and config.reset_demo))
        from playground.scenario.models import models_path

        sc = demo.scenario
        models = sc.models if sc.models is None or not sc.models.endswith(".py") else str(models_path(sc).resolve())
        return dataclasses.replace(base, sessions=sc.sessions, demo=sc.demo,
                                   setup=sc.setup, teardown=sc.teardown, models=models,
                                   title=f"{sc.title or Path(sc.source).stem} (recorded)")

    def _open_sessions(self) -> tuple[str, ...]:
        """The sessions open now, as the app's latest snapshot shows them (the UI reads no live session)."""
        latest = self.app.latest
        return tuple(s.name for s in latest.sessions) if latest is not None else ()

    def save(self, path: str | Path) -> Path:
        """Write the recording as a `.txp` file; returns where it went."""
        assert self.recorder.setup is not None
        out = Path(path).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(write_txp(self.recorder.setup, self.recorder.entries, out), encoding="utf-8")
        return out.resolve()

    def ask_and_save(self) -> None:
        """Ask for a path (the default: a timestamped file here), save, and say where."""
        if not self.recorder.steps:
            self.app.notify("nothing to save yet: no step was run", severity="warning")
            return

        def chosen(path: str | None) -> None:
            if path is None:
                return
            try:
                where = self.save(path)
            except OSError as exc:
                self.app.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error", timeout=8)
                return
            self.app.notify(f"scenario saved: {where}", timeout=8)
            self.app.status_line.say(f"scenario saved: {where} · replay it with `txplay run {where}`")

        self.app.push_screen(SavePrompt(default_path()), chosen)

    def save_on_quit(self) -> None:
        """`txplay --record FILE`: save what was recorded as the app closes (`quit_message` says how it went)."""
        if self.record_to is None or self.recorder.setup is None:
            return
        if not self.recorder.steps:
            self.quit_message = f"txplay: nothing recorded (no step was run), so {self.record_to} was not written"
            return
        try:
            self.quit_message = f"txplay: session saved as a scenario: {self.save(self.record_to)}"
        except OSError as exc:
            self.quit_message = f"txplay: cannot save the session to {self.record_to}: {exc.strerror or exc}"

    async def step_back(self) -> Replayed | None:
        """Reset the database and replay every step but the last; says how long it took, and what it could not replay."""
        app = self.app
        entries = self.recorder.without_last_step()
        refusal = "nothing to step back over: no step was run" if entries is None else self._cannot_reset()
        if refusal or entries is None:
            app.notify(refusal or "", severity="warning", timeout=8)
            return None
        app.status_line.say(f"stepping back: replaying {sum(1 for e in entries if hasattr(e, 'input'))} step(s)…")
        demo = app.demo
        if demo is not None:
            await app.reopen(demo.open, leave=demo.leave)
        else:
            await app.reopen(self._open_fresh)
        assert app.workspace is not None
        done = await replay(app.workspace, entries, demo.player if demo is not None else None, self._on_session)
        if demo is not None:
            demo.refresh()
        said = f"stepped back: {done.steps} step(s) replayed on a fresh database in {done.seconds:.2f} s"
        if done.unfaithful:
            said += " · not replayed faithfully: " + "; ".join(done.unfaithful)
        app.status_line.say(said)
        return done

    def _cannot_reset(self) -> str | None:
        config = self.app.config
        if self.app.demo is None and config.url is not None and not config.demo:
            return ("cannot step back: the database is your own (started with --no-demo), and txplay resets only "
                    "a temporary file or its demo schema")
        return None

    async def _open_fresh(self) -> Workspace:
        from playground.ui.opening import open_workspace

        config = dataclasses.replace(self.app.config, reset_demo=True)
        return await open_workspace(config, self.app.models)

    async def _on_session(self, name: str, opened: bool) -> None:
        """A session the replay opens or closes: its pane comes or goes with it."""
        app = self.app
        assert app.workspace is not None
        if opened:
            await app.workspace.add_session(name)
            await app.mount_pane(name)
            return
        await app.workspace.close_session(name)
        pane = app.pane(name)
        if pane is not None:
            await pane.remove()


def palette_entries(app: Any) -> list[tuple[str, Any, str]]:
    """The palette's recording commands."""
    return [
        ("Save as scenario", app.action_save_scenario, "write this session as a .txp scenario, ctrl+e"),
        ("Step back", app.action_step_back, "undo the last step: replay the others on a fresh database, ctrl+z"),
    ]
