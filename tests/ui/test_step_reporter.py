"""What the step reporter keeps beside the panes' logs."""

from __future__ import annotations

from playground.engine import StepFinished
from playground.engine.snapshot import Notice, StepResult
from playground.engine.states import StepKind, StepStatus
from playground.ui.step_reporter import StepReporter


class _NoPanes:
    def pane(self, name: str) -> None:
        return None


def _ended_a_savepoint_unsent(index: int) -> StepFinished:
    notice = Notice(f"savepoint sp{index} was never sent", "savepoint-never-sent", f"sp{index}")
    result = StepResult(index=index, session="A", input="sp.rollback()", kind=StepKind.PYTHON, status=StepStatus.OK,
                        messages=(notice,), started=0.0, finished=0.0)
    return StepFinished(result, False, index)


def test_the_unsent_savepoints_kept_for_the_timeline_are_those_of_the_steps_it_can_show():
    """The timeline shows the last `keep` steps; a long session's older marks were kept forever."""
    reporter = StepReporter(_NoPanes(), lambda: [], keep=10)  # type: ignore[arg-type]
    for index in range(1, 101):
        reporter.report(_ended_a_savepoint_unsent(index))
    assert sorted(reporter.unsent) == list(range(91, 101))
    assert reporter.unsent[100] == ("sp100",)
