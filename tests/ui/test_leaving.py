"""Leaving the real app in a terminal while a session runs an endless loop: ctrl+q, SIGTERM, SIGHUP, SIGINT.

The app runs as `txplay` does, on a pseudo-terminal; the test reads what it draws. The process
must exit, the terminal must be left as it was found (out of raw mode and the alternate
screen), and the temporary demo database must be gone. How fast ctrl+q leaves is a benchmark
figure (tests/bench), not a timed assert here.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = 60.0  # seconds before a hang becomes a failure
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"


class Terminal:
    """`txplay` on a pseudo-terminal of 160×50, with what it writes collected as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.before = termios.tcgetattr(slave)
        self.slave = slave
        self.tmp = tmp_path / "tmp"  # where the app makes its temporary database's folder
        self.tmp.mkdir()
        env = {**os.environ, "TERM": "xterm-256color", "XDG_DATA_HOME": str(tmp_path / "data"), "TMPDIR": str(self.tmp)}
        self.proc = subprocess.Popen([sys.executable, "-m", "playground"], stdin=slave, stdout=slave, stderr=slave,
                                     cwd=REPO, env=env, start_new_session=True)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def wait_for(self, text: bytes, after: int = 0) -> int:
        deadline = time.monotonic() + GUARD
        while time.monotonic() < deadline:
            found = self.output.find(text, after)
            if found >= 0:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"never drew {text!r}; exit {self.proc.poll()}; last output {bytes(self.output[-400:])!r}")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def loop_in_a(term: Terminal) -> None:
    """Start `while True: pass` in pane A and wait until its badge says it runs."""
    term.wait_for(b"SQL, Python or")
    time.sleep(0.5)  # the input takes keys once the workspace is open; typing earlier is kept anyway
    start = len(term.output)
    term.type("while True: pass\r")
    term.wait_for(b"running", start)


def assert_left_cleanly(term: Terminal, start: int) -> None:
    assert term.proc.wait(GUARD) == 0
    assert term.output.find(LEAVE_ALTERNATE_SCREEN, start) >= 0, "the alternate screen was never left"
    after = termios.tcgetattr(term.slave)
    assert after[3] & (termios.ICANON | termios.ECHO) == term.before[3] & (termios.ICANON | termios.ECHO), "left in raw mode"
    assert list(term.tmp.iterdir()) == [], "the temporary database was left behind"


def test_ctrl_q_during_an_endless_loop_quits(terminal):
    loop_in_a(terminal)
    start = len(terminal.output)
    terminal.type("\x11")  # ctrl+q
    assert_left_cleanly(terminal, start)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_during_an_endless_loop_restores_the_terminal(terminal, signame):
    loop_in_a(terminal)
    start = len(terminal.output)
    terminal.proc.send_signal(getattr(signal, signame))
    assert_left_cleanly(terminal, start)



def test_sigterm_while_a_step_sleeps_in_c_still_removes_the_temporary_database(terminal):
    # time.sleep() takes no KeyboardInterrupt until it returns: closing outlasts the time quitting
    # gives it, and the process ends with the session's thread still busy.
    terminal.wait_for(b"SQL, Python or")
    time.sleep(0.5)
    start = len(terminal.output)
    terminal.type("import time; time.sleep(30)\r")
    terminal.wait_for(b"running", start)
    start = len(terminal.output)
    terminal.proc.send_signal(signal.SIGTERM)
    assert_left_cleanly(terminal, start)
