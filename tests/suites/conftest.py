"""Fixtures of the suite tests: a fresh database on the test PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import server_url


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards: its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url("postgresql"))
    name = f"txplay_spec_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ROW_LOCK = """\
# Two sessions update one row: the second waits for the first's row lock.
setup { CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 10); }
teardown { DROP TABLE t; }

session s1
setup { BEGIN; }
step s1u { UPDATE t SET v = v + 1 WHERE id = 1; }
step s1c { COMMIT; }

session s2
setup { BEGIN; }
step s2u { UPDATE t SET v = v * 2 WHERE id = 1; }
step s2s { SELECT v FROM t WHERE id = 1; }
step s2c { COMMIT; }

permutation s1u s2u s1c s2s s2c
permutation s2u s1u s2c s1c
"""

ROW_LOCK_EXPECTED = """\
Parsed test spec with 2 sessions

starting permutation: s1u s2u s1c s2s s2c
step s1u: UPDATE t SET v = v + 1 WHERE id = 1;
step s2u: UPDATE t SET v = v * 2 WHERE id = 1; <waiting ...>
step s1c: COMMIT;
step s2u: <... completed>
step s2s: SELECT v FROM t WHERE id = 1;
 v
--
22
(1 row)

step s2c: COMMIT;

starting permutation: s2u s1u s2c s1c
step s2u: UPDATE t SET v = v * 2 WHERE id = 1;
step s1u: UPDATE t SET v = v + 1 WHERE id = 1; <waiting ...>
step s2c: COMMIT;
step s1u: <... completed>
step s1c: COMMIT;
"""
"""What PostgreSQL 15's isolationtester prints for ROW_LOCK."""


@pytest.fixture
def row_lock_spec(tmp_path) -> Path:
    """ROW_LOCK laid out as PostgreSQL's suite is: specs/row_lock.spec, expected/row_lock.out."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "expected").mkdir()
    (tmp_path / "expected" / "row_lock.out").write_text(ROW_LOCK_EXPECTED)
    path = tmp_path / "specs" / "row_lock.spec"
    path.write_text(ROW_LOCK)
    return path
