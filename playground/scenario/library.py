"""The built-in scenarios shipped under `library/`."""

from __future__ import annotations

import difflib
import os
from importlib import resources
from pathlib import Path

from playground.scenario.parser import Scenario, ScenarioError, parse, parse_file


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


class ScenarioNotFound(ScenarioError):
    """Neither a built-in scenario nor an existing file: says which was meant, and what is there."""

    def __init__(self, name_or_path: str, message: str) -> None:
        super().__init__(name_or_path, 0, message)

    def __str__(self) -> str:
        return self.reason


def find(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    if name_or_path in names():
        return load(name_or_path)
    path = Path(name_or_path)
    if path.is_dir():
        raise ScenarioNotFound(name_or_path, f"{name_or_path} is a folder, not a scenario file")
    if path.exists():
        return parse_file(path)
    if looks_like_a_path(name_or_path):
        built_in = path.name.removesuffix(".txp")
        also = f" (the built-in scenario of that name is `{built_in}`)" if built_in in names() else ""
        raise ScenarioNotFound(name_or_path, f"the file {name_or_path} does not exist{also}")
    close = close_names(name_or_path)
    maybe = f"; did you mean {', '.join(close)}?" if close else ""
    raise ScenarioNotFound(
        name_or_path,
        f"there is no built-in scenario named {name_or_path!r}{maybe} "
        "(`txplay run --list` shows them; a file needs its path, e.g. ./my_case.txp)",
    )


def looks_like_a_path(text: str) -> bool:
    """A file was meant, not a built-in name: the text has a folder in it or ends in .txp."""
    return "/" in text or os.sep in text or text.endswith(".txp")


def close_names(name: str, limit: int = 3) -> list[str]:
    """Built-in names close to a mistyped one: close spellings first, then names containing it."""
    known = names()
    close = difflib.get_close_matches(name, known, n=limit, cutoff=0.6)
    key = name.lower().replace("-", "_")
    close += [n for n in known if key and key in n and n not in close]
    return close[:limit]
