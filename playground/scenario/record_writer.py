"""A recording written as a `.txp` scenario: headers, setup, steps and what was observed.

Each step's expectation is what happened to it (`ok`, `rows [...]` for a small result,
`error CLASS`, `waits, then …`). The runner replays by the settle rule (DESIGN §4); where
the user's own timing made a step end otherwise than the rule would (typed while another
step still ran, or a wait that ran out before the next step was typed), a `note:` says so and
only what the rule reproduces is expected, so the file replays the same way every time.
"""

from __future__ import annotations

import ast
import os
from datetime import datetime
from pathlib import Path

from playground.engine.snapshot import UNSET, StepResult
from playground.scenario.recording import (
    EXPECTED_ROWS, Entry, RecordedStep, RecordingSetup, SessionEvent, SettingEvent, chance, ended_before, ran_out,
)

_NOT_CHECKED = "so its outcome is not checked"


def write_txp(setup: RecordingSetup, entries: list[Entry], out: Path | None = None, now: datetime | None = None) -> str:
    """The scenario text of a recording; `out` is where it goes (a models file is named from its folder)."""
    when = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    names = _Names(setup.sessions)
    body = _body(setup, entries, names)
    lines = [f"# recorded by txplay on {setup.where}, {when}", f"title: {setup.title}", f"sessions: {' '.join(names.all)}",
             f"backends: {setup.backend}"]
    lines += [f"{key}: {value}" for key, value in _settings(setup, entries) if value is not None]
    if setup.models:
        lines.append(f"models: {_models(setup.models, out)}")
    if not setup.demo:
        lines.append("demo: no")
    for key, block in (("setup", setup.setup), ("teardown", setup.teardown)):
        if block:
            lines += ["", f"{key}:", *_indented(block)]
    lines.append("")
    if not setup.fresh:
        lines.append("note: The database held data before this session was recorded; a replay starts from "
                     + ("the demo schema as it is made afresh." if setup.demo else "an empty database."))
    return "\n".join(lines + body) + "\n"


def _settings(setup: RecordingSetup, entries: list[Entry]) -> list[tuple[str, str | None]]:
    journal = setup.journal_mode
    for entry in entries:  # a switch made before the first step is where the scenario starts
        if isinstance(entry, RecordedStep):
            break
        if isinstance(entry, SettingEvent) and entry.name == "journal-mode":
            journal = entry.value
    timeout = None if setup.lock_timeout is None else f"{setup.lock_timeout:g}"
    return [("isolation", setup.isolation), ("lock-timeout", timeout), ("journal-mode", journal),
            ("begin-mode", setup.begin_mode), ("mode", setup.mode)]


def _models(models: str, out: Path | None) -> str:
    if not models.endswith(".py") and os.sep not in models:
        return models  # a module, imported by name
    folder = (out.parent if out is not None else Path.cwd()).resolve()
    try:
        return os.path.relpath(models, folder)
    except ValueError:  # another drive
        return models


def _indented(text: str) -> list[str]:
    return [f"    {line}" if line.strip() else "" for line in text.splitlines()]


class _Names:
    """The scenario's session names: a session closed and opened again under its name becomes B2, B3…"""

    def __init__(self, initial: tuple[str, ...]) -> None:
        self.all = list(initial)
        self.current = {name: name for name in initial}

    def opened(self, name: str) -> str:
        alias, n = name, 1
        while alias in self.all:
            n += 1
            alias = f"{name}{n}"
        self.all.append(alias)
        self.current[name] = alias
        return alias

    def __getitem__(self, name: str) -> str:
        return self.current.get(name) or self.opened(name)


def _body(setup: RecordingSetup, entries: list[Entry], names: _Names) -> list[str]:
    steps = [e for e in entries if isinstance(e, RecordedStep)]
    by_index = {s.index: s for s in steps}
    position = {s.index: i for i, s in enumerate(steps)}
    notes = _timing_notes(steps, by_index)
    lines: list[str] = []
    seen_step = False
    for entry in entries:
        if isinstance(entry, SessionEvent):
            lines += _session_event(entry, names, seen_step)
        elif isinstance(entry, SettingEvent):
            if seen_step:
                lines.append(f"note: The {entry.name} was switched to {entry.value} here, outside any step; a replay "
                             "keeps the header's (a scenario has no step for it), so what follows may differ.")
        else:
            seen_step = True
            name = names[entry.session]
            number = position[entry.index] + 1
            unchecked = notes.get(entry.index, [])
            lines += [f"note: Step {number}: {text}" for text in unchecked]
            lines += _step_lines(name, entry.input)
            lines += _expectations(entry, checked=not unchecked)
            following = steps[position[entry.index] + 1] if position[entry.index] + 1 < len(steps) else None
            if ran_out(entry, following) and entry.result is not None:
                lines += [f"note: {name}'s wait ran out (after {entry.result.waited:.1f} s) before the next step was "
                          f"typed: `pass` in {name} holds that step back until it has, as the runner issues a "
                          "session's step only once its previous one has ended.", f"{name}: pass"]
    return lines


def _session_event(entry: SessionEvent, names: _Names, seen_step: bool) -> list[str]:
    if entry.opened:
        alias = names.opened(entry.session)
        return [f"note: Session {alias} is opened here (in a replay it is open from the start)."] if seen_step else []
    alias = names[entry.session]
    return [f"note: Session {alias} is closed here: its open transaction is rolled back.", f"{alias}: \\rollback"]


def _step_lines(name: str, text: str) -> list[str]:
    if "\n" not in text.strip():
        return [f"{name}: {text.strip()}"]
    return [f"{name}: |", *_indented(text.strip("\n"))]


def _timing_notes(steps: list[RecordedStep], by_index: dict[int, RecordedStep]) -> dict[int, list[str]]:
    """Per step, why its recorded outcome is not what the runner's settle rule would reproduce."""
    notes: dict[int, list[str]] = {}
    for i, step in enumerate(steps):
        said = notes.setdefault(step.index, [])
        others = [by_index[k] for k in step.running if k in by_index and by_index[k].session != step.session]
        if others:
            said.append(f"typed while {_list(others, steps)} still ran; the runner issues it once every step has finished "
                        f"or waits, {_NOT_CHECKED}.")
        following = steps[i + 1] if i + 1 < len(steps) else None
        # Queued behind its session's waiting step while another session's step came: the runner
        # would hold that one back until the wait ended.
        behind = [by_index[k] for k in step.waiting if k in by_index and by_index[k].session == step.session
                  and following is not None and not ended_before(by_index[k], following.submitted)]
        if behind:
            said.append(f"typed while its session's {_list(behind, steps)} waited on a lock; the runner issues it only "
                        f"once that step has finished, {_NOT_CHECKED}.")
        if step.kind == "command" and step.input.strip().lstrip("\\").lower().startswith("cancel"):
            said.append(f"a cancel stops what its session runs when it is typed, which a replay cannot time, {_NOT_CHECKED}.")
    return {k: v for k, v in notes.items() if v}


def _list(steps: list[RecordedStep], order: list[RecordedStep]) -> str:
    numbers = {s.index: n for n, s in enumerate(order, 1)}
    return ", ".join(f"step {numbers[s.index]} ({s.session})" for s in steps)


def _expectations(step: RecordedStep, checked: bool) -> list[str]:
    result = step.result
    if result is None:
        return ["=> waits"] if step.waited and checked else []
    if not checked:
        return []
    reason = chance(step.input, step.kind)
    outcome = _outcome(result, exact=reason is None)
    if reason:
        return [f"# {reason}: only whether it succeeded is expected", f"=> {'waits, then ' if step.waited else ''}{outcome}"]
    return [f"=> {'waits, then ' if step.waited else ''}{outcome}"]


def _outcome(result: StepResult, exact: bool) -> str:
    if result.error is not None:
        return f"error {result.error.type}"
    if exact and result.rows is not None and not result.rows_omitted and len(result.rows) <= EXPECTED_ROWS:
        rows = [tuple(r) for r in result.rows]
        if _literal(rows):
            return f"rows {rows!r}"
    if exact and result.value is not None and result.plain_value is not UNSET and _literal(result.plain_value):
        return f"value {result.plain_value!r}"
    return "ok"


def _literal(value: object) -> bool:
    """Whether `value` reads back from its repr as itself (what an expectation compares with)."""
    try:
        return bool(ast.literal_eval(repr(value)) == value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
