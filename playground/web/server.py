"""The web server: textual-serve's page and terminal, behind a token, for so many visitors at once.

textual-serve starts one process per websocket (AppService). Around it this server checks the
token on the page and on the websocket, counts the visitors and turns the next one away with a
page saying so, gives each visitor a private folder and removes it when their process has ended,
and logs no request (the page's address carries the token; what visitors type never reaches
this process's output, see playground.web.visitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import secrets
import shutil
import tempfile
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from playground.web import visitor
from playground.web.options import WebSettings

log = logging.getLogger("txplay.web")
STOP_TIMEOUT = 15.0  # seconds a visitor's process gets to leave once its tab has closed (see visitor.CLOSE_TIMEOUT)


class TxplayServer(Server):
    """textual-serve's Server with txplay's guards (see the module's docstring)."""

    def __init__(self, settings: WebSettings) -> None:
        super().__init__("txplay", host=settings.host, port=settings.port, title=settings.title)
        self.settings = settings
        self.visitors = 0
        self.sockets: set[web.WebSocketResponse] = set()

    async def _make_app(self) -> web.Application:
        """The page, the websocket and textual-serve's static files (scripts and fonts, no secret)."""
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.get("/ws/{token}", self.handle_websocket, name="websocket"),
            web.static("/static", self.statics_path, name="static"),
        ])
        app.on_shutdown.append(self._close_sockets)
        return app

    async def _close_sockets(self, app: web.Application) -> None:
        """On Ctrl+C every tab is closed, so that every visitor's process leaves and its folder goes."""
        for socket in list(self.sockets):
            await socket.close()

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C, logging no request; say where once it listens."""
        # Every visitor's process reads its settings from the environment textual-serve passes on.
        os.environ[visitor.SETTINGS_VARIABLE] = visitor.settings_environment(self.settings.visitor)
        web.run_app(self._make_app(), host=self.host, port=self.port, access_log=None,
                    print=lambda _: self.announce(), shutdown_timeout=STOP_TIMEOUT * 2)

    def announce(self) -> None:
        """The link (with its token), the limits and the warnings, printed once the port is open."""
        settings = self.settings
        print(f"txplay web: {settings.link}", flush=True)
        print(f"  each tab gets its own process and database; at most {settings.max_visitors} at once"
              + ("" if settings.visitor.python_allowed else "; Python input is refused (SQL and commands only)"), flush=True)
        for warning in settings.warnings:
            print(warning, flush=True)

    def _allowed(self, given: str | None) -> bool:
        expected = self.settings.token
        return expected is None or (given is not None and secrets.compare_digest(given.encode(), expected.encode()))

    @property
    def full(self) -> bool:
        """Every visitor's place is taken."""
        return self.visitors >= self.settings.max_visitors

    async def handle_index(self, request: web.Request) -> web.Response:
        """The terminal page; 403 without the token, a 'full' page when every place is taken."""
        if not self._allowed(request.query.get("token")):
            return forbidden()
        if self.full:
            return full_page(self.settings.max_visitors)
        origin = f"{'wss' if request.secure else 'ws'}://{request.host}"
        context = {
            "font_size": _font_size(request.query.get("fontsize")),
            "app_websocket_url": f"{origin}/ws/{self.settings.token or '-'}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.settings.title},
        }
        page = aiohttp_jinja2.render_string("app_index.html", request, context)
        page = page.replace("<head>", f"<head>\n    <title>{html.escape(self.settings.title)}</title>", 1)
        return web.Response(text=page, content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """One visitor: a private folder, a process of their own, both gone when the tab closes."""
        if not self._allowed(request.match_info["token"] if self.settings.token else None):
            return forbidden()
        if self.full:
            return full_page(self.settings.max_visitors)
        folder = tempfile.mkdtemp(prefix="txplay-visitor-")
        namespace = f"txplay_{secrets.token_hex(4)}"  # the visitor's schema/database on a server
        self.visitors += 1
        # aiohttp's 4 MiB limit on a message: a larger paste ends this visitor's tab, nobody else's.
        socket = web.WebSocketResponse(heartbeat=15)
        self.sockets.add(socket)
        try:
            await socket.prepare(request)
            await self._serve_visitor(request, socket, folder, namespace)
        finally:
            self.sockets.discard(socket)
            await self._drop(namespace)
            shutil.rmtree(folder, ignore_errors=True)
            self.visitors -= 1
        return socket

    async def _drop(self, namespace: str) -> None:
        """Drop the visitor's schema/database where their process could not (killed, or too slow to)."""
        url = self.settings.visitor.url
        if url is None:
            return
        from playground.engine.backends import resolve

        with contextlib.suppress(Exception):
            await asyncio.wait_for(resolve(url).drop_namespace(namespace), STOP_TIMEOUT)

    async def _serve_visitor(self, request: web.Request, socket: web.WebSocketResponse, folder: str, namespace: str) -> None:
        service = AppService(visitor.command(folder, namespace), write_bytes=socket.send_bytes, write_str=socket.send_str,
                             close=_closer(socket), download_manager=self.download_manager)
        await service.start(_size(request.query.get("width"), 80), _size(request.query.get("height"), 24))
        try:
            await self._process_messages(socket, service)
        except Exception:  # a malformed message ends this visitor's tab, not the server
            log.warning("a visitor's connection ended on a malformed message")
        finally:
            # Cancelled meanwhile (the server stopping), it still finishes: a visitor's process must not outlive its tab.
            leaving = asyncio.ensure_future(_leave(service, socket))
            try:
                await asyncio.shield(leaving)
            except asyncio.CancelledError:
                await leaving
                raise


async def _leave(service: AppService, socket: web.WebSocketResponse) -> None:
    """Ask the visitor's process to quit, end it if it does not, and close the tab."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(service.stop()), STOP_TIMEOUT)
    await _end(service)
    await socket.close()


def forbidden() -> web.Response:
    """403: the link without its token."""
    return web.Response(status=403, content_type="text/html", text=(
        "<!DOCTYPE html><title>txplay: forbidden</title><h1>403: forbidden</h1>"
        "<p>This txplay needs the full link, with its <code>?token=…</code>, as <code>txplay web</code> printed it.</p>"))


def full_page(places: int) -> web.Response:
    """503 with a page saying why, instead of a tab that hangs."""
    return web.Response(status=503, content_type="text/html", headers={"Retry-After": "30"}, text=(
        "<!DOCTYPE html><title>txplay is full</title><h1>txplay is full</h1>"
        f"<p>All {places} places are taken. Try again in a minute: a place is free as soon as someone closes their tab.</p>"))


def _font_size(text: str | None) -> int:
    return _size(text, 16, 6, 64)


def _size(text: str | None, default: int, low: int = 10, high: int = 1000) -> int:
    """A number from the query string, kept within reason."""
    try:
        return max(low, min(high, int(text or default)))
    except ValueError:
        return default


def _closer(socket: web.WebSocketResponse):
    """The `close` AppService calls when the app exits: the tab shows 'Session ended'."""
    async def close() -> None:
        await socket.close()

    return close


async def _end(service: AppService) -> None:
    """Kill a visitor's process that did not leave when asked, reap it and close its pipes.

    AppService keeps the process to itself and never waits for it: without this, every visitor
    would leave an open pipe in the server. No public handle exists, hence its `_process`.
    """
    process: Any = getattr(service, "_process", None)
    if process is None:
        return
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    if process.stdin is not None:
        process.stdin.close()


def serve(settings: WebSettings) -> int:
    """Serve until Ctrl+C."""
    TxplayServer(settings).serve()
    return 0
