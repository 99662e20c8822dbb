"""`txplay web`'s arguments, and the settings they make: safe unless the host says otherwise."""

from __future__ import annotations

import argparse
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_VISITORS = 20


@dataclass(frozen=True)
class VisitorConfig:
    """What each visitor's process opens: the same for every tab."""

    url: str | None
    sessions: int
    scenario: str | None
    models: str | None
    python_allowed: bool


@dataclass(frozen=True)
class WebSettings:
    """How `txplay web` serves: where, behind which token, for how many, and what each tab opens."""

    host: str
    port: int
    token: str | None
    max_visitors: int
    title: str
    visitor: VisitorConfig
    warnings: tuple[str, ...] = ()

    @property
    def link(self) -> str:
        """The address to give visitors (the token in it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")


class WebOptionError(ValueError):
    """Arguments `txplay web` refuses; the message says why."""


def add_web_parser(sub: Any) -> None:
    """The `txplay web` subcommand."""
    web = sub.add_parser(
        "web", help="serve txplay to browsers (pip install 'txplay[web]')",
        description="Serve txplay to browsers: each tab gets its own process and its own database (a fresh "
                    "temporary SQLite file, or with --url a schema/database of its own), removed when the tab "
                    "closes. Bound to 127.0.0.1 unless --host says otherwise; on any other address Python input "
                    "is refused unless --allow-python. The link printed at start carries an access token.")
    web.add_argument("--host", default=DEFAULT_HOST, help=f"the address to listen on (default {DEFAULT_HOST}: this machine only)")
    web.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    tokens = web.add_mutually_exclusive_group()
    tokens.add_argument("--token", help="the access token visitors' links carry (default: a random one)")
    tokens.add_argument("--no-token", action="store_true", help="no token (only when bound to a loopback address)")
    web.add_argument("--allow-python", action="store_true",
                     help="let visitors run Python on a non-loopback address: anyone who has the link can then "
                          "run any code as the user running txplay")
    web.add_argument("--max-visitors", type=int, default=DEFAULT_MAX_VISITORS, metavar="N",
                     help=f"tabs served at once; the next visitor gets a 'full' page (default {DEFAULT_MAX_VISITORS})")
    web.add_argument("--url", dest="web_url", help="a PostgreSQL or MariaDB/MySQL server: each tab gets a schema/database "
                                                   "of its own there (default: a temporary SQLite file per tab)")
    web.add_argument("--sessions", dest="web_sessions", type=int, default=2, metavar="N", help="sessions per tab (1-6, default 2)")
    web.add_argument("--scenario", dest="web_scenario", metavar="NAME|FILE", help="the workshop mode: every tab opens this scenario in demo mode")
    web.add_argument("--models", dest="web_models", metavar="FILE", help="a Python file with your own declarative models")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost might be anything)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_settings(args: argparse.Namespace) -> WebSettings:
    """The settings `args` ask for, or WebOptionError saying why they are refused."""
    loopback = is_loopback(args.host)
    if args.no_token and not loopback:
        raise WebOptionError(f"--no-token is for a loopback address only; on {args.host} anyone who reaches the port would get in")
    if args.token is not None and (len(args.token) < 8 or not args.token.isascii() or not args.token.isprintable()):
        raise WebOptionError("--token must be at least 8 printable ASCII characters")
    if not 1 <= args.web_sessions <= 6:
        raise WebOptionError("--sessions must be between 1 and 6")
    if not 1 <= args.max_visitors <= 1000:
        raise WebOptionError("--max-visitors must be between 1 and 1000")
    if not 0 <= args.port <= 65535:
        raise WebOptionError("--port must be between 0 and 65535")
    python_allowed = loopback or args.allow_python
    warnings: tuple[str, ...] = ()
    if args.allow_python and not loopback:
        warnings = (f"warning: --allow-python on {args.host}: anyone with the link can run any Python code on this "
                    "machine, as this user. Use it only on a network you trust, for people you trust.",)
    _check_url(args.web_url)
    title = "txplay"
    if args.web_scenario:
        title = f"txplay — {_scenario_title(args.web_scenario, python_allowed)}"
    token = None if args.no_token else (args.token or secrets.token_urlsafe(16))
    visitor = VisitorConfig(args.web_url, args.web_sessions, args.web_scenario, args.web_models, python_allowed)
    return WebSettings(args.host, args.port, token, args.max_visitors, title, visitor, warnings)


def _check_url(url: str | None) -> None:
    """A server URL whose databases can be given out one per visitor."""
    if url is None:
        return
    from playground.engine.backends import BackendError, resolve

    try:
        backend = resolve(url)
    except BackendError as exc:
        raise WebOptionError(str(exc)) from None
    if not backend.has_namespaces:
        raise WebOptionError(f"{backend.display_url}: txplay web gives each visitor a database of their own, which only "
                             "a server can (PostgreSQL, MariaDB/MySQL); without --url each visitor gets a temporary SQLite file")


def _scenario_title(name: str, python_allowed: bool) -> str:
    """The scenario's title; refused up front where its Python steps would be refused to every visitor."""
    from playground.engine.language import classify
    from playground.scenario import library
    from playground.scenario.parser import ScenarioError

    try:
        scenario = library.find(name)
    except ScenarioError as exc:
        raise WebOptionError(str(exc)) from None
    python = next((step for step in scenario.steps if classify(step.input).kind == "python"), None)
    if python is not None and not python_allowed:
        raise WebOptionError(f"{scenario.source}:{python.line}: the step for {python.session} is Python, which visitors "
                             "may not run on a non-loopback address (--allow-python allows it)")
    return scenario.title
