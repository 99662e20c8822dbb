"""What both sides of the differential test share: scenarios as data, and the facts they report.

A scenario says, for every step, which kind of input it is (SQL, Python or a command): the
reference runner goes by that word and never guesses, so it cannot inherit txplay's classifier.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

KINDS = ("sql", "python", "command")


@dataclass(frozen=True)
class Step:
    """One input for one session, and which kind of input the scenario says it is."""

    session: str
    kind: str  # sql | python | command
    text: str

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


def sql(session: str, text: str) -> Step:
    """An SQL step."""
    return Step(session, "sql", text)


def py(session: str, text: str) -> Step:
    """A Python step (dedented, so blocks can be written indented in the source)."""
    return Step(session, "python", textwrap.dedent(text).strip("\n"))


def cmd(session: str, text: str) -> Step:
    """A playground command such as `\\expunge u`."""
    return Step(session, "command", text)


@dataclass(frozen=True)
class Scenario:
    """A short script of steps across sessions; `backends` empty means every backend."""

    name: str
    steps: tuple[Step, ...]
    backends: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ("A", "B")
    isolation: str | None = None
    setup: tuple[str, ...] = ()  # SQL statements instead of the demo schema and rows
    lock_timeout: float = 2.0

    def runs_on(self, backend: str) -> bool:
        """Whether the scenario applies to `backend`."""
        return not self.backends or backend in self.backends

    def to_txp(self) -> str:
        """The scenario as a `.txp` file (DESIGN §4), for txplay's own runner."""
        lines = [f"title: {self.name}", f"sessions: {' '.join(self.sessions)}", f"lock-timeout: {self.lock_timeout:g}"]
        if self.isolation:
            lines.append(f"isolation: {self.isolation}")
        if self.setup:
            lines.append("setup:")
            lines.extend(f"    {stmt};" for stmt in self.setup)
        lines.append("")
        for step in self.steps:
            if "\n" in step.text:
                lines.append(f"{step.session}: |")
                lines.extend(f"    {line}" if line else "" for line in step.text.splitlines())
            else:
                lines.append(f"{step.session}: {step.text}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ObjectFacts:
    """A named mapped object: SQLAlchemy's state and its identity key."""

    state: str  # transient | pending | persistent | deleted | detached
    identity: tuple[Any, ...] | None


@dataclass(frozen=True)
class SessionFacts:
    """One session after a step: its status and its named objects."""

    status: str  # idle | active | failed
    objects: dict[str, ObjectFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class StepFacts:
    """What one step did, and every session's state right after it."""

    index: int
    step: Step
    kind: str
    outcome: str  # ok | error
    error: str | None  # the exception's class name
    message: str | None
    rows: list[list[Any]] | None
    rowcount: int | None
    value: str | None  # repr of a plain value (None: no value, or one not worth comparing)
    sessions: dict[str, SessionFacts]


def plain(value: Any) -> Any:
    """A database value as the JSON transcript carries it (so both sides compare alike)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)
