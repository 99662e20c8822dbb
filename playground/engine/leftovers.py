"""What a txplay process makes for one run, named so that a later one can tell it was left behind.

A run makes a temporary folder (the SQLite demo database) and, with `--url`, a schema or
database of its own. Both are removed when the run ends, also on SIGTERM, SIGHUP and SIGINT;
a process killed outright (SIGKILL, a crash, the machine) cannot remove them. So their names
carry the owning process id (and, for a schema on a server other machines may share, a tag of
this host): the next txplay to start removes those whose process is gone, and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import socket
import tempfile

FOLDER_PREFIX = "txplay-"
NAMESPACE_PREFIX = "txplay_"
# This host, in a few characters: the process ids in a schema's name are this host's.
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_FOLDER = re.compile(rf"^{FOLDER_PREFIX}(\d+)-")
_NAMESPACE = re.compile(rf"^{NAMESPACE_PREFIX}{HOST}_(\d+)_[0-9a-f]+$")
_swept: set[str] = set()  # the servers whose leftovers this process has looked for already


def make_folder() -> str:
    """A new temporary folder for this process's database, named with its process id."""
    return tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")


def namespace_name() -> str:
    """A new schema/database name for one run: this host, this process, a few random characters."""
    return f"{NAMESPACE_PREFIX}{HOST}_{os.getpid()}_{secrets.token_hex(3)}"


def process_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this host (one of another user's counts as running)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stale_namespace(name: str) -> bool:
    """Whether `name` is a run's schema/database made on this host by a process that is gone."""
    found = _NAMESPACE.match(name)
    return found is not None and process_gone(int(found.group(1)))


def remove_stale_folders(parent: str | None = None) -> list[str]:
    """Remove the temporary folders of txplay processes that are gone; returns their paths.

    Only this user's folders named by `make_folder`; a folder without a process id (an older
    txplay's) is left alone, since nothing says whether its process still runs.
    """
    parent = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        found = _FOLDER.match(entry.name)
        if found is None or not process_gone(int(found.group(1))):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def first_look(server: str) -> bool:
    """True the first time this process asks about `server`: leftovers are looked for once per process."""
    if server in _swept:
        return False
    _swept.add(server)
    return True
