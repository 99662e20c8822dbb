"""The log shows only SQL that reached the database (issue 13, item 7).

In async mode, reading an expired attribute raises MissingGreenlet before anything is sent:
SQLAlchemy has fired its begin event and tried a ROLLBACK, but no BEGIN, SELECT or ROLLBACK
left the client. Where the driver sends BEGIN with the first statement (asyncpg), it goes out
with the next statement that does run, and the log shows it there.
"""

from __future__ import annotations

from tests.conftest import ok


def statements(result) -> list[str]:
    return [entry.statement.split()[0] + (" (implicit)" if "(implicit)" in entry.statement else "") for entry in result.sql]


async def test_a_step_that_sent_nothing_logs_no_sql(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "\\mode async")
    await ok(ws, "A", "u = await session.get(User, 1)")
    await ok(ws, "A", "await session.commit()")
    for attempt in ("u.name", "u.accounts"):
        failed = await ws.run("A", attempt)
        assert "MissingGreenlet" in str(failed.error)
        assert failed.sql == (), failed.sql
        assert not ws.sessions["A"].in_database_transaction()  # the server saw no BEGIN either
    refreshed = await ok(ws, "A", "await session.refresh(u)")
    begin = "BEGIN" if ws.backend.name == "sqlite" else "BEGIN (implicit)"
    assert statements(refreshed) == [begin, "SELECT"]
    assert ws.sessions["A"].in_database_transaction() or ws.backend.name == "mysql"  # asyncmy has no flag


async def test_sql_that_reached_the_server_and_failed_stays_in_the_log(any_workspace):
    ws = any_workspace
    failed = await ws.run("A", "insert into users (name, email) values ('x', 'ann@example.com')")
    assert failed.status == "error"
    assert [e.statement for e in failed.sql][-1].startswith("insert into users")
