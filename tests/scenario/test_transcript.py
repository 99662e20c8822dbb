"""Text and Markdown transcripts tell a step's own outcome apart from whether its expectation held."""

from __future__ import annotations

import io
import textwrap

import pytest

from playground.scenario import parse, run_scenario
from playground.scenario.transcript import writer

SCENARIO = """
    title: Outcomes and verdicts
    sessions: A B
    lock-timeout: 30
    A: insert into items (id, name, stock) values (1, 'dup', 1)
    => error UNIQUE
    A: insert into items (id, name, stock) values (2, 'dup', 1)
    => ok
    A: update items set stock = 9 where id = 3
    B: update items set stock = 8 where id = 3
    => waits, then ok
    A: commit
    B: insert into items (id, name, stock) values (3, 'dup', 1)
"""


async def transcript(fmt: str, text: str = SCENARIO) -> tuple[str, list[dict]]:
    out = io.StringIO()
    events: list[dict] = []
    write = writer(fmt, out)

    def listen(event: dict) -> None:
        events.append(event)
        write(event)

    await run_scenario(parse(textwrap.dedent(text).lstrip("\n"), "outcomes.txp"), on_event=listen, states=False)
    return out.getvalue(), events


def block(text: str, start: str) -> list[str]:
    """The lines of one step's entry: its first line and the indented lines under it."""
    lines = text.splitlines()
    (first,) = [i for i, line in enumerate(lines) if line.lstrip().startswith(start)]
    out = [lines[first]]
    for line in lines[first + 1:]:
        if not line.startswith("      "):
            break
        out.append(line)
    return out


@pytest.fixture(scope="module")
def text_transcript() -> str:
    import asyncio

    return asyncio.run(transcript("text"))[0]


def test_a_held_error_expectation_shows_the_error_and_a_held_check(text_transcript):
    step = block(text_transcript, "1 A>")
    assert step[0].endswith("[error]")
    assert any(line.strip().startswith("error: IntegrityError:") for line in step)
    assert step[-1].strip() == "✓ expected error UNIQUE: held"
    assert not any("✗" in line for line in step), step


def test_a_failed_ok_expectation_says_failed_and_why(text_transcript):
    step = block(text_transcript, "2 A>")
    assert step[0].endswith("[error]")
    assert step[-1].strip().startswith("✗ expected ok: FAILED (got IntegrityError:")
    assert not any("✓" in line for line in step), step


def test_a_waiting_step_says_whom_it_waits_on_and_that_its_check_comes_later(text_transcript):
    step = block(text_transcript, "4 B>")
    assert step[0].endswith("[waiting on A]")
    assert step[1:] == ["      … expected waits, then ok: checked when the step finishes"]
    done = block(text_transcript, "↳ step 4 (B)")
    assert done[0].startswith("    ↳ step 4 (B) finished after step 5: [ok] after waiting ")
    assert done[-1].strip() == "✓ expected waits, then ok: held"


def test_a_step_without_an_expectation_shows_its_outcome_and_no_verdict(text_transcript):
    ok_step = block(text_transcript, "3 A>")
    failed_step = block(text_transcript, "6 B>")
    assert ok_step[0].endswith("[ok]") and failed_step[0].endswith("[error]")
    for line in ok_step + failed_step:
        assert "✓" not in line and "✗" not in line and "expected" not in line


def test_the_summary_counts_steps_and_expectations_apart(text_transcript):
    assert text_transcript.rstrip().splitlines()[-1] == "6 steps, 3 without an expectation; 1 expectation FAILED, 2 held"


async def test_a_passing_run_says_every_expectation_held():
    text, _ = await transcript("text", """
        sessions: A
        A: select 1
        => rows [(1,)]
        A: select 2
    """)
    assert text.rstrip().splitlines()[-1] == "2 steps, 1 without an expectation; all 1 expectation held"


async def test_markdown_tells_outcome_and_verdict_apart_too():
    text, _ = await transcript("markdown")
    assert "  1 A> insert into items (id, name, stock) values (1, 'dup', 1)   [error]" in text
    assert "      ✓ expected error UNIQUE: held" in text
    assert text.rstrip().endswith("**6 steps, 3 without an expectation; 1 expectation FAILED, 2 held**")


async def test_the_json_contract_fields_are_unchanged():
    _, events = await transcript("json")
    first = next(e for e in events if e["event"] == "step" and e["index"] == 1)
    assert first["status"] == "error" and first["expect"] == [{"text": "error UNIQUE", "passed": True}]
    waiting = next(e for e in events if e["event"] == "step" and e["index"] == 4)
    assert waiting["status"] == "waiting" and waiting["expect"] == []
    assert waiting["expect_later"] == ["waits, then ok"]  # an added field
    assert events[-1] == {"event": "summary", "steps": 6, "passed": 2, "failed": 1, "skipped": False, "exit": 1}
