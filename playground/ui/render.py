"""Snapshot → Rich renderables, shared by the panels and the step log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from playground.engine.snapshot import (
    EXPIRED,
    PANELS,
    UNLOADED,
    LockWait,
    ObjectRow,
    Opaque,
    SessionSnapshot,
    StepResult,
    TransactionRow,
    shown,
)
from playground.engine.states import Panel, SessionStatus, TransactionState

if TYPE_CHECKING:
    from rich.syntax import Syntax

MAX_TABLE_ROWS = 20
PANEL_STYLES = {
    Panel.TRANSIENT: "dim",
    Panel.PENDING: "green",
    Panel.PERSISTENT: "cyan",
    Panel.DELETED: "red",
    Panel.DETACHED: "yellow",
    Panel.EXPUNGED: "magenta",
}
BADGE_STYLES = {
    SessionStatus.IDLE: "black on grey70",
    SessionStatus.ACTIVE: "black on green",
    SessionStatus.FAILED: "white on red",
    SessionStatus.WAITING: "black on yellow",
}
RUNNING_STYLE = "black on dark_cyan"
NOTICE_STYLE = "cyan"


def badge(snapshot: SessionSnapshot, text: str | None = None) -> Text:
    """The status badge of a pane header (`text`: a shorter wording of it)."""
    style = RUNNING_STYLE if snapshot.running is not None else BADGE_STYLES.get(snapshot.status, "reverse")
    return Text(f" {snapshot.badge if text is None else text} ", style=style)


def short_badge(snapshot: SessionSnapshot, waits: tuple[LockWait, ...] = (), now: float = 0.0) -> str:
    """The badge in a few cells, for narrow panes: `idle`, `in txn`, `sp×2`, `FAILED`, `wait 3.2s A`."""
    if snapshot.status == SessionStatus.WAITING:
        mine = [w for w in waits if w.waiter == snapshot.name]
        if not mine:
            return f"wait {','.join(snapshot.waiting_for)}".strip()
        return f"wait {max(0.0, now - mine[0].since):.1f}s {','.join(mine[0].holders) or '?'}"
    if snapshot.running is not None:
        return f"run {snapshot.running:.1f}s"
    if snapshot.status == SessionStatus.FAILED:
        return "FAILED"
    if snapshot.status == SessionStatus.IDLE:
        return "idle"
    depth = sum(1 for row in snapshot.transactions if row.nested)
    return f"sp×{depth}" if depth else "in txn"


def header(snapshot: SessionSnapshot, width: int | None = None, waits: tuple[LockWait, ...] = (), now: float = 0.0) -> Text:
    """`A  sqlite · SERIALIZABLE  [badge]`, shortened to fit `width`: the badge goes last of all.

    Narrower, the backend goes first, then the isolation level, then the badge is said short.
    """
    name = Text(f" {snapshot.name} ", style="bold reverse")
    mode = " · async" if snapshot.mode == "async" else ""
    backend = f"{snapshot.backend} ({snapshot.backend_note})" if snapshot.backend_note else snapshot.backend
    details = [f"{backend} · {snapshot.isolation}{mode}", f"{snapshot.isolation}{mode}", ""]
    short = short_badge(snapshot, waits, now)
    badges = [None, short] if short != snapshot.badge else [None]
    candidates = [(d, b) for b in badges for d in details]
    for detail, wording in candidates:
        text = name.copy()
        if detail:
            text.append(" ")
            text.append(detail, style="dim")
        text.append("  ")
        text.append_text(badge(snapshot, wording))
        if width is None or text.cell_len <= width:
            return text
    return text  # the shortest of all: cut by the widget if it still does not fit


def notice(message: str) -> Text:
    """A step message that explains a surprise (an engine `Notice`), marked as such."""
    return Text.assemble(("» ", f"bold {NOTICE_STYLE}"), (message, NOTICE_STYLE))


def object_line(row: ObjectRow) -> Text:
    """One object: class, identity, names, attributes (dirty ones old → new, expired marked)."""
    text = Text()
    ident = ",".join(map(str, row.identity)) if row.identity is not None else "?"
    text.append(f"{row.cls}({ident})", style="bold")
    if row.names:
        text.append(f" {', '.join(row.names)}", style="italic")
    if row.state != row.panel:
        text.append(f" [{row.state}]", style="dim")
    modified = {name: (old, new) for name, old, new in row.modified}
    for name, value in zip(row.columns, row.values, strict=False):
        text.append(" ")
        if name in modified:
            old, new = modified[name]
            text.append(f"{name}: ", style="bold yellow")
            text.append(old, style="strike dim")
            text.append(" → ")
            text.append(new, style="bold yellow")
        elif value is EXPIRED or value is UNLOADED:
            text.append(f"{name}=", style="dim")
            text.append("⟳ expired" if value is EXPIRED else "… not loaded", style="dim italic")
        else:
            text.append(f"{name}=", style="dim")
            text.append(shown(value))
    if row.cause:
        text.append(f"  ← {row.cause}", style="magenta")
    return text


def vanished_line(vanished: tuple[str, ...]) -> Text:
    """One line: which objects just left the panel because nothing referenced them, and how to keep one."""
    example = vanished[-1]
    cls, _, ident = example.partition("(")
    ident = ident.rstrip(")")
    keep = f"u = session.get({cls}, {ident})" if ident not in ("", "?") else "u = ..."
    text = Text.assemble(
        ("gone, unreferenced: ", "bold dim"), (", ".join(vanished), "dim"), (" · keep one: ", "dim"), (keep, NOTICE_STYLE),
    )
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def object_lines(rows: Iterable[ObjectRow]) -> list[Text | ObjectRow]:
    """The Objects panel's lines: a heading per panel with its count, then its rows (unrendered)."""
    groups: dict[Panel, list[ObjectRow]] = {name: [] for name in PANELS}
    for row in rows:
        groups.setdefault(row.panel, []).append(row)
    lines: list[Text | ObjectRow] = []
    for name, members in groups.items():
        if members:
            lines.append(Text(f"{name} ({len(members)})", style=f"bold {PANEL_STYLES.get(name, '')}"))
            lines.extend(members)
    return lines or [Text("no objects", style="dim")]


def transactions(rows: tuple[TransactionRow, ...], unsent: tuple[TransactionRow, ...] = ()) -> RenderableType:
    """The Transactions panel: the root and its savepoints as a tree, each savepoint with its
    name on the database; under the root, the savepoints that ended without ever being sent."""
    if not rows:
        return Text("no transaction", style="dim")
    tree: Tree | None = None
    node: Tree | None = None
    for row in rows:
        label = Text(row.name, style="bold")
        if row.sql_name and row.sql_name != row.name:
            label.append(f" ({row.sql_name})", style="dim")
        label.append(f" {row.origin.lower()}", style="dim")
        label.append(f" {row.state}", style="green" if row.state == TransactionState.ACTIVE else "bold red")
        if row.nested:
            if not row.emitted:
                label.append("  SAVEPOINT not sent yet", style="yellow")
        else:
            label.append("  BEGIN sent" if row.emitted else "  not begun on the database yet", style="dim" if row.emitted else "yellow")
        if tree is None:
            tree = node = Tree(label, guide_style="dim")
        else:
            assert node is not None
            node = node.add(label)
    assert tree is not None
    for row in unsent:
        tree.add(Text.assemble((row.name, "dim strike"), (f" {row.state} · never sent", "dim italic")))
    return tree


def locks(snapshot: SessionSnapshot, waits: tuple[LockWait, ...], now: float) -> RenderableType:
    """What this session waits for and whom it blocks."""
    lines: list[Text] = []
    for wait in waits:
        if wait.waiter == snapshot.name:
            elapsed = now - wait.since
            line = Text(f"waits {elapsed:.1f} s for {', '.join(wait.holders)}", style="bold yellow")
            if wait.timeout is not None:
                line.append(f" (gives up in {max(0.0, wait.timeout - elapsed):.1f} s)", style="yellow")
            lines.append(line)
            lines.append(Text(f"  {wait.lock}", style="dim"))
    if snapshot.blocking:
        lines.append(Text(f"blocks {', '.join(snapshot.blocking)}", style="bold red"))
    if not lines:
        lines.append(Text("no lock waits", style="dim"))
    return Group(*lines)


def lock_graph(waits: tuple[LockWait, ...], now: float, missing: str | None = None) -> RenderableType:
    """Every waiter → holder edge; `missing` says why there can be none (no lock monitor)."""
    if not waits:
        return Text(f"{missing}: waits are not shown" if missing else "no session waits for another", style="dim")
    table = Table(box=None, show_header=True, header_style="bold", expand=False)
    for column in ("waiter", "", "holder", "lock", "for", "statement"):
        table.add_column(column)
    for wait in waits:
        table.add_row(wait.waiter, "→", ", ".join(wait.holders) or "?", wait.lock, f"{now - wait.since:.1f} s", _cut(wait.statement, 50))
    return table


def _syntax(text: str, lexer: str) -> Syntax:
    """`text` highlighted as `lexer` (SQL or Python)."""
    # Imported at the first step, not at start: Pygments costs as much as a tenth of the first paint.
    from rich.syntax import Syntax

    return Syntax(text, lexer, theme="ansi_dark", word_wrap=True, background_color="default")


def sql(statement: str, parameters: str | None) -> RenderableType:
    """A statement, highlighted, with its parameters."""
    body = _syntax(statement, "sql")
    if parameters:
        return Group(body, Text(f"  {parameters}", style="dim"))
    return body


def cell_text(value: Any) -> str:
    """A result cell as drawn: a string as it is, a cell that is not plain data by its repr, else the repr."""
    if isinstance(value, Opaque):
        return value.repr
    return value if isinstance(value, str) else repr(value)


def result_table(columns: tuple[str, ...] | None, rows: tuple[tuple[Any, ...], ...], omitted: int) -> RenderableType:
    """Result rows as a small table, capped, with a count of what was left out."""
    table = Table(show_edge=False, box=None, header_style="bold", pad_edge=False)
    for column in columns or [f"{i}" for i in range(len(rows[0]) if rows else 0)]:
        table.add_column(str(column))
    for row in rows[:MAX_TABLE_ROWS]:
        table.add_row(*(_cut(cell_text(v), 40) for v in row))
    more = max(0, len(rows) - MAX_TABLE_ROWS) + omitted
    if not rows:
        return Text("(no rows)", style="dim")
    if more:
        return Group(table, Text(f"… {more} more row(s) not shown", style="dim"))
    return table


def step_result(result: StepResult, *, show_input: bool = True) -> list[RenderableType]:
    """Everything the log shows for a finished step."""
    out: list[RenderableType] = []
    if show_input:
        out.append(step_input(result.index, result.input, result.kind))
    for entry in result.sql:
        out.append(sql(entry.statement, entry.parameters))
    if result.output:
        out.append(Text(result.output.rstrip("\n")))
    if result.rows is not None:
        out.append(result_table(result.columns, result.rows, result.rows_omitted))
    if result.value is not None and result.rows is None:
        out.append(Text(f"→ {result.value}", style="bold"))
    for message in result.messages:
        out.append(notice(message) if getattr(message, "topic", None) else Text(message, style="italic"))
    if result.warning:
        out.append(Text(f"⚠ {result.warning}", style="bold yellow"))
    if result.error is not None:
        out.append(Text(f"✗ {result.error.type}: {result.error.message}", style="bold red"))
        if result.error.hint:
            out.append(Text(f"  hint: {result.error.hint}", style="yellow"))
    return out


def step_input(index: int, text: str, kind: str) -> RenderableType:
    """The echoed input of a step."""
    prompt = Text(f"[{index}]› ", style="bold blue")
    if kind in ("sql", "python"):
        body = _syntax(text, "sql" if kind == "sql" else "python")
        if "\n" in text:
            return Group(prompt, body)
        highlighted = body.highlight(text)
        highlighted.rstrip()
        return Text.assemble(prompt, highlighted)
    return Text.assemble(prompt, (text, "bold"))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
