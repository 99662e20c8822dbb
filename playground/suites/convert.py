"""`txplay convert FILE.spec`: a PostgreSQL isolation spec as `.txp` scenarios, one a permutation.

A spec's sessions are plain libpq connections: a statement outside `BEGIN … COMMIT` commits by
itself, and `BEGIN ISOLATION LEVEL …` picks the level. A txplay session is a SQLAlchemy Session,
which opens a transaction for any statement. So each step is rewritten to mean the same there:

- statements outside a transaction end with `COMMIT` (`UPDATE …; COMMIT`; a SELECT keeps its rows);
- `BEGIN ISOLATION LEVEL X` / `START TRANSACTION …` become `BEGIN; SET TRANSACTION ISOLATION LEVEL X`
  (the Session sends its BEGIN just before the first statement, so the SET comes first in it);
- an autocommit statement or a COMMIT that failed left no transaction open on the server; the
  Session's stays failed, so a `ROLLBACK` step follows where the failure was reported;
- statements PostgreSQL refuses inside a transaction block (VACUUM, CREATE INDEX CONCURRENTLY,
  two-phase commit …) cannot be converted, and say so.

Expectations come from what a run printed (the events of `run_spec`) or from an expected `.out`
file: `=> ok`, `=> error MESSAGE`, `=> waits, then …`, and `=> rows [...]` where the printed table
can be read back without guessing types. A step held back by a blocker marker gets no `waits`
expectation (the marker, not the database, decided what isolationtester printed); a note says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.engine.language import split_sql
from playground.suites import SuiteError
from playground.suites.spec import Permutation, Spec

_TXP_NAME = re.compile(r"[^A-Za-z0-9_]")
_BEGIN_WITH_MODES = re.compile(r"^\s*(?:begin(?:\s+(?:transaction|work))?|start\s+transaction)\s+(?P<modes>\S.*)$", re.I | re.S)
_NOT_IN_A_BLOCK = re.compile(
    r"^\s*(vacuum|create\s+database|drop\s+database|alter\s+system|reindex\s+.*concurrently|"
    r"(create|drop)\s+(unique\s+)?index\s+concurrently|create\s+tablespace|drop\s+tablespace|"
    r"prepare\s+transaction|commit\s+prepared|rollback\s+prepared|alter\s+table\s+.*detach\s+partition\s+.*concurrently|"
    r"cluster\s*$)", re.I | re.S)
_READ_ROWS = re.compile(r"^\s*(select|with|values|table|show)\b|\breturning\b", re.I | re.S)


@dataclass
class StepOutcome:
    """What isolationtester printed for one permutation step."""

    waited: bool = False
    completed_after: int | None = None  # the permutation step during which its completion was printed
    error: str | None = None
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)


# -- reading outcomes -------------------------------------------------------------------------


def outcomes_from_events(events: list[dict[str, Any]]) -> list[list[StepOutcome]]:
    """Per permutation, per step: the outcome, from `run_spec`'s events."""
    perms: list[list[StepOutcome]] = []
    by_name: dict[str, StepOutcome] = {}
    for event in events:
        kind = event["event"]
        if kind == "permutation":
            perms.append([])
            by_name = {}
        elif kind == "step":
            outcome = StepOutcome(waited=event["status"] == "waiting")
            perms[-1].append(outcome)
            by_name[event["name"]] = outcome
            _read_output(outcome, event.get("output") or "")
        elif kind == "completed":
            outcome = by_name[event["name"]]
            outcome.completed_after = len(perms[-1]) - 1
            _read_output(outcome, event.get("output") or "")
    return perms


def outcomes_from_expected(spec: Spec, text: str, source: str) -> list[list[StepOutcome]]:
    """Per permutation, per step: the outcome, read back from an isolationtester output file."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if line.startswith("starting permutation:"):
            current = None
            events.append({"event": "permutation"})
            pos = end + 1
            continue
        match = re.match(r"step (.+?): ", line) if events else None
        step = _step_named(spec, match.group(1)) if match else None
        if match and step is not None:
            rest = text[pos + match.end():]
            if rest.startswith("<... completed>\n"):
                current = {"event": "completed", "name": step.name, "output": ""}
                pos += match.end() + len("<... completed>\n")
                events.append(current)
                continue
            if rest.startswith(step.sql):
                after = rest[len(step.sql):]
                waited = after.startswith(" <waiting ...>")
                current = {"event": "step", "name": step.name, "status": "waiting" if waited else "ok", "output": ""}
                events.append(current)
                pos += match.end() + len(step.sql) + (len(" <waiting ...>") if waited else 0) + 1
                continue
        if current is not None:
            current["output"] += line + "\n"
        pos = end + 1
    if not events:
        raise SuiteError(source, 1, "no `starting permutation:` line: this is not isolationtester output")
    return outcomes_from_events(events)


def _step_named(spec: Spec, name: str) -> Any:
    try:
        return spec.step(name)
    except KeyError:
        return None


def _read_output(outcome: StepOutcome, output: str) -> None:
    lines = output.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        severity = re.match(r"(ERROR|FATAL|PANIC):  ", line)
        if severity:
            outcome.error = line[severity.end():]
        elif i + 1 < len(lines) and lines[i + 1] and set(lines[i + 1]) <= {"-", "+"}:
            names = [n.strip() for n in line.split("|")]
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and not re.fullmatch(r"\(\d+ rows?\)", lines[i]):
                rows.append([cell.strip() for cell in lines[i].split("|")])
                i += 1
            outcome.tables.append((names, rows))
        i += 1


# -- writing scenarios ------------------------------------------------------------------------


def convert_spec(spec: Spec, outcomes: list[list[StepOutcome]], stem: str) -> list[tuple[str, str]]:
    """One `.txp` text per permutation: (file name, text)."""
    names = _session_names(spec)
    permutations = spec.all_permutations()
    if len(outcomes) != len(permutations):
        raise SuiteError(spec.source, 1, f"the outcomes cover {len(outcomes)} permutations; the spec runs {len(permutations)}")
    return [(f"{stem}-{n}.txp", _scenario(spec, perm, outs, names, n, len(permutations), stem))
            for n, (perm, outs) in enumerate(zip(permutations, outcomes, strict=True), start=1)]


def _session_names(spec: Spec) -> dict[int, str]:
    if len(spec.sessions) > 6:
        raise SuiteError(spec.source, spec.sessions[6].line, "a txplay scenario has at most 6 sessions; this spec has "
                                                             f"{len(spec.sessions)}")
    out: dict[int, str] = {}
    for i, session in enumerate(spec.sessions):
        base = _TXP_NAME.sub("_", session.name) or "S"
        base = (base[0].upper() + base[1:]) if base[0].isalpha() else f"S{base}"
        name, n = base[:16], 2
        while name in out.values():
            name = f"{base[:14]}{n}"
            n += 1
        out[i] = name
    return out


class _Session:
    """A spec session's transaction state while its steps are rewritten."""

    def __init__(self) -> None:
        self.in_tx = False


def _rewrite(sql: str, state: _Session, where: str, spec: Spec, line: int) -> tuple[str, bool, bool]:
    """The step's SQL for a txplay session, whether it ran outside a transaction, and whether an
    error in it leaves the server with no transaction open (an autocommit statement, a COMMIT),
    where the Session still holds a failed one."""
    out: list[str] = []
    autocommit = ends = False
    pending = False  # statements sent outside a transaction, not yet committed
    for stmt in split_sql(sql):
        text = stmt.text.strip()
        if _NOT_IN_A_BLOCK.match(text):
            raise SuiteError(spec.source, line, f"{where}: `{text.split()[0].upper()} …` cannot run inside a transaction "
                                                "block, and a txplay session always opens one; this spec cannot be converted")
        modes = _BEGIN_WITH_MODES.match(text) if stmt.control is None else None
        if stmt.control == "begin" or modes:
            if pending:
                out.append("COMMIT")
                pending = False
            out.append("BEGIN")
            if modes:
                out.append(f"SET TRANSACTION {modes.group('modes').strip()}")
            state.in_tx = True
        elif stmt.control in ("commit", "rollback"):
            out.append(text)
            ends = ends or stmt.control == "commit"
            state.in_tx = False
        else:
            out.append(text)
            if not state.in_tx:
                pending = autocommit = True
    if pending:
        out.append("COMMIT")
    return "; ".join(out), autocommit, autocommit or ends


def _rows_literal(outcome: StepOutcome, sql: str) -> str | None:
    """`[(1, 'ann'), …]` when the one table printed can be read back as Python values safely."""
    if len(outcome.tables) != 1:
        return None
    last = [s for s in split_sql(sql) if s.control is None]
    if not last or not _READ_ROWS.search(last[-1].text):
        return None
    rows = []
    for row in outcome.tables[0][1]:
        values: list[Any] = []
        for cell in row:
            if re.fullmatch(r"-?\d+", cell):
                values.append(int(cell))
            elif re.fullmatch(r"-?\d+\.\d+", cell):
                values.append(float(cell))
            elif re.fullmatch(r"[A-Za-z_][\w ]*", cell) and cell not in ("t", "f"):
                values.append(cell)
            else:
                return None  # empty (NULL or ''), dates, arrays, booleans…: no guessing
        rows.append(tuple(values))
    return repr(rows)


def _expectation(outcome: StepOutcome, sql: str, marked: bool) -> str | None:
    if outcome.error is not None:
        final = f"error {outcome.error}"
    else:
        rows = _rows_literal(outcome, sql)
        final = f"rows {rows}" if rows is not None else "ok"
    if marked:
        return None
    return f"waits, then {final}" if outcome.waited else final


def _scenario(spec: Spec, perm: Permutation, outcomes: list[StepOutcome], names: dict[int, str], n: int, total: int,
              stem: str) -> str:
    states = {i: _Session() for i in range(len(spec.sessions))}
    lines = [f"title: {stem}, permutation {n} of {total}",
             f"description: converted from the PostgreSQL isolation spec {Path(spec.source).name}: {' '.join(p.label() for p in perm.steps)}",
             "backends: postgresql",
             f"sessions: {' '.join(names[i] for i in range(len(spec.sessions)))}"]
    if spec.setups:
        for stmt in (stmt for sql in spec.setups for stmt in split_sql(sql)):
            if _NOT_IN_A_BLOCK.match(stmt.text):
                raise SuiteError(spec.source, 1, f"the setup's `{stmt.text.split()[0].upper()} …` cannot run inside a "
                                                 "transaction block, and a scenario's setup runs in one; this spec "
                                                 "cannot be converted")
        lines += ["setup:", *_indent("\n\n".join(spec.setups))]
    if spec.teardown:
        lines += ["teardown:", *_indent(spec.teardown)]
    lines.append("")
    for i, session in enumerate(spec.sessions):
        if session.setup:
            sql, _, _ = _rewrite(session.setup, states[i], f"the setup of session {session.name}", spec, session.line)
            lines += [f"note: session {session.name}'s setup", *_step(names[i], sql), "=> ok", ""]
    rollbacks: dict[int, list[int]] = {}  # after permutation step k: sessions whose failed statement needs a ROLLBACK
    for k, (pstep, outcome) in enumerate(zip(perm.steps, outcomes, strict=True)):
        step = spec.step(pstep.name)
        sql, autocommit, ends = _rewrite(step.sql, states[step.session], f"step {step.name}", spec, step.line)
        lines.append(f"note: step {step.name}" + (" (autocommit: the statement commits by itself)" if autocommit else ""))
        if pstep.blockers:
            lines.append(f"note: isolationtester holds this step back by its markers ({pstep.label()}); no wait is asserted")
        lines += _step(names[step.session], sql)
        expectation = _expectation(outcome, step.sql, bool(pstep.blockers))
        if expectation:
            lines.append(f"=> {expectation}")
        if outcome.error is not None and ends:
            rollbacks.setdefault(outcome.completed_after if outcome.waited and outcome.completed_after is not None else k, []).append(step.session)
        for failed in rollbacks.pop(k, []):
            lines += [f"note: {spec.sessions[failed].name}'s failed statement ended its transaction on the server; "
                      "the Session's needs a ROLLBACK",
                      *_step(names[failed], "ROLLBACK"), "=> ok"]
        lines.append("")
    for i, session in enumerate(spec.sessions):
        if session.teardown:
            sql, _, _ = _rewrite(session.teardown, states[i], f"the teardown of session {session.name}", spec, session.line)
            lines += [f"note: session {session.name}'s teardown", *_step(names[i], sql), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _step(session: str, sql: str) -> list[str]:
    if "\n" not in sql:
        return [f"{session}: {sql}"]
    return [f"{session}: |", *_indent(sql)]


def _indent(text: str) -> list[str]:
    import textwrap

    return ["    " + line if line.strip() else "" for line in textwrap.dedent(text.strip("\n")).splitlines()]
