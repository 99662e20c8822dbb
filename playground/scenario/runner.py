"""The headless runner: plays a scenario on a workspace and records a transcript.

After each step it waits until every running step has finished or is known to be waiting on
a lock, then issues the next; a session's steps run in order. So transcripts are
deterministic: the same scenario gives the same events on the same backend. With a pace it
also waits that many seconds before each step after the first, as a presenter would: a
scenario whose outcome depends on how fast the steps come (a deadlock check, a lock timeout)
is shown as a room would see it.
"""

from __future__ import annotations

import asyncio

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from playground.engine import SessionSettings, StepHandle, Workspace
from playground.engine.snapshot import SessionSnapshot, StepResult
from playground.engine.stepping import STEP_TIMEOUT
from playground.scenario.models import scenario_kit
from playground.scenario.expectations import CheckedExpectation, check_after_wait, check_at_settle, check_json
from playground.scenario.parser import Expectation, Scenario, ScenarioError, Step


@dataclass
class StepRecord:
    """What the transcript says about one step."""

    index: int
    step: Step
    status: str  # ok | error | waiting
    result: StepResult | None
    waited: bool = False
    waiting_on: tuple[str, ...] = ()
    completed_after: int | None = None
    checks: list[CheckedExpectation] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)


MAX_KEPT_FAILURES = 100  # failing steps a streamed run keeps for its caller; the counts go on


@dataclass(repr=False)
class RunReport:
    """The result of running a scenario.

    With `keep` (the default, for tests and the Python API) it holds every step's record and
    every event; without it (`txplay run`, which writes each event as it happens) only what the
    summary needs: the counts, the first failing steps, and the steps still waiting.
    """

    scenario: Scenario
    backend: str
    url: str
    events: list[dict[str, Any]]
    steps: list[StepRecord]
    skipped: bool = False
    passed: int = 0
    failed: int = 0
    error: str | None = None
    keep: bool = True
    step_count: int = 0
    failures: list[StepRecord] = field(default_factory=list)  # the first MAX_KEPT_FAILURES failing steps
    skip_reason: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when every expectation held or the run was skipped, 1 otherwise."""
        return 1 if (self.failed or self.error) else 0

    def __repr__(self) -> str:
        # Bounded whatever the run's length: asyncio formats a finished task with its result.
        return (f"<RunReport {self.scenario.source} on {self.backend}: {self.step_count} steps, "
                f"{self.passed} held, {self.failed} failed, exit {self.exit_code}>")

    def add_step(self, record: StepRecord) -> None:
        """Count a step just issued (and keep its record when the report keeps them)."""
        self.step_count += 1
        if self.keep:
            self.steps.append(record)

    def add_checks(self, record: StepRecord, checks: list[CheckedExpectation]) -> None:
        """Count the checks just made of `record`'s expectations, and keep it if one failed."""
        record.checks.extend(checks)
        failed = sum(1 for c in checks if not c.passed)
        self.passed += len(checks) - failed
        self.failed += failed
        if failed and len(self.failures) < MAX_KEPT_FAILURES and all(r is not record for r in self.failures):
            self.failures.append(record)


Listener = Callable[[dict[str, Any]], None]
DEFAULT_STEP_TIMEOUT = 60.0  # seconds; the CLI says the same in `txplay run --help`


async def run_scenario(
    scenario: Scenario,
    url: str | None = None,
    *,
    on_event: Listener | None = None,
    sql_only: bool = False,
    states: bool = True,
    pace: float = 0.0,
    step_timeout: float | None = None,
    keep: bool = True,
) -> RunReport:
    """Run `scenario` on `url` (a fresh temporary SQLite file when None).

    `pace` is the number of seconds to wait before each step after the first (0: none).
    `step_timeout` is how long a step may run before it is interrupted and failed (default:
    the scenario's `step-timeout:` header, else `DEFAULT_STEP_TIMEOUT`): a run never hangs.
    `keep` keeps every event and step record in the report; without it the run's memory does
    not grow with its length, and `on_event` is where the transcript goes.
    """
    from playground.engine.backends import name_of

    backend = name_of(url)
    events: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        if keep:
            events.append(event)
        if on_event is not None:
            on_event(event)

    if sql_only:
        check_sql_only(scenario)
    report = RunReport(scenario, backend, "", events, [], keep=keep)
    emit({"event": "scenario", "title": scenario.title, "description": scenario.description,
          "source": scenario.source, "backend": backend, "sessions": list(scenario.sessions)})
    skip = scenario.skip_reason(backend)
    if skip:
        report.skipped, report.skip_reason = True, skip
        emit({"event": "skipped", "reason": skip})
        _summary(report, emit)
        return report
    try:
        ws = await open_workspace(scenario, url)
    except ScenarioError:  # the `models:` header names nothing loadable: the file's fault, not the database's
        raise
    except Exception as exc:
        from playground.engine.backends import BackendError, resolve
        from playground.engine.errors import describe

        where = resolve(url).display_url if url else "a temporary SQLite file"
        raise BackendError(f"cannot open {where}: {describe(exc)}") from None
    report.url = ws.backend.display_url
    ws.step_timeout = step_timeout or scenario.step_timeout or DEFAULT_STEP_TIMEOUT
    player = ScenarioPlayer(scenario, ws, report, emit, states=states, pace=pace)
    try:
        unmet = await check_requirements(scenario, ws, emit)
        if unmet:
            report.skipped, report.skip_reason = True, unmet
            emit({"event": "skipped", "reason": unmet})
        else:
            while not player.finished:
                await player.next()
            await player.finish()
    finally:
        await teardown(scenario, ws, report, emit)
    _summary(report, emit)
    return report


async def open_workspace(scenario: Scenario, url: str | None) -> Workspace:
    """A workspace set up as the scenario's headers ask."""
    defaults = SessionSettings()
    if scenario.lock_timeout is not None:
        defaults.lock_timeout = scenario.lock_timeout
    if scenario.begin_mode:
        defaults.begin_mode = scenario.begin_mode
    if scenario.mode:
        defaults.mode = scenario.mode
    defaults.isolation = scenario.isolation
    # The user's models: their tables first, then `setup:` adds rows (the demo's setup replaces it).
    tables_first = scenario.models is not None and scenario.demo
    ws = await Workspace.open(
        scenario_kit(scenario),
        url,
        sessions=() if tables_first else scenario.sessions,
        demo=scenario.demo,
        setup=None if tables_first else scenario.setup,
        defaults=defaults,
        journal_mode=scenario.journal_mode or "delete",
        # On a server every run gets a schema/database of its own, dropped afterwards.
        isolate=url is not None,
    )
    if tables_first:
        try:
            if scenario.setup:
                await ws.run_outside(scenario.setup)
            for name in scenario.sessions:
                await ws.add_session(name)
        except BaseException:
            await ws.close()
            raise
    return ws


class ScenarioPlayer:
    """Plays a scenario one step at a time on a workspace (the runner's loop, and demo mode).

    It holds no step once reported, except those still waiting: a run's memory stays flat.
    """

    def __init__(
        self, scenario: Scenario, ws: Workspace, report: RunReport, emit: Listener, states: bool = True, pace: float = 0.0,
    ) -> None:
        self.scenario = scenario
        self.pace = pace  # seconds between steps, as a presenter would take them
        self.states = states  # `state` events are built only for a listener that wants them
        self.ws = ws
        self.report = report
        self.emit = emit
        self.position = 0
        self.pending: dict[int, tuple[StepRecord, StepHandle]] = {}  # waited and not yet reported complete
        self.last: dict[str, int] = {}
        self.done = False
        # What the last `state` event said of each session: the next lists only those that changed.
        self._shown: dict[str, tuple[SessionSnapshot, dict[str, Any]]] = {}

    @property
    def finished(self) -> bool:
        """Whether every step has been issued."""
        return self.position >= len(self.scenario.steps)

    @property
    def upcoming(self) -> Step | None:
        """The next step to issue, if any."""
        return None if self.finished else self.scenario.steps[self.position]

    def _report_completions(self) -> None:
        for index in sorted(self.pending):
            record, handle = self.pending[index]
            if not handle.done.is_set():
                continue
            del self.pending[index]
            assert handle.result is not None
            record.result = handle.result
            record.completed_after = handle.after
            self.report.add_checks(record, check_after_wait(record))
            self.emit({"event": "completed", "index": index, "session": record.step.session, "after": handle.after,
                       **_result_fields(handle.result), "expect": [check_json(c) for c in record.checks]})
            self._over_limit(handle.result)

    def _over_limit(self, result: StepResult) -> None:
        """A step stopped at the step-time limit fails the run, whatever was expected of it."""
        if result.error is not None and result.error.type == STEP_TIMEOUT and self.report.error is None:
            self.report.error = result.error.message
            self.emit({"event": "error", "message": self.report.error})

    def _state(self, after: int) -> None:
        """A `state` event with the sessions whose state changed since the last one (all, the first time)."""
        if not self.states:
            return
        changed: dict[str, Any] = {}
        for snapshot in self.ws.snapshot().sessions:
            shown = self._shown.get(snapshot.name)
            if shown is not None and shown[0] is snapshot:  # the very snapshot last shown: nothing changed
                continue
            state = snapshot.to_json()
            if shown is None or shown[1] != state:
                changed[snapshot.name] = state
            self._shown[snapshot.name] = (snapshot, state)
        self.emit({"event": "state", "after": after, "sessions": changed})

    async def next(self) -> StepRecord:
        """Issue the next step and wait until every running step has finished or waits."""
        ws = self.ws
        step = self.scenario.steps[self.position]
        if self.pace > 0 and self.position > 0:
            await asyncio.sleep(self.pace)
        self.position += 1
        for note in step.notes:
            self.emit({"event": "note", "text": note})
        handle = await issue(ws, step.session, step.input, self.last, self._report_completions)
        record = StepRecord(handle.index, step, "waiting", None)
        if handle.done.is_set():
            assert handle.result is not None
            record.result = handle.result
            record.status = handle.result.status
        else:
            record.waited = True
            record.waiting_on = handle.wait.holders if handle.wait else ()
            self.pending[handle.index] = (record, handle)
        self.report.add_step(record)
        self.report.add_checks(record, check_at_settle(record, self.report.backend))
        event: dict[str, Any] = {"event": "step", "index": handle.index, "session": step.session, "input": step.input,
                                 "kind": handle.kind, "status": record.status, "line": step.line}
        if record.result is not None:
            event.update(_result_fields(record.result))
        else:
            event.update({"error": None, "rows": None, "value": None, "sql": [], "waiting_for": list(record.waiting_on)})
        event["expect"] = [check_json(c) for c in record.checks]
        later = [e.text for e in record.expectations if e.waits and e.outcome is not None and record.waited]
        if later:  # `waits, then …`: checked in the step's `completed` event
            event["expect_later"] = later
        self.emit(event)
        if record.result is not None:
            self._over_limit(record.result)
        self._report_completions()
        self._state(handle.index)
        return record

    async def finish(self) -> None:
        """After the last step: wait for every waiting step to finish and check it."""
        if self.done:
            return
        self.done = True
        for note in self.scenario.trailing_notes:
            self.emit({"event": "note", "text": note})
        for _, handle in list(self.pending.values()):
            await handle.done.wait()
        await self.ws.settle()
        self._report_completions()
        self._state(self.ws.last_index)


async def issue(ws: Workspace, session: str, text: str, last: dict[str, int],
                on_finished: Callable[[], None] = lambda: None) -> StepHandle:
    """Issue one step by the settle rule (DESIGN §4) and return its handle once all has settled.

    A session's step waits for that session's previous one (`last`) to finish; after it is
    submitted, every running step has finished or is known to wait. `on_finished` hears when
    a step waited on before this one is over. Step back replays a session through this too.
    """
    previous = last.get(session)
    if previous is not None and not ws.handle(previous).done.is_set():
        await ws.handle(previous).done.wait()
        await ws.settle()
        on_finished()
    handle = ws.submit(session, text)
    last[session] = handle.index
    await ws.settle()
    return handle


async def check_requirements(scenario: Scenario, ws: Workspace, emit: Listener) -> str | None:
    """Read each `requires:` of the scenario on the server, outside every session.

    Each that holds is said as a note, so the audience knows which case it is seeing; the
    first that does not hold is returned as the reason to skip the run.
    """
    from sqlalchemy import text

    from playground.engine.errors import describe
    from playground.engine.language import escape_colons

    for requirement in scenario.requirements_for(ws.backend.name):
        try:
            async with ws.observer.connect() as conn:
                value = (await conn.execute(text(escape_colons(requirement.sql)))).scalar()
                await conn.rollback()
        except Exception as exc:
            return f"this scenario requires `{requirement.query}`, which this server refuses ({describe(exc)})"
        if not value:
            return f"this scenario requires `{requirement.query}`, which is {value!r} on this server"
        emit({"event": "note", "text": f"This server: `{requirement.query}` is {value!r}, as the scenario requires."})
    return None


def check_sql_only(scenario: Scenario) -> None:
    """Refuse a scenario with Python steps (for running someone else's file)."""
    from playground.engine.language import classify

    for step in scenario.steps:
        if classify(step.input).kind == "python":
            raise ScenarioError(scenario.source, step.line, f"step for {step.session} is Python, which --sql-only refuses")


async def teardown(scenario: Scenario, ws: Workspace, report: RunReport, emit: Listener) -> None:
    """Roll back and close every session, run the teardown SQL, close the workspace."""
    try:
        for name in list(ws.sessions):
            await ws.close_session(name)
        if scenario.teardown:
            await ws.run_outside(scenario.teardown)
    except Exception as exc:
        report.error = f"teardown failed: {type(exc).__name__}: {exc}"
        emit({"event": "error", "message": report.error})
    finally:
        await ws.close()


def _summary(report: RunReport, emit: Listener) -> None:
    summary = {"event": "summary", "steps": report.step_count, "passed": report.passed, "failed": report.failed,
               "skipped": report.skipped, "exit": report.exit_code}
    if report.error:
        summary["error"] = report.error  # why the run failed besides its expectations
    emit(summary)


def _result_fields(result: StepResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "error": result.error.to_json() if result.error else None,
        "columns": list(result.columns) if result.columns is not None else None,
        "rows": [[jsonable(v) for v in row] for row in result.rows] if result.rows is not None else None,
        "rows_omitted": result.rows_omitted,
        "value": result.value,
        "output": result.output,
        "messages": list(result.messages),
        "sql": [e.statement for e in result.sql],
        "params": [e.parameters for e in result.sql],
        "waited": round(result.waited, 3),
        "warning": result.warning,
    }


def jsonable(value: Any) -> Any:
    """A JSON-friendly form of a database value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)
