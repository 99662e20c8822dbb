"""Run a `.txp` scenario from Python and look at what happened: txplay's public testing API.

    from playground.testing import run
    transcript = run("tests/test_checkout.txp")          # a file, a built-in name, or scenario text
    assert transcript.passed, transcript.failure

`url` chooses the database (default: a fresh temporary SQLite file; on a server the run works in a
schema or database of its own, dropped afterwards). `run` is for synchronous code, `run_async`
for code already on an event loop. This module imports nothing from Textual, and the engine only
when a scenario first runs. The pytest plugin and `txplay export` are built on it.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # at run time these come with the engine, imported when a scenario first runs
    from playground.scenario.parser import Scenario
    from playground.scenario.runner import RunReport, StepRecord

    ScenarioSource: TypeAlias = str | os.PathLike[str] | Scenario
    """A scenario file's path, a built-in scenario's name, scenario text, or a parsed Scenario."""
CONTEXT_STEPS = 2  # steps of the transcript shown before and after a failing one


@dataclass(frozen=True)
class Check:
    """One expectation of a step and whether it held; `reason` says what happened instead."""

    expected: str
    held: bool
    reason: str = ""


@dataclass(frozen=True)
class StepOutcome:
    """What one step did, as the transcript tells it: how it ended, what it returned, its checks."""

    index: int  # the step's number in the run, as the transcript prints it
    session: str
    input: str
    line: int  # the step's line in the scenario
    status: str  # ok | error: how it ended (after its wait, where it waited)
    waited: bool
    waiting_on: tuple[str, ...]  # the sessions it waited for
    error: str | None  # "IntegrityError: UNIQUE constraint failed: …"
    rows: tuple[tuple[Any, ...], ...] | None
    value: str | None  # the repr of a Python expression's value
    sql: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def failed(self) -> bool:
        """Whether an expectation of this step did not hold."""
        return any(not c.held for c in self.checks)


@dataclass(frozen=True, repr=False)
class Transcript:
    """A finished run of a scenario: its steps, their checks, and whether it passed.

    `events` is the JSON transcript (DESIGN §4), one dict an event, for anything the fields
    here leave out.
    """

    scenario: Scenario
    backend: str  # sqlite | postgresql | mysql
    url: str  # the database, its password masked
    steps: tuple[StepOutcome, ...]
    events: tuple[dict[str, Any], ...]
    skipped: bool
    skip_reason: str | None
    error: str | None  # why the run failed besides its expectations (a step past its time limit)

    def __repr__(self) -> str:
        # Bounded whatever the run's length (asyncio formats a finished task with its result).
        held = sum(c.held for c in self.checks)
        return (f"<Transcript {self.scenario.source} on {self.backend}: {len(self.steps)} steps, "
                f"{held} held, {len(self.checks) - held} failed>")

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every checked expectation, in step order."""
        return tuple(c for step in self.steps for c in step.checks)

    @property
    def passed(self) -> bool:
        """Every expectation held and the run did not fail otherwise (a skipped run counts: see `skipped`)."""
        return self.error is None and all(c.held for c in self.checks)

    @property
    def failures(self) -> tuple[StepOutcome, ...]:
        """The steps with an expectation that did not hold."""
        return tuple(step for step in self.steps if step.failed)

    @property
    def failure(self) -> str:
        """What went wrong, readably: each failing step, what was expected and what happened,
        and the transcript around it ("" when the run passed)."""
        if self.passed:
            return ""
        failed = sum(1 for c in self.checks if not c.held)
        parts = [f"{self.scenario.source} on {self.backend}: " + (
            f"{failed} expectation{'s' * (failed != 1)} FAILED" if failed else "the run FAILED")]
        for step in self.failures:
            parts.append(_describe(step))
            parts.append("transcript around it:\n" + self.text(around=step.index))
        if self.error:
            parts.append(f"the run FAILED: {self.error}")
        return "\n\n".join(parts)

    def text(self, around: int | None = None) -> str:
        """The text transcript, as `txplay run` prints it; with `around`, only the steps near that one."""
        from playground.scenario.transcript import TextTranscript

        render = TextTranscript().render
        if around is None:
            return "\n".join(t for t in map(render, self.events) if t)
        near = [e for e in self.events if e["event"] in ("step", "completed")
                and abs(e["index"] - around) <= CONTEXT_STEPS]
        return "\n".join(render(e) for e in near)

    def assert_passed(self) -> None:
        """Raise AssertionError with `failure` unless the run passed."""
        __tracebackhide__ = True  # pytest shows the caller's line, not this one
        if not self.passed:
            raise AssertionError(self.failure)


def load(scenario: ScenarioSource, source: str | os.PathLike[str] | None = None) -> Scenario:
    """A parsed scenario from a path, a built-in name, or scenario text (a string with a newline).

    `source` names text in messages and is the folder a relative `models:` file is found from
    (default: the current one). ScenarioError says what is wrong, with the line.
    """
    from playground.scenario import library, parse, parse_file
    from playground.scenario.parser import Scenario

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, os.PathLike):
        return parse_file(Path(scenario))
    if "\n" in scenario:
        return parse(scenario, os.path.normpath(source) if source is not None else "<scenario>")
    return library.find(scenario)


async def run_async(
    scenario: ScenarioSource, url: str | None = None, *, source: str | os.PathLike[str] | None = None,
    step_timeout: float | None = None, states: bool = False,
) -> Transcript:
    """Run a scenario on `url` (default: a fresh temporary SQLite file) and return its transcript.

    `step_timeout` overrides the scenario's `step-timeout:`; `states` keeps the `state` events
    (after each step, the objects and transactions of each session that changed; every session's
    after step N: `playground.scenario.transcript.session_states(events)[N]`) in `events`. A
    scenario that cannot be read raises ScenarioError; a database that cannot be opened, BackendError.
    """
    from playground.scenario.runner import run_scenario

    report = await run_scenario(load(scenario, source), url, states=states, step_timeout=step_timeout)
    return transcript_of(report)


def run(
    scenario: ScenarioSource, url: str | None = None, *, source: str | os.PathLike[str] | None = None,
    step_timeout: float | None = None, states: bool = False,
) -> Transcript:
    """`run_async` for synchronous code (a test function, a script); not from a running event loop."""
    return asyncio.run(run_async(scenario, url, source=source, step_timeout=step_timeout, states=states))


def transcript_of(report: RunReport) -> Transcript:
    """The public form of the runner's report."""
    return Transcript(
        scenario=report.scenario, backend=report.backend, url=report.url,
        steps=tuple(_outcome(record) for record in report.steps), events=tuple(report.events),
        skipped=report.skipped, skip_reason=report.skip_reason, error=report.error,
    )


def _outcome(record: StepRecord) -> StepOutcome:
    result = record.result
    error = f"{result.error.type}: {result.error.message}" if result is not None and result.error else None
    return StepOutcome(
        index=record.index, session=record.step.session, input=record.step.input, line=record.step.line,
        status=result.status if result is not None else record.status, waited=record.waited,
        waiting_on=record.waiting_on, error=error,
        rows=tuple(tuple(r) for r in result.rows) if result is not None and result.rows is not None else None,
        value=result.value if result is not None else None,
        sql=tuple(e.statement for e in result.sql) if result is not None else (),
        checks=tuple(Check(c.text, c.passed, c.reason) for c in record.checks),
    )


def _describe(step: StepOutcome) -> str:
    """`step 4 (B, line 12): update …` and, for each failed expectation, expected and happened."""
    first, *more = step.input.splitlines() or [""]
    lines = [f"step {step.index} ({step.session}, line {step.line}): {first}"]
    lines += [f"    {line}" for line in more]
    for check in step.checks:
        if not check.held:
            lines.append(f"  expected: {check.expected}")
            lines.append(f"  happened: {check.reason or _happened(step)}")
    return "\n".join(lines)


def _happened(step: StepOutcome) -> str:
    if step.error:
        return step.error
    if step.rows is not None:
        return f"rows {list(step.rows)!r}"
    return f"value {step.value}" if step.value is not None else step.status
