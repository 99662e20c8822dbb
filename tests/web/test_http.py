"""`txplay web` without a browser: the token, the 'full' page, a real visitor's process and folder, the flags."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

import pytest

from playground.cli import build_parser, main
from playground.web.options import WebOptionError, WebSettings, web_settings

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


@pytest.mark.slow
async def test_a_visitor_gets_a_process_and_a_folder_both_gone_when_the_tab_closes(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    web = settings("--token", TOKEN)
    monkeypatch.setenv(visitor.SETTINGS_VARIABLE, visitor.settings_environment(web.visitor))
    server = TxplayServer(web)
    client = await client_for(server)
    try:
        socket = await client.ws_connect(f"/ws/{TOKEN}?width=120&height=40")
        screen = ""
        async with asyncio.timeout(60):
            while "no objects" not in ANSI.sub("", screen):
                message = await socket.receive()
                assert message.type == WSMsgType.BINARY, message
                screen += message.data.decode("utf-8", "replace")
        assert server.visitors == 1
        folders = list(tmp_path.iterdir())
        assert len(folders) == 1 and list(folders[0].rglob("*.db")), "the visitor's database is in its folder"
        await socket.close()
        async with asyncio.timeout(15):  # the handler returns once the process has ended
            while server.visitors:
                await asyncio.sleep(0.05)
        assert list(tmp_path.iterdir()) == []
    finally:
        await client.close()


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
