"""The pytest plugin: `.txp` scenarios as test items (registered through the `pytest11` entry point).

Files named like `txp_files` (default `test_*.txp`) under the test paths are collected, or any
`.txp` file named on the command line; each is one item, which fails with the step, what was
expected, what happened and the transcript around it. `--txp-url URL` or the `txp_url` ini
option picks the database (default: a fresh temporary SQLite file per scenario).

Every pytest run loads this module, whether or not the project has a scenario: it imports
only pytest and the standard library, and the engine when a scenario is first collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playground.scenario.parser import Scenario
    from playground.testing import Transcript

DEFAULT_PATTERNS = ["test_*.txp"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--txp-url`, and the `txp_files` / `txp_url` ini options."""
    group = parser.getgroup("txplay", "txplay scenarios (.txp)")
    group.addoption("--txp-url", dest="txp_url", default=None, metavar="URL",
                    help="database the .txp scenarios run on (default: the txp_url ini option, else a fresh "
                         "temporary SQLite file per scenario)")
    parser.addini("txp_files", type="args", default=DEFAULT_PATTERNS,
                  help="glob patterns of the .txp file names collected as tests (default: test_*.txp)")
    parser.addini("txp_url", default="", help="database URL the .txp scenarios run on (--txp-url overrides it)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `txp` mark every scenario item carries (`-m txp`, `-m "not txp"`)."""
    config.addinivalue_line("markers", "txp: a txplay scenario (.txp file) collected as a test")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> TxpFile | None:
    """A `.txp` file matching `txp_files`, or one named on the command line."""
    if file_path.suffix != ".txp":
        return None
    if collects(file_path, parent.config.getini("txp_files")) or parent.session.isinitpath(file_path):
        return TxpFile.from_parent(parent, path=file_path)
    return None


def collects(path: Path, patterns: list[str]) -> bool:
    """Whether a file's name matches one of the `txp_files` patterns."""
    return path.suffix == ".txp" and any(fnmatch(path.name, pattern) for pattern in patterns)


def configured_url(config: pytest.Config) -> str | None:
    """The database of the run: `--txp-url`, else the `txp_url` ini option, else None (temporary SQLite)."""
    return config.getoption("txp_url") or config.getini("txp_url") or None


@pytest.fixture
def txp_url(request: pytest.FixtureRequest) -> str | None:
    """The database URL `--txp-url` or the `txp_url` ini option chose (None: a temporary SQLite file)."""
    return configured_url(request.config)


class TxpFile(pytest.File):
    """A scenario file: parsed at collection, so a malformed one is a collection error with its line."""

    def collect(self) -> Iterator[TxpItem]:
        """The file's one scenario, as one item named after the file."""
        from playground.scenario.parser import ScenarioError, parse_file

        try:
            scenario = parse_file(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        item = TxpItem.from_parent(self, name=self.path.stem, scenario=scenario)
        item.add_marker("txp")
        for name in scenario.markers:
            item.add_marker(name)
        yield item


class TxpItem(pytest.Item):
    """One scenario run on the configured database; its expectations are the test's assertions."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        """Run the scenario; skip where it does not run on this backend, fail where an expectation did not hold."""
        from playground.testing import run

        transcript = run(self.scenario, configured_url(self.config))
        if transcript.skipped:
            pytest.skip(transcript.skip_reason or "skipped")
        if not transcript.passed:
            raise ScenarioFailed(transcript)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        """The failure as the transcript tells it; an unreadable scenario or database in a sentence."""
        from playground.engine.backends import BackendError
        from playground.scenario.parser import ScenarioError

        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.transcript.failure
        if isinstance(excinfo.value, (ScenarioError, BackendError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """The header pytest prints above a failure: the scenario's title."""
        return self.path, 0, f"scenario: {self.scenario.title or self.name}"


class ScenarioFailed(Exception):
    """An expectation of the scenario did not hold (or the run failed): carries the transcript."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(transcript.failure)
        self.transcript = transcript
