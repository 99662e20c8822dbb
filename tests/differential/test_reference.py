"""The yardstick checked by hand: the reference runner against facts worked out without it.

The expectations below come from the databases' and SQLAlchemy's documented behaviour (and were
checked with psql, the mariadb client and the sqlite3 shell): PostgreSQL aborts a transaction at
its first error and answers 25P02 until a rollback, MariaDB and SQLite let it go on; a failed
flush deactivates the Session's transaction on every backend; a COMMIT refused by the server
leaves the Session `prepared`; a released savepoint is undone by the outer rollback.
"""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, server_url
from tests.differential.conftest import DatabasesByBackend
from tests.differential.model import StepFacts
from tests.differential.reference import run_reference
from tests.differential.scenarios import SCENARIOS

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _scenario(name: str):
    return next(s for s in SCENARIOS if s.name == name)


async def _run(name: str, backend: str, databases: DatabasesByBackend) -> list[StepFacts]:
    url = None if backend == "sqlite" else server_url(backend)
    return await run_reference(_scenario(name), databases.on(backend, url))


def _summary(facts: list[StepFacts], session: str = "A") -> list[tuple[str, str | None, str]]:
    return [(f.outcome, f.error, f.sessions[session].status) for f in facts]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_unique_violation_in_sql(backend: str, databases: DatabasesByBackend) -> None:
    facts = await _run("a unique violation in SQL", backend, databases)
    if backend == "postgresql":
        expected = [
            ("ok", None, "active"),
            ("error", "IntegrityError", "failed"),
            ("error", "DBAPIError", "failed"),  # 25P02: current transaction is aborted
            ("ok", None, "idle"),
            ("ok", None, "active"),
            ("ok", None, "idle"),
        ]
    else:
        expected = [
            ("ok", None, "active"),
            ("error", "IntegrityError", "active"),
            ("ok", None, "active"),
            ("ok", None, "idle"),
            ("ok", None, "active"),
            ("ok", None, "idle"),
        ]
        assert facts[2].rows == [[3]]
    assert _summary(facts) == expected
    assert facts[0].rowcount == 1
    assert facts[4].rows == [[10]]  # the update went with the rollback


async def test_a_deferred_foreign_key_refuses_the_commit(databases: DatabasesByBackend) -> None:
    facts = await _run("PostgreSQL: a deferred foreign key refuses the COMMIT", "postgresql", databases)
    assert _summary(facts) == [
        ("ok", None, "active"),
        ("error", "IntegrityError", "failed"),
        ("error", "InvalidRequestError", "failed"),  # the Session is `prepared`
        ("ok", None, "idle"),
        ("ok", None, "active"),
        ("ok", None, "idle"),
    ]
    assert facts[4].rows == [[0]]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_released_savepoint_is_undone_by_the_outer_rollback(backend: str, databases: DatabasesByBackend) -> None:
    facts = await _run("a released savepoint does not survive the outer rollback", backend, databases)
    states = [f.sessions["A"].objects.get("n") for f in facts]
    assert [s.state if s else None for s in states] == [
        None, "transient", "pending", "persistent", "transient", "transient", "transient",
    ]
    assert states[3].identity == (4,)
    assert [f.sessions["A"].status for f in facts] == ["active", "active", "active", "active", "idle", "active", "idle"]
    assert facts[5].rows == [[3]]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_flush_error_caught_in_python_leaves_the_session_failed(backend: str, databases: DatabasesByBackend) -> None:
    facts = await _run("a flush error caught in Python", backend, databases)
    assert _summary(facts) == [("ok", None, "failed"), ("ok", None, "failed"), ("ok", None, "idle")]
    assert facts[1].value == "True"
