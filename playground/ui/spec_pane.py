"""One session of a spec (or connection of a mysqltest file) opened live: its badge, the log of its
steps, the steps queued for it."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from playground.suites.live import LogEntry, SessionState, SessionView, StepStatus
from playground.ui import render

BADGE_STYLES = {
    SessionState.IDLE: "black on grey70",
    SessionState.IN_TRANSACTION: "black on green",
    SessionState.FAILED_TRANSACTION: "white on red",
    SessionState.ERROR: "white on red",
    SessionState.WAITING: "black on yellow",
    SessionState.SENT: "black on cyan",
    SessionState.CLOSED: "grey70 on grey23",
}


SHORT = {SessionState.IN_TRANSACTION: "in txn", SessionState.FAILED_TRANSACTION: "FAILED txn",
         SessionState.SENT: "sent", SessionState.CLOSED: "closed"}
LONG = {SessionState.SENT: "sent (waiting for reap)"}


def badge_text(view: SessionView, short: bool = False) -> str:
    """The badge's words: `idle`, `in transaction`, `error`, `waiting on s1`, `held back by a marker`,
    `waiting on a lock` (whose holder the server does not say), `sent (waiting for reap)`;
    `short`, for a narrow pane: `in txn`, `wait s1`, `wait marker`, `sent`."""
    if view.state == SessionState.WAITING:
        if short:
            return f"wait {','.join(view.waiting_for) or ('marker' if view.held_by_marker else 'lock')}"
        if view.waiting_for:
            return f"waiting on {', '.join(view.waiting_for)}"
        return "held back by a marker" if view.held_by_marker else "waiting on a lock"
    return SHORT.get(view.state, view.state.value) if short else LONG.get(view.state, view.state.value)


def header_text(view: SessionView, width: int) -> Text:
    """The pane's name and badge, the badge said short when the full one does not fit `width`."""
    for short in (False, True):
        text = Text.assemble((f" {view.name} ", "bold reverse"), " ",
                             (f" {badge_text(view, short)} ", BADGE_STYLES[view.state]))
        if text.cell_len <= width:
            break
    return text


def entry_lines(entry: LogEntry) -> list[RenderableType]:
    """A step as its log shows it: its name and SQL, the wait, what the tool printed for it."""
    mark = {StepStatus.OK: ("✓", "green"), StepStatus.ERROR: ("✗", "bold red"), StepStatus.WAITING: ("⏳", "bold yellow"),
            StepStatus.RUNNING: ("…", "bold cyan"), StepStatus.SENT: ("→", "bold cyan")}
    glyph, style = mark[entry.status]
    out: list[RenderableType] = [Text.assemble((f"{glyph} ", style), (entry.heading or f"step {entry.step}", "bold cyan"))]
    out.append(render.sql(entry.sql, None))
    holders = ", ".join(entry.waiting_for) or ("a marker" if entry.heading is None else "a lock")
    if entry.status == StepStatus.WAITING:
        out.append(Text(f"<waiting ...> on {holders}", style="bold yellow"))
    elif entry.status == StepStatus.RUNNING:
        out.append(Text("running…", style="cyan"))
    elif entry.status == StepStatus.SENT:
        out.append(Text("sent, waiting for reap" + (f" · lock wait on {holders}" if entry.waiting_for else ""), style="cyan"))
    elif entry.reaped:
        waited = f" (waited on {holders})" if entry.waited else ""
        out.append(Text(f"↳ reaped{waited}", style="yellow" if entry.waited else "cyan"))
    elif entry.waited:
        after = f" after {entry.completed_after}" if entry.completed_after else ""
        out.append(Text(f"↳ <... completed>{after} (waited on {holders})", style="yellow"))
    for line in entry.output.rstrip("\n").splitlines():
        error = line.startswith(("ERROR:", "FATAL:", "ERROR "))
        out.append(Text(line, style="red" if error else "default"))
    return out


class SpecPane(Vertical):
    """A session of the spec: header with its badge, its log, the steps queued for it."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(id=f"spec-pane-{name}", classes="spec-pane", **kwargs)
        self.session_name = name
        self.view: SessionView | None = None
        self._key: object = None
        self.header = Static(Text(f" {name} ", style="bold reverse"), classes="spec-pane-header")
        self.body = Static("", classes="spec-pane-body")
        self.scroll = VerticalScroll(self.body, classes="spec-pane-log")
        self.queued = Static("", classes="spec-pane-queued", markup=False)

    def compose(self):
        yield self.header
        yield self.scroll
        yield self.queued

    @property
    def badge(self) -> str:
        """The badge as drawn (for tests)."""
        return badge_text(self.view) if self.view is not None else ""

    @property
    def log_text(self) -> str:
        """The log as plain text (for tests)."""
        if self.view is None:
            return ""
        lines = []
        for entry in self.view.log:
            for part in entry_lines(entry):
                lines.append(part.plain if isinstance(part, Text) else entry.sql)
        return "\n".join(lines)

    def on_resize(self) -> None:
        if self.view is not None:
            self.header.update(header_text(self.view, self.header.size.width or 80))

    def show(self, view: SessionView, next_position: int | None) -> None:
        """Draw `view`; `next_position` is the position of the step F10 runs next."""
        if (view, next_position) == self._key:
            return
        self._key, self.view = (view, next_position), view
        self.header.update(header_text(view, self.header.size.width or 80))
        self.set_class(view.state == SessionState.WAITING, "-waiting")
        self.set_class(view.state in (SessionState.ERROR, SessionState.FAILED_TRANSACTION), "-failed")
        parts: list[RenderableType] = []
        for entry in view.log:
            parts.extend(entry_lines(entry))
        self.body.update(Group(*parts) if parts else Text("no step yet", style="dim"))
        self.scroll.scroll_end(animate=False)
        self.queued.display = bool(view.upcoming)
        if view.upcoming:
            first = view.upcoming[0]
            runs_next = first.position == next_position
            more = f"  (+{len(view.upcoming) - 1} more)" if len(view.upcoming) > 1 else ""
            label = ("▶ F10 runs: ", "bold reverse cyan") if runs_next else ("later: ", "dim cyan")
            sql = first.sql.splitlines()[0] if first.sql else ""
            self.queued.update(Text.assemble(label, " ", (f"{first.label}  ", "bold" if runs_next else "dim"),
                                             (sql, "cyan" if runs_next else "dim"), (more, "dim")))
