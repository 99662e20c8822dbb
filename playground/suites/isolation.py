"""Run a PostgreSQL isolationtester spec, printing what isolationtester prints.

The rules are isolationtester's own (PostgreSQL 15): one control connection plus one per
session, opened once and reused for every permutation; each step sent with the simple query
protocol; a step is *waiting* when the server says so —
`pg_isolation_test_session_is_blocked(pid, '{the sessions' pids}')`, asked every 10 ms while the
step has not answered — never because a timer ran out; blocker markers `(*)`, `(step)` and
`(step notices N)` hold a step's completion back as the tool does; completions of earlier waiting
steps are reported in the tool's order. Results are printed as libpq's PQprint prints them, byte
widths and all.

The driver is libpq itself, through psycopg's `pq` module: text-format results, NOTICEs as libpq
formats them, and the simple query protocol, which runs a multi-statement step as one message
(one implicit transaction), as isolationtester does. Blocking calls; the caller runs this on a
thread of its own when it must stay responsive.
"""

from __future__ import annotations

import contextlib
import select
import time
from dataclasses import dataclass, field
from collections.abc import Callable, Generator
from typing import Any, TextIO

from playground.suites import Emit, SuiteError, urls
from playground.suites.spec import Permutation, PermutationStep, Spec, Step

SPEAKS = frozenset({"postgresql", "postgres"})  # the URLs this runner takes: it speaks libpq, not a strategy
POLL = 0.010  # seconds between lock-wait checks while a step has not answered, as isolationtester
DEFAULT_MAX_STEP_WAIT = 300.0  # seconds before a step is canceled (PGISOLATIONTIMEOUT's default)


class SpecFailed(Exception):
    """The run cannot go on (isolationtester would exit 1): the reason, as the tool says it."""


@dataclass
class SpecRun:
    """The outcome of running a spec."""

    output: str = ""
    error: str | None = None  # why the run stopped early (isolationtester's stderr line)
    permutations: int = 0
    steps: int = 0

    @property
    def exit_code(self) -> int:
        """0 when every permutation ran, 1 when the run stopped early."""
        return 1 if self.error else 0


def conninfo_for(url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL (any driver)."""
    from psycopg.conninfo import make_conninfo

    parsed = urls.parse(url)
    params: dict[str, Any] = dict(parsed.query)
    for key, value in (("host", parsed.host), ("port", parsed.port), ("user", parsed.username),
                       ("password", parsed.password), ("dbname", parsed.database)):
        if value is not None and value != "":
            params[key] = value
    return make_conninfo("", **params)


def check_backend(spec: Spec, url: str | None) -> None:
    """Refuse, before anything runs, a URL that is not PostgreSQL: specs are PostgreSQL's."""
    if url is None:
        raise SuiteError(spec.source, 1, "isolationtester specs run on PostgreSQL: give --url postgresql://…")
    try:
        parsed = urls.parse(url)
    except ValueError as exc:
        raise SuiteError(spec.source, 1, str(exc)) from None
    if parsed.backend not in SPEAKS:
        raise SuiteError(spec.source, 1, f"isolationtester specs run on PostgreSQL, not {parsed.backend} "
                                         f"({parsed.display()}); give --url postgresql://…")


def run_spec(
    spec: Spec,
    url: str,
    *,
    out: TextIO | None = None,
    emit: Emit | None = None,
    max_step_wait: float = DEFAULT_MAX_STEP_WAIT,
) -> SpecRun:
    """Run `spec` on the PostgreSQL database at `url`; `out` gets isolationtester's output as it
    is printed, `emit` the events of playground.suites. Blocking."""
    check_backend(spec, url)
    tester = IsolationTester(spec, url, out=out, emit=emit, max_step_wait=max_step_wait)
    try:
        tester.connect()
        for perm in spec.all_permutations():
            tester.run_permutation(perm)
    except SpecFailed as exc:
        tester.result.error = str(exc)
        tester._stderr(str(exc))
    finally:
        tester.close()
    return tester.result


# -- PQprint ---------------------------------------------------------------------------------


def pqprint(names: list[bytes], rows: list[list[bytes | None]]) -> bytes:
    """A result set as libpq's PQprint prints it with header, align and `|` between fields
    (what isolationtester prints): widths in bytes; a column whose non-empty values all look
    numeric is right-aligned, header included; `(N rows)` and a blank line after."""
    nfields = len(names)
    widths = [len(name) for name in names]
    not_num = [False] * nfields
    for row in rows:
        for j, value in enumerate(row):
            if not value:
                continue
            if not not_num[j]:
                last = value[-1:]
                if (value.translate(None, b"0123456789.Ee -")
                        or value[:1] in (b"E", b"e") or not last.isdigit()):
                    not_num[j] = True
            widths[j] = max(widths[j], len(value))
    out = bytearray()
    border = b"+".join(b"-" * w for w in widths)
    out += b"|".join(_pad(name, widths[j], not_num[j]) for j, name in enumerate(names)) + b"\n"
    out += border + b"\n"
    for row in rows:
        out += b"|".join(_pad(value or b"", widths[j], not_num[j]) for j, value in enumerate(row)) + b"\n"
    out += f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n\n".encode()
    return bytes(out)


def _pad(value: bytes, width: int, left: bool) -> bytes:
    return value.ljust(width) if left else value.rjust(width)


# -- the tester -----------------------------------------------------------------------------


@dataclass
class _Conn:
    name: str
    pg: Any  # psycopg.pq.PGconn
    pid: int = 0
    active: PermutationStep | None = None
    total_notices: int = 0


@dataclass
class _Event:
    """The step event being written: what the tool printed since its step line."""

    fields: dict[str, Any]
    chunks: list[bytes] = field(default_factory=list)


class IsolationTester:
    """isolationtester's run loop, on libpq connections."""

    def __init__(self, spec: Spec, url: str, *, out: TextIO | None = None, emit: Emit | None = None,
                 max_step_wait: float = DEFAULT_MAX_STEP_WAIT) -> None:
        self.spec = spec
        self.url = url
        self.out = out
        self.emit = emit
        self.max_step_wait = max_step_wait
        self.result = SpecRun()
        self.conns: list[_Conn] = []
        self.any_new_notice = False
        self._printed: list[bytes] = []
        self._event: _Event | None = None
        self._wait_query = b""
        self._target_notices: dict[tuple[int, int], int] = {}  # (id of pstep, blocker index) → notices
        self.interrupted = False  # live mode's cancel: markers hold no step back (see `cancel_steps`)
        self._quiet = False  # while a permutation is abandoned nothing is printed

    # -- output ---------------------------------------------------------------------------

    def _print(self, data: bytes) -> None:
        if self._quiet:
            return
        self._printed.append(data)
        if self.out is not None:
            self.out.write(data.decode("utf-8", errors="replace"))
            self.out.flush()
        if self._event is not None:
            self._event.chunks.append(data)

    def _stderr(self, line: str) -> None:
        """What isolationtester writes to stderr, which its test driver files with the output."""
        self._print(line.encode() + b"\n")

    def _step_line(self, data: bytes, fields: dict[str, Any]) -> None:
        """Print a `step …` line; it starts a new event."""
        self._flush_event()
        self._print(data)
        self._event = _Event(fields)
        self.result.steps += fields["event"] == "step"

    def _flush_event(self) -> None:
        event, self._event = self._event, None
        if event is None or self.emit is None:
            return
        event.fields["output"] = b"".join(event.chunks).decode("utf-8", errors="replace")
        self.emit(event.fields)

    def _mark_error(self) -> None:
        if self._event is not None:
            self._event.fields["status"] = "error"

    # -- connections ----------------------------------------------------------------------

    def connect(self) -> None:
        """Open the control connection and one per session, name them, prepare the wait query."""
        from psycopg import pq

        for name in self.spec.unused_steps:
            self._stderr(f"unused step name: {name}")
        self._print(f"Parsed test spec with {len(self.spec.sessions)} sessions\n".encode())
        if self.emit is not None:
            self.emit({"event": "suite", "kind": "isolation", "source": self.spec.source,
                       "sessions": [s.name for s in self.spec.sessions]})
        conninfo = conninfo_for(self.url).encode()
        shown = urls.parse(self.url).display()
        for i, name in enumerate(["control connection"] + [s.name for s in self.spec.sessions]):
            pg = pq.PGconn.connect(conninfo)
            conn = _Conn(name, pg)
            self.conns.append(conn)
            if pg.status != pq.ConnStatus.OK:
                message = pg.get_error_message().strip()
                raise SpecFailed(f"Connection {i} to {shown} failed: {_masked(message, self.url)}")
            pg.notice_handler = self._notice_handler(conn if i else None)
            res = pg.exec_params(
                b"SELECT set_config('application_name',\n  current_setting('application_name') || '/' || $1,\n  false)",
                [name.encode()],
            )
            if res.status != pq.ExecStatus.TUPLES_OK:
                raise SpecFailed(f"setting of application name failed: {_error_text(pg, res)}")
            conn.pid = pg.backend_pid
        pids = ",".join(str(c.pid) for c in self.conns[1:])
        self._wait_query = f"SELECT pg_catalog.pg_isolation_test_session_is_blocked($1, '{{{pids}}}')".encode()
        res = self.conns[0].pg.prepare(b"isolationtester_waiting", self._wait_query)
        if res.status != pq.ExecStatus.COMMAND_OK:
            raise SpecFailed(f"prepare of lock wait query failed: {_error_text(self.conns[0].pg, res)}")

    def close(self) -> None:
        """Close every connection (the server rolls back what a session left open)."""
        self._flush_event()
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.pg.finish()
        self.conns = []
        self.result.output = b"".join(self._printed).decode("utf-8", errors="replace")

    def _notice_handler(self, conn: _Conn | None) -> Callable[[Any], None]:
        """What prints a session's NOTICEs, prefixed with its name; the control connection's go nowhere."""

        def notice(res: Any) -> None:
            if conn is None:
                return
            self._print(conn.name.encode() + b": " + (res.error_message or b""))
            conn.total_notices += 1
            self.any_new_notice = True

        return notice

    # -- a permutation --------------------------------------------------------------------

    def _setup_sql(self, conn: _Conn, sql: str, what: str) -> None:
        from psycopg import pq

        res = conn.pg.exec_(sql.encode())
        if res.status == pq.ExecStatus.TUPLES_OK:
            self._print(_table(res))
        elif res.status != pq.ExecStatus.COMMAND_OK:
            raise SpecFailed(f"{what} failed: {_error_text(conn.pg, res)}")

    def _teardown_sql(self, conn: _Conn, sql: str, what: str) -> None:
        from psycopg import pq

        res = conn.pg.exec_(sql.encode())
        if res.status == pq.ExecStatus.TUPLES_OK:
            self._print(_table(res))
        elif res.status != pq.ExecStatus.COMMAND_OK:
            self._stderr(f"{what} failed: {_error_text(conn.pg, res)}")  # not fatal, as in the tool

    def run_permutation(self, perm: Permutation) -> None:
        """Run one permutation: setup, the steps with their waits, teardown."""
        for _ in self.permutation_steps(perm):
            pass

    def permutation_steps(self, perm: Permutation) -> Generator[PermutationStep | None, None, None]:
        """Run one permutation a step at a time: yields None after the setup, then each step once
        it has been sent and has completed or been found waiting; the teardown runs when the
        caller asks for the step after the last (live mode steps through this)."""
        spec = self.spec
        self._flush_event()
        self.result.permutations += 1
        self._print(("\nstarting permutation:" + "".join(f" {p.name}" for p in perm.steps) + "\n").encode())
        if self.emit is not None:
            self.emit({"event": "permutation", "index": self.result.permutations,
                       "steps": [p.label() for p in perm.steps]})
        for sql in spec.setups:
            self._setup_sql(self.conns[0], sql, "setup")
        for i, session in enumerate(spec.sessions):
            if session.setup:
                self._setup_sql(self.conns[1 + i], session.setup, f"setup of session {session.name}")
        yield None
        waiting: list[PermutationStep] = []
        for pstep in perm.steps:
            step = spec.step(pstep.name)
            conn = self.conns[1 + step.session]
            if conn.active is not None:
                started = time.monotonic()
                while conn.active is not None:
                    old = conn.active
                    if not self._try_complete(old, retry=True):
                        waiting.remove(old)
                    waiting = self._try_complete_all(waiting, nonblock=True)
                    if conn.active is not None and time.monotonic() - started > 2 * self.max_step_wait:
                        active = " ".join(c.active.name for c in self.conns[1:] if c.active is not None)
                        raise SpecFailed(f"step {conn.active.name} timed out after {int(time.monotonic() - started)} "
                                         f"seconds; active steps are: {active}")
            try:
                conn.pg.send_query(step.sql.encode())
            except Exception as exc:
                raise SpecFailed(f"failed to send query for step {step.name}: {exc}") from None
            conn.active = pstep
            for k, blocker in enumerate(pstep.blockers):
                if blocker.kind == "notices":
                    assert blocker.step is not None
                    other = self.conns[1 + spec.step(blocker.step).session]
                    self._target_notices[(id(pstep), k)] = blocker.notices + other.total_notices
            must_wait = self._try_complete(pstep, nonblock=True)
            waiting = self._try_complete_all(waiting, nonblock=True)
            if must_wait:
                waiting.append(pstep)
            self._flush_event()
            yield pstep
        waiting = self._try_complete_all(waiting, nonblock=False)
        if waiting:
            raise SpecFailed("failed to complete permutation due to mutually-blocking steps")
        self._flush_event()
        self._run_teardowns()

    def _run_teardowns(self) -> None:
        """Each session's teardown, then the spec's, as at the end of a permutation."""
        for i, session in enumerate(self.spec.sessions):
            if session.teardown:
                self._teardown_sql(self.conns[1 + i], session.teardown, f"teardown of session {session.name}")
        if self.spec.teardown:
            self._teardown_sql(self.conns[0], self.spec.teardown, "teardown")

    def _try_complete_all(self, waiting: list[PermutationStep], nonblock: bool) -> list[PermutationStep]:
        """Check each waiting step for completion, again while one with blockers still waits and
        something (a completion, a NOTICE) happened meanwhile."""
        while True:
            self.any_new_notice = False
            before = len(waiting)
            have_blocker = False
            still: list[PermutationStep] = []
            for pstep in waiting:
                if self._try_complete(pstep, nonblock=nonblock, retry=True):
                    have_blocker = have_blocker or bool(pstep.blockers)
                    still.append(pstep)
            waiting = still
            if not (have_blocker and (len(waiting) < before or self.any_new_notice)):
                return waiting

    def _has_blocker(self, pstep: PermutationStep) -> bool:
        if self.interrupted:
            return False
        for k, blocker in enumerate(pstep.blockers):
            if blocker.kind == "once":
                continue
            assert blocker.step is not None
            other = self.conns[1 + self.spec.step(blocker.step).session]
            if blocker.kind == "step":
                if other.active is not None and other.active.name == blocker.step:
                    return True
            elif other.total_notices < self._target_notices.get((id(pstep), k), 0):
                return True
        return False

    def _is_blocked(self, conn: _Conn) -> bool:
        from psycopg import pq

        control = self.conns[0].pg
        res = control.exec_prepared(b"isolationtester_waiting", [str(conn.pid).encode()])
        if res.status != pq.ExecStatus.TUPLES_OK or res.ntuples != 1:
            raise SpecFailed(f"lock wait query failed: {_error_text(control, res)}")
        return (res.get_value(0, 0) or b"")[:1] == b"t"

    def _try_complete(self, pstep: PermutationStep, *, nonblock: bool = False, retry: bool = False) -> bool:
        """Wait for the step to complete or hit a blocking condition; True while it has not
        completed (isolationtester's try_complete_step)."""
        from psycopg import pq

        step = self.spec.step(pstep.name)
        conn = self.conns[1 + step.session]
        pg = conn.pg
        if not retry and any(b.kind == "once" for b in pstep.blockers):
            self._waiting_line(step)
            return True
        started = time.monotonic()
        canceled = False
        sock = pg.socket
        while pg.is_busy():
            ready, _, _ = select.select([sock], [], [], POLL)
            if ready:
                if not self._consume(pg):
                    break  # the connection is gone: its error is the step's result
                continue
            if nonblock and self._is_blocked(conn):
                # NOTICEs may have come while the server was asked.
                if not self._consume(pg) or not pg.is_busy():
                    break
                if not retry:
                    self._waiting_line(step)
                return True
            elapsed = time.monotonic() - started
            if elapsed > self.max_step_wait and not canceled:
                pg.get_cancel().cancel()
                self._print(f"isolationtester: canceling step {step.name} after {int(elapsed)} seconds\n".encode())
                canceled = True
            if elapsed > 2 * self.max_step_wait:
                raise SpecFailed(f"step {step.name} timed out after {int(elapsed)} seconds")
        if self._has_blocker(pstep):
            if not retry:
                self._waiting_line(step)
            return True
        session = self.spec.sessions[step.session].name
        if retry:
            self._step_line(f"step {step.name}: <... completed>\n".encode(),
                            {"event": "completed", "session": session, "name": step.name, "status": "ok"})
        else:
            self._step_line(f"step {step.name}: ".encode() + step.sql.encode() + b"\n",
                            {"event": "step", "session": session, "name": step.name, "sql": step.sql,
                             "line": step.line, "status": "ok"})
        while (res := pg.get_result()) is not None:
            status = res.status
            if status == pq.ExecStatus.TUPLES_OK:
                self._print(_table(res))
            elif status == pq.ExecStatus.FATAL_ERROR:
                self._mark_error()
                severity = res.error_field(pq.DiagnosticField.SEVERITY)
                primary = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
                if severity and primary:
                    self._print(severity + b":  " + primary + b"\n")
                else:
                    self._print((res.error_message or b"") + b"\n")
            elif status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
                self._print(f"unexpected result status: PGRES_{pq.ExecStatus(status).name}\n".encode())
        self._consume(pg)
        while (notify := pg.notifies()) is not None:
            sender = next((c.name for c in self.conns[1:] if c.pid == notify.be_pid), f"PID {notify.be_pid}")
            self._print(f"{session}: NOTIFY \"".encode() + notify.relname + b'" with payload "' + notify.extra
                        + f'" from {sender}\n'.encode())
            self._consume(pg)
        conn.active = None
        return False

    @staticmethod
    def _consume(pg: Any) -> bool:
        """Read what the server sent; False when the connection broke (what libpq read before is
        still there for get_result, e.g. the FATAL of a terminated session)."""
        from psycopg import OperationalError

        try:
            pg.consume_input()
        except OperationalError:
            return False
        return True

    def _waiting_line(self, step: Step) -> None:
        session = self.spec.sessions[step.session].name
        fields: dict[str, Any] = {"event": "step", "session": session, "name": step.name, "sql": step.sql,
                                  "line": step.line, "status": "waiting"}
        if self.emit is not None:
            fields["waiting_for"] = self.holders(self.conns[1 + step.session])
        self._step_line(f"step {step.name}: ".encode() + step.sql.encode() + b" <waiting ...>\n", fields)

    def holders(self, conn: _Conn) -> list[str]:
        """The sessions holding what `conn` waits for (pg_blocking_pids, read on the control
        connection): the lock graph's edges. Empty for a step held back only by a marker."""
        from psycopg import pq

        res = self.conns[0].pg.exec_params(b"SELECT unnest(pg_catalog.pg_blocking_pids($1::int))", [str(conn.pid).encode()])
        if res.status != pq.ExecStatus.TUPLES_OK:
            return []
        pids = {int(res.get_value(i, 0) or 0) for i in range(res.ntuples)}
        names = [c.name for c in self.conns[1:] if c.pid in pids]
        others = sorted(pid for pid in pids if pid not in {c.pid for c in self.conns})
        return names + [f"PID {pid}" for pid in others]


    # -- live mode (playground.suites.live) ------------------------------------------------

    def output_mark(self) -> int:
        """A mark of what has been printed so far, for `output_since`."""
        return len(self._printed)

    def output_since(self, mark: int) -> str:
        """What was printed after `output_mark()` returned `mark`."""
        return b"".join(self._printed[mark:]).decode("utf-8", errors="replace")

    def cancel_steps(self) -> list[str]:
        """Cancel every step still running or held back (any thread may call this): the server
        cancels a statement waiting on a lock, and blocker markers hold no step back until
        `interrupted` is cleared. The names of the sessions canceled."""
        self.interrupted = True
        names = []
        for conn in self.conns[1:]:
            if conn.active is not None:
                with contextlib.suppress(Exception):
                    conn.pg.get_cancel().cancel()  # PQcancel: safe from another thread
                names.append(conn.name)
        return names

    def abandon_permutation(self, patience: float = 10.0) -> None:
        """Leave a permutation half-way: cancel the steps still running and read their answers,
        roll every session back (releasing its advisory locks too), then run the teardowns, all
        without printing anything; the connections are ready for the next permutation."""
        from psycopg import pq

        self._flush_event()
        self._quiet = True
        try:
            for conn in self.conns[1:]:
                if conn.active is not None or conn.pg.is_busy():
                    with contextlib.suppress(Exception):
                        conn.pg.get_cancel().cancel()
            for conn in self.conns[1:]:
                self._drain(conn, patience)
                conn.active = None
            for conn in self.conns[1:]:
                if conn.pg.transaction_status != pq.TransactionStatus.IDLE:
                    conn.pg.exec_(b"ROLLBACK")
                conn.pg.exec_(b"SELECT pg_catalog.pg_advisory_unlock_all()")
            self._run_teardowns()
        finally:
            self._quiet = False
            self.interrupted = False

    def _drain(self, conn: _Conn, patience: float) -> None:
        """Wait until `conn`'s step has answered (canceling it again each second), and drop the answer."""
        pg = conn.pg
        started = last_cancel = time.monotonic()
        while pg.is_busy():
            ready, _, _ = select.select([pg.socket], [], [], 0.1)
            if ready and not self._consume(pg):
                break
            now = time.monotonic()
            if now - last_cancel > 1.0:
                pg.get_cancel().cancel()
                last_cancel = now
            if now - started > patience:
                raise SpecFailed(f"session {conn.name} did not stop its step within {patience:g} seconds")
        while pg.get_result() is not None:
            pass
        while pg.notifies() is not None:
            pass


def _table(res: Any) -> bytes:
    names = [res.fname(j) or b"" for j in range(res.nfields)]
    rows = [[res.get_value(i, j) for j in range(res.nfields)] for i in range(res.ntuples)]
    return pqprint(names, rows) if names else b""


def _error_text(pg: Any, res: Any) -> str:
    message = (res.error_message if res is not None else b"") or pg.get_error_message()
    return message.decode("utf-8", errors="replace").strip()


def _masked(message: str, url: str) -> str:
    password = urls.parse(url).password
    return message.replace(str(password), "***") if password else message
