"""Expected output compared with a run as it goes (live mode): a spec's, permutation by permutation,
and a mysqltest file's `.result` as a whole.

isolationtester's expected files (`expected/NAME.out` beside `specs/NAME.spec`) hold one section a
permutation, each starting with its `starting permutation: …` line. Live mode compares the
section of the chosen permutation with what that permutation has printed so far: it matches
while what was printed is the start of the section; otherwise the first line that differs says
where. Trailing whitespace does not count, as with `--expected`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playground.suites.spec import Permutation

HEADER = "starting permutation:"
SECTION_ENDED = "(the expected section ends here)"
RUN_ENDED = "(nothing: the permutation ended)"


@dataclass(frozen=True)
class Section:
    """One permutation's part of an expected file: its lines, and where the first one stands."""

    first_line: int  # 1-based line number of the `starting permutation:` line in the file
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """How a permutation's output so far compares with its expected section.

    `matches` while the output is the start of the section; else `line` (in the expected file),
    `expected` and `got` give the first line that differs. `complete`: the permutation ended and
    its output is the whole section.
    """

    expected_file: str
    found: bool  # the file has a section for this permutation
    matches: bool = False
    complete: bool = False
    line: int | None = None
    expected: str | None = None
    got: str | None = None


def expected_file_for(source: str | Path) -> Path | None:
    """The expected file beside a suite file, None when there is none. A spec: `../expected/NAME.out`
    from `specs/NAME.spec`, else `NAME.out` in its own folder. A mysqltest file: `../r/NAME.result`
    from `t/NAME.test`, else `NAME.result` in its own folder."""
    path = Path(source)
    folder, suffix = ("r", ".result") if path.suffix == ".test" else ("expected", ".out")
    inside = "t" if path.suffix == ".test" else "specs"
    candidates = [path.parent.parent / folder / f"{path.stem}{suffix}"] if path.parent.name == inside else []
    candidates.append(path.with_suffix(suffix))
    return next((c for c in candidates if c.is_file()), None)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def sections(text: str) -> list[Section]:
    """The file's sections, in order (what comes before the first is not part of any)."""
    out: list[Section] = []
    start: int | None = None
    lines = text.splitlines()
    for number, line in enumerate([*lines, HEADER], 1):
        if line.startswith(HEADER):
            if start is not None:
                out.append(Section(start, tuple(_lines("\n".join(lines[start - 1 : number - 1])))))
            start = number
    return out


def header_of(perm: Permutation) -> str:
    """The `starting permutation:` line isolationtester prints for `perm` (step names, no markers)."""
    return HEADER + "".join(f" {p.name}" for p in perm.steps)


class ExpectedOutput:
    """An expected file, read once, and the section of each permutation of a spec."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.sections = sections(self.path.read_bytes().decode("utf-8", errors="replace"))

    def section(self, permutations: list[Permutation], index: int) -> Section | None:
        """The section of permutation `index`: the first with its header, or the k-th when the
        spec lists the same permutation k times."""
        header = header_of(permutations[index])
        repeat = sum(header_of(p) == header for p in permutations[:index])
        found = [s for s in self.sections if s.lines and s.lines[0] == header]
        return found[repeat] if repeat < len(found) else (found[0] if found else None)

    def compare(self, permutations: list[Permutation], index: int, output: str, finished: bool) -> Comparison:
        """Compare what permutation `index` printed so far (`output`, from its `starting
        permutation:` line on) with its section; `finished`: the permutation has ended."""
        section = self.section(permutations, index)
        if section is None:
            return Comparison(str(self.path), found=False)
        return compare_lines(str(self.path), list(section.lines), section.first_line, output, finished)


def compare_lines(expected_file: str, want: list[str], first_line: int, output: str, finished: bool) -> Comparison:
    """Compare the output so far with the expected lines `want`, the first of which is line
    `first_line` of `expected_file`; `finished`: nothing more will be printed."""
    got = _lines(output)
    while got and not got[0]:
        got.pop(0)
    for i, line in enumerate(got):
        if i >= len(want):
            return Comparison(expected_file, True, line=first_line + i, expected=SECTION_ENDED, got=line)
        if line != want[i]:
            return Comparison(expected_file, True, line=first_line + i, expected=want[i], got=line)
    if finished and len(got) < len(want):
        i = len(got)
        return Comparison(expected_file, True, line=first_line + i, expected=want[i], got=RUN_ENDED)
    return Comparison(expected_file, True, matches=True, complete=finished)


class ExpectedResult:
    """A mysqltest `.result` file, compared as a whole with what a run printed so far."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lines = _lines(self.path.read_bytes().decode("utf-8", "surrogateescape"))

    def compare(self, output: str, finished: bool) -> Comparison:
        """✓ while `output` is the start of the file (the whole of it once `finished`)."""
        return compare_lines(str(self.path), self.lines, 1, output, finished)
