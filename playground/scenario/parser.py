"""The `.txp` scenario format (DESIGN §4): headers, setup/teardown, steps, notes, expectations."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER_KEYS = (
    "title", "description", "sessions", "isolation", "lock-timeout", "backends",
    "journal-mode", "begin-mode", "mode", "requires", "step-timeout", "demo", "models", "markers",
)
REPEATABLE_HEADERS = ("requires",)
BACKENDS = ("sqlite", "postgresql", "mysql")
_SESSION_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]{0,15}$")
_STEP = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_\-]*):(?:\s(?P<rest>.*)|$)")
_BACKEND_PREFIX = re.compile(r"^\[(?P<backend>[a-z]+)\]\s*")
_MARKER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ScenarioError(Exception):
    """A scenario file that cannot be run: says file, line and reason."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """How a step should end: ok, error TEXT, rows [...] or value LITERAL."""

    kind: str  # ok | error | rows | value
    text: str = ""
    literal: Any = None


@dataclass(frozen=True)
class Expectation:
    """One `=>` line: an outcome, possibly after waiting, possibly for one backend."""

    text: str
    line: int
    backend: str | None
    waits: bool
    outcome: Outcome | None


@dataclass(frozen=True)
class Requirement:
    """A `requires: [BACKEND] SQL` header: a server setting the scenario's words depend on.

    The SQL is a query (or an expression, run as `SELECT expr`); the requirement holds when its
    first value is true. A query the server refuses (an unknown variable) does not hold.
    """

    query: str
    line: int
    backend: str | None = None

    @property
    def sql(self) -> str:
        """The statement to run: the query itself, or `SELECT expr` for an expression."""
        return self.query if self.query.split(None, 1)[0].lower() in ("select", "with", "show") else f"SELECT {self.query}"


@dataclass
class Step:
    """One input for one session, with its expectations and the notes before it."""

    session: str
    input: str
    line: int
    expectations: list[Expectation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def expectations_for(self, backend: str) -> list[Expectation]:
        """The expectations that apply on `backend`."""
        return [e for e in self.expectations if e.backend in (None, backend)]


@dataclass
class Scenario:
    """A parsed scenario."""

    source: str
    title: str = ""
    description: str = ""
    sessions: tuple[str, ...] = ("A", "B")
    isolation: str | None = None
    lock_timeout: float | None = None
    step_timeout: float | None = None  # seconds a step may run before the runner interrupts it
    backends: tuple[str, ...] = ()
    journal_mode: str | None = None
    begin_mode: str | None = None
    mode: str | None = None
    demo: bool = True  # `demo: no`: the database starts without the demo schema (the setup makes its own)
    requires: tuple[Requirement, ...] = ()
    models: str | None = None  # the user's own models: a Python file (relative to the scenario's folder) or a module
    models_line: int = 0
    markers: tuple[str, ...] = ()  # pytest marks the scenario's test item carries (the pytest plugin)
    setup: str | None = None
    teardown: str | None = None
    steps: list[Step] = field(default_factory=list)
    trailing_notes: list[str] = field(default_factory=list)

    def runs_on(self, backend: str) -> bool:
        """Whether the scenario runs on `backend` (no `backends:` header: everywhere)."""
        return not self.backends or backend in self.backends

    def skip_reason(self, backend: str) -> str | None:
        """Why the scenario does not run on `backend`, or None where it does."""
        return None if self.runs_on(backend) else f"this scenario runs on {', '.join(self.backends)}, not {backend}"

    def requirements_for(self, backend: str) -> list[Requirement]:
        """The `requires:` headers that apply on `backend`."""
        return [r for r in self.requires if r.backend in (None, backend)]


def parse_file(path: str | Path) -> Scenario:
    """Parse a scenario file; ScenarioError says where it is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(path), 0, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(str(path), line, "not valid UTF-8") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<scenario>") -> Scenario:
    """Parse scenario text."""
    return _Parser(text, source).parse()


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source
        self.scenario = Scenario(source)
        self.i = 0
        self.pending_notes: list[str] = []
        self.seen_headers: set[str] = set()
        self.declared_sessions = False

    def error(self, line: int, reason: str) -> ScenarioError:
        return ScenarioError(self.source, line, reason)

    def parse(self) -> Scenario:
        sc = self.scenario
        while self.i < len(self.lines):
            lineno = self.i + 1
            line = self.lines[self.i]
            stripped = line.strip()
            self.i += 1
            if not stripped or stripped.startswith("#"):
                continue
            if "\x00" in line:
                raise self.error(lineno, "the line holds a NUL character")
            if line[0].isspace():
                raise self.error(lineno, "unexpected indented line (blocks follow `NAME: |`, `setup:` or `teardown:`)")
            if stripped.startswith("=>"):
                self._expectation(stripped[2:].strip(), lineno)
                continue
            match = _STEP.match(stripped)
            if not match:
                raise self.error(lineno, f"expected `key: value`, `NAME: input`, `note:` or `=>`, got {stripped[:40]!r}")
            key, rest = match.group("name"), (match.group("rest") or "").strip()
            lower = key.lower()
            if lower == "note":
                if not rest:
                    raise self.error(lineno, "an empty note")
                self.pending_notes.append(rest)
            elif lower in ("setup", "teardown"):
                block = rest or self._block(lineno, lower)
                setattr(sc, lower, block)
            elif key in sc.sessions and self.declared_sessions or (not self.declared_sessions and _SESSION_NAME.match(key) and key.isupper()):
                self._step(key, rest, lineno)
            elif lower in HEADER_KEYS and key == lower:
                if sc.steps:
                    raise self.error(lineno, f"header `{key}:` after the first step; headers come first")
                self._header(lower, rest, lineno)
            else:
                if key[0].isupper():
                    raise self.error(lineno, f"session {key} is not in `sessions: {' '.join(sc.sessions)}`")
                raise self.error(lineno, f"unknown header {key!r}; known: {', '.join(HEADER_KEYS)}, setup, teardown, note")
        sc.trailing_notes = self.pending_notes
        if not sc.steps:
            raise self.error(max(1, len(self.lines)), "the scenario has no steps")
        return sc

    def _block(self, lineno: int, what: str) -> str:
        body: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and not line[0].isspace():
                break
            body.append(line)
            self.i += 1
        while body and not body[-1].strip():
            body.pop()
        if not body:
            raise self.error(lineno, f"`{what}` is followed by no indented lines")
        return textwrap.dedent("\n".join(body))

    def _header(self, key: str, value: str, lineno: int) -> None:
        sc = self.scenario
        if key in self.seen_headers and key not in REPEATABLE_HEADERS:
            raise self.error(lineno, f"header `{key}:` given twice")
        self.seen_headers.add(key)
        if not value:
            raise self.error(lineno, f"header `{key}:` has no value")
        if key == "title":
            sc.title = value
        elif key == "description":
            sc.description = value
        elif key == "sessions":
            names = tuple(value.split())
            for name in names:
                if not _SESSION_NAME.match(name):
                    raise self.error(lineno, f"session name {name!r} must start with a capital letter (A, B, Worker1…)")
            if len(set(names)) != len(names):
                raise self.error(lineno, "a session is named twice")
            if not 1 <= len(names) <= 6:
                raise self.error(lineno, "a scenario has 1 to 6 sessions")
            sc.sessions = names
            self.declared_sessions = True
        elif key == "isolation":
            sc.isolation = " ".join(value.upper().replace("_", " ").split())
        elif key == "lock-timeout":
            try:
                sc.lock_timeout = float(value.removesuffix("s").strip())
            except ValueError:
                raise self.error(lineno, f"lock-timeout must be a number of seconds, not {value!r}") from None
            if not 0 <= sc.lock_timeout <= 3600:
                raise self.error(lineno, "lock-timeout must be between 0 and 3600 seconds")
        elif key == "step-timeout":
            try:
                sc.step_timeout = float(value.removesuffix("s").strip())
            except ValueError:
                raise self.error(lineno, f"step-timeout must be a number of seconds, not {value!r}") from None
            if not 0 < sc.step_timeout <= 3600:
                raise self.error(lineno, "step-timeout must be more than 0 and at most 3600 seconds")
        elif key == "backends":
            names = tuple(b.lower() for b in value.split())
            for name in names:
                if name not in BACKENDS:
                    raise self.error(lineno, f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
            sc.backends = names
        elif key == "journal-mode":
            if value.lower() not in ("delete", "wal"):
                raise self.error(lineno, "journal-mode is delete or wal")
            sc.journal_mode = value.lower()
        elif key == "begin-mode":
            if value.lower() not in ("deferred", "immediate", "exclusive"):
                raise self.error(lineno, "begin-mode is deferred, immediate or exclusive")
            sc.begin_mode = value.lower()
        elif key == "demo":
            if value.lower() not in ("yes", "no"):
                raise self.error(lineno, "demo is yes or no")
            sc.demo = value.lower() == "yes"
        elif key == "mode":
            if value.lower() not in ("sync", "async"):
                raise self.error(lineno, "mode is sync or async")
            sc.mode = value.lower()
        elif key == "models":
            sc.models, sc.models_line = value, lineno
        elif key == "markers":
            names = tuple(value.replace(",", " ").split())
            for name in names:
                if not _MARKER.match(name):
                    raise self.error(lineno, f"marker {name!r} is not a Python name (markers: slow postgres_only)")
            sc.markers = names
        elif key == "requires":
            backend = None
            match = _BACKEND_PREFIX.match(value)
            if match:
                backend = match.group("backend")
                if backend not in BACKENDS:
                    raise self.error(lineno, f"unknown backend [{backend}]; known: {', '.join(BACKENDS)}")
                value = value[match.end():].strip()
            if not value:
                raise self.error(lineno, "`requires:` needs a query or expression, e.g. requires: [mysql] @@innodb_snapshot_isolation")
            sc.requires += (Requirement(value, lineno, backend),)

    def _step(self, name: str, rest: str, lineno: int) -> None:
        sc = self.scenario
        if name not in sc.sessions:
            raise self.error(lineno, f"session {name} is not in `sessions: {' '.join(sc.sessions)}`")
        if rest == "|":
            body = self._block(lineno, f"{name}: |")
        elif rest:
            body = rest
        else:
            raise self.error(lineno, f"step for {name} has no input")
        step = Step(name, body, lineno, notes=self.pending_notes)
        self.pending_notes = []
        sc.steps.append(step)

    def _expectation(self, text: str, lineno: int) -> None:
        sc = self.scenario
        if not sc.steps:
            raise self.error(lineno, "an expectation before any step")
        if self.pending_notes:
            raise self.error(lineno, "an expectation must follow its step directly, not a note")
        sc.steps[-1].expectations.append(parse_expectation(text, lineno, self.source))


def parse_expectation(text: str, lineno: int, source: str = "<scenario>") -> Expectation:
    """Parse the text after `=>`."""
    original = text
    backend = None
    match = _BACKEND_PREFIX.match(text)
    if match:
        backend = match.group("backend")
        if backend not in BACKENDS:
            raise ScenarioError(source, lineno, f"unknown backend [{backend}]; known: {', '.join(BACKENDS)}")
        text = text[match.end() :]
    text = text.strip()
    if not text:
        raise ScenarioError(source, lineno, "an empty expectation")
    waits = False
    lower = text.lower()
    if lower == "waits":
        return Expectation(original, lineno, backend, True, None)
    if lower.startswith("waits"):
        rest = text[5:].lstrip()
        if not rest.lower().startswith(", then") and not rest.lower().startswith("then"):
            raise ScenarioError(source, lineno, "write `waits` or `waits, then OUTCOME`")
        text = re.split("then", rest, maxsplit=1, flags=re.I)[1].strip()
        waits = True
    return Expectation(original, lineno, backend, waits, _outcome(text, lineno, source))


def _outcome(text: str, lineno: int, source: str) -> Outcome:
    word, _, rest = text.partition(" ")
    word = word.lower()
    rest = rest.strip()
    if word == "ok" and not rest:
        return Outcome("ok")
    if word == "error":
        if not rest:
            raise ScenarioError(source, lineno, "`error` needs the text to look for, e.g. `error IntegrityError`")
        return Outcome("error", rest)
    if word in ("rows", "value"):
        if not rest:
            raise ScenarioError(source, lineno, f"`{word}` needs a Python literal")
        try:
            literal = ast.literal_eval(rest)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if word == "rows":
                raise ScenarioError(source, lineno, f"rows must be a Python literal list of tuples, got {rest[:40]!r}") from None
            return Outcome("value", rest, _Unevaluated)
        if word == "rows":
            if not isinstance(literal, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in literal):
                raise ScenarioError(source, lineno, "rows must be a list of tuples, e.g. rows [(1, 'ann')]")
            literal = [tuple(r) for r in literal]
        return Outcome(word, rest, literal)
    raise ScenarioError(source, lineno, f"unknown expectation {text[:40]!r}; use ok, error TEXT, rows [...], value LITERAL, waits[, then …]")


class _UnevaluatedType:
    """Marks a `value` expectation compared by repr only (e.g. `value User(id=1)`)."""

    def __repr__(self) -> str:
        return "<compare by repr>"


_Unevaluated = _UnevaluatedType()
UNEVALUATED = _Unevaluated
