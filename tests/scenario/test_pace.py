"""Every built-in scenario at a presenter's pace (issue 13 acceptance), on every backend and driver.

A room runs a demo at the presenter's speed, on whatever driver it has: a scenario whose words
hold only at script speed, or only with asyncpg, is wrong there. So each backend's scenarios run
at pace 0 and at pace 2. At pace 2 those of one backend run concurrently (each run works in a
schema or database of its own), so that pace 2 costs about the longest scenario, not the sum.
"""

from __future__ import annotations

import asyncio

import pytest

from playground.scenario import library
from playground.scenario.runner import RunReport, run_scenario
from tests.conftest import server_url

DRIVERS = {
    "sqlite": None,
    "postgresql+asyncpg": "postgresql",
    "postgresql+psycopg": "postgresql",
    "mysql": "mysql",
}


PACED_AT_ONCE = 16
"""Paced runs at once: each holds a connection per session and its observer's, and all of the
library at once would pass PostgreSQL's 100 connections (servers are shared with other runs)."""


def on_its_server(target: str):
    """A target as a test parameter; the runs on one server are one pytest-xdist group, run one
    after another: a paced run opens every scenario at once (two on PostgreSQL would pass its 100
    connections), and MariaDB's lock monitors starve each other when they poll at the same time."""
    server = DRIVERS[target]
    return pytest.param(target, marks=[pytest.mark.xdist_group(f"pace-{server}")] if server else [])


def url_for(target: str) -> str | None:
    """The URL a target runs on (None: a fresh SQLite file per run); a skip when its server is absent."""
    server = DRIVERS[target]
    if server is None:
        return None
    url = server_url(server)
    if "+" in target:  # one PostgreSQL driver: the server's URL with that driver
        from sqlalchemy.engine import make_url

        pytest.importorskip(target.partition("+")[2])
        url = make_url(url).set(drivername=target).render_as_string(hide_password=False)
    return url


def failures(report: RunReport) -> list[tuple[int, str, str]]:
    """(line, expectation, reason) of every expectation that did not hold."""
    return [(r.step.line, c.text, c.reason) for r in report.steps for c in r.checks if not c.passed]


@pytest.mark.slow
@pytest.mark.parametrize("pace", [0, 2])
@pytest.mark.parametrize("target", [on_its_server(t) for t in DRIVERS])
async def test_every_builtin_scenario_passes_at_pace(target, pace):
    url = url_for(target)
    backend = "sqlite" if url is None else DRIVERS[target]
    names = [n for n in library.names() if library.load(n).runs_on(backend)]
    assert names
    if pace:  # paced runs wait most of the time: run them side by side, a bounded number at once
        room = asyncio.Semaphore(PACED_AT_ONCE)

        async def paced(name: str) -> RunReport:
            async with room:
                return await run_scenario(library.load(name), url, states=False, pace=pace)

        reports = await asyncio.gather(*(paced(n) for n in names))
    else:  # unpaced ones are quick; one at a time keeps their lock monitors from polling MariaDB at once
        reports = [await run_scenario(library.load(n), url, states=False) for n in names]
    broken = {n: (r.error, failures(r)) for n, r in zip(names, reports, strict=False) if r.exit_code or r.skipped}
    assert not broken, broken


async def test_pace_waits_before_each_step_after_the_first(monkeypatch):
    import playground.scenario.runner as runner

    real_sleep = asyncio.sleep
    paused: list[float] = []

    async def recording_sleep(delay, *args, **kwargs):
        if delay == 7.25:  # the pace asked for; the engine's own short polls pass through
            paused.append(delay)
            delay = 0
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(runner.asyncio, "sleep", recording_sleep)
    scenario = library.load("dirty_read")
    report = await run_scenario(scenario, states=False, pace=7.25)
    assert report.exit_code == 0
    assert len(paused) == len(scenario.steps) - 1


def test_cli_takes_pace_in_seconds_and_refuses_a_bad_one():
    from playground.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["run", "deadlock", "--pace", "2"]).pace == 2.0
    assert parser.parse_args(["run", "deadlock"]).pace == 0.0
    for bad in ("-1", "soon", "nan", "inf"):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["run", "deadlock", "--pace", bad])
        assert exited.value.code == 2
