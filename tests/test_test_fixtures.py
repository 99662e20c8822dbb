"""The test fixtures themselves: server tests skip, with the reason, where a driver or a private
server cannot be had."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[1]

# Tests that reach a server each way: the shared one through server_url (directly and through a
# parametrized fixture), a private one, and a test that imports the driver itself.
SERVER_TESTS = [
    "tests/engine/test_servers.py::test_postgresql_rollback_to_savepoint_clears_the_failed_state",
    "tests/engine/test_servers.py::test_row_lock_wait_is_reported_with_its_holder_and_cancelled[mysql]",
    "tests/engine/test_faults.py::test_a_server_restart_is_a_clear_error_and_the_pane_reconnects[postgresql]",
    "tests/engine/test_status_truth.py::test_mysql8_nowait_refusal_3572_is_no_timeout_either",
]

# None in sys.modules makes `import asyncpg` raise ImportError, as where the extra is not installed
# (in this process: `-n 0` keeps pytest-xdist from running the tests in workers of their own).
WITHOUT_DRIVERS = (
    "import sys; sys.modules['asyncpg'] = None; sys.modules['asyncmy'] = None; "
    "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
)


def test_server_tests_skip_with_the_reason_when_the_driver_is_not_installed():
    done = subprocess.run([sys.executable, "-c", WITHOUT_DRIVERS, "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",
                           *SERVER_TESTS],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"{len(SERVER_TESTS)} skipped" in output and "error" not in output.lower(), output
    skips = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == len(SERVER_TESTS), output
    assert sum("driver asyncpg is not installed (pip install 'txplay[postgres]')" in line for line in skips) == 2, skips
    assert sum("driver asyncmy is not installed" in line for line in skips) == 2, skips


def test_a_private_server_that_cannot_be_had_is_a_skip_with_the_reason(monkeypatch):

    def absent() -> servers.PrivateServer:
        raise servers.Unavailable("no PostgreSQL server binaries")

    monkeypatch.setitem(servers.PrivateServers.KINDS, "postgresql", absent)
    private = servers.PrivateServers()
    for _ in range(2):  # asked again, it says the same without trying again
        with pytest.raises(pytest.skip.Exception, match="no private postgresql server for this test: no PostgreSQL server binaries"):
            private.get("postgresql")
    assert not private.started


def test_as_root_a_server_runs_as_its_own_user(monkeypatch):

    monkeypatch.setattr(servers.os, "geteuid", lambda: 0)
    with pytest.raises(servers.Unavailable, match="no 'no-such-user' user"):
        servers._as_user("no-such-user")
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    with pytest.raises(servers.Unavailable, match="neither setpriv nor runuser"):
        servers._as_user("root")
