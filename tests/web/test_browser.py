"""`txplay web` in a real browser: Debian's Chromium driven by Playwright (its own browser download is not used).

Each test reads the screen from the terminal's websocket (what the page draws), without escape codes.
Set TXPLAY_WEB_SCREENSHOT to a .png path to keep the first test's screenshot (README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="txplay web needs the web extra: pip install 'txplay[web]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright: pip install playwright")
CHROMIUM = os.environ.get("TXPLAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TXPLAY_CHROMIUM)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
TOKEN = "browser-test-token"
ANSI = re.compile(r"\x1b\[[0-9;?:]*[A-Za-z]")
SCREEN_TIMEOUT = 30_000  # ms a screen may take to show what a test waits for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(tmp: Path, *argv: str) -> Iterator[str]:
    """`txplay web` on a free port until the test module ends; yields its link on 127.0.0.1."""
    port = _free_port()
    env = dict(os.environ, TMPDIR=str(tmp))
    process = subprocess.Popen([sys.executable, "-m", "playground.cli", "web", "--port", str(port), "--token", TOKEN, *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the port is open
        assert "txplay web:" in first, first + process.stdout.read()
        link = f"http://127.0.0.1:{port}/?token={TOKEN}"
        yield link
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture(scope="module")
def loopback(tmp_path_factory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def exposed(tmp_path_factory) -> Iterator[str]:
    """Bound to every address, without --allow-python."""
    yield from _serve(tmp_path_factory.mktemp("web"), "--host", "0.0.0.0")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Tab:
    """A browser tab on txplay web, and what its terminal has drawn."""

    def __init__(self, browser, link: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.drawn: list[str] = []
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._received))
        self.page.goto(link)
        self.wait_for("no objects")  # the panes are up
        self.page.locator("#terminal").click(position={"x": 200, "y": 330})  # pane A's input

    def _received(self, payload: str | bytes) -> None:
        self.drawn.append(payload if isinstance(payload, str) else payload.decode("utf-8", "replace"))

    def screen(self, since: int = 0) -> str:
        return ANSI.sub("", "".join(self.drawn[since:]))

    def wait_for(self, text: str, since: int = 0) -> None:
        """Until the terminal has drawn `text` (after frame `since`); Playwright's events arrive meanwhile."""
        for _ in range(SCREEN_TIMEOUT // 50):
            if text in self.screen(since):
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{text!r} never appeared; the screen ends with {self.screen(since)[-600:]!r}")

    def type(self, line: str) -> int:
        """Type a line into the focused pane and run it; returns the frame from which its output counts."""
        mark = len(self.drawn)
        self.page.keyboard.type(line)
        self.page.keyboard.press("Enter")
        return mark

    def close(self) -> None:
        self.page.close()


def test_typing_into_pane_a_shows_the_pending_object(browser, loopback) -> None:
    tab = Tab(browser, loopback)
    try:
        assert tab.page.title() == "txplay"
        tab.wait_for("pending (1)", tab.type("session.add(Item(id=10, name='mug', stock=3))"))
        shot = os.environ.get("TXPLAY_WEB_SCREENSHOT")
        tab.page.screenshot(path=shot or None)
    finally:
        tab.close()


def test_each_tab_has_a_database_of_its_own(browser, loopback) -> None:
    first, second = Tab(browser, loopback), Tab(browser, loopback)
    try:
        first.wait_for("in transaction", first.type("insert into items (id, name, stock) values (10, 'tab one', 1)"))
        first.wait_for("idle", first.type("commit"))
        query = "select upper(name) from items where id = 10"
        first.wait_for("TAB ONE", first.type(query))
        second.wait_for("(no rows)", second.type(query))
        assert "TAB ONE" not in second.screen()
    finally:
        first.close()
        second.close()


def test_attach_is_refused(browser, loopback) -> None:
    tab = Tab(browser, loopback)
    try:
        tab.wait_for("not authorized", tab.type("ATTACH DATABASE 'elsewhere.db' AS elsewhere"))
    finally:
        tab.close()


def test_python_is_refused_when_bound_off_loopback(browser, exposed) -> None:
    tab = Tab(browser, exposed)
    try:
        mark = tab.type("import os; os.listdir('/')")
        tab.wait_for("PythonRefused", mark)
        tab.wait_for("42", tab.type("select 41 + 1"))  # SQL still runs
    finally:
        tab.close()


def test_the_page_without_its_token_is_forbidden(loopback) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(loopback.split("?")[0], timeout=5)
    assert refused.value.code == 403
