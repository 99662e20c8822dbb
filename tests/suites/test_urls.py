"""The suites' URL reader agrees with SQLAlchemy's make_url, without importing SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from playground.suites import urls

URLS = [
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://u:p%40ss%3Aw@db.example.com/app?sslmode=require&application_name=x",
    "postgresql+psycopg://user@[::1]:5433/db",
    "postgresql:///local?host=/var/run/postgresql",
    "mysql+asyncmy://root@127.0.0.1:3306/test",
    "postgresql://user:@host/db",
    "postgresql://host",
]


@pytest.mark.parametrize("url", URLS)
def test_the_parts_are_sqlalchemys(url):
    ours, theirs = urls.parse(url), make_url(url)
    assert ours.backend == theirs.get_backend_name()
    assert ours.driver == (theirs.drivername.partition("+")[2] or None)
    assert (ours.username, ours.password, ours.host, ours.port, ours.database) == (
        theirs.username, theirs.password, theirs.host, theirs.port, theirs.database)
    assert ours.query == dict(theirs.query)
    assert ours.display() == theirs.render_as_string(hide_password=True)


@pytest.mark.parametrize("bad", ["not a url", "postgresql://h:port/db", ""])
def test_what_is_not_a_url_says_so(bad):
    with pytest.raises(ValueError):
        urls.parse(bad)


def test_a_spec_run_imports_no_sqlalchemy():
    code = ("import sys; from playground.suites import isolation, spec, cli, formats, compare; "
            "isolation.check_backend(spec.parse('session s\\nstep a { SELECT 1; }\\n'), 'postgresql://x@h/d'); "
            "isolation.conninfo_for('postgresql://x@h/d'); print('sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
