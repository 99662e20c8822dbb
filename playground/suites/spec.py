"""PostgreSQL's isolationtester spec language: parsed into plain data, checked as the tool checks it.

A spec is global `setup` blocks (any number) and an optional `teardown`, then `session NAME`
blocks (an optional `setup`, one or more `step NAME { SQL }`, an optional `teardown`), then
optional `permutation` lines naming steps, each with optional blocker markers: `(*)`,
`(other_step)`, `(other_step notices N)`. `#` starts a comment; `"quoted"` identifiers may hold
anything but a newline (`""` is a quote). The SQL of a block is kept as written, with the spaces
and tabs (not newlines) right after `{` and before `}` trimmed, as isolationtester keeps it: the
step lines of its output show it that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playground.suites import SuiteError

KEYWORDS = ("notices", "permutation", "session", "setup", "step", "teardown")
_IDENT = re.compile(rb"[A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9$]*")
_SPACE = b" \t\r\f"


@dataclass(frozen=True)
class Step:
    """`step NAME { SQL }` of one session."""

    name: str
    sql: str
    session: int
    line: int


@dataclass
class Session:
    """`session NAME` with its setup, steps and teardown."""

    name: str
    line: int
    setup: str | None = None
    steps: list[Step] = field(default_factory=list)
    teardown: str | None = None


@dataclass(frozen=True)
class Blocker:
    """A marker after a permutation step: `*` (report it waiting once), a step that must finish
    first, or a number of NOTICEs that step's session must have sent first."""

    kind: str  # once | step | notices
    step: str | None = None
    notices: int = 0


@dataclass(frozen=True)
class PermutationStep:
    """One step of a permutation, with its blocker markers."""

    name: str
    blockers: tuple[Blocker, ...] = ()

    def label(self) -> str:
        """How the step is written in a permutation line."""
        if not self.blockers:
            return self.name
        marks = ["*" if b.kind == "once" else f"{b.step}" if b.kind == "step" else f"{b.step} notices {b.notices}"
                 for b in self.blockers]
        return f"{self.name}({','.join(marks)})"


@dataclass(frozen=True)
class Permutation:
    """A `permutation` line (or one generated interleaving)."""

    steps: tuple[PermutationStep, ...]
    line: int = 0


@dataclass
class Spec:
    """A parsed spec."""

    source: str
    setups: list[str] = field(default_factory=list)
    teardown: str | None = None
    sessions: list[Session] = field(default_factory=list)
    permutations: list[Permutation] = field(default_factory=list)
    unused_steps: list[str] = field(default_factory=list)  # isolationtester warns about these

    def step(self, name: str) -> Step:
        """The step called `name`."""
        for session in self.sessions:
            for step in session.steps:
                if step.name == name:
                    return step
        raise KeyError(name)

    def all_permutations(self) -> list[Permutation]:
        """The `permutation` lines, or else every interleaving of the sessions' steps, in the order
        isolationtester runs them (the first session's next step first, at every choice)."""
        if self.permutations:
            return list(self.permutations)
        out: list[Permutation] = []
        piles = [0] * len(self.sessions)

        def recurse(chosen: list[PermutationStep]) -> None:
            found = False
            for i, session in enumerate(self.sessions):
                if piles[i] < len(session.steps):
                    chosen.append(PermutationStep(session.steps[piles[i]].name))
                    piles[i] += 1
                    recurse(chosen)
                    piles[i] -= 1
                    chosen.pop()
                    found = True
            if not found:
                out.append(Permutation(tuple(chosen)))

        recurse([])
        return out


def load(path: str | Path) -> Spec:
    """Parse and check a spec file; SuiteError says where it is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(str(path), 0, f"cannot read: {exc.strerror or exc}") from None
    return parse(data, str(path))


def parse(data: bytes | str, source: str = "<spec>") -> Spec:
    """Parse and check spec text."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    spec = _Parser(data, source).parse()
    _check(spec)
    return spec


# -- the scanner ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # keyword | ident | sql | int | punct | eof
    value: str
    line: int


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")


def _tokens(data: bytes, source: str) -> list[_Token]:
    out: list[_Token] = []
    i, line, n = 0, 1, len(data)
    while i < n:
        c = data[i : i + 1]
        if c == b"\n":
            line += 1
            i += 1
        elif c in (b" ", b"\t", b"\r", b"\f"):
            i += 1
        elif c == b"#":
            while i < n and data[i : i + 1] not in (b"\n", b"\r"):
                i += 1
        elif c == b'"':
            start_line = line
            i += 1
            buf = bytearray()
            while True:
                if i >= n:
                    raise SuiteError(source, start_line, "unterminated quoted identifier")
                ch = data[i : i + 1]
                if ch == b"\n":
                    raise SuiteError(source, line, "unexpected newline in quoted identifier")
                if ch == b'"':
                    if data[i + 1 : i + 2] == b'"':
                        buf += b'"'
                        i += 2
                        continue
                    i += 1
                    break
                buf += ch
                i += 1
            out.append(_Token("ident", _decode(bytes(buf)), start_line))
        elif c == b"{":
            start_line = line
            i += 1
            while i < n and data[i : i + 1] in (b" ", b"\t", b"\r", b"\f"):
                i += 1
            end = data.find(b"}", i)
            if end < 0:
                raise SuiteError(source, start_line, "unterminated sql block")
            body = data[i:end]
            line += body.count(b"\n")
            out.append(_Token("sql", _decode(body.rstrip(_SPACE)), start_line))
            i = end + 1
        elif c.isdigit():
            j = i
            while j < n and data[j : j + 1].isdigit():
                j += 1
            out.append(_Token("int", data[i:j].decode(), line))
            i = j
        elif c in (b",", b"(", b")", b"*"):
            out.append(_Token("punct", c.decode(), line))
            i += 1
        else:
            match = _IDENT.match(data, i)
            if not match:
                shown = _decode(data[i : i + 1]) if data[i] < 0x80 else f"\\x{data[i]:02x}"
                raise SuiteError(source, line, f'syntax error: unexpected character "{shown}"')
            word = _decode(match.group())
            out.append(_Token("keyword" if word in KEYWORDS else "ident", word, line))
            i = match.end()
    out.append(_Token("eof", "", out[-1].line if out else 1))  # "at the end of the file" points at its last token
    return out


# -- the grammar ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, data: bytes, source: str) -> None:
        self.source = source
        self.tokens = _tokens(data, source)
        self.pos = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.token
        return tok.kind == kind and (value is None or tok.value == value)

    def take(self, kind: str, value: str | None = None, what: str = "") -> _Token:
        tok = self.token
        if not self.at(kind, value):
            shown = "the end of the file" if tok.kind == "eof" else f"{tok.value!r}" if tok.kind != "sql" else "a { SQL } block"
            raise SuiteError(self.source, tok.line, f"syntax error: expected {what or value or kind}, found {shown}")
        self.pos += 1
        return tok

    def parse(self) -> Spec:
        spec = Spec(self.source)
        while self.at("keyword", "setup"):
            self.pos += 1
            spec.setups.append(self.take("sql", what="a { SQL } block after setup").value)
        if self.at("keyword", "teardown"):
            self.pos += 1
            spec.teardown = self.take("sql", what="a { SQL } block after teardown").value
        if not self.at("keyword", "session"):
            tok = self.token
            found = "the end of the file" if tok.kind == "eof" else repr(tok.value)
            raise SuiteError(self.source, tok.line, f"syntax error: expected setup, teardown or session, found {found} "
                                                    "(a spec needs at least one session)")
        while self.at("keyword", "session"):
            spec.sessions.append(self._session(len(spec.sessions)))
        while self.at("keyword", "permutation"):
            line = self.token.line
            self.pos += 1
            steps = [self._permutation_step()]
            while self.at("ident"):
                steps.append(self._permutation_step())
            spec.permutations.append(Permutation(tuple(steps), line))
        if not self.at("eof"):
            tok = self.token
            raise SuiteError(self.source, tok.line, f"syntax error: expected session, step or permutation, found {tok.value!r}")
        return spec

    def _session(self, index: int) -> Session:
        line = self.take("keyword", "session").line
        session = Session(self.take("ident", what="a session name").value, line)
        if self.at("keyword", "setup"):
            self.pos += 1
            session.setup = self.take("sql", what="a { SQL } block after setup").value
        if not self.at("keyword", "step"):
            raise SuiteError(self.source, self.token.line, f"syntax error: session {session.name} has no step")
        while self.at("keyword", "step"):
            step_line = self.take("keyword", "step").line
            name = self.take("ident", what="a step name").value
            sql = self.take("sql", what=f"a {{ SQL }} block for step {name}").value
            session.steps.append(Step(name, sql, index, step_line))
        if self.at("keyword", "teardown"):
            self.pos += 1
            session.teardown = self.take("sql", what="a { SQL } block after teardown").value
        return session

    def _permutation_step(self) -> PermutationStep:
        name = self.take("ident", what="a step name").value
        if not self.at("punct", "("):
            return PermutationStep(name)
        self.pos += 1
        blockers = [self._blocker()]
        while self.at("punct", ","):
            self.pos += 1
            blockers.append(self._blocker())
        self.take("punct", ")", what="`)` after the blocker list")
        return PermutationStep(name, tuple(blockers))

    def _blocker(self) -> Blocker:
        if self.at("punct", "*"):
            self.pos += 1
            return Blocker("once")
        step = self.take("ident", what="`*` or a step name in the blocker list").value
        if self.at("keyword", "notices"):
            self.pos += 1
            return Blocker("notices", step, int(self.take("int", what="a number after notices").value))
        return Blocker("step", step)


def _check(spec: Spec) -> None:
    """What isolationtester checks before it connects: unique step names, permutations naming
    existing steps, blockers naming a step of the same permutation in another session."""
    seen: dict[str, Step] = {}
    for session in spec.sessions:
        for step in session.steps:
            if step.name in seen:
                raise SuiteError(spec.source, step.line, f"duplicate step name: {step.name}")
            seen[step.name] = step
    used: set[str] = set()
    for perm in spec.permutations:
        names = [p.name for p in perm.steps]
        for pstep in perm.steps:
            if pstep.name not in seen:
                raise SuiteError(spec.source, perm.line, f'undefined step "{pstep.name}" specified in permutation')
            used.add(pstep.name)
        for pstep in perm.steps:
            for blocker in pstep.blockers:
                if blocker.kind == "once":
                    continue
                assert blocker.step is not None
                if blocker.step not in names:
                    raise SuiteError(spec.source, perm.line, f'undefined blocking step "{blocker.step}" referenced in '
                                                             f'permutation step "{pstep.name}"')
                if seen[blocker.step].session == seen[pstep.name].session:
                    raise SuiteError(spec.source, perm.line, f'permutation step "{pstep.name}" cannot block on its own session')
    if spec.permutations:
        spec.unused_steps = sorted(name for name in seen if name not in used)
