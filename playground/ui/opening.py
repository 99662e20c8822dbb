"""Opening the app's workspace as `txplay` was asked to, and saying why it could not be opened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.engine import Workspace

# What opening a workspace imports (SQLAlchemy's ORM and asyncio extension, the demo models), and
# what drawing the first step does (Pygments): loaded off the app's loop once the panes are drawn
# (see `load_engine`).
ENGINE_MODULES = ("playground.engine.workspace", "playground.demo.kit", "rich.syntax")
DEMO_MODULES = ("playground.scenario.runner", "playground.ui.demo")


@dataclass
class AppConfig:
    """How `txplay` was started."""

    url: str | None = None
    sessions: int = 2
    demo: bool = True
    reset_demo: bool = False
    models: str | None = None
    scenario: str | None = None
    journal_mode: str = "delete"
    history_dir: Path | None = None
    record: str | None = None  # `--record FILE`: the session is saved there as a scenario on quit
    isolate: bool = False  # on a server, a schema/database of its own, dropped on close (txplay web)
    namespace_name: str | None = None  # its name, so that the web server can drop it if the process could not


def scenario_url(url: str | None) -> str | None:
    """Where the app runs a scenario (demo mode, a matrix cell, the matrix) for its database `url`: there on a
    server (each run in a schema or database of its own), but on a fresh temporary SQLite file (None) where the
    database has no such namespaces, as a SQLite file, whose tables are the user's, has not."""
    if url is None:
        return None
    from playground.engine.backends import resolve

    return url if resolve(url).has_namespaces else None


async def open_workspace(config: AppConfig, models: Any = None) -> Workspace:
    """The workspace of a free session (not demo mode): `config.sessions` sessions named A, B, …"""
    from playground.demo.kit import kit_for
    from playground.engine import SessionSettings, Workspace

    return await Workspace.open(
        kit_for(models),
        config.url,
        sessions=session_names(config),
        demo=config.demo,
        reset_demo=config.reset_demo,
        defaults=SessionSettings(),
        journal_mode=config.journal_mode,
        isolate=config.isolate,
        namespace_name=config.namespace_name,
    )


def session_names(config: AppConfig, scenario: Any = None) -> list[str]:
    """The sessions the app opens: the scenario's in demo mode, else `config.sessions` named A, B, …"""
    if scenario is not None:
        return list(scenario.sessions)
    return [chr(ord("A") + i) for i in range(config.sessions)]


def load_engine(demo: bool) -> None:
    """Import what opening the workspace needs (on a worker thread: it takes as long as drawing the app)."""
    import importlib

    for name in ENGINE_MODULES + (DEMO_MODULES if demo else ()):
        importlib.import_module(name)


def cannot_open(config: AppConfig, scenario: Any, exc: Exception) -> str:
    """Why the database could not be opened, as `txplay` prints it on stderr once the screen is gone.

    Not Textual's exit message: that would be wrapped (and cropped) at the terminal's width.
    """
    from playground.engine.backends import resolve
    from playground.engine.errors import describe

    where = resolve(config.url).display_url if config.url else "the temporary SQLite database"
    if scenario is not None:
        where += f" for {scenario.source}"
    info = describe(exc)
    return f"txplay: cannot open {where}: {info}" + (f"\n  hint: {info.hint}" if info.hint else "")
