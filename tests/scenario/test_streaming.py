"""A headless run streams its transcript and keeps none of it (issue 19).

`txplay run` writes each event as it happens; the runner holds no step once reported, so its
memory does not grow with the run; a `state` event lists only the sessions that changed; and
nothing asyncio may format at the end of the run (the main task's result) is the whole run.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from playground import cli
from playground.scenario import parse, run_scenario
from playground.scenario.runner import StepRecord
from playground.scenario.transcript import session_states
from playground.testing import transcript_of

REPO = Path(__file__).resolve().parents[2]
STEPS = 120  # enough that a kept record per step stands far above the few in flight


def txp(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def long_scenario(n: int) -> str:
    """`n` steps on two sessions, each changing an object and ending its transaction."""
    cycle = ["A: u = session.get(User, 1)", "A: u.name = 'ann ' + str(len(u.name) % 5)", "A: commit",
             "B: select count(*) from items", "B: rollback"]
    return "sessions: A B\n" + "\n".join(cycle[i % len(cycle)] for i in range(n)) + "\n"


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def step_events_alive() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, dict) and o.get("event") == "step")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_txplay_run_keeps_no_step_once_written(tmp_path, monkeypatch, fmt):
    """Counted at the last step's event, by a writer standing in for stdout's."""
    path = tmp_path / "long.txp"
    path.write_text(long_scenario(STEPS))
    counts: dict[str, int] = {}
    out = io.StringIO()
    from playground.scenario.transcript import writer

    def counting_writer(fmt: str, stream: Any):
        write = writer(fmt, out)

        def listen(event: dict[str, Any]) -> None:
            write(event)
            if event["event"] == "step" and event["index"] == STEPS:
                counts["records"] = alive(StepRecord)
                counts["events"] = step_events_alive()

        return listen

    monkeypatch.setattr("playground.scenario.transcript.writer", counting_writer)
    assert cli.main(["run", str(path), "--format", fmt]) == 0
    assert counts, out.getvalue()[-2000:]
    assert counts["records"] <= 3, f"{counts['records']} step records alive after {STEPS} steps"
    assert counts["events"] <= 3, f"{counts['events']} step events alive after {STEPS} steps"


def test_txplay_run_gives_asyncio_an_exit_code_not_the_run(tmp_path, monkeypatch):
    """asyncio formats a finished main task with its result (a failed signal-handler lookup at
    the end of `asyncio.run` does): that result must be small whatever the run's length."""
    path = tmp_path / "short.txp"
    path.write_text(long_scenario(10))
    results: list[Any] = []
    real_run = asyncio.run

    def run(main: Any, **kwargs: Any) -> Any:
        result = real_run(main, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(cli.asyncio, "run", run)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert cli.main(["run", str(path), "--format", "json"]) == 0
    assert results == [0]


async def test_a_report_and_a_transcript_print_in_a_line_whatever_the_length():
    report = await run_scenario(parse(long_scenario(60), "long.txp"), states=True)
    assert len(report.steps) == 60 and len(report.events) > 120  # kept: the Python API asks for them
    for shown in (repr(report), repr(transcript_of(report))):
        assert len(shown) < 200 and "60 steps" in shown, shown


async def test_a_state_event_lists_only_the_sessions_that_changed():
    events: list[dict[str, Any]] = []
    report = await run_scenario(parse(txp("""
        sessions: A B
        A: u = session.get(User, 1)
        A: u.name = 'zed'
        B: select 1
        B: rollback
        A: select 2
    """), "changes.txp"), on_event=events.append)
    assert report.exit_code == 0
    states: dict[int, set[str]] = {}
    for e in events:
        if e["event"] == "state":  # after the last step, the run's end says the state once more
            states.setdefault(e["after"], set(e["sessions"]))
    assert states[1] == {"A", "B"}  # the first: every session
    assert states[2] == {"A"}  # u is now modified in A; B did nothing
    assert states[3] == {"B"}  # B began a transaction
    assert states[4] == {"B"}  # and ended it
    assert states[5] == {"A"}  # A's select flushed u first
    assert [e["sessions"] for e in events if e["event"] == "state"][-1] == {}  # the end: nothing new
    whole = session_states(events)
    assert set(whole[2]) == set(whole[5]) == {"A", "B"}
    assert whole[2]["B"]["status"] == "idle" and whole[3]["B"]["status"] == "active"
    (user,) = [o for o in whole[2]["A"]["objects"] if o["names"] == ["u"]]
    assert user["modified"] == {"name": ["'ann'", "'zed'"]}
    (user,) = [o for o in whole[5]["A"]["objects"] if o["names"] == ["u"]]
    assert user["modified"] == {}


def test_events_are_written_while_the_run_goes_on(tmp_path):
    """The first step's event is on stdout while the second step still runs (it waits for a file
    this test writes only after reading that event)."""
    gate = tmp_path / "gate"
    path = tmp_path / "gated.txp"
    path.write_text(txp(f"""
        sessions: A
        A: select 1
        A: |
            import os, time
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.01)
        A: select 2
    """))
    for fmt, first in (("json", '"event": "step"'), ("text", "A> select 1")):
        gate.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "playground", "run", str(path), "--format", fmt, "--step-timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        assert proc.stdout is not None
        try:
            seen = []
            for line in proc.stdout:
                seen.append(line)
                if first in line:
                    break
            assert proc.poll() is None, "".join(seen)  # still running: held by the gate
            gate.write_text("open")
            rest = proc.stdout.read()
        finally:
            gate.write_text("open")
            proc.wait(timeout=60)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        if fmt == "json":
            summary = json.loads(rest.strip().splitlines()[-1])
            assert summary["event"] == "summary" and summary["steps"] == 3
        else:
            assert "select 2" in rest
