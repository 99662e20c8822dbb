"""Faults: a killed process leaves only committed data; a killed connection is said plainly."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from playground.engine import SessionSettings, Workspace
from tests.conftest import server_url

HOLD_OPEN = textwrap.dedent(
    """
    import asyncio, sys
    from playground.engine import Workspace

    async def main():
        ws = await Workspace.open("sqlite+aiosqlite:///" + sys.argv[1], sessions=("A", "B"))
        await ws.run("A", "insert into jobs (payload) values ('committed')")
        await ws.run("A", "commit")
        await ws.run("A", "insert into jobs (payload) values ('open in A')")
        await ws.run("B", "select count(*) from items")
        await ws.run("A", "\\\\savepoint")
        await ws.run("A", "update items set stock = 0")
        print("ready", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_sigkill_with_open_transactions_leaves_only_committed_data(tmp_path):
    db = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(db)], stdout=subprocess.PIPE, text=True)
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


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_killed_connection_is_a_clear_error_and_the_pane_reconnects(backend):
    url = server_url(backend)
    ws = await Workspace.open(url, sessions=("A", "B"), isolate=True, defaults=SessionSettings(lock_timeout=5))
    try:
        await ws.run("A", "select 1")
        victim = ws.sessions["A"].server_id
        kill = f"select pg_terminate_backend({victim})" if backend == "postgresql" else f"kill {victim}"
        await ws.run("B", kill)
        listed = (f"select count(*) from pg_stat_activity where pid = {victim}" if backend == "postgresql"
                  else f"select count(*) from information_schema.PROCESSLIST where id = {victim}")
        for _ in range(200):  # wait until the server no longer lists A's connection
            gone = (await ws.run("B", listed)).rows == ((0,),)
            await ws.run("B", "rollback")
            if gone:
                break
        broken = await ws.run("A", "select 1")
        if backend == "postgresql":
            assert broken.status == "error"
            assert broken.error.type in ("OperationalError", "DBAPIError", "InterfaceError"), broken.error
        # MariaDB through asyncmy: the first statement after KILL may already run on a new
        # connection; either way the pane must go on working.
        again = await ws.run("A", "rollback")
        retried = await ws.run("A", "select 2")
        assert retried.status == "ok" and retried.rows == ((2,),), (again.error, retried.error)
    finally:
        await ws.close()


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_closing_while_a_statement_waits_leaves_no_session_connection(backend):
    url = server_url(backend)
    ws = await Workspace.open(url, sessions=("A", "B"), isolate=True, setup="create table t (id int primary key)",
                              defaults=SessionSettings(lock_timeout=30))
    observer = await Workspace.open(url, sessions=("O",))
    try:
        await ws.run("A", "insert into t values (1)")
        waiting = ws.submit("B", "insert into t values (1)")
        await ws.settle()
        assert waiting.wait is not None
        ids = [ps.server_id for ps in ws.sessions.values()]
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(ws.close(), 5)
        assert asyncio.get_running_loop().time() - started < 2.0
        listing = ("select pid from pg_stat_activity" if backend == "postgresql"
                   else "select id from information_schema.PROCESSLIST")
        result = await observer.run("O", listing)
        alive = {row[0] for row in result.rows}
        assert not alive & set(ids)
    finally:
        await observer.close()


def _restart_postgres() -> None:
    import shutil
    from pathlib import Path

    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir() or os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs pg_ctlcluster and root (as on the project's machines)")
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=60)


async def test_a_server_restart_is_a_clear_error_and_the_pane_reconnects():
    url = server_url("postgresql")
    ws = await Workspace.open(url, sessions=("A",), isolate=True)
    try:
        assert (await ws.run("A", "select 1")).status == "ok"
        await asyncio.to_thread(_restart_postgres)
        broken = await ws.run("A", "select 1")
        assert broken.status == "error"
        assert broken.error.type in ("OperationalError", "DBAPIError", "InterfaceError"), broken.error
        assert "connection to the server was lost" in (broken.error.hint or "")
        await ws.run("A", "rollback")
        again = await ws.run("A", "select 2")
        assert again.status == "ok" and again.rows == ((2,),), again.error
    finally:
        await ws.close()
