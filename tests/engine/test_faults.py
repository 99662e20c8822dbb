"""Faults: a killed process leaves only committed data; a killed connection is said plainly.

Tests that kill a server's connection or restart it do so on a private server
(`private_servers`, tests/servers.py), never on the machine's shared one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.language import looks_like_sql
from tests.conftest import ok, server_url

HOLD_OPEN = textwrap.dedent(
    """
    import asyncio, sys
    from playground.demo.kit import DEMO_KIT
    from playground.engine import Workspace

    async def main():
        ws = await Workspace.open(DEMO_KIT, "sqlite+aiosqlite:///" + sys.argv[1], sessions=("A", "B"))
        await ws.run("A", "insert into jobs (payload) values ('committed')")
        await ws.run("A", "commit")
        await ws.run("A", "insert into jobs (payload) values ('open in A')")
        await ws.run("B", "select count(*) from items")
        await ws.run("A", "\\\\savepoint")
        await ws.run("A", "update items set stock = 0")
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # held open until killed, or until the test ends

    asyncio.run(main())
    """
)


def test_sigkill_with_open_transactions_leaves_only_committed_data(tmp_path):
    db = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        payloads = [row[0] for row in conn.execute("select payload from jobs order by id")]
        assert "committed" in payloads and "open in A" not in payloads
        assert conn.execute("select min(stock) from items").fetchone()[0] > 0
    finally:
        conn.close()


@pytest.mark.parametrize(("text", "sql"), [("kill 42", True), ("KILL CONNECTION 42", True), ("kill(42)", False),
                                         ("kill = 1", False), ("kill", False)])
def test_kill_is_sql_where_it_reads_as_sql(text, sql):
    assert looks_like_sql(text) is sql


async def _kill(ws: Workspace, killer: str, victim: int, backend: str) -> None:
    """End the victim's server connection from another session, and return once it is gone."""
    if backend == "postgresql":
        # With a timeout, pg_terminate_backend returns only when the backend has exited.
        assert (await ok(ws, killer, f"select pg_terminate_backend({victim}, 10000)")).rows == ((True,),)
    else:
        await ok(ws, killer, f"kill {victim}")
        # KILL only flags the connection; each round trip here lets the server finish ending it.
        listed = f"select count(*) from information_schema.PROCESSLIST where id = {victim}"
        for _ in range(500):
            if (await ok(ws, killer, listed)).rows == ((0,),):
                break
        else:
            pytest.fail(f"the server still lists connection {victim} after KILL")
    await ok(ws, killer, "rollback")


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_connection_killed_mid_transaction_is_a_clear_error_and_the_pane_reconnects(backend, private_servers):
    url = private_servers.get(backend).url
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=True, setup="create table t (id int primary key)",
                              defaults=SessionSettings(lock_timeout=5))
    try:
        await ok(ws, "A", "insert into t values (1)")
        victim = ws.sessions["A"].server_id
        await _kill(ws, "B", victim, backend)

        # The transaction died with the connection: the next statement says so, never runs elsewhere.
        broken = await ws.run("A", "select count(*) from t")
        assert broken.status == "error", f"ran on a new connection after the old one was killed: {broken.rows}"
        assert broken.error.type in ("OperationalError", "DBAPIError", "InterfaceError"), broken.error
        assert "connection to the server was lost" in (broken.error.hint or "")
        assert ws.snapshot().session("A").badge == "failed — rollback required"
        again = await ws.run("A", "select 1")
        assert again.status == "error" and "rollback" in (again.error.hint or "")
        committed = await ws.run("A", "commit")
        assert committed.status == "error" and "rollback" in (committed.error.hint or "")
        assert not any("SQLite" in m for m in committed.messages), committed.messages

        await ok(ws, "A", "rollback")
        assert ws.snapshot().session("A").status == "idle"
        retried = await ok(ws, "A", "select count(*) from t")
        assert retried.rows == ((0,),), "the killed transaction's insert survived"
        assert ws.sessions["A"].server_id != victim
        assert ws.snapshot().session("A").status == "active"
        await ok(ws, "A", "rollback")
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_closing_while_a_statement_waits_leaves_no_session_connection(backend):
    url = server_url(backend)
    # A lock timeout far beyond the guard below: a close that waited the statement out would hang.
    ws = await Workspace.open(DEMO_KIT, url, sessions=("A", "B"), isolate=True, setup="create table t (id int primary key)",
                              defaults=SessionSettings(lock_timeout=600))
    observer = await Workspace.open(DEMO_KIT, url, sessions=("O",))
    try:
        await ws.run("A", "insert into t values (1)")
        waiting = ws.submit("B", "insert into t values (1)")
        await ws.settle()
        assert waiting.wait is not None
        ids = [ps.server_id for ps in ws.sessions.values()]
        # How long closing takes is a benchmark figure (tests/bench/run.py, "quit while waiting").
        await asyncio.wait_for(ws.close(), 60)
        assert waiting.done.is_set(), "the waiting step was left running after close"
        listing = ("select pid from pg_stat_activity" if backend == "postgresql"
                   else "select id from information_schema.PROCESSLIST")
        result = await observer.run("O", listing)
        alive = {row[0] for row in result.rows}
        assert not alive & set(ids)
    finally:
        await observer.close()


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_server_restart_is_a_clear_error_and_the_pane_reconnects(backend, private_servers):
    server = private_servers.get(backend)
    ws = await Workspace.open(DEMO_KIT, server.url, sessions=("A",), isolate=True)
    try:
        assert (await ws.run("A", "select 1")).status == "ok"
        await asyncio.to_thread(server.restart)
        broken = await ws.run("A", "select 1")
        assert broken.status == "error"
        assert broken.error.type in ("OperationalError", "DBAPIError", "InterfaceError"), broken.error
        assert "connection to the server was lost" in (broken.error.hint or "")
        await ws.run("A", "rollback")
        again = await ws.run("A", "select 2")
        assert again.status == "ok" and again.rows == ((2,),), again.error
    finally:
        await ws.close()
