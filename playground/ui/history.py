"""Input history, kept per database in the user's data folder, readable by its owner only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MAX_ENTRIES = 1000
SEPARATOR = "\x1e"  # record separator: entries may span several lines


def history_path(database_key: str, base: Path | None = None) -> Path:
    """The history file for one database (the key is the masked URL, or `demo`)."""
    if base is None:
        from platformdirs import user_data_dir

        base = Path(os.environ.get("TXPLAY_DATA_DIR") or user_data_dir("txplay"))
    digest = hashlib.sha256(database_key.encode()).hexdigest()[:16]
    return base / "history" / f"{digest}.txt"


class History:
    """Entries in order; up/down walk them; new entries are appended to the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[str] = []
        self.position = 0
        if path is not None and path.exists():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                self.entries = [e for e in text.split(SEPARATOR) if e.strip()][-MAX_ENTRIES:]
            except OSError:
                self.entries = []
        self.position = len(self.entries)

    def add(self, entry: str) -> None:
        """Remember an entry (not twice in a row) and write it out."""
        if not entry.strip():
            return
        if not self.entries or self.entries[-1] != entry:
            self.entries.append(entry)
            self._write(entry)
        self.position = len(self.entries)

    def _write(self, entry: str) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(entry + SEPARATOR)
            os.chmod(self.path, 0o600)
        except OSError:
            self.path = None  # a read-only home must not break the pane

    def previous(self) -> str | None:
        """The entry before the current position."""
        if self.position == 0:
            return None
        self.position -= 1
        return self.entries[self.position]

    def next(self) -> str | None:
        """The entry after the current position ('' past the end)."""
        if self.position >= len(self.entries):
            return None
        self.position += 1
        return self.entries[self.position] if self.position < len(self.entries) else ""
