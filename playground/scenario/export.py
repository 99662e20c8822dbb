"""`txplay export`: a scenario as a self-contained Python test module, for those who prefer code.

The module holds the scenario's text and runs it with `playground.testing`: the `.txp` file is
no longer needed. The database is the pytest plugin's (`--txp-url`, `txp_url`, else SQLite).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playground.scenario.parser import Scenario

_TEMPLATE = '''\
"""{title}

Exported from {name} by `txplay export`; the scenario is written out below, so this module runs
by itself. The database is --txp-url (or the txp_url ini option), else a temporary SQLite file.
"""

from pathlib import Path

import pytest

from playground.testing import run

# Named in failures; its folder is where a relative `models:` file is found.
SOURCE = Path(__file__).parent / {source!r}

SCENARIO = {text}


def test_{function}(txp_url):
    transcript = run(SCENARIO, txp_url, source=SOURCE)
    if transcript.skipped:
        pytest.skip(transcript.skip_reason)
    transcript.assert_passed()
'''


def export_module(scenario: Scenario, text: str, out: Path | None = None) -> str:
    """The Python test module for `scenario`, whose file text is `text`, to be written at `out`
    (None: printed; the scenario's path is then kept relative to the current folder)."""
    source = Path(scenario.source)
    folder = out.parent if out is not None else Path.cwd()
    relative = os.path.relpath(source.resolve(), folder.resolve()) if source.exists() else source.name
    return _TEMPLATE.format(
        title=(scenario.title or source.stem).replace('"""', "'''"),
        name=source.name, source=Path(relative).as_posix(), text=_string(text),
        function=function_name(source.stem),
    )


def function_name(stem: str) -> str:
    """A test function's name from a file's: `test_lost-update` → `lost_update`."""
    name = re.sub(r"\W", "_", stem.removeprefix("test_")).strip("_")
    return name or "scenario"


def _string(text: str) -> str:
    """A triple-quoted literal that reads as the file did (backslashes and quotes escaped)."""
    body = text.replace("\\", "\\\\").replace("'''", "\\'\\'\\'")
    if not body.endswith("\n"):
        body += "\n"
    return "'''\\\n" + body + "'''"
