"""`txplay convert FILE.spec|FILE.test`: a database's own isolation test as `.txp` scenarios.

A PostgreSQL isolation spec gives one scenario a permutation; a mysqltest file gives one
scenario, of the statements its run showed (its query log), one session a connection.

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
    names = _txp_names([s.name for s in spec.sessions], "S")
    return {i: names[session.name] for i, session in enumerate(spec.sessions)}


def _txp_names(originals: list[str], prefix: str) -> dict[str, str]:
    """txplay session names (a capital first, letters, digits and _, 16 at most, distinct) for `originals`."""
    out: dict[str, str] = {}
    for original in originals:
        base = _TXP_NAME.sub("_", original) or prefix
        base = (base[0].upper() + base[1:]) if base[0].isalpha() else f"{prefix}{base}"
        name, n = base[:16], 2
        while name in out.values():
            name = f"{base[:14]}{n}"
            n += 1
        out[original] = name
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
    # PQprint prints NULL and '' alike, and booleans as t/f: no guessing those.
    return _literal_rows(outcome.tables[0][1], null=None, ambiguous=("t", "f"))


_NOT_READ = object()


def _literal_rows(rows: list[list[str]], null: str | None, ambiguous: tuple[str, ...] = ()) -> str | None:
    """`[(1, 'ann'), …]` from printed cells, when every cell reads back as a Python value safely:
    an integer, a decimal, plain text (not one of the `ambiguous` words), or the `null` word;
    None as soon as one does not (dates, arrays, empty cells…)."""
    out = []
    for row in rows:
        values = tuple(_cell_value(cell, null, ambiguous) for cell in row)
        if _NOT_READ in values:
            return None
        out.append(values)
    return repr(out)


def _cell_value(cell: str, null: str | None, ambiguous: tuple[str, ...]) -> Any:
    if null is not None and cell == null:
        return None
    if re.fullmatch(r"-?\d+", cell):
        return int(cell)
    if re.fullmatch(r"-?\d+\.\d+", cell):
        return float(cell)
    if re.fullmatch(r"[A-Za-z_][\w ]*", cell) and cell not in ambiguous:
        return cell
    return _NOT_READ


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
             "demo: no",
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


# -- mysqltest files ---------------------------------------------------------------------------

_MYSQL_BEGIN = re.compile(r"^\s*(begin(\s+work)?|start\s+transaction\b.*)$", re.I | re.S)
_MYSQL_END = re.compile(r"^\s*(commit|rollback)(\s+work)?(\s+and\s+(no\s+)?chain)?(\s+(no\s+)?release)?\s*$", re.I)
_MYSQL_AUTOCOMMIT = re.compile(r"^\s*set\s+(session\s+|@@(session\.)?)?autocommit\s*=\s*(?P<value>\w+)\s*$", re.I)
_MYSQL_NOT_IN_TX = re.compile(r"^\s*(xa\s|lock\s+tables?|unlock\s+tables?|flush\s|set\s+global\s|reset\s)", re.I)
_MYSQL_ERROR = re.compile(r"^ERROR (?P<state>[0-9A-Z]{5}): (?P<message>.*)$")
# What ends an InnoDB transaction on its own: a deadlock rolls the whole transaction back.
_MYSQL_ENDS_TX = ("Deadlock found",)


_WAITED = ("Lock wait timeout exceeded",)  # a statement that failed so had waited for a lock first
_RESULT_CHANGERS = re.compile(r"^\s*-*\s*(replace_column|replace_result|replace_regex|lowercase_result|sorted_result|"
                              r"query_vertical|enable_result_log|disable_result_log|vertical_results|result_format)\b",
                              re.I | re.M)
_SAVEPOINT_CONTROL = re.compile(r"^\s*(savepoint|release\s+savepoint|rollback(\s+work)?\s+to(\s+savepoint)?)\s+(?P<name>\w+)\s*$", re.I)


_NO_WAIT = re.compile(r"\bnowait\b|\bwait\s+0\b", re.I)


def convert_mysqltest(events: list[dict[str, Any]], stem: str, text: str = "", database: str | None = None) -> str:
    """The statements a mysqltest run showed, as one `.txp` scenario (one session a connection).

    MySQL connections autocommit by default: a statement outside BEGIN … COMMIT (and with
    `autocommit` on) ends with `COMMIT`; `SET autocommit = 0` makes the connection's statements
    open a transaction, as a Session's do, and is itself left out. A statement sent with `send`
    may wait: it gets no expectation but a note of how its `reap` found it. A deadlock, and a
    failed autocommit statement, leave the Session's transaction failed where the server has
    none: a ROLLBACK step follows. Where the file (`text`) changes how results print
    (`replace_column`, `sorted_result`, …), rows are not expected from the printed ones; an error
    message is expected up to the run's `database` name, which a scenario's own database replaces.
    """
    rows_as_printed = not _RESULT_CHANGERS.search(text)
    suite = next((e for e in events if e["event"] == "suite"), None)
    if suite is None:
        raise ValueError("no run to convert")
    used = {e["session"] for e in events if e["event"] == "step"}
    connections = [name for name in suite["sessions"] if name in used]
    names = _txp_names(connections, "C")
    if len(names) > 6:
        raise SuiteError(suite["source"], 1, f"a txplay scenario has at most 6 sessions; this test uses {len(names)} connections")
    lines = [f"title: {stem}",
             f"description: converted from the mysqltest file {Path(suite['source']).name}: the statements its run showed",
             "backends: mysql",
             "demo: no",
             f"sessions: {' '.join(names[c] for c in connections)}", ""]
    in_tx = dict.fromkeys(connections, False)
    autocommit = dict.fromkeys(connections, True)
    sent: dict[str, str] = {}  # session → the txp session of a statement sent and not yet reaped
    for event in events:
        if event["event"] == "completed":
            session = event["session"]
            if session in sent:
                del sent[session]
                error = (event.get("error") or {}).get("message") or _mysql_error(event.get("output") or "")
                lines += [f"note: {session}'s reap found " + (f"error {error}" if error else "it done, ok"), ""]
            continue
        if event["event"] != "step" or event["status"] not in ("ok", "error", "sent"):
            continue
        session, sql = event["session"], (event.get("sql") or "").strip().rstrip(";").strip()
        if not sql:
            continue
        if session not in names:  # sent on a connection mysqltest had closed: it never reached a server
            lines += [f"note: line {event.get('line')}: `{sql}` was sent on a closed connection and failed there", ""]
            continue
        if len(split_sql(sql)) > 1:
            raise SuiteError(suite["source"], event.get("line") or 1,
                             "a statement with semicolons inside (a stored program's body) would be split by a txplay "
                             "session; this test cannot be converted")
        if _MYSQL_NOT_IN_TX.match(sql):
            raise SuiteError(suite["source"], event.get("line") or 1,
                             f"`{sql.split()[0].upper()} …` changes the server or its locking outside a transaction, "
                             "which a txplay session cannot do; this test cannot be converted")
        switch = _MYSQL_AUTOCOMMIT.match(sql)
        if switch:
            autocommit[session] = switch.group("value").lower() in ("1", "on", "true")
            lines += [f"note: {session}: {sql} (a txplay session opens its transactions by itself)", ""]
            continue
        ending = False
        if _MYSQL_BEGIN.match(sql):
            text, in_tx[session] = sql, True
        elif _MYSQL_END.match(sql):
            text, in_tx[session] = sql, False
        elif in_tx[session] or not autocommit[session]:
            text = sql
        else:
            text, ending = f"{sql}; COMMIT", True
        lines += [f"note: {session}, line {event.get('line')}" + (" (autocommit)" if ending else "")]
        lines += _step(names[session], text)
        error = (event.get("error") or {}).get("message") or _mysql_error(event.get("output") or "")
        if error and database and database in error:
            before, _, after = error.partition(database)
            before, after = before.rstrip(" (`'\""), after.lstrip(".`'\" ")
            error = before if len(before) >= len(after) else after
        if event["status"] == "sent":
            sent[session] = names[session]
            lines.append("note: sent with `send`: it may wait; mysqltest does not say")
        elif error:
            savepoint = _SAVEPOINT_CONTROL.match(sql)
            if savepoint:  # txplay names the savepoint it does not know in words of its own
                lines.append(f"=> error {savepoint.group('name')}")
            else:
                waited = error.startswith(_WAITED) and not _NO_WAIT.search(sql)
                lines.append(f"=> {'waits, then ' if waited else ''}error {error}")
            if ending or any(error.startswith(e) for e in _MYSQL_ENDS_TX):
                in_tx[session] = False
                lines += ["note: the server has no transaction open now; the Session's failed one needs a ROLLBACK",
                          *_step(names[session], "ROLLBACK"), "=> ok"]
        else:
            rows = _mysql_rows(event.get("output") or "") if rows_as_printed else None
            lines.append(f"=> rows {rows}" if rows is not None else "=> ok")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _mysql_error(output: str) -> str | None:
    for line in output.splitlines():
        match = _MYSQL_ERROR.match(line)
        if match:
            return match.group("message")
    return None


def _mysql_rows(output: str) -> str | None:
    """`[(1, 'a'), …]` from mysqltest's tab-separated result, where its values read back safely."""
    lines = output.splitlines()
    if len(lines) < 2 or any(_MYSQL_ERROR.match(line) or "\t" not in line and len(lines[0].split("\t")) > 1 for line in lines):
        return None
    width = len(lines[0].split("\t"))
    rows = [line.split("\t") for line in lines[1:]]
    if any(len(cells) != width for cells in rows):
        return None
    return _literal_rows(rows, null="NULL")
