"""Live mode's controller: a spec stepped through on PostgreSQL, compared with its expected file as it goes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from playground.suites import SuiteError
from playground.suites.expected import RUN_ENDED, ExpectedOutput, expected_file_for
from playground.suites.live import LiveSpec, Phase, SessionState, StepStatus
from playground.suites.spec import parse
from tests.suites.conftest import ROW_LOCK, ROW_LOCK_EXPECTED

JOIN = 30.0  # seconds a stuck call may take to come back once canceled (a guard, never waited out)

STUCK = ROW_LOCK.split("permutation")[0] + """
permutation s1u s2u s2s s1c s2c
permutation s2s(s1c notices 1) s2c s1u s1c
"""
"""s2s is sent while s2u still waits on s1's lock (first), or is held back by a marker naming a
NOTICE s1 never sends (second): either way the next step never comes without a cancel."""


@pytest.fixture
def live(row_lock_spec, pg_database):
    spec = LiveSpec(row_lock_spec, pg_database)
    spec.open()
    yield spec
    spec.close()


def session(snap, name):
    return next(s for s in snap.sessions if s.name == name)


def run_to_end(live: LiveSpec) -> None:
    while live.snapshot().phase == Phase.RUNNING:
        live.step()


def test_a_wait_shows_its_holder_the_lock_graph_and_the_completion_order(live):
    snap = live.snapshot()
    assert (snap.name, snap.phase, snap.position, snap.total) == ("row_lock", Phase.RUNNING, 0, 5)
    assert snap.permutations == ("s1u s2u s1c s2s s2c", "s2u s1u s2c s1c")
    assert [u.label for u in snap.upcoming] == ["s1u", "s2u", "s1c", "s2s", "s2c"]
    assert [u.label for u in session(snap, "s2").upcoming] == ["s2u", "s2s", "s2c"]
    assert session(snap, "s1").state == SessionState.IN_TRANSACTION  # its setup said BEGIN

    live.step()
    live.step()
    snap = live.snapshot()
    s2 = session(snap, "s2")
    assert s2.state == SessionState.WAITING and s2.waiting_for == ("s1",)
    assert s2.log[-1].status == StepStatus.WAITING and s2.log[-1].waiting_for == ("s1",)
    assert [(e.waiter, e.holders) for e in snap.edges] == [("s2", ("s1",))]
    assert snap.edges[0].lock == "transactionid ShareLock"
    assert snap.edges[0].statement == "UPDATE t SET v = v * 2 WHERE id = 1;"

    live.step()  # s1c: s2u completes right after it
    snap = live.snapshot()
    assert snap.edges == ()
    s2u = session(snap, "s2").log[-1]
    assert (s2u.step, s2u.status, s2u.waited, s2u.completed_after) == ("s2u", StepStatus.OK, True, "s1c")
    s1c = session(snap, "s1").log[-1]
    assert s1c.order < s2u.order  # s1c's line came first, then s2u's <... completed>
    assert session(snap, "s1").state == SessionState.IDLE

    live.step()
    assert session(live.snapshot(), "s2").log[-1].output == " v\n--\n22\n(1 row)\n\n"
    run_to_end(live)
    snap = live.snapshot()
    assert snap.phase == Phase.FINISHED and snap.upcoming == ()
    assert snap.comparison is not None and snap.comparison.matches and snap.comparison.complete
    assert snap.output.strip() == ROW_LOCK_EXPECTED.split("\n\n", 1)[1].split("\n\nstarting")[0].strip()


def test_the_comparison_names_the_first_line_that_differs(row_lock_spec, pg_database, tmp_path):
    wrong = tmp_path / "wrong.out"
    wrong.write_text(ROW_LOCK_EXPECTED.replace("step s1c: COMMIT;\nstep s2u: <... completed>",
                                               "step s1c: COMMIT;\nstep s2u: <... completed>\nERROR:  something else"))
    live = LiveSpec(row_lock_spec, pg_database, expected=wrong)
    live.open()
    try:
        for _ in range(3):
            live.step()
            assert live.snapshot().comparison.matches  # so far, so good
        live.step()
        comparison = live.snapshot().comparison
        assert not comparison.matches
        assert (comparison.line, comparison.expected, comparison.got) == (8, "ERROR:  something else",
                                                                          "step s2s: SELECT v FROM t WHERE id = 1;")
    finally:
        live.close()


def test_a_permutation_cut_short_by_its_expected_section_says_the_run_ended(tmp_path):
    expected = tmp_path / "x.out"
    expected.write_text(ROW_LOCK_EXPECTED)
    perms = parse(ROW_LOCK).all_permutations()
    out = ExpectedOutput(expected)
    first = "\nstarting permutation: s1u s2u s1c s2s s2c\nstep s1u: UPDATE t SET v = v + 1 WHERE id = 1;\n"
    assert out.compare(perms, 0, first, finished=False).matches
    ended = out.compare(perms, 0, first, finished=True)
    assert (ended.line, ended.got) == (5, RUN_ENDED)
    assert out.compare(perms, 1, "starting permutation: s2u s1u s2c s1c\n", finished=False).matches


def test_the_expected_file_is_found_beside_the_spec(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "expected").mkdir()
    spec = tmp_path / "specs" / "a.spec"
    assert expected_file_for(spec) is None
    (tmp_path / "specs" / "a.out").write_text("")
    assert expected_file_for(spec) == tmp_path / "specs" / "a.out"
    (tmp_path / "expected" / "a.out").write_text("")
    assert expected_file_for(spec) == tmp_path / "expected" / "a.out"


def test_no_expected_file_no_comparison(pg_database, tmp_path):
    path = tmp_path / "alone.spec"
    path.write_text(ROW_LOCK)
    live = LiveSpec(path, pg_database)
    live.open()
    try:
        live.step()
        assert live.snapshot().comparison is None
    finally:
        live.close()


def test_choosing_a_permutation_mid_wait_leaves_the_first_cleanly(live):
    live.step()
    live.step()
    assert session(live.snapshot(), "s2").state == SessionState.WAITING
    live.choose(1)  # s2 waits on s1's row lock: canceled, both rolled back, the table dropped
    snap = live.snapshot()
    assert (snap.chosen, snap.position, snap.edges) == (1, 0, ())
    assert all(s.log == () for s in snap.sessions)
    run_to_end(live)
    snap = live.snapshot()
    assert snap.comparison.complete, snap.comparison
    assert snap.output.lstrip().startswith("starting permutation: s2u s1u s2c s1c\n")


def test_restart_and_stepping_past_the_end_of_a_permutation(live):
    live.step()
    live.step()
    live.restart()
    assert (live.snapshot().chosen, live.snapshot().position) == (0, 0)
    run_to_end(live)
    assert live.snapshot().comparison.complete
    live.step()  # F10 after the end: the next permutation
    snap = live.snapshot()
    assert (snap.chosen, snap.phase, snap.position) == (1, Phase.RUNNING, 0)
    run_to_end(live)
    assert live.snapshot().comparison.complete
    live.step()  # after the last permutation there is nothing more to do
    assert live.snapshot().phase == Phase.FINISHED


def _stuck_step(live: LiveSpec) -> threading.Thread:
    """Run live.step() on a thread, as the app does; it will not come back by itself."""
    thread = threading.Thread(target=live.step, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("permutation", "freed"), [(0, "s2u"), (1, "s2s")])
def test_cancel_frees_a_step_that_would_wait_forever(pg_database, tmp_path, permutation, freed):
    path = tmp_path / "stuck.spec"
    path.write_text(STUCK)
    live = LiveSpec(path, pg_database)
    live.open()
    try:
        live.choose(permutation)
        for _ in range(1 if permutation else 2):
            live.step()
        thread = _stuck_step(live)
        assert live.cancel() == ["s2"]
        thread.join(JOIN)
        assert not thread.is_alive(), "the canceled step did not come back"
        s2 = session(live.snapshot(), "s2")
        entry = next(e for e in s2.log if e.step == freed)
        assert entry.waited and entry.status != StepStatus.WAITING
        if freed == "s2u":
            assert entry.status == StepStatus.ERROR
            assert entry.output == "ERROR:  canceling statement due to user request\n"
        assert live.snapshot().position == (2 if permutation else 3)
        run_to_end(live)
        assert live.snapshot().phase == Phase.FINISHED
    finally:
        live.close()


def test_a_spec_for_another_database_is_refused_before_anything_runs(row_lock_spec):
    with pytest.raises(SuiteError) as caught:
        LiveSpec(row_lock_spec, "sqlite:///x.db")
    assert str(caught.value).startswith(f"{row_lock_spec}:1: isolationtester specs run on PostgreSQL")


def test_a_spec_that_does_not_parse_says_where(tmp_path: Path):
    path = tmp_path / "bad.spec"
    path.write_text("session s1\nstep a { SELECT 1; }\npermutation a b\n")
    with pytest.raises(SuiteError) as caught:
        LiveSpec(path, "postgresql://localhost/x")
    assert str(caught.value) == f'{path}:3: undefined step "b" specified in permutation'


def test_live_mode_s_controller_imports_nothing_from_textual():
    import subprocess
    import sys

    code = ("import sys, playground.suites.live, playground.suites.expected\n"
            "print(','.join(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


UPSTREAM = ["deadlock-simple", "fk-deadlock", "nowait", "skip-locked", "tuplelock-conflict", "lock-update-delete"]
"""PostgreSQL 15 specs with lock waits, deadlocks, NOWAIT, SKIP LOCKED and advisory locks."""


@pytest.mark.parametrize("name", UPSTREAM)
def test_postgresql_s_own_specs_stepped_through_match_their_expected_sections(name, pg_database):
    import os

    folder = os.environ.get("TXPLAY_PG_ISOLATION_DIR")
    if not folder or not (Path(folder) / "specs" / f"{name}.spec").is_file():
        pytest.skip("PostgreSQL's isolation specs are absent: scripts/upstream_suites.sh fetches them; "
                    "point TXPLAY_PG_ISOLATION_DIR at the folder it prints")
    live = LiveSpec(Path(folder) / "specs" / f"{name}.spec", pg_database, max_step_wait=60)
    live.open()
    try:
        for index in range(len(live.permutations)):
            live.choose(index)
            for _ in range(live.snapshot().total // 2):
                live.step()  # half-way, maybe mid-wait: left cleanly, set up again
            live.restart()
            run_to_end(live)
            snap = live.snapshot()
            assert snap.comparison is not None and snap.comparison.complete, (snap.permutations[index], snap.comparison)
    finally:
        live.close()


def test_the_url_is_shown_with_its_password_masked(row_lock_spec):
    live = LiveSpec(row_lock_spec, "postgresql://ann:secret@db.example/shop")
    assert live.display_url == "postgresql://ann:***@db.example/shop"
