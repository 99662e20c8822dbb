"""`txplay web` without a browser: the token, the 'full' page, a real visitor's process and folder, the flags."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

import pytest

from playground.cli import build_parser, main
from playground.web.options import WebOptionError, WebSettings, web_settings
from tests.conftest import server_url

pytest.importorskip("textual_serve", reason="txplay web needs the web extra: pip install 'txplay[web]'")
from aiohttp import WSMsgType  # noqa: E402  (installed with textual-serve)
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from playground.web import visitor  # noqa: E402
from playground.web.server import TxplayServer  # noqa: E402

TOKEN = "a-test-token-1234"
ANSI = re.compile(r"\x1b\[[0-9;?:]*[A-Za-z]")


def settings(*argv: str) -> WebSettings:
    return web_settings(build_parser().parse_args(["web", *argv]))


async def client_for(server: TxplayServer) -> TestClient:
    client = TestClient(TestServer(await server._make_app()))
    await client.start_server()
    return client


async def test_the_page_and_the_websocket_need_the_token() -> None:
    client = await client_for(TxplayServer(settings("--token", TOKEN)))
    try:
        for path in ("/", "/?token=wrong-token-000", "/ws/wrong-token-000", "/ws/-"):
            response = await client.get(path)
            assert response.status == 403, path
            assert "token" in await response.text()
        response = await client.get(f"/?token={TOKEN}")
        assert response.status == 200
        page = await response.text()
        assert f"/ws/{TOKEN}\"" in page  # the terminal's websocket carries it too
        assert "<title>txplay</title>" in page
    finally:
        await client.close()


async def test_the_next_visitor_past_the_cap_gets_a_full_page() -> None:
    server = TxplayServer(settings("--token", TOKEN, "--max-visitors", "2"))
    server.visitors = 2
    client = await client_for(server)
    try:
        for path in (f"/?token={TOKEN}", f"/ws/{TOKEN}"):
            response = await client.get(path)
            assert response.status == 503, path
            assert "txplay is full" in await response.text()
        server.visitors = 1
        assert (await client.get(f"/?token={TOKEN}")).status == 200
    finally:
        await client.close()


async def test_the_title_names_the_workshop_scenario() -> None:
    client = await client_for(TxplayServer(settings("--no-token", "--scenario", "dirty_read")))
    try:
        page = await (await client.get("/")).text()
        assert re.search(r"<title>txplay — [^<]+</title>", page)
    finally:
        await client.close()


class Tab:
    """A visitor's terminal over the websocket, as the page drives it."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.drawn = ""

    @classmethod
    async def open(cls, client: TestClient) -> Tab:
        tab = cls(await client.ws_connect(f"/ws/{TOKEN}?width=120&height=40"))
        # The panes are up, pane A's input focused, and the database open (the status line says where,
        # once it is: the panes are drawn first).
        await tab.wait_for("F12 next pane")
        return tab

    async def wait_for(self, text: str, seconds: float = 60) -> None:
        async with asyncio.timeout(seconds):
            while text not in ANSI.sub("", self.drawn):
                message = await self.socket.receive()
                assert message.type == WSMsgType.BINARY, message
                self.drawn += message.data.decode("utf-8", "replace")

    async def type(self, keys: str) -> None:
        self.drawn = ""
        await self.socket.send_json(["stdin", keys])


@pytest.fixture
async def serving(monkeypatch, tmp_path: Path):
    """An in-process `txplay web` on loopback (Python allowed) whose visitors' folders go into tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    web = settings("--token", TOKEN)
    monkeypatch.setenv(visitor.SETTINGS_VARIABLE, visitor.settings_environment(web.visitor))
    server = TxplayServer(web)
    client = await client_for(server)
    yield server, client
    await client.close()


async def all_gone(server: TxplayServer) -> None:
    """Until every visitor's handler has returned: their process has ended and their folder is removed."""
    async with asyncio.timeout(20):
        while server.visitors:
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_visitor_gets_a_process_and_a_folder_both_gone_when_the_tab_closes(serving, tmp_path: Path) -> None:
    server, client = serving
    tab = await Tab.open(client)
    assert server.visitors == 1
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and list(folders[0].rglob("*.db")), "the visitor's database is in its folder"
    await tab.socket.close()
    await all_gone(server)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
async def test_bad_input_in_one_tab_leaves_the_server_and_the_other_tabs_working(serving, tmp_path: Path) -> None:
    server, client = serving
    bad = await Tab.open(client)
    await bad.type("while True: pass\r\r")  # an endless loop in pane A (Python is allowed on loopback)
    await bad.wait_for("running")
    await bad.type("\x00\x01\x07\x1b[2J\x1b]0;title\x07\x7f" + "x" * 1_000_000)  # control characters, a huge paste
    good = await Tab.open(client)
    await good.type("select 41 + 1\r")
    await good.wait_for("42")
    assert (await client.get(f"/?token={TOKEN}")).status == 200
    await bad.socket.close()
    await good.socket.close()
    await all_gone(server)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend, query", [("postgresql", "select current_schema()"), ("mysql", "select database()")])
async def test_on_a_server_each_tab_works_in_a_namespace_dropped_when_it_closes(backend, query, monkeypatch, tmp_path: Path) -> None:
    url = server_url(backend)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    web = settings("--token", TOKEN, "--url", url)
    monkeypatch.setenv(visitor.SETTINGS_VARIABLE, visitor.settings_environment(web.visitor))
    server = TxplayServer(web)
    client = await client_for(server)
    try:
        tab = await Tab.open(client)
        await tab.type(query + "\r")
        await tab.wait_for("txplay_")
        namespace = re.search(r"txplay_[0-9a-f]{8}", ANSI.sub("", tab.drawn))
        assert namespace, "the tab's schema/database is one of its own"
        assert await namespace_exists(url, namespace.group())
        await tab.socket.close()
        await all_gone(server)
        assert not await namespace_exists(url, namespace.group())
    finally:
        await client.close()


async def namespace_exists(url: str, name: str) -> bool:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from playground.engine.backends import resolve

    engine = create_async_engine(resolve(url).session_url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("select 1 from information_schema.schemata where schema_name = :name"), {"name": name})
            return found.first() is not None
    finally:
        await engine.dispose()


def test_off_loopback_python_is_refused_unless_allowed() -> None:
    assert settings().visitor.python_allowed
    assert settings().host == "127.0.0.1"
    refused = settings("--host", "0.0.0.0")
    assert not refused.visitor.python_allowed and not refused.warnings
    allowed = settings("--host", "0.0.0.0", "--allow-python")
    assert allowed.visitor.python_allowed
    assert any("anyone with the link can run any Python" in warning for warning in allowed.warnings)


def test_a_token_is_made_unless_dropped_on_loopback() -> None:
    made = settings()
    assert made.token and len(made.token) >= 16 and made.token in made.link
    assert settings("--no-token").token is None
    with pytest.raises(WebOptionError, match="loopback"):
        settings("--host", "0.0.0.0", "--no-token")
    with pytest.raises(WebOptionError, match="at least 8"):
        settings("--token", "short")


@pytest.mark.parametrize("argv, reason", [
    (["--url", "sqlite+aiosqlite:///shared.db"], "database of their own"),
    (["--host", "0.0.0.0", "--scenario", "process_payment"], "Python"),
    (["--sessions", "9"], "between 1 and 6"),
    (["--scenario", "no_such_scenario"], "no built-in scenario"),
])
def test_txplay_web_refuses_what_it_cannot_serve_safely(argv: list[str], reason: str, capsys) -> None:
    assert main(["web", *argv]) == 2
    assert reason in capsys.readouterr().err
