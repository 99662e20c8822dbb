"""The eight later tests of the suite (OTV … G2-two-edges): each cell's decision checked against
the observations it rests on, on SQLite (both journal modes), PostgreSQL and MariaDB; and each
rule on hand-made runs of the shapes this machine cannot produce."""

from __future__ import annotations

from dataclasses import replace

import pytest

from playground.engine.snapshot import ErrorInfo, StepResult
from playground.engine.states import StepKind, StepStatus
from playground.matrix import SUITE, Observed, observations
from playground.matrix.model import Unclassifiable
from tests.conftest import server_url

TESTS = {test.name: test for test in SUITE}

CELLS = [
    # (backend, level, test, prevented, how, what the run must have shown)
    ("sqlite", "SERIALIZABLE", "OTV", True, "wait",
     lambda s: s[7].rows == s[10].rows == [(1, 11), (2, 19)] and s[9].waited),
    ("wal", "SERIALIZABLE", "OTV", True, "snapshot", lambda s: s[7].rows == s[10].rows == [(1, 11), (2, 19)]),
    ("postgresql", "READ COMMITTED", "OTV", True, "snapshot",
     lambda s: s[7].rows == [(1, 11), (2, 19)] and s[10].rows == [(1, 12), (2, 18)] and not s[7].waited),
    ("postgresql", "REPEATABLE READ", "OTV", True, "error", lambda s: s[5].waited and s[5].error),
    ("mysql", "READ UNCOMMITTED", "OTV", False, "occurs", lambda s: s[7].rows == [(1, 12), (2, 19)]),
    ("mysql", "SERIALIZABLE", "OTV", True, "wait", lambda s: s[7].waited and s[7].rows == [(1, 12), (2, 18)]),

    ("sqlite", "SERIALIZABLE", "PMP", True, "wait", lambda s: s[4].waited and s[5].rows == []),
    ("wal", "SERIALIZABLE", "PMP", True, "snapshot", lambda s: not s[4].waited and s[5].rows == []),
    ("postgresql", "READ COMMITTED", "PMP", False, "occurs", lambda s: s[2].rows == [] and s[5].rows == [(3, 30)]),
    ("postgresql", "REPEATABLE READ", "PMP", True, "snapshot", lambda s: s[5].rows == []),
    ("mysql", "READ COMMITTED", "PMP", False, "occurs", lambda s: s[5].rows == [(3, 30)]),
    ("mysql", "REPEATABLE READ", "PMP", True, "snapshot", lambda s: s[5].rows == []),
    ("mysql", "SERIALIZABLE", "PMP", True, "error", lambda s: s[3].waited and s[3].error),

    ("sqlite", "SERIALIZABLE", "PMP-write", True, "error", lambda s: s[4].error),
    ("wal", "SERIALIZABLE", "PMP-write", True, "error", lambda s: s[4].error),
    ("postgresql", "READ COMMITTED", "PMP-write", False, "occurs",
     lambda s: s[4].waited and s[6].rows == [(1, 20), (2, 30)]),
    ("postgresql", "REPEATABLE READ", "PMP-write", True, "error", lambda s: s[4].waited and s[4].error),
    ("mysql", "READ COMMITTED", "PMP-write", False, "occurs", lambda s: s[2].rows == [(2, 20)] and s[6].rows == [(2, 30)]),
    ("mysql", "REPEATABLE READ", "PMP-write", False, "occurs", lambda s: s[6].rows == [(2, 20)]),
    ("mysql", "SERIALIZABLE", "PMP-write", True, "error", lambda s: s[3].waited and s[3].error),

    ("sqlite", "SERIALIZABLE", "G-single-dependencies", True, "wait", lambda s: s[4].waited and s[5].rows == []),
    ("wal", "SERIALIZABLE", "G-single-dependencies", True, "snapshot", lambda s: s[5].rows == []),
    ("postgresql", "READ COMMITTED", "G-single-dependencies", False, "occurs", lambda s: s[5].rows == [(1, 12)]),
    ("postgresql", "REPEATABLE READ", "G-single-dependencies", True, "snapshot", lambda s: s[5].rows == []),
    ("mysql", "REPEATABLE READ", "G-single-dependencies", True, "snapshot", lambda s: s[5].rows == []),
    ("mysql", "SERIALIZABLE", "G-single-dependencies", True, "error", lambda s: s[3].waited and s[3].error),

    ("sqlite", "SERIALIZABLE", "G-single-write-1", True, "error", lambda s: s[6].error),
    ("wal", "SERIALIZABLE", "G-single-write-1", True, "error", lambda s: s[6].error),
    ("postgresql", "READ COMMITTED", "G-single-write-1", False, "occurs", lambda s: s[7].rows == [(1, 12), (2, 18)]),
    ("postgresql", "REPEATABLE READ", "G-single-write-1", True, "error", lambda s: s[6].error),
    ("mysql", "REPEATABLE READ", "G-single-write-1", False, "occurs",
     lambda s: not s[6].error and s[7].rows == [(1, 10), (2, 20)]),
    ("mysql", "SERIALIZABLE", "G-single-write-1", True, "error", lambda s: s[3].waited and s[3].error),

    ("sqlite", "SERIALIZABLE", "G-single-write-2", True, "error", lambda s: s[6].error),
    ("wal", "SERIALIZABLE", "G-single-write-2", True, "error", lambda s: s[6].error),
    ("postgresql", "READ COMMITTED", "G-single-write-2", False, "occurs",
     lambda s: s[6].waited and s[8].rows == [(1, 12), (2, 18)]),
    ("postgresql", "REPEATABLE READ", "G-single-write-2", True, "error", lambda s: s[6].waited and s[6].error),
    ("mysql", "REPEATABLE READ", "G-single-write-2", False, "occurs",
     lambda s: s[6].waited and s[8].rows == [(1, 10), (2, 20)]),
    ("mysql", "SERIALIZABLE", "G-single-write-2", True, "error", lambda s: s[4].waited and s[4].error),

    ("sqlite", "SERIALIZABLE", "G2", True, "error", lambda s: s[5].error and s[8].rows == [(3, 30)]),
    ("wal", "SERIALIZABLE", "G2", True, "error", lambda s: s[5].error or s[7].error),
    ("postgresql", "REPEATABLE READ", "G2", False, "occurs", lambda s: s[8].rows == [(3, 30), (4, 42)]),
    ("postgresql", "SERIALIZABLE", "G2", True, "error", lambda s: s[7].error and s[8].rows == [(3, 30)]),
    ("mysql", "REPEATABLE READ", "G2", False, "occurs", lambda s: s[8].rows == [(3, 30), (4, 42)]),
    ("mysql", "SERIALIZABLE", "G2", True, "error", lambda s: s[4].waited and s[5].error),

    ("sqlite", "SERIALIZABLE", "G2-two-edges", True, "error", lambda s: s[4].error and s[10].rows == [(1, 0), (2, 20)]),
    ("wal", "SERIALIZABLE", "G2-two-edges", True, "error", lambda s: s[8].error),
    ("postgresql", "REPEATABLE READ", "G2-two-edges", False, "occurs",
     lambda s: s[6].rows == [(1, 10), (2, 25)] and s[10].rows == [(1, 0), (2, 25)]),
    ("postgresql", "SERIALIZABLE", "G2-two-edges", True, "error", lambda s: s[8].error),
    ("mysql", "REPEATABLE READ", "G2-two-edges", False, "occurs", lambda s: s[10].rows == [(1, 0), (2, 25)]),
    ("mysql", "SERIALIZABLE", "G2-two-edges", True, "error", lambda s: s[3].waited and s[3].error),
]


@pytest.mark.parametrize(("backend", "level", "name", "prevented", "how", "shown"), CELLS,
                         ids=[f"{b}-{lv}-{n}" for b, lv, n, *_ in CELLS])
async def test_a_cell_is_what_its_run_shows(backend, level, name, prevented, how, shown):
    from playground.scenario import library
    from playground.scenario.runner import run_scenario

    url = None if backend in ("sqlite", "wal") else server_url(backend)
    test = TESTS[name]
    scenario = replace(library.load(test.scenario), isolation=level, journal_mode="wal" if backend == "wal" else None)
    steps = observations(await run_scenario(scenario, url, states=False))
    assert shown(steps), [(s.rows, s.waited, s.result.error if s.result else None) for s in steps]
    verdict = test.decide(steps)
    assert (verdict.prevented, verdict.how) == (prevented, how), verdict


def _result(status: str, **fields) -> StepResult:
    return StepResult(index=0, session="T1", input="", kind=StepKind.SQL, status=StepStatus(status), **fields)


def ok(rows=None, waited: bool = False) -> Observed:
    return Observed(_result("ok", rows=rows), waited)


def err(message: str, waited: bool = False) -> Observed:
    return Observed(_result("error", error=ErrorInfo("OperationalError", message)), waited)


DEADLOCK = "(1213, 'Deadlock found when trying to get lock; try restarting transaction')"


def run_of(length: int, **at: Observed) -> list[Observed]:
    """A run of `length` plain steps, with the steps named `s<index>` replaced."""
    return [at.get(f"s{i}", ok()) for i in range(length)]


def decide(name: str, steps: list[Observed]) -> tuple[bool, str, str | None]:
    verdict = TESTS[name].decide(steps)
    return verdict.prevented, verdict.how, verdict.error_code


def test_otv_a_read_that_loses_what_it_saw_is_the_anomaly():
    vanished = run_of(12, s7=ok([(1, 11), (2, 19)]), s10=ok([(1, 10), (2, 20)]))
    assert decide("OTV", vanished) == (False, "occurs", None)
    whole = run_of(12, s7=ok([(1, 11), (2, 19)]), s10=ok([(1, 12), (2, 18)]))
    assert decide("OTV", whole) == (True, "snapshot", None)
    # A reader whose first read timed out still showed nothing partial: the timeout prevented it.
    timed_out = run_of(12, s7=err("(1205, 'Lock wait timeout exceeded')", waited=True), s10=ok([(1, 12), (2, 18)]))
    assert decide("OTV", timed_out) == (True, "error", "1205")
    with pytest.raises(Unclassifiable, match="not rows 1 and 2"):
        decide("OTV", run_of(12, s7=ok([(1, 99), (2, 19)]), s10=ok([(1, 11), (2, 19)])))


def test_pmp_reads_only_the_second_read_and_refusals():
    assert decide("PMP", run_of(7, s2=ok([]), s5=ok([(3, 30)]))) == (False, "occurs", None)
    # MariaDB SERIALIZABLE's locking read: T1's second read waits for T2 instead of T2 for T1.
    assert decide("PMP", run_of(7, s2=ok([]), s5=ok([], waited=True))) == (True, "wait", None)
    assert decide("PMP", run_of(7, s2=ok([]), s4=err("database is locked"))) == (True, "error", "SQLITE_BUSY")
    with pytest.raises(Unclassifiable):
        decide("PMP", run_of(7, s2=ok([]), s5=ok([(1, 10)])))


def test_pmp_write_either_serial_order_is_prevented():
    t2_first = run_of(8, s2=ok([(2, 20)]), s3=ok(waited=True), s6=ok([(1, 10)]))
    assert decide("PMP-write", t2_first) == (True, "wait", None)
    t1_first = run_of(8, s2=ok([(1, 20)]), s4=ok(waited=True), s6=ok([(2, 30)]))
    assert decide("PMP-write", t1_first) == (True, "wait", None)
    # The deadlock's victim may be either transaction: either refusal prevents it.
    assert decide("PMP-write", run_of(8, s2=ok([(2, 20)]), s4=err(DEADLOCK, waited=True)))[1:] == ("error", "1213")
    assert decide("PMP-write", run_of(8, s2=ok([(2, 20)]), s3=err(DEADLOCK, waited=True)))[1:] == ("error", "1213")


def test_g_single_dependencies_a_locking_read_that_waits_prevents_it():
    run = run_of(7, s2=ok([(1, 10), (2, 20)]), s5=ok([], waited=True))
    assert decide("G-single-dependencies", run) == (True, "wait", None)
    with pytest.raises(Unclassifiable):
        decide("G-single-dependencies", run_of(7, s2=ok([(1, 10), (2, 20)]), s5=ok([(2, 20)])))


@pytest.mark.parametrize(("name", "delete", "final"), [("G-single-write-1", 6, 7), ("G-single-write-2", 6, 8)])
def test_g_single_write_decides_from_the_delete_and_the_read_after_it(name, delete, final):
    length = final + 2
    skew = run_of(length, s2=ok([(10,)]), **{f"s{final}": ok([(1, 12), (2, 18)])})
    assert decide(name, skew) == (False, "occurs", None)
    # A delete that waited and removed row 2 acted on the state T1 read.
    serial = run_of(length, s2=ok([(10,)]), **{f"s{delete}": ok(waited=True), f"s{final}": ok([(1, 12)])})
    assert decide(name, serial) == (True, "wait", None)
    # SQLite's BUSY on T2's COMMIT refuses T2: nothing of T2 for T1 to half-see.
    t2_commit = 5 if name.endswith("1") else 7
    busy = run_of(length, s2=ok([(10,)]), **{f"s{t2_commit}": err("database is locked", waited=True)})
    assert decide(name, busy) == (True, "error", "SQLITE_BUSY")
    with pytest.raises(Unclassifiable):
        decide(name, run_of(length, s2=ok([(10,)]), **{f"s{final}": err("lost connection")}))


def test_g2_needs_both_commits_and_says_what_it_cannot_read():
    assert decide("G2", run_of(9, s2=ok([]), s3=ok([]), s6=err("database is locked"))) == (True, "error", "SQLITE_BUSY")
    with pytest.raises(Unclassifiable, match="both committed"):
        decide("G2", run_of(9, s2=ok([]), s3=ok([]), s8=ok([(3, 30)])))


def test_g2_two_edges_a_reader_held_back_before_t2_breaks_the_cycle():
    # Hermitage's MySQL 5.6 shape: T3's read waits and sees the rows before T2.
    run = run_of(11, s1=ok([(1, 10), (2, 20)]), s6=ok([(1, 10), (2, 20)], waited=True), s10=ok([(1, 0), (2, 20)]))
    assert decide("G2-two-edges", run) == (True, "wait", None)
    cycle = run_of(11, s1=ok([(1, 10), (2, 20)]), s6=ok([(1, 10), (2, 25)]), s10=ok([(1, 0), (2, 25)]))
    assert decide("G2-two-edges", cycle) == (False, "occurs", None)


def test_every_test_names_a_scenario_of_the_library_with_its_notes():
    from playground.scenario import library

    for test in SUITE:
        scenario = library.load(test.scenario)
        assert scenario.lock_timeout == 3 and not scenario.demo, test.name
        assert any(step.notes for step in scenario.steps), f"{test.name}: no narration"
