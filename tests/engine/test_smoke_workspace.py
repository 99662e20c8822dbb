"""The workspace runs SQL, Python and commands in sessions and reports their outcome."""

from tests.conftest import committed_rows, ok, value


async def test_sql_python_and_commands_run(workspace):
    await ok(workspace, "A", "insert into items (id, name, stock) values (10, 'mug', 3)")
    assert await value(workspace, "A", "session.get(Item, 10).name") == "mug"
    result = await ok(workspace, "A", "\\help")
    assert any("\\savepoint" in line for line in result.messages)
    await ok(workspace, "A", "commit")
    assert await committed_rows(workspace, "select name from items where id = 10") == [("mug",)]
