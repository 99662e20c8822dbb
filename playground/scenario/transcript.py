"""Transcripts of a run: JSON lines (the contract in DESIGN §4), text, and Markdown."""

from __future__ import annotations

import json
from typing import Any, Callable, TextIO

FORMATS = ("text", "json", "markdown")
MAX_SHOWN_ROWS = 20


def writer(fmt: str, out: TextIO) -> Callable[[dict[str, Any]], None]:
    """A listener that writes each event of a run to `out` as it happens."""
    if fmt == "json":
        return lambda event: (out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n"), out.flush())
    render = _text if fmt == "text" else _markdown

    def write(event: dict[str, Any]) -> None:
        text = render(event)
        if text:
            out.write(text + "\n")
            out.flush()

    return write


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def _expect_lines(event: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for check in event.get("expect", []):
        line = f"{indent}=> {check['text']}  {_mark(check['passed'])}"
        if not check["passed"] and check.get("reason"):
            line += f"  ({check['reason']})"
        lines.append(line)
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
        lines.append(f"{indent}✗ {err['type']}: {err['message']}")
        if err.get("hint"):
            lines.append(f"{indent}  hint: {err['hint']}")
    return lines


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
        status = {"ok": "✓", "error": "✗", "waiting": f"⏳ waiting on {', '.join(event.get('waiting_for') or []) or 'a lock'}"}[event["status"]]
        lines = [f"{event['index']:>3} {event['session']}> {first}"]
        lines += [f"      {line}" for line in rest]
        lines[-1] += f"   {status}"
        lines += _outcome_lines(event, "      ")
        lines += _expect_lines(event, "      ")
        return "\n".join(lines)
    if kind == "completed":
        mark = "✓" if event["status"] == "ok" else "✗"
        lines = [f"    ↳ step {event['index']} ({event['session']}) finished after step {event['after']}: {mark} (waited {event['waited']:.2f} s)"]
        lines += _outcome_lines(event, "      ")
        lines += _expect_lines(event, "      ")
        return "\n".join(lines)
    if kind == "error":
        return f"error: {event['message']}"
    if kind == "summary":
        verdict = "skipped" if event["skipped"] else ("all expectations held" if not event["failed"] else f"{event['failed']} expectation(s) failed")
        return f"\n{event['steps']} steps, {event['passed']} passed, {event['failed']} failed: {verdict}"
    return ""


def _markdown(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind == "scenario":
        text = f"# {event['title'] or event['source']}\n"
        if event.get("description"):
            text += f"\n{event['description']}\n"
        return text + f"\nBackend: `{event['backend']}`; sessions: {', '.join(event['sessions'])}\n"
    if kind == "note":
        return f"> {event['text']}\n"
    if kind in ("step", "completed"):
        body = _text(event)
        return f"```\n{body}\n```\n"
    if kind == "summary":
        return f"**{event['steps']} steps, {event['passed']} passed, {event['failed']} failed**"
    return _text(event)
