"""The headless runner never hangs: a step past the step-time limit is interrupted and fails the run."""

from __future__ import annotations

import json

import pytest

from playground.cli import DEFAULT_STEP_TIMEOUT
from playground.scenario import parse
from playground.scenario.parser import ScenarioError
from playground.scenario.runner import DEFAULT_STEP_TIMEOUT as RUNNER_DEFAULT
from tests.scenario.test_cli import txplay, write

ENDLESS = """
    title: endless
    sessions: A B
    step-timeout: 0.5

    A: |
        while True:
            pass
    B: select 2
    => rows [(2,)]
    A: select 3
    => rows [(3,)]
    """


def test_an_endless_loop_ends_the_run_with_exit_1_naming_the_step_and_the_limit(tmp_path):
    proc = txplay("run", str(write(tmp_path, "endless.txp", ENDLESS)))
    assert proc.returncode == 1, proc.stderr
    assert "StepTimeout: step 1 (A) ran longer than the step-time limit of 0.5 s" in proc.stdout
    # The transcript is complete: the steps after it ran, and the summary says why the run failed.
    assert "2 B> select 2   [ok]" in proc.stdout and "3 A> select 3   [ok]" in proc.stdout
    assert proc.stdout.rstrip().endswith("the run FAILED: step 1 (A) ran longer than the step-time limit of 0.5 s, so it was interrupted")


def test_step_timeout_option_overrides_the_header_and_json_says_why(tmp_path):
    proc = txplay("run", str(write(tmp_path, "endless.txp", ENDLESS)), "--step-timeout", "0.2", "--format", "json")
    assert proc.returncode == 1
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    (step,) = [e for e in events if e["event"] == "step" and e["index"] == 1]
    assert step["error"]["type"] == "StepTimeout" and "0.2 s" in step["error"]["message"]
    assert events[-1]["event"] == "summary" and events[-1]["exit"] == 1 and "0.2 s" in events[-1]["error"]


@pytest.mark.parametrize("value", ["0", "-1", "soon", "4000"])
def test_bad_step_timeout_values_are_refused(tmp_path, value):
    with pytest.raises(ScenarioError, match="step-timeout"):
        parse(f"sessions: A\nstep-timeout: {value}\n\nA: select 1\n", "bad.txp")
    proc = txplay("run", str(write(tmp_path, "ok.txp", "sessions: A\n\nA: select 1\n")), "--step-timeout", value)
    assert proc.returncode == 2 and "--step-timeout" in proc.stderr


def test_the_cli_states_the_runners_default():
    assert DEFAULT_STEP_TIMEOUT == RUNNER_DEFAULT
    assert f"else {RUNNER_DEFAULT:g})" in " ".join(txplay("run", "--help").stdout.split())
