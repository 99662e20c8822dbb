"""One browser tab's process under `txplay web`: the app, confined, in a private folder it removes at exit.

Started by the server as `python -m playground.web.visitor FOLDER NAMESPACE` with the visitor's settings in
$TXPLAY_WEB_VISITOR (JSON). Everything the visitor makes lives in FOLDER: the SQLite database, the
input history, screenshots, any temporary file. Nothing they type reaches the server's output:
this process's stderr, which textual-serve copies there, goes nowhere.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from playground.web.options import VisitorConfig

SETTINGS_VARIABLE = "TXPLAY_WEB_VISITOR"
# A visitor's pane may loop or allocate without end (with --allow-python): a lower priority keeps
# the server and the other tabs responsive, and a memory cap ends that one process, not the machine.
NICENESS = 5
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space
# Seconds the app gets to roll back and drop the visitor's schema/database on a busy machine
# (the server waits a little longer for the process: playground.web.server.STOP_TIMEOUT).
CLOSE_TIMEOUT = 10.0


def command(folder: str, namespace: str) -> str:
    """The shell command textual-serve runs for a visitor whose private folder is `folder` (and whose
    schema/database on a server is `namespace`)."""
    import shlex

    return f"exec {shlex.quote(sys.executable)} -m playground.web.visitor {shlex.quote(folder)} {shlex.quote(namespace)}"


def settings_environment(config: VisitorConfig) -> str:
    """$TXPLAY_WEB_VISITOR's value for `config`."""
    return json.dumps(config.__dict__)


def main(argv: list[str]) -> int:
    """Run the app for one visitor; remove their folder however it ends."""
    folder = Path(argv[0])
    config = VisitorConfig(**json.loads(os.environ[SETTINGS_VARIABLE]))
    _limit_resources()
    _keep_inside(folder)
    code = 0
    try:
        code = _run_app(config, argv[1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.flush()
    os._exit(code)  # a driver thread stuck in a lock wait must not keep the process (and its tab's slot)


def _limit_resources() -> None:
    os.nice(NICENESS)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _keep_inside(folder: Path) -> None:
    """Temporary files, history and screenshots go into `folder`; stderr goes nowhere."""
    os.environ["TMPDIR"] = str(folder)
    os.environ["TXPLAY_DATA_DIR"] = str(folder / "data")
    tempfile.tempdir = str(folder)
    os.chdir(folder)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _run_app(config: VisitorConfig, namespace: str) -> int:
    from playground.engine import confinement
    from playground.ui.app import make_app

    confinement.confine(python_allowed=config.python_allowed)
    app = make_app(url=config.url, sessions=config.sessions, demo=True, models=config.models,
                   scenario=config.scenario, isolate=config.url is not None, namespace=namespace)
    app.quit_timeout = CLOSE_TIMEOUT  # the tab is gone already: nobody waits, and the namespace must go
    if app.scenario is not None:
        app.title = f"txplay — {app.scenario.title}"
    if not config.python_allowed:
        app.sub_title = "SQL and commands only"
    app.run()
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
