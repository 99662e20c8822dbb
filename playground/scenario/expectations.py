"""A scenario step's expectations (DESIGN §4), checked against what the step did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playground.engine.snapshot import UNSET, StepResult
from playground.scenario.parser import UNEVALUATED, Expectation

if TYPE_CHECKING:
    from playground.scenario.runner import StepRecord


@dataclass
class CheckedExpectation:
    """An expectation and whether it held."""

    text: str
    passed: bool
    reason: str = ""


def check_at_settle(record: StepRecord, backend: str) -> list[CheckedExpectation]:
    """Check what can be checked once the step has settled (done, or known to wait on a lock)."""
    out = []
    record.expectations = record.step.expectations_for(backend)
    for exp in record.expectations:
        if exp.waits:
            if not record.waited:
                out.append(CheckedExpectation(exp.text, False, "the step did not wait"))
            elif exp.outcome is None:
                out.append(CheckedExpectation(exp.text, True))
            # `waits, then …` is checked when the step completes.
        elif record.waited:
            out.append(CheckedExpectation(exp.text, False, f"the step waited on {', '.join(record.waiting_on) or 'a lock'}"))
        else:
            assert exp.outcome is not None and record.result is not None
            out.append(match(exp, record.result))
    return out


def check_after_wait(record: StepRecord) -> list[CheckedExpectation]:
    """Check the `waits, then …` expectations of a step that waited, now that it has finished."""
    out = []
    assert record.result is not None
    for exp in record.expectations:
        if exp.waits and exp.outcome is not None:
            out.append(match(exp, record.result))
    return out


def match(exp: Expectation, result: StepResult) -> CheckedExpectation:
    """Whether the step's result is what `exp` expects (`ok`, `error`, `rows` or `value`)."""
    outcome = exp.outcome
    assert outcome is not None
    error_text = f"{result.error.type}: {result.error.message}" if result.error else ""
    if outcome.kind == "error":
        if result.error is None:
            return CheckedExpectation(exp.text, False, "the step succeeded")
        if outcome.text.lower() in error_text.lower():
            return CheckedExpectation(exp.text, True)
        return CheckedExpectation(exp.text, False, f"got {error_text}")
    if result.error is not None:
        return CheckedExpectation(exp.text, False, f"got {error_text}")
    if outcome.kind == "ok":
        return CheckedExpectation(exp.text, True)
    if outcome.kind == "rows":
        if result.rows is None:
            return CheckedExpectation(exp.text, False, "the step returned no rows")
        got = [tuple(r) for r in result.rows]
        if result.rows_omitted:
            return CheckedExpectation(exp.text, False, f"{len(got) + result.rows_omitted} rows, too many to compare")
        if got == outcome.literal:
            return CheckedExpectation(exp.text, True)
        return CheckedExpectation(exp.text, False, f"got {got!r}")
    # value
    if result.value is None:
        return CheckedExpectation(exp.text, False, "the step gave no value")
    if outcome.literal is not UNEVALUATED and result.plain_value is not UNSET and _equal(result.plain_value, outcome.literal):
        return CheckedExpectation(exp.text, True)
    if result.value == outcome.text:
        return CheckedExpectation(exp.text, True)
    return CheckedExpectation(exp.text, False, f"got {result.value}")


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def check_json(check: CheckedExpectation) -> dict[str, Any]:
    """A check as the transcript's `expect` list carries it."""
    out: dict[str, Any] = {"text": check.text, "passed": check.passed}
    if check.reason:
        out["reason"] = check.reason
    return out
