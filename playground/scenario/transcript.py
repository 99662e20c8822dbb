"""Transcripts of a run: JSON lines (the contract in DESIGN §4), text, and Markdown."""

from __future__ import annotations

import json
from typing import Any, TextIO
from collections.abc import Callable, Iterable

FORMATS = ("text", "json", "markdown")
MAX_SHOWN_ROWS = 20


def writer(fmt: str, out: TextIO) -> Callable[[dict[str, Any]], None]:
    """A listener that writes each event of a run to `out` as it happens."""
    if fmt == "json":

        def write_json(event: dict[str, Any]) -> None:
            out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            out.flush()

        return write_json
    render = TextTranscript().render if fmt == "text" else MarkdownTranscript().render

    def write(event: dict[str, Any]) -> None:
        text = render(event)
        if text:
            out.write(text + "\n")
            out.flush()

    return write


def session_states(events: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Every session's whole state after each step (by the `after` of its `state` event).

    A `state` event lists only the sessions whose state changed since the previous one (every
    session in the first); this folds them back together, for a reader that wants it all.
    """
    current: dict[str, Any] = {}
    states: dict[int, dict[str, Any]] = {}
    for event in events:
        if event["event"] == "state":
            current = {**current, **event["sessions"]}
            states[event["after"]] = current
    return states


# What a step did and whether an expectation held are told apart: the step's outcome is a
# word in brackets ([ok], [error], [waiting on A]); ✓ and ✗ only ever mark an expectation.
HELD, FAILED = "✓", "✗"


def outcome_word(event: dict[str, Any]) -> str:
    """The step's own outcome in words: `[ok]`, `[error]`, `[waiting on A]`."""
    if event["status"] == "waiting":
        return f"[waiting on {', '.join(event.get('waiting_for') or []) or 'a lock'}]"
    if event.get("warning"):
        return f"[{event['status']}, but {event['warning']}]"
    return f"[{event['status']}]"


def expectation_lines(event: dict[str, Any], indent: str) -> list[str]:
    """One line per expectation: `✓ expected … held`, `✗ expected … FAILED: reason`, or not yet checked."""
    lines = []
    for check in event.get("expect", []):
        if check["passed"]:
            lines.append(f"{indent}{HELD} expected {check['text']}: held")
        else:
            reason = f" ({check['reason']})" if check.get("reason") else ""
            lines.append(f"{indent}{FAILED} expected {check['text']}: FAILED{reason}")
    for text in event.get("expect_later", []):
        lines.append(f"{indent}… expected {text}: checked when the step finishes")
    return lines


def _outcome_lines(event: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for sql in event.get("sql") or []:
        first, *more = sql.splitlines() or [""]
        lines.append(f"{indent}SQL: {first}")
        lines += [f"{indent}     {line.strip()}" for line in more if line.strip()]
    if event.get("output"):
        lines += [f"{indent}| {line}" for line in event["output"].rstrip("\n").splitlines()]
    for message in event.get("messages") or []:
        lines.append(f"{indent}{message}")
    if event.get("rows") is not None:
        columns = event.get("columns") or []
        if columns:
            lines.append(f"{indent}{' | '.join(columns)}")
        for row in event["rows"][:MAX_SHOWN_ROWS]:
            lines.append(f"{indent}{' | '.join(repr(v) for v in row)}")
        more = len(event["rows"]) - MAX_SHOWN_ROWS + (event.get("rows_omitted") or 0)
        if more > 0:
            lines.append(f"{indent}… {more} more row(s)")
    if event.get("value") is not None:
        lines.append(f"{indent}→ {event['value']}")
    if event.get("error"):
        err = event["error"]
        lines.append(f"{indent}error: {err['type']}: {err['message']}")
        if err.get("hint"):
            lines.append(f"{indent}  hint: {err['hint']}")
    return lines


class TextTranscript:
    """Renders a run's events as plain text; counts the steps that carried no expectation."""

    def __init__(self) -> None:
        self.unchecked = 0

    def render(self, event: dict[str, Any]) -> str:
        """The text for one event ("" for events the text transcript leaves out)."""
        kind = event["event"]
        if kind == "step" and not event.get("expect") and not event.get("expect_later"):
            self.unchecked += 1
        if kind == "summary":
            return "\n" + self.summary(event)
        return _text(event)

    def summary(self, event: dict[str, Any]) -> str:
        """`6 steps, 2 without an expectation; 1 expectation FAILED, 3 held` (or `all 4 expectations held`)."""
        if event["skipped"]:
            return f"{event['steps']} steps: skipped"
        steps = f"{event['steps']} step{'s' * (event['steps'] != 1)}"
        if self.unchecked:
            steps += ", none with an expectation" if self.unchecked == event["steps"] else f", {self.unchecked} without an expectation"
        held, failed = event["passed"], event["failed"]
        if failed:
            verdict = f"{_count(failed, 'expectation')} FAILED, {held} held"
        elif held:
            verdict = f"all {_count(held, 'expectation')} held"
        else:
            verdict = "nothing checked"
        failure = f"\nthe run FAILED: {event['error']}" if event.get("error") else ""
        return f"{steps}; {verdict}{failure}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


class MarkdownTranscript(TextTranscript):
    """Renders a run's events as Markdown: the steps as code blocks, notes as quotes."""

    def render(self, event: dict[str, Any]) -> str:
        """The Markdown for one event."""
        kind = event["event"]
        text = super().render(event)
        if kind == "scenario":
            md = f"# {event['title'] or event['source']}\n"
            if event.get("description"):
                md += f"\n{event['description']}\n"
            return md + f"\nBackend: `{event['backend']}`; sessions: {', '.join(event['sessions'])}\n"
        if kind == "note":
            return f"> {event['text']}\n"
        if kind in ("step", "completed"):
            return f"```\n{text}\n```\n"
        if kind == "summary":
            return f"**{text.strip()}**"
        return text


def _text(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind == "scenario":
        lines = [event["title"] or event["source"]]
        if event.get("description"):
            lines.append(f"  {event['description']}")
        lines.append(f"  backend: {event['backend']}; sessions: {' '.join(event['sessions'])}")
        return "\n".join(lines)
    if kind == "skipped":
        return f"skipped: {event['reason']}"
    if kind == "note":
        return f"\n  note: {event['text']}"
    if kind == "step":
        first, *rest = event["input"].splitlines() or [""]
        lines = [f"{event['index']:>3} {event['session']}> {first}"]
        lines += [f"      {line}" for line in rest]
        lines[-1] += f"   {outcome_word(event)}"
        lines += _outcome_lines(event, "      ")
        lines += expectation_lines(event, "      ")
        return "\n".join(lines)
    if kind == "completed":
        lines = [f"    ↳ step {event['index']} ({event['session']}) finished after step {event['after']}: "
                 f"{outcome_word(event)} after waiting {event['waited']:.2f} s"]
        lines += _outcome_lines(event, "      ")
        lines += expectation_lines(event, "      ")
        return "\n".join(lines)
    if kind == "error":
        return f"error: {event['message']}"
    return ""
