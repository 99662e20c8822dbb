"""PostgreSQL and MariaDB/MySQL: waits read from the server, cancel, failed state, victims, masking."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, StepWaiting, Workspace
from playground.scenario import library
from tests.conftest import server_url

SETUP = "create table t (id int primary key, v int); insert into t (id, v) values (1, 10), (2, 20)"


@pytest.fixture(params=["postgresql", "mysql"])
async def server(request):
    url = server_url(request.param)
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), setup=SETUP, isolate=True,
                              defaults=SessionSettings(lock_timeout=20))
    try:
        yield ws
    finally:
        await ws.close()


async def test_row_lock_wait_is_reported_with_its_holder_and_cancelled(server):
    ws = server
    assert (await ws.run("A", "update t set v = 11 where id = 1")).status == "ok"
    reported = asyncio.Event()
    ws.subscribe(lambda event: reported.set() if isinstance(event, StepWaiting) and event.session == "B" else None)
    waiting = ws.submit("B", "update t set v = 12 where id = 1")
    # How soon the wait is seen is a benchmark figure (tests/bench/run.py, "lock-wait detection").
    await asyncio.wait_for(reported.wait(), 10)
    assert waiting.wait is not None and waiting.wait.holders == ("A",)
    assert ws.snapshot().session("B").status == "waiting"
    assert waiting.wait.lock  # the lock the server names
    cancel = await ws.run("B", "\\cancel")
    assert cancel.status == "ok" and ("pg_cancel_backend" in cancel.messages[0] or "KILL QUERY" in cancel.messages[0])
    await asyncio.wait_for(waiting.done.wait(), 5)
    assert waiting.result.status == "error"
    assert waiting.result.error.sqlstate in ("57014", "70100")
    await ws.run("B", "rollback")
    assert (await ws.run("A", "commit")).status == "ok"


async def test_postgresql_aborted_transaction_shows_failed_until_rollback():
    url = server_url("postgresql")
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), setup=SETUP, isolate=True)
    try:
        await ws.run("A", "update t set v = 0 where id = 1")
        bad = await ws.run("A", "select 1/0")
        assert bad.error.sqlstate == "22012"
        snap = ws.snapshot().session("A")
        assert snap.status == "failed" and snap.badge == "failed — rollback required"
        refused = await ws.run("A", "select 1")
        assert refused.error.sqlstate == "25P02" and "rollback" in refused.error.hint
        await ws.run("A", "savepoint sp1")
    finally:
        await ws.close()


async def test_postgresql_rollback_to_savepoint_clears_the_failed_state():
    url = server_url("postgresql")
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A",), setup=SETUP, isolate=True)
    try:
        await ws.run("A", "update t set v = 0 where id = 1")
        await ws.run("A", "savepoint sp1")
        await ws.run("A", "select 1/0")
        assert ws.snapshot().session("A").status == "failed"
        assert (await ws.run("A", "rollback to sp1")).status == "ok"
        assert ws.snapshot().session("A").status == "active"
        assert (await ws.run("A", "select v from t where id = 1")).rows == ((0,),)
        await ws.run("A", "rollback")
    finally:
        await ws.close()


async def test_deadlock_names_the_victim_and_the_survivor_commits(server):
    ws = server
    await ws.run("A", "update t set v = v + 1 where id = 1")
    await ws.run("B", "update t set v = v + 1 where id = 2")
    first = ws.submit("A", "update t set v = v + 1 where id = 2")
    await ws.settle()
    second = ws.submit("B", "update t set v = v + 1 where id = 1")
    await asyncio.wait_for(asyncio.gather(first.done.wait(), second.done.wait()), 15)
    results = {h.session: h.result for h in (first, second)}
    victims = [name for name, r in results.items() if r.status == "error"]
    assert len(victims) == 1
    victim = results[victims[0]]
    assert "deadlock" in victim.error.message.lower()
    assert "deadlock victim" in victim.error.hint
    survivor = "A" if victims == ["B"] else "B"
    assert (await ws.run(survivor, "commit")).status == "ok"
    await ws.run(victims[0], "rollback")


SCENARIO_BACKENDS = [
    (name, backend)
    for name in library.names()
    for backend in ("sqlite", "postgresql", "mysql")
    if library.load(name).runs_on(backend)
]


@pytest.mark.parametrize(("name", "backend"), SCENARIO_BACKENDS, ids=[f"{n}-{b}" for n, b in SCENARIO_BACKENDS])
async def test_builtin_scenario_passes_on_each_backend_it_names(name, backend):
    from playground.scenario.runner import run_scenario

    scenario = library.load(name)
    url = None if backend == "sqlite" else server_url(backend)
    report = await run_scenario(scenario, url)
    failed = [(r.step.line, c.text, c.reason) for r in report.steps for c in r.checks if not c.passed]
    assert report.exit_code == 0 and not failed, failed


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_password_in_url_appears_in_no_output(backend, tmp_path):
    base = server_url(backend)
    secret = "s3cret-Pw-9x"
    host_part = base.split("@", 1)[1]
    user = base.split("//", 1)[1].split("@", 1)[0]
    scheme = base.split("//", 1)[0]
    with_password = f"{scheme}//{user}:{secret}@{host_part}"
    scenario = tmp_path / "s.txp"
    scenario.write_text("sessions: A\nA: select 1\n")
    outputs = []
    codes = []
    for fmt in ("json", "text", "markdown"):
        done = _run_cli("run", str(scenario), "--url", with_password, "--format", fmt)
        outputs.append(done.stdout + done.stderr)
        codes.append(done.returncode)
    refused = f"{scheme}//{user}:{secret}@127.0.0.1:1/test"
    done = _run_cli("run", str(scenario), "--url", refused, "--format", "json")
    assert done.returncode == 2
    outputs.append(done.stdout + done.stderr)
    for output in outputs:
        assert secret not in output
    assert "***" in outputs[-1] or "refused" in outputs[-1].lower() or "connect" in outputs[-1].lower()
    if codes[0] == 0:  # PostgreSQL's trust auth ignores the password; MariaDB refuses it
        json_lines = [json.loads(line) for line in outputs[0].splitlines() if line.startswith("{")]
        assert json_lines[-1]["event"] == "summary"
    else:
        assert "Access denied" in outputs[0] and "txplay:" in outputs[0]


def test_missing_driver_names_the_extra(monkeypatch):
    from playground.engine import backends

    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(backends.BackendError, match=r"txplay\[postgres\]"):
        backends.resolve("postgresql://u@h/db")
    with pytest.raises(backends.BackendError, match=r"txplay\[mysql\]"):
        backends.resolve("mariadb://u@h/db")
