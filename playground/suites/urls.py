"""Database URLs read without importing SQLAlchemy (a spec run starts faster without it).

`parse` reads what SQLAlchemy's `make_url` reads for server URLs —
`backend[+driver]://[user[:password]@][host][:port][/database][?key=value&…]`, with
percent-escapes in the user and password — and a test holds the two to the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote_plus, unquote

_URL = re.compile(
    r"^(?P<name>[\w+.-]+)://"
    r"(?:(?P<username>[^:/@]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:\[(?P<ipv6>[^/?\]]+)\]|(?P<host>[^/?:]+))?"
    r"(?::(?P<port>[^/?]*))?"
    r"(?:/(?P<database>[^?]*))?"
    r"(?:\?(?P<query>.*))?$",
    re.S,
)


@dataclass(frozen=True)
class DbUrl:
    """The parts of a database URL."""

    backend: str
    driver: str | None = None
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    def display(self) -> str:
        """The URL with its password masked as `***`, as SQLAlchemy shows it."""
        name = self.backend + (f"+{self.driver}" if self.driver else "")
        auth = ""
        if self.username is not None:
            auth = _quote(self.username) + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        database = f"/{self.database}" if self.database is not None else ""
        query = "?" + "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(self.query.items())) if self.query else ""
        return f"{name}://{auth}{host}{port}{database}{query}"


def parse(url: str) -> DbUrl:
    """The parts of `url`; ValueError when it is not a database URL."""
    match = _URL.match(url.strip())
    if not match:
        raise ValueError(f"not a database URL: {url!r}")
    backend, _, driver = match.group("name").partition("+")
    port = match.group("port")
    if port and not port.isdigit():
        raise ValueError(f"not a port number in {url!r}: {port!r}")
    username, password = match.group("username"), match.group("password")
    return DbUrl(
        backend=backend,
        driver=driver or None,
        username=unquote(username) if username is not None else None,
        password=unquote(password) if password is not None else None,
        host=match.group("ipv6") or match.group("host"),
        port=int(port) if port else None,
        database=match.group("database") or None,
        query=dict(parse_qsl(match.group("query") or "", keep_blank_values=True)),
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="!$&'()*+,;=-._~")
