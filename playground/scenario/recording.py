"""Recording a session as it happens, and replaying it (step back).

A `Recorder` listens to a workspace: every step submitted (its session, its text, what else
was in flight then), how it ended, lock waits, sessions opened and closed, the journal mode
switched outside any step. `record_writer.write_txp` turns that into a `.txp` scenario; `replay`
plays the entries again on a fresh workspace by the runner's settle rule, which is how the app
steps back. Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from playground.engine.events import SessionsChanged, SettingChanged, StepFinished, StepSubmitted, StepWaiting
from playground.engine.snapshot import StepResult

if TYPE_CHECKING:
    from playground.engine import Workspace
    from playground.scenario.runner import ScenarioPlayer

EXPECTED_ROWS = 10  # a result with more rows is expected as `ok`, not spelled out (nor kept)
KEPT_VALUE = 200  # characters of a step's value kept: the writer asks only whether it had one
# Steps that show something and change nothing: neither recorded nor replayed.
_NOT_RECORDED = ("help", "clear")
# What makes a step's result differ from one run to the next (the clock, chance, the keyboard).
_PYTHON_CHANCE = re.compile(r"\b(time|datetime|random|uuid|secrets)\b|\binput\s*\(|\bos\.urandom\b")
_SQL_CHANCE = re.compile(
    r"\b(now|random|rand|uuid|gen_random_uuid|uuid_generate_v4|clock_timestamp|statement_timestamp|sysdate|"
    r"current_timestamp|current_time|current_date|localtimestamp|julianday|unixepoch)\b",
    re.IGNORECASE,
)


@dataclass
class RecordingSetup:
    """How the recorded database was made: what a replay needs to make it again."""

    backend: str
    where: str  # the database, as the status line shows it
    sessions: tuple[str, ...]
    lock_timeout: float | None = None
    isolation: str | None = None
    begin_mode: str | None = None
    mode: str | None = None
    journal_mode: str | None = None
    demo: bool = True
    setup: str | None = None
    teardown: str | None = None
    models: str | None = None  # an absolute file path or a dotted module name
    title: str = "recorded session"
    fresh: bool = True  # the database held nothing of the user's when recording began


@dataclass
class RecordedStep:
    """One step as typed, and what happened to it."""

    index: int
    session: str  # the workspace's name for the session (a closed name may be opened again)
    input: str
    kind: str
    submitted: float
    running: tuple[int, ...] = ()  # other steps unfinished and not waiting when this was typed
    waiting: tuple[int, ...] = ()  # other steps waiting on a lock when this was typed
    result: StepResult | None = None
    waited: bool = False
    waited_on: tuple[str, ...] = ()


@dataclass
class SessionEvent:
    """A session opened or closed outside any step."""

    session: str
    opened: bool
    message: str = ""


@dataclass
class SettingEvent:
    """A workspace setting changed outside any step (the journal mode)."""

    name: str
    value: str


Entry = RecordedStep | SessionEvent | SettingEvent


def chance(text: str, kind: str) -> str | None:
    """What makes this step give other results when replayed (the clock, random values, input()), if anything."""
    pattern = _PYTHON_CHANCE if kind == "python" else _SQL_CHANCE if kind == "sql" else None
    match = pattern.search(text) if pattern is not None else None
    return None if match is None else f"it uses {match.group(0).rstrip('( ')}"


def ended_before(step: RecordedStep, moment: float) -> bool:
    """Whether `step` had finished at `moment` (a `time.monotonic()` reading)."""
    return step.result is not None and step.result.finished is not None and step.result.finished < moment


def ran_out(step: RecordedStep, following: RecordedStep | None) -> bool:
    """Whether `step` waited and failed by itself (a lock timeout) before another session's next
    step was typed: the settle rule would issue that step while it still waited, so a replay
    holds the next step back until this one has ended."""
    return (step.waited and step.result is not None and step.result.error is not None and following is not None
            and following.session != step.session and ended_before(step, following.submitted))


def kept(result: StepResult) -> StepResult:
    """What a recording keeps of a step's result: what the saved scenario says of it (its error,
    a small result's rows, its value, when it ended and how long it waited). The SQL, the printed
    output and a large result's rows are left to the pane: a long session keeps no more per step
    than it will write."""
    small = result.rows is not None and not result.rows_omitted and len(result.rows) <= EXPECTED_ROWS
    value = None if result.value is None else result.value[:KEPT_VALUE]
    return dataclasses.replace(result, sql=(), output="", messages=(), columns=None,
                               rows=result.rows if small else None, value=value)


def _shows_only(step: StepSubmitted) -> bool:
    return step.kind == "command" and step.input.strip().lstrip("\\").strip().lower() in _NOT_RECORDED


class Recorder:
    """Hears a workspace and keeps what happened in it, in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.setup: RecordingSetup | None = None
        self._steps: dict[int, RecordedStep] = {}
        self._open: tuple[str, ...] = ()
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def steps(self) -> list[RecordedStep]:
        """The recorded steps, in the order they were typed."""
        return [e for e in self.entries if isinstance(e, RecordedStep)]

    def attach(self, ws: Workspace, setup: RecordingSetup) -> None:
        """Start a new recording on `ws` (whatever was recorded before is forgotten)."""
        self.detach()
        self.entries, self._steps, self.setup = [], {}, setup
        self._open = tuple(ws.sessions)
        self._unsubscribe, _ = ws.subscribe(self._hear)

    def detach(self) -> None:
        """Stop listening (the entries stay)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _hear(self, event: Any) -> None:
        if isinstance(event, StepSubmitted):
            if not _shows_only(event):
                step = RecordedStep(event.index, event.session, event.input, str(event.kind), time.monotonic(),
                                    event.running, event.waiting)
                self._steps[event.index] = step
                self.entries.append(step)
        elif isinstance(event, (StepWaiting, StepFinished)):
            self._step_event(event)
        elif isinstance(event, SessionsChanged):
            self._sessions_changed(event)
        elif isinstance(event, SettingChanged):
            self.entries.append(SettingEvent(event.name, event.value))

    def _step_event(self, event: StepWaiting | StepFinished) -> None:
        index = event.index if isinstance(event, StepWaiting) else event.result.index
        recorded = self._steps.get(index)
        if recorded is None:
            return
        if isinstance(event, StepWaiting):
            recorded.waited, recorded.waited_on = True, event.wait.holders
        else:
            recorded.result = kept(event.result)
            recorded.waited = recorded.waited or event.waited

    def _sessions_changed(self, event: SessionsChanged) -> None:
        for name in event.names:
            if name not in self._open:
                self.entries.append(SessionEvent(name, True, event.message))
        for name in self._open:
            if name not in event.names:
                self.entries.append(SessionEvent(name, False, event.message))
        self._open = event.names

    def without_last_step(self) -> list[Entry] | None:
        """Every entry but the last step (None when nothing was recorded): what step back replays."""
        last = next((i for i in range(len(self.entries) - 1, -1, -1) if isinstance(self.entries[i], RecordedStep)), None)
        if last is None:
            return None
        return self.entries[:last] + self.entries[last + 1 :]


@dataclass
class Replayed:
    """What a replay did: how many steps, how long it took, which could not be replayed faithfully."""

    steps: int
    seconds: float
    unfaithful: list[str] = field(default_factory=list)  # "step 3 (A): it uses random"


async def replay(
    ws: Workspace,
    entries: list[Entry],
    player: ScenarioPlayer | None = None,
    on_session: Callable[[str, bool], Awaitable[None]] | None = None,
) -> Replayed:
    """Play `entries` on the fresh workspace `ws`, each step by the runner's settle rule.

    In demo mode `player` is the scenario's: a step that is its next one is issued through it,
    so the banner and the expectations follow. `on_session(name, opened)` opens or closes a
    session (the app mounts or removes its pane too); by default the workspace alone does.
    """
    from playground.scenario.runner import issue

    started = time.monotonic()
    last: dict[str, int] = player.last if player is not None else {}
    done = Replayed(0, 0.0)
    steps = [e for e in entries if isinstance(e, RecordedStep)]
    for entry in entries:
        if isinstance(entry, RecordedStep):
            upcoming = player.upcoming if player is not None else None
            if player is not None and upcoming is not None and (upcoming.session, upcoming.input) == (entry.session, entry.input):
                index = (await player.next()).index
            else:
                index = (await issue(ws, entry.session, entry.input, last)).index
            done.steps += 1
            if ran_out(entry, steps[done.steps] if done.steps < len(steps) else None):
                await ws.handle(index).done.wait()
                await ws.settle()
            reason = chance(entry.input, entry.kind) or ("it cancels what was running when it was typed" if _cancels(entry) else None)
            if reason:
                done.unfaithful.append(f"step {done.steps} ({entry.session}): {reason}")
        elif isinstance(entry, SessionEvent):
            await _session(ws, entry, on_session)
        else:
            await ws.set_journal_mode(entry.value)
    await ws.settle()
    done.seconds = time.monotonic() - started
    return done


async def _session(ws: Workspace, entry: SessionEvent, on_session: Callable[[str, bool], Awaitable[None]] | None) -> None:
    if on_session is not None:
        await on_session(entry.session, entry.opened)
    elif entry.opened:
        await ws.add_session(entry.session)
    else:
        await ws.close_session(entry.session)


def _cancels(step: RecordedStep) -> bool:
    return step.kind == "command" and step.input.strip().lstrip("\\").lower().startswith("cancel")
