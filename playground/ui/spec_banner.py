"""The banner of a spec or mysqltest file opened live: where the run stands, and the comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import Static

from playground.suites.expected import Comparison
from playground.suites.live import LiveSnapshot, Phase


def comparison_text(comparison: Comparison | None, kind: str = "isolation") -> Text:
    """✓ while the output matches its expected section (a spec's permutation) or file (a mysqltest
    run), else the first line that differs."""
    if comparison is None:
        return Text("no expected file beside the " + ("test" if kind == "mysqltest" else "spec"), style="dim")
    path = Path(comparison.expected_file)
    where = f"{path.parent.name}/{path.name}"  # expected/NAME.out: which file, without the machine's folders
    if not comparison.found:
        return Text(f"? {where} has no section for this permutation", style="yellow")
    if comparison.matches:
        whole = "the whole file, identical" if kind == "mysqltest" else "the whole section, identical"
        said = whole if comparison.complete else "matches so far"
        return Text.assemble(("✓ ", "bold green"), (f"{said}: {where}", "green"))
    return Text.assemble(("✗ ", "bold red"), (f"{where}:{comparison.line}: ", "red"),
                         ("expected ", "dim"), (f"{comparison.expected!r}", "bold"),
                         (" got ", "dim"), (f"{comparison.got!r}", "bold red"))


def banner_text(snap: LiveSnapshot) -> Text:
    """Three lines: spec · permutation · step; the comparison; what F10 does now (or the error)."""
    if snap.kind == "mysqltest":
        return mysqltest_banner_text(snap)
    text = Text.assemble((f" {snap.name} ", "bold reverse"), "  ", (f"step {snap.position}/{snap.total}", "bold"), "  ",
                         (f"permutation {snap.chosen + 1}/{len(snap.permutations)}: ", "bold"),
                         snap.permutations[snap.chosen], "\n")
    text.append_text(comparison_text(snap.comparison))
    text.append("\n")
    if snap.error:
        text.append(f"stopped: {snap.error} (ctrl+r restarts it)", style="bold red")
    elif snap.phase == Phase.FINISHED:
        more = snap.chosen + 1 < len(snap.permutations)
        text.append("done, teardown run" + (f" · F10 runs permutation {snap.chosen + 2}" if more else ""), style="bold")
    elif snap.position == snap.total:
        text.append("every step sent · F10 finishes the permutation (completions, teardown)", style="dim")
    else:
        text.append("F10 next step · ctrl+r restart · ctrl+p permutations · F9 cancel a stuck wait", style="dim")
    return text


def mysqltest_banner_text(snap: LiveSnapshot) -> Text:
    """Three lines: test · statements run · where the next one stands; the comparison; what F10 does now."""
    text = Text.assemble((f" {snap.name} ", "bold reverse"), "  ", (f"statement {snap.position}", "bold"))
    if snap.at:
        text.append(f"  next: {snap.at}", style="bold")
    text.append("\n")
    text.append_text(comparison_text(snap.comparison, snap.kind))
    text.append("\n")
    if snap.error:
        text.append(f"stopped: {snap.error} (ctrl+r restarts it)", style="bold red")
    elif snap.phase == Phase.FINISHED:
        text.append("done: connections closed, globals restored · ctrl+r runs it again", style="bold")
    elif not snap.at and snap.phase == Phase.RUNNING:
        text.append("a statement is under way · F9 kills it if it waits", style="dim")
    else:
        text.append("F10 next statement · ctrl+r restart · F9 kill a waiting statement", style="dim")
    return text


class SpecBanner(Static):
    """The spec's name, the permutation and the position in it, the live comparison."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("opening the spec…", markup=False, **kwargs)

    def show(self, snap: LiveSnapshot) -> None:
        """Draw the banner for `snap`."""
        self.update(banner_text(snap))

    @property
    def plain(self) -> str:
        """The banner as text (for tests)."""
        return str(self.render())
