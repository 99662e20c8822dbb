"""The same scenario through txplay, read from its JSON transcript events (DESIGN §4).

Only the public contract is read: the `step`, `completed` and `state` events that
`txplay run FILE --format json` prints, here received in-process through `run_scenario`'s
`on_event`.
"""

from __future__ import annotations

import re
from typing import Any

from playground.scenario.parser import parse
from playground.scenario.runner import run_scenario
from playground.scenario.transcript import session_states
from tests.differential.model import ObjectFacts, Scenario, SessionFacts, StepFacts

_AFFECTED = re.compile(r"^(\d+) rows? affected")


async def run_txplay(scenario: Scenario, url: str | None) -> tuple[list[StepFacts], list[dict[str, Any]]]:
    """Run `scenario` with txplay on `url` (None: a fresh SQLite file); its facts and raw events."""
    events: list[dict[str, Any]] = []
    await run_scenario(parse(scenario.to_txp(), f"<{scenario.name}>"), url, on_event=events.append)
    steps = {e["index"]: e for e in events if e["event"] == "step"}
    completed = {e["index"]: e for e in events if e["event"] == "completed"}
    states = session_states(events)  # a state event lists only the sessions that changed
    facts = []
    for position, step in enumerate(scenario.steps, start=1):
        event = completed.get(position) or steps.get(position)
        if event is None:
            raise AssertionError(f"txplay's transcript has no step {position}: {_tail(events)}")
        error = event.get("error")
        status = event["status"]
        facts.append(StepFacts(
            index=position,
            step=step,
            kind=steps[position]["kind"],
            outcome="waiting" if status == "waiting" else status,
            error=error["type"] if error else None,
            message=error["message"] if error else None,
            rows=event.get("rows"),
            rowcount=_rowcount(event.get("messages") or ()),
            value=event.get("value"),
            sessions=_sessions(states.get(position, {})),
        ))
    return facts, events


def _rowcount(messages: Any) -> int | None:
    for message in messages:
        match = _AFFECTED.match(message)
        if match:
            return int(match.group(1))
    return None


def _sessions(state: dict[str, Any]) -> dict[str, SessionFacts]:
    out = {}
    for name, session in state.items():
        objects: dict[str, ObjectFacts] = {}
        for row in session.get("objects", []):
            identity = tuple(row["identity"]) if row.get("identity") is not None else None
            for bound in row.get("names", []):
                if bound.isidentifier():  # `rows[0]`-style names are txplay's own convention
                    objects[bound] = ObjectFacts(row["state"], identity)
        out[name] = SessionFacts(session["status"], objects)
    return out


def _tail(events: list[dict[str, Any]]) -> str:
    return "; ".join(str(e) for e in events[-3:])
