"""Private database servers for the tests that break one (restart it, kill its connections).

The machine's shared PostgreSQL and MariaDB serve every other test running at the same time, so
a test that restarts a server or ends a connection gets a server of its own: a fresh data folder
in a temporary directory, a free port on 127.0.0.1, its unix socket in that directory, no
passwords. Both servers refuse to run as root, so a root test run starts them as the `postgres`
and `mysql` users. `PrivateServers.get` skips the test, with the reason, where that cannot be done.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT = 60.0
"""How long a server may take to start or stop before the fixture fails (a guard, never waited out)."""


class Unavailable(Exception):
    """The private server cannot be had here; the message says why (a skip reason)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_user(name: str) -> tuple[list[str], int]:
    """The command prefix that runs a program as `name` (none when not root), and its uid."""
    if os.geteuid() != 0:
        return [], os.geteuid()
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise Unavailable(f"the tests run as root and there is no {name!r} user to start the server as") from None
    if shutil.which("setpriv"):  # execs the program itself: its pid is the server's
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"], entry.pw_uid
    if shutil.which("runuser"):
        return ["runuser", "-u", name, "--"], entry.pw_uid
    raise Unavailable(f"the tests run as root and neither setpriv nor runuser is there to switch to {name!r}")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _wait_for_port(port: int, process: subprocess.Popen | None, log: Path) -> None:
    """Return once the server accepts connections; fail with its log if it exits or never does."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # an external process's start-up: nothing to wait on but its port
    text = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"the private server did not start on port {port}:\n{text}")


class PrivateServer:
    """One private server: its URL, and restart/stop. Subclasses know one database each."""

    user = ""

    def __init__(self) -> None:
        self.prefix, uid = _as_user(self.user)
        self.folder = Path(tempfile.mkdtemp(prefix=f"txplay-{self.user}-"))
        os.chown(self.folder, uid, -1)
        self.port = _free_port()
        self.url = ""

    def _create(self, command: list[str]) -> None:
        """Make the data folder with `command` and start the server; leave nothing behind if that fails."""
        try:
            _run(command, Path(command[len(self.prefix)]).name)
            self.start()
        except BaseException:
            self.remove()
            raise

    def start(self) -> None:
        """Start the server (its data folder already made)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server at once (its open connections die)."""
        raise NotImplementedError

    def restart(self) -> None:
        """Stop the server and start it again on the same port and data: every connection is lost."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of its own: initdb, pg_ctl, trust authentication."""

    user = "postgres"

    def __init__(self) -> None:
        self.bindir = self._bindir()
        super().__init__()
        self.data = self.folder / "data"
        self.log = self.folder / "log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._create([*self.prefix, str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync"])

    @staticmethod
    def _bindir() -> Path:
        candidates = []
        if shutil.which("pg_config"):
            done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
            candidates.append(done.stdout.strip())
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
        for folder in candidates:
            if folder and all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
                return Path(folder)
        raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl) under pg_config --bindir or /usr/lib/postgresql/*/bin")

    def _pg_ctl(self, *args: str) -> None:
        _run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(int(TIMEOUT)), *args],
             f"pg_ctl {args[-1]}")

    def start(self) -> None:
        # fsync off: the data of a throw-away cluster need not survive a crash of the machine.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._pg_ctl("-l", str(self.log), "-o", options, "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "stop")


class PrivateMariaDB(PrivateServer):
    """A MariaDB server of its own: mariadb-install-db, mariadbd, root without a password."""

    user = "mysql"

    def __init__(self) -> None:
        self.install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        self.server = next((p for p in (shutil.which("mariadbd"), "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
                            if p and os.access(p, os.X_OK)), None)
        if not (self.install and self.server):
            raise Unavailable("no MariaDB server binaries (mariadb-install-db, mariadbd)")
        super().__init__()
        self.data = self.folder / "data"
        self.log = self.folder / "error.log"
        self.process: subprocess.Popen | None = None
        self.url = f"mysql://root@127.0.0.1:{self.port}/test"
        self._create([*self.prefix, self.install, "--no-defaults", f"--datadir={self.data}",
                      "--auth-root-authentication-method=normal"])

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.prefix, self.server, "--no-defaults", f"--datadir={self.data}", f"--socket={self.folder / 'sock'}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.folder / 'pid'}",
             f"--log-error={self.log}", "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=32M"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        pid_file = self.folder / "pid"
        if process.args[0] == "runuser" and pid_file.exists():  # runuser waits for its child: end that one
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        process.kill()
        process.wait(TIMEOUT)


class PrivateServers:
    """Private servers started on first use and shared by the tests of a run; `remove_all` ends them."""

    KINDS = {"postgresql": PrivatePostgres, "mysql": PrivateMariaDB}

    def __init__(self) -> None:
        self.started: dict[str, PrivateServer] = {}
        self.unavailable: dict[str, str] = {}
        self.startup: dict[str, float] = {}

    def get(self, backend: str) -> PrivateServer:
        """The private server for `backend`, started now if it is not yet; skips where it cannot be."""
        from tests.conftest import missing_driver

        reason = missing_driver(backend)
        if reason:
            pytest.skip(reason)
        if backend in self.unavailable:
            pytest.skip(self.unavailable[backend])
        if backend not in self.started:
            began = time.perf_counter()
            try:
                self.started[backend] = self.KINDS[backend]()
            except Unavailable as exc:
                self.unavailable[backend] = f"no private {backend} server for this test: {exc}"
                pytest.skip(self.unavailable[backend])
            self.startup[backend] = time.perf_counter() - began
        return self.started[backend]

    def remove_all(self) -> None:
        """Stop every private server and delete its folder."""
        for server in self.started.values():
            server.remove()
        self.started.clear()
