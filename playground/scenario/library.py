"""The built-in scenarios shipped under `library/`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from playground.scenario.parser import Scenario, parse


def names() -> list[str]:
    """The built-in scenario names, sorted."""
    folder = resources.files("playground.scenario") / "library"
    return sorted(p.name.removesuffix(".txp") for p in folder.iterdir() if p.name.endswith(".txp"))


def source(name: str) -> str:
    """The text of a built-in scenario."""
    return (resources.files("playground.scenario") / "library" / f"{name}.txp").read_text(encoding="utf-8")


def load(name: str) -> Scenario:
    """Parse a built-in scenario."""
    return parse(source(name), f"{name}.txp")


def find(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    from playground.scenario.parser import parse_file

    if name_or_path in names():
        return load(name_or_path)
    return parse_file(Path(name_or_path))
