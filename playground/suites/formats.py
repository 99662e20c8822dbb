"""txplay's own transcript formats (text, json, markdown) for runs of the databases' suites."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from playground.suites import Emit

_SUITE_NAMES = {"isolation": "PostgreSQL isolation spec", "mysqltest": "mysqltest file"}


def suite_writer(fmt: str, out: TextIO) -> Emit:
    """A listener writing each suite event to `out` in `fmt` (text, json or markdown)."""
    if fmt == "json":

        def write_json(event: dict[str, Any]) -> None:
            out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            out.flush()

        return write_json
    render: Callable[[dict[str, Any]], str] = _markdown if fmt == "markdown" else _text

    def write(event: dict[str, Any]) -> None:
        text = render(event)
        if text:
            out.write(text + "\n")
            out.flush()

    return write


def _status(event: dict[str, Any]) -> str:
    if event["status"] == "waiting":
        return f"[waiting on {', '.join(event['waiting_for'])}]" if event.get("waiting_for") else "[waiting]"
    return {"sent": "[sent]", "error": "[error]"}.get(event["status"], "[ok]")


def _step_lines(event: dict[str, Any]) -> list[str]:
    name = f" {event['name']}" if event.get("name") else ""
    if event["event"] == "completed":
        lines = [f"    ↳ {event['session']}{name} finished {_status(event)}"]
    else:
        first, *rest = (event.get("sql") or "").strip("\n").splitlines() or [""]
        lines = [f"  {event['session']}{name}> {first}"] + [f"      {line}" for line in rest]
        lines[-1] += f"   {_status(event)}"
    lines += [f"      | {line}" for line in (event.get("output") or "").rstrip("\n").splitlines()]
    return lines


def _text(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind == "suite":
        return f"{_SUITE_NAMES.get(event['kind'], event['kind'])} {event['source']}\n  sessions: {' '.join(event['sessions'])}"
    if kind == "permutation":
        return f"\npermutation {event['index']}: {' '.join(event['steps'])}"
    if kind in ("step", "completed"):
        return "\n".join(_step_lines(event))
    if kind == "summary":
        return "\n" + summary_line(event)
    return ""


def _markdown(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind == "suite":
        return (f"# {_SUITE_NAMES.get(event['kind'], event['kind'])} `{event['source']}`\n\n"
                f"Sessions: {', '.join(event['sessions'])}\n")
    if kind == "permutation":
        return f"## Permutation {event['index']}\n\n`{' '.join(event['steps'])}`\n"
    if kind in ("step", "completed"):
        return "```\n" + "\n".join(_step_lines(event)) + "\n```\n"
    if kind == "summary":
        return f"**{summary_line(event)}**"
    return ""


def summary_line(event: dict[str, Any]) -> str:
    """`2 permutations, 9 steps; output matches expected/x.out` and the like."""
    parts = []
    if event.get("permutations") is not None:
        parts.append(f"{event['permutations']} permutation{'s' * (event['permutations'] != 1)}")
    parts.append(f"{event['steps']} step{'s' * (event['steps'] != 1)}")
    line = ", ".join(parts)
    if event.get("expected"):
        line += f"; output {'matches' if event.get('matches') else 'DIFFERS from'} {event['expected']}"
    if event.get("error"):
        line += f"\nthe run FAILED: {event['error']}"
    return line
