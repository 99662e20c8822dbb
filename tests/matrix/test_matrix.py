"""The isolation matrix: each rule decided from what the sessions saw, checked against the run."""

from __future__ import annotations

import json

import pytest

from playground.cli import main
from playground.engine.snapshot import ErrorInfo, StepResult
from playground.engine.states import StepKind, StepStatus
from playground.matrix import SUITE, Observed, decide_g0, decide_g1a, decide_p4, error_code, run_cell
from tests.conftest import server_url


def _result(status: str, **fields) -> StepResult:
    return StepResult(index=0, session="T1", input="", kind=StepKind.SQL, status=StepStatus(status), **fields)


def _ok(rows=None) -> Observed:
    return Observed(_result("ok", rows=rows), False)


def _err(message: str, sqlstate: str | None = None, waited: bool = False) -> Observed:
    return Observed(_result("error", error=ErrorInfo("OperationalError", message, sqlstate=sqlstate)), waited)


def test_each_rule_reads_the_observations_not_the_database():
    # G0: the second writer waited, and the rows came from one transaction.
    steps = [_ok()] * 3 + [Observed(_result("ok"), True)] + [_ok()] * 4 + [_ok([(1, 12), (2, 22)])]
    assert (decide_g0(steps).prevented, decide_g0(steps).how) == (True, "wait")
    steps[3] = _ok()
    assert decide_g0(steps).how == "occurs"
    # G1a: reading the rolled-back 101 is the anomaly, whoever the database is.
    g1a = [_ok(), _ok(), _ok(), _ok([(101,)]), _ok(), _ok([(10,)]), _ok()]
    assert decide_g1a(g1a).how == "occurs"
    g1a[3] = _ok([(10,)])
    assert decide_g1a(g1a).how == "snapshot"
    # P4: a refused write prevents it, with the code the database gave.
    p4 = [_ok()] * 5 + [_err("(1213, 'Deadlock found when trying to get lock')", "40001", waited=True)] + [_ok()] * 3
    verdict = decide_p4(p4)
    assert (verdict.prevented, verdict.how, verdict.error_code) == (True, "error", "1213")
    p4[5] = _ok()
    assert decide_p4(p4).how == "occurs"


def test_error_codes_as_each_database_gives_them():
    assert error_code(_result("error", error=ErrorInfo("DBAPIError", "could not serialize", sqlstate="40001"))) == "40001"
    assert error_code(_result("error", error=ErrorInfo("OperationalError", "database is locked"))) == "SQLITE_BUSY"


CELLS = [
    # (backend, level, test, prevented, how, what the run must have shown)
    ("sqlite", "SERIALIZABLE", "G1a", True, "snapshot", lambda s: s[3].rows == [(10,)]),
    ("sqlite", "SERIALIZABLE", "P4", True, "error", lambda s: s[5].error),
    ("postgresql", "READ COMMITTED", "G0", True, "wait", lambda s: s[3].waited and not s[3].error),
    ("postgresql", "READ COMMITTED", "P4", False, "occurs", lambda s: s[8].rows == [(11,)]),
    ("postgresql", "REPEATABLE READ", "P4", True, "error", lambda s: s[5].error),
    ("mysql", "READ UNCOMMITTED", "G1a", False, "occurs", lambda s: s[3].rows == [(101,)]),
    ("mysql", "REPEATABLE READ", "G1a", True, "snapshot", lambda s: s[3].rows == [(10,)]),
    ("mysql", "REPEATABLE READ", "P4", False, "occurs", lambda s: s[8].rows == [(11,)]),
    ("sqlite", "SERIALIZABLE", "G1b", True, "snapshot", lambda s: s[3].rows == [(10,)]),
    ("mysql", "READ UNCOMMITTED", "G1b", False, "occurs", lambda s: s[3].rows == [(101,)]),
    ("mysql", "READ UNCOMMITTED", "G1c", False, "occurs", lambda s: s[4].rows == [(22,)] and s[5].rows == [(11,)]),
    ("postgresql", "READ COMMITTED", "G1c", True, "snapshot", lambda s: s[4].rows == [(20,)] and s[5].rows == [(10,)]),
    ("postgresql", "READ COMMITTED", "G-single", False, "occurs", lambda s: s[2].rows == [(10,)] and s[6].rows == [(18,)]),
    ("postgresql", "REPEATABLE READ", "G-single", True, "snapshot", lambda s: s[6].rows == [(20,)]),
    ("mysql", "REPEATABLE READ", "G-single", True, "snapshot", lambda s: s[6].rows == [(20,)]),
    ("postgresql", "REPEATABLE READ", "G2-item", False, "occurs",
     lambda s: not s[6].error and not s[7].error and s[8].rows == [(1, 11), (2, 21)]),
    ("postgresql", "SERIALIZABLE", "G2-item", True, "error", lambda s: s[7].error),
]


@pytest.mark.parametrize(("backend", "level", "name", "prevented", "how", "shown"), CELLS,
                         ids=[f"{b}-{lv}-{n}" for b, lv, n, *_ in CELLS])
async def test_a_cell_is_what_its_run_shows(backend, level, name, prevented, how, shown):
    from dataclasses import replace

    from playground.matrix import observations
    from playground.scenario import library
    from playground.scenario.runner import run_scenario

    url = None if backend == "sqlite" else server_url(backend)
    test = next(t for t in SUITE if t.name == name)
    report = await run_scenario(replace(library.load(test.scenario), isolation=level), url, states=False)
    steps = observations(report)
    assert shown(steps), [(s.rows, s.waited, s.result.error if s.result else None) for s in steps]
    verdict = test.decide(steps)
    assert (verdict.prevented, verdict.how) == (prevented, how), verdict
    assert (await run_cell(test, level, url)).how == how  # the matrix's own path gives the same


def test_the_cli_prints_a_json_line_a_cell_and_a_summary(capsys):
    assert main(["matrix", "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cells, summary = lines[:-1], lines[-1]
    assert {c["journal_mode"] for c in cells} == {"delete", "wal"}
    assert len(cells) == len(SUITE) * summary["columns"]
    assert set(cells[0]) >= {"backend", "server_version", "level", "test", "anomaly", "prevented", "how", "error_code",
                             "scenario"}
    assert {k: summary[k] for k in ("event", "cells", "problems", "interrupted", "exit")} == {
        "event": "summary", "cells": len(cells), "problems": [], "interrupted": False, "exit": 0}


def test_a_database_that_cannot_be_opened_is_said_and_the_others_still_run(capsys, tmp_path):
    assert main(["matrix", "--url", "postgresql://nobody@127.0.0.1:1/x", "--url", f"sqlite:///{tmp_path}/m.db",
                 "--format", "markdown", "--test", "G1a"]) == 1
    out = capsys.readouterr().out
    assert "- postgresql+asyncpg://nobody@127.0.0.1:1/x: ConnectionRefusedError" in out
    assert "| G1a | aborted read |" in out


def test_a_url_without_a_dialect_is_refused(capsys):
    assert main(["matrix", "--url", "nosuch://x"]) == 2
    assert "no dialect 'nosuch'" in capsys.readouterr().err


def test_a_cell_replays_with_txplay_run_isolation_on_mysql(capsys):
    """A cell's JSON names its scenario; `txplay run SCENARIO --isolation LEVEL` shows its evidence."""
    assert main(["run", "matrix_g1a", "--isolation", "read uncommitted", "--url", server_url("mysql"),
                 "--format", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    read = [e for e in events if e["event"] == "step"][3]
    assert read["input"] == "select value from test where id = 1" and read["rows"] == [[101]]


def test_a_level_the_dialect_does_not_offer_is_refused(capsys):
    assert main(["run", "matrix_g0", "--isolation", "snapshotty"]) == 2
    assert "Invalid value 'SNAPSHOTTY' for isolation_level" in capsys.readouterr().err
