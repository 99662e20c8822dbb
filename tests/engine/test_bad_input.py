"""Bad input (DESIGN §3) is a clear error, and the session and its transaction stay as they were."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace
from playground.engine.language import COMMANDS
from playground.engine.snapshot import StepResult
from tests.conftest import committed_rows, ok

REPO = Path(__file__).resolve().parents[2]
ROWS_SQL = "select id from items where id in (10, 11) order by id"


async def _open_transaction_with_savepoint(ws: Workspace) -> None:
    """A's state before the bad input: a row in the root transaction, another in savepoint sp1."""
    await ok(ws, "A", "insert into items (id, name, stock) values (10, 'mug', 3)")
    await ok(ws, "A", "\\savepoint sp1")
    await ok(ws, "A", "insert into items (id, name, stock) values (11, 'cup', 4)")


def _assert_clear_error(result: StepResult, error_type: str | None, message: str | None, hint: str | None) -> None:
    assert isinstance(result, StepResult)
    assert result.status == "error", f"{result.input[:80]!r} did not fail: {result}"
    error = result.error
    assert error is not None
    assert error.type, "the error has no type"
    assert error.message.strip(), "the error has no message"
    assert "Traceback" not in error.message
    assert "Background on this error" not in error.message
    if error_type is not None:
        assert error.type == error_type, f"{error.type}: {error.message}"
    if message is not None:
        assert message.lower() in error.message.lower(), f"{message!r} not in {error.message!r}"
    if hint is not None:
        assert error.hint is not None and hint.lower() in error.hint.lower(), f"hint {error.hint!r} lacks {hint!r}"


BAD_INPUTS = [
    # typos
    pytest.param("selct * from items", "SyntaxError", None, None, id="typo-sql-keyword"),
    pytest.param("select * from itemz", "OperationalError", "no such table: itemz", None, id="typo-table"),
    pytest.param("select nme from users", "OperationalError", "no such column: nme", None, id="typo-column"),
    pytest.param("sesion.get(User, 1)", "NameError", "sesion", None, id="typo-python-name"),
    pytest.param("\\comit", "txplay", "unknown command \\comit", None, id="typo-command"),
    # invalid SQL
    pytest.param("select from where", "OperationalError", "syntax error", None, id="invalid-sql"),
    pytest.param("insert into items values", "OperationalError", "incomplete input", None, id="invalid-sql-incomplete"),
    pytest.param("select 'unterminated", "OperationalError", "unrecognized token", None, id="invalid-sql-quote"),
    # Python exceptions
    pytest.param("1/0", "ZeroDivisionError", "division by zero", None, id="python-zerodivision"),
    pytest.param("raise ValueError('boom')", "ValueError", "boom", None, id="python-raise"),
    pytest.param("session.get(User, 1).no_such_attribute", "AttributeError", "no_such_attribute", None, id="python-attribute"),
    pytest.param("session.execute(text('select * from nowhere'))", "OperationalError", "no such table: nowhere", None, id="python-sql-error"),
    # constraint violations
    pytest.param("insert into users (id, name, email) values (9, 'x', 'ann@example.com')", "IntegrityError",
                 "UNIQUE constraint failed: users.email", "constraint", id="constraint-unique"),
    pytest.param("update items set stock = -1 where id = 1", "IntegrityError", "stock_not_negative", "constraint", id="constraint-check"),
    pytest.param("insert into items (id, name, stock) values (1, 'dup', 1)", "IntegrityError", "UNIQUE constraint failed: items.id",
                 "constraint", id="constraint-primary-key"),
    # unknown commands and wrong arguments
    pytest.param("\\nosuch", "txplay", "unknown command \\nosuch", None, id="unknown-command"),
    pytest.param("\\", "txplay", "unknown command", None, id="empty-command"),
    pytest.param("\\timeout abc", "txplay", "abc", None, id="timeout-not-a-number"),
    pytest.param("\\timeout 1 2", "txplay", "\\timeout SECONDS", None, id="timeout-two-args"),
    pytest.param("\\timeout -1", "txplay", "between 0 and 3600", None, id="timeout-negative"),
    pytest.param("\\begin now", "txplay", "takes no arguments", None, id="begin-with-args"),
    pytest.param("\\commit please", "txplay", "takes no arguments", None, id="commit-with-args"),
    pytest.param("\\savepoint a b", "txplay", "at most one name", None, id="savepoint-two-names"),
    pytest.param("\\expunge", "txplay", "\\expunge NAME", None, id="expunge-without-name"),
    pytest.param("\\expunge nobody", "txplay", "nobody", None, id="expunge-unknown-name"),
    pytest.param("\\mode fast", "txplay", "sync|async", None, id="mode-unknown"),
    pytest.param("\\begin-mode lazy", "txplay", "deferred", None, id="begin-mode-unknown"),
    # Python syntax
    pytest.param("def f(:\n    pass", "SyntaxError", "line 1", None, id="python-syntax-error"),
    pytest.param("for x in range(3):\nprint(x)", "IndentationError", "indented block", None, id="python-indentation"),
    pytest.param("await session.flush()", "SyntaxError", "await", "\\mode async", id="top-level-await-in-sync-mode"),
    pytest.param("async with session.begin_nested():\n    pass", "SyntaxError", "async", "\\mode async", id="async-with-in-sync-mode"),
    # a command word typed without its backslash
    pytest.param("flush", "NameError", "flush", "\\flush", id="bare-flush"),
    pytest.param("clear", "NameError", "clear", "\\clear", id="bare-clear"),
    pytest.param("expunge", "NameError", "expunge", "\\expunge", id="bare-expunge"),
    # isolation levels
    pytest.param("\\isolation NONSENSE", "ArgumentError", "NONSENSE", None, id="invalid-isolation"),
    pytest.param("\\isolation SERIALIZABLE", "InvalidRequestError", "isolation_level may not be altered", None, id="isolation-mid-transaction"),
    # savepoints that do not exist
    pytest.param("release savepoint nosuch", "txplay", "nosuch", None, id="release-unknown-savepoint-sql"),
    pytest.param("release nosuch", "txplay", "nosuch", None, id="release-unknown-savepoint-sql-short"),
    pytest.param("\\release nosuch", "txplay", "nosuch", None, id="release-unknown-savepoint-command"),
    pytest.param("rollback to savepoint nosuch", "txplay", "nosuch", None, id="rollback-to-unknown-savepoint"),
    # control characters, NUL bytes, lone surrogates
    pytest.param("select 1\x07\x1b[2J", "txplay", "U+0007 (BEL)", None, id="control-characters-sql"),
    pytest.param("\x01\x02\x03", "txplay", "U+0001 (SOH)", None, id="control-characters-only"),
    pytest.param("select 1\x00", "txplay", "U+0000 (NUL)", None, id="nul-byte-sql"),
    pytest.param("x = 1\x00", "txplay", "U+0000 (NUL)", None, id="nul-byte-python"),
    pytest.param("select '\ud800'", "UnicodeEncodeError", "surrogates", None, id="lone-surrogate"),
    # size and depth
    pytest.param("select " + "1 + " * 70_000 + "1", "txplay", "longer than txplay accepts", None, id="very-long-line"),
    pytest.param("x" * 300_000, "txplay", "longer than txplay accepts", None, id="very-long-python-line"),
    pytest.param("def r(n):\n    return r(n + 1)\nr(0)", "RecursionError", "maximum recursion depth", None, id="deep-recursion"),
    pytest.param("def r(n):\n    session.execute(text('select 1'))\n    return r(n + 1)\nr(0)", "RecursionError",
                 "maximum recursion depth", None, id="deep-recursion-through-sqlalchemy"),
    pytest.param("(" * 500 + ")" * 500, "SyntaxError", "too many nested parentheses", None, id="deep-nesting"),
    pytest.param("eval('1+' * 200000 + '1')", None, None, None, id="deep-expression-compiled-at-run-time"),
]


@pytest.mark.parametrize(("text", "error_type", "message", "hint"), BAD_INPUTS)
async def test_bad_input_is_a_clear_error_and_leaves_the_transaction_as_it_was(workspace, text, error_type, message, hint):
    ws = workspace
    await _open_transaction_with_savepoint(ws)
    before = ws.snapshot().session("A")
    assert before.status == "active" and before.badge == "savepoint ×1"

    result = await ws.run("A", text)

    _assert_clear_error(result, error_type, message, hint or None)
    after = ws.snapshot().session("A")
    assert after.status == "active"
    assert after.badge == "savepoint ×1"
    assert after.transactions == before.transactions
    assert after.isolation == before.isolation
    # The next step works and sees both rows of the open transaction; nothing was committed.
    assert (await ok(ws, "A", ROWS_SQL)).rows == ((10,), (11,))
    assert await committed_rows(ws, ROWS_SQL) == []
    # The savepoint and the transaction still work as they would have without the bad input.
    await ok(ws, "A", "\\release sp1")
    await ok(ws, "A", "commit")
    assert ws.snapshot().session("A").status == "idle"
    assert await committed_rows(ws, ROWS_SQL) == [(10,), (11,)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1/0", id="python"),
        pytest.param("\\nosuch", id="command"),
        pytest.param("flush", id="bare-command-word"),
        pytest.param("\\release nosuch", id="unknown-savepoint"),
    ],
)
async def test_bad_input_in_an_idle_session_starts_no_transaction(workspace, text):
    ws = workspace
    result = await ws.run("A", text)
    _assert_clear_error(result, None, None, None)
    assert ws.snapshot().session("A").status == "idle"
    assert ws.snapshot().session("A").transactions == ()
    assert (await ok(ws, "A", "select 1")).rows == ((1,),)


async def test_a_row_inserted_before_invalid_sql_is_still_visible_inside_the_session(workspace):
    ws = workspace
    await ok(ws, "A", "insert into items (id, name, stock) values (10, 'mug', 3)")
    bad = await ws.run("A", "select * fromm items")
    _assert_clear_error(bad, "OperationalError", "syntax error", None)
    assert ws.snapshot().session("A").status == "active"
    assert (await ok(ws, "A", "select name, stock from items where id = 10")).rows == (("mug", 3),)
    # Other sessions still do not see it: the transaction was neither committed nor ended.
    assert (await ok(ws, "B", "select count(*) from items where id = 10")).rows == ((0,),)
    await ok(ws, "B", "rollback")
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select name from items where id = 10") == [("mug",)]


async def test_flush_integrity_error_leaves_the_session_failed_until_rollback(workspace):
    ws = workspace
    await ok(ws, "A", "insert into items (id, name, stock) values (10, 'mug', 3)")
    await ok(ws, "A", "session.add(User(name='dup', email='ann@example.com'))")

    flush = await ws.run("A", "session.flush()")
    _assert_clear_error(flush, "IntegrityError", "UNIQUE constraint failed: users.email", None)
    snap = ws.snapshot().session("A")
    assert snap.status == "failed"
    assert "rollback" in snap.badge

    # Every step in between is refused with SQLAlchemy's PendingRollbackError and a hint.
    for text in ("select 1", "session.get(Item, 10)", "\\commit"):
        refused = await ws.run("A", text)
        _assert_clear_error(refused, "PendingRollbackError", "rollback", "rollback")
        assert ws.snapshot().session("A").status == "failed"

    await ok(ws, "A", "rollback")
    assert ws.snapshot().session("A").status == "idle"
    # The rollback undid the whole transaction, the earlier INSERT included; the session works.
    assert (await ok(ws, "A", "select count(*) from items where id = 10")).rows == ((0,),)
    assert (await ok(ws, "A", "select count(*) from users where name = 'dup'")).rows == ((0,),)
    assert await committed_rows(ws, "select count(*) from items where id = 10") == [(0,)]


async def test_flush_command_integrity_error_leaves_the_session_failed_until_rollback_command(workspace):
    ws = workspace
    await ok(ws, "A", "session.add(User(name='dup', email='bob@example.com'))")
    flush = await ws.run("A", "\\flush")
    _assert_clear_error(flush, "IntegrityError", "users.email", "constraint")
    assert ws.snapshot().session("A").status == "failed"
    await ok(ws, "A", "\\rollback")
    assert ws.snapshot().session("A").status == "idle"
    assert (await ok(ws, "A", "select 1")).rows == ((1,),)


async def test_sql_constraint_violation_keeps_the_transaction_open_and_active(workspace):
    ws = workspace
    await ok(ws, "A", "update items set stock = 7 where id = 1")
    bad = await ws.run("A", "insert into users (id, name, email) values (9, 'x', 'ann@example.com')")
    _assert_clear_error(bad, "IntegrityError", "UNIQUE constraint failed", "transaction stays open")
    assert ws.snapshot().session("A").status == "active"
    assert (await ok(ws, "A", "select stock from items where id = 1")).rows == ((7,),)
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select stock from items where id = 1") == [(7,)]
    assert await committed_rows(ws, "select count(*) from users where id = 9") == [(0,)]


async def test_top_level_await_works_once_the_hint_is_followed(workspace):
    ws = workspace
    await ok(ws, "A", "session.add(Item(id=12, name='box', stock=1))")
    refused = await ws.run("A", "await session.flush()")
    _assert_clear_error(refused, "SyntaxError", "await", "\\mode async")
    await ok(ws, "A", "\\mode async")
    await ok(ws, "A", "await session.flush()")
    assert (await ok(ws, "A", "select name from items where id = 12")).rows == (("box",),)


async def test_bare_command_word_works_once_the_hint_is_followed(workspace):
    ws = workspace
    await ok(ws, "A", "session.add(Item(id=12, name='box', stock=1))")
    refused = await ws.run("A", "flush")
    _assert_clear_error(refused, "NameError", "flush", "\\flush")
    assert (await ok(ws, "B", "select count(*) from items where id = 12")).rows == ((0,),)
    await ok(ws, "B", "rollback")
    flushed = await ok(ws, "A", refused.error.hint.rsplit(" ", 1)[-1])
    assert any("INSERT INTO items" in entry.statement for entry in flushed.sql)


async def test_invalid_isolation_level_lists_the_valid_ones(workspace):
    ws = workspace
    result = await ws.run("A", "\\isolation NONSENSE")
    _assert_clear_error(result, None, "NONSENSE", None)
    dialect = ws.sessions["A"].base_engine.dialect
    valid = dialect.get_isolation_level_values(ws.sessions["A"].dbapi_connection)
    assert valid, "SQLAlchemy lists no isolation levels for SQLite"
    for level in valid:
        assert level in result.error.message
    assert ws.snapshot().session("A").isolation == "SERIALIZABLE"
    # A valid one is accepted afterwards.
    await ok(ws, "A", "\\isolation read uncommitted")
    assert ws.snapshot().session("A").isolation == "READ UNCOMMITTED"


async def test_isolation_change_mid_transaction_is_refused_with_sqlalchemys_own_error(workspace):
    ws = workspace
    await ok(ws, "A", "update items set stock = 3 where id = 1")
    before = ws.snapshot().session("A")
    refused = await ws.run("A", "\\isolation READ UNCOMMITTED")
    _assert_clear_error(refused, "InvalidRequestError", "isolation_level may not be altered", None)
    after = ws.snapshot().session("A")
    assert after.isolation == before.isolation == "SERIALIZABLE"
    assert after.status == "active" and after.transactions == before.transactions
    assert (await ok(ws, "A", "select stock from items where id = 1")).rows == ((3,),)
    await ok(ws, "A", "rollback")
    await ok(ws, "A", "\\isolation READ UNCOMMITTED")
    assert ws.snapshot().session("A").isolation == "READ UNCOMMITTED"
    assert await committed_rows(ws, "select stock from items where id = 1") == [(10,)]


async def test_release_of_an_unknown_savepoint_names_the_open_ones(workspace):
    ws = workspace
    await ok(ws, "A", "\\savepoint outer")
    await ok(ws, "A", "savepoint inner")
    result = await ws.run("A", "release savepoint nosuch")
    _assert_clear_error(result, None, "nosuch", None)
    assert "outer" in result.error.message and "inner" in result.error.message
    assert ws.snapshot().session("A").badge == "savepoint ×2"
    await ok(ws, "A", "release savepoint inner")
    assert ws.snapshot().session("A").badge == "savepoint ×1"


async def test_release_without_any_savepoint_says_none_is_open(workspace):
    result = await workspace.run("A", "\\release")
    _assert_clear_error(result, "txplay", "no savepoint is open", None)
    assert workspace.snapshot().session("A").status == "idle"


async def test_a_long_line_below_the_limit_runs(workspace):
    long_text = "x" * 90_000
    result = await workspace.run("A", f"select length('{long_text}'), '{long_text}'")
    assert result.status == "ok", str(result.error)[:300]
    assert result.rows is not None and result.rows[0][0] == 90_000 and result.rows[0][1] == long_text


async def test_control_characters_inside_a_string_literal_are_refused_but_can_be_built(workspace):
    # README: a pasted control character is a clear error, wherever it is; the functions build one.
    refused = await workspace.run("A", "select 'a\x1b[31mb\x07'")
    _assert_clear_error(refused, "txplay", "U+001B (ESC) at line 1, column 10 (and 1 more)", None)
    result = await ok(workspace, "A", "select 'a' || char(27) || '[31mb' || char(7)")
    assert result.rows == (("a\x1b[31mb\x07",),)


async def test_python_exception_keeps_names_bound_before_it(workspace):
    ws = workspace
    result = await ws.run("A", "u = session.get(User, 1)\nu.name = 'changed'\nraise RuntimeError('stop here')")
    _assert_clear_error(result, "RuntimeError", "stop here", None)
    assert "line 3" in result.error.message
    # What ran before the exception stays done, as in the user's application.
    assert (await ok(ws, "A", "u.name")).plain_value == "changed"
    assert (await ok(ws, "A", "u in session.dirty")).plain_value is True


async def test_plain_string_execute_gets_the_text_hint(workspace):
    """SQLAlchemy 2.x refuses session.execute("..."); the engine has a hint for it (errors.hint_for)."""
    result = await workspace.run("A", "session.execute('select 1')")
    _assert_clear_error(result, "ArgumentError", "text(", "text(")
    assert (await ok(workspace, "A", "session.execute(text('select 1')).all()")).plain_value == [(1,)]


_EXIT_SCRIPT = """
import asyncio, json, sys
from playground.demo.kit import DEMO_KIT
from playground.engine import SessionSettings, Workspace

async def main(text):
    ws = await Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0))
    try:
        await ws.run("A", "insert into items (id, name, stock) values (10, 'mug', 3)")
        exited = await ws.run("A", text)
        after = await ws.run("A", "select name from items where id = 10")
        return {"status": exited.status, "error": exited.error.to_json() if exited.error else None,
                "after": after.status, "rows": [list(r) for r in after.rows or ()]}
    finally:
        await ws.close()

print("RESULT " + json.dumps(asyncio.run(main(sys.argv[1]))))
"""


@pytest.mark.parametrize("text", ["raise SystemExit(3)", "exit()", "quit()"])
def test_python_that_exits_is_an_error_not_the_end_of_the_app(text):
    """`exit()` in a pane must not stop the app (or the runner) and every other session with it.

    Run in a child process: a SystemExit escaping the engine ends the event loop it runs on.
    """
    proc = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, text], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, (f"{text!r} ended the process (exit {proc.returncode}) instead of becoming an error:\n"
                   f"{proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else ''}")
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["status"] == "error"
    assert result["error"]["type"] == "SystemExit"
    assert result["after"] == "ok" and result["rows"] == [["mug"]]


# -- fuzzing ----------------------------------------------------------------------------------

SQL_FRAGMENTS = [
    "select", "select 1", "select * from", "select * from items", "select * from users where name = 'ann",
    "insert into items", "insert into items (id, name, stock) values (50, 'f', 1)",
    "insert into users (name, email) values ('z', 'ann@example.com')",
    "update items set stock = stock - 1 where id = 3", "update items set stock = -5",
    "delete from jobs where id = 2", "delete from users where id = 1",
    "with x as (select 1) select * from x", "with x as (", "create table", "create table t (a int); insert into t values (1)",
    "drop table nosuch", "pragma nosuch", "select :x", "select ?", "select 1; select 2", "select 1;;", ";", "--", "/*",
    "'", '"', "`", "$$", "begin", "begin immediate", "commit", "rollback", "end", "abort", "savepoint sp", "release sp",
    "release savepoint sp", "rollback to sp", "rollback to savepoint sp", "savepoint", "release", "explain select 1",
    "select * from items for update", "vacuum", "analyze", "select 1\x00", "select '\x1b[31m'",
]
PYTHON_FRAGMENTS = [
    "session.add(User(name='z'))", "session.add(User(name='z', email='ann@example.com'))", "session.flush()",
    "session.commit()", "session.rollback()", "sp = session.begin_nested()", "sp.rollback()", "sp.commit()",
    "u = session.get(User, 1)", "u.name = None", "u.email = 'bob@example.com'", "session.expunge(u)", "session.delete(u)",
    "session.refresh(u)", "session.begin()", "1/0", "[", "def f(:", "lambda:", "x.y.z", "u.accounts",
    "session.execute(text('select * from nosuch'))", "session.execute('select 1')", "await session.flush()",
    "async with session.begin_nested():\n    pass", "with session.begin_nested():\n    session.add(Item(name='n'))",
    "print('x' * 10)", "raise RuntimeError('r')", "yield 1", "return 1", "import nosuchmodule",
    "session.scalars(select(User)).all()", "inspect(u)", "session.get(Item, 999)", "Item(stock=-1)",
    "session.add(Item(id=1, name='dup'))", "session.add(42)", "session.merge(User(id=1, name='m'))",
    "payment_api.fail_next(1)", "call_payment_api(1, 10)", "flush", "commit_", "help()", "?",
    "def r(n):\n    return r(n + 1)\nr(0)", "x = '\x00'", "\t", "if True:\n  x = 1\n    y = 2",
]
ARGS = ["", "sp", "sp1", "x", "u", "1", "0", "-1", "0.01", "abc", "1 2", "SERIALIZABLE", "read_uncommitted",
        "AUTOCOMMIT", "NONSENSE", "async", "sync", "immediate", "exclusive", "\x07"]
COMMAND_NAMES = sorted(COMMANDS) + ["nosuch", "comit", "flsh", "", "-", "savepoint!", "cancel"]

commands = st.builds(lambda name, arg: f"\\{name} {arg}".rstrip(), st.sampled_from(COMMAND_NAMES), st.sampled_from(ARGS))
fragments = st.one_of(st.sampled_from(SQL_FRAGMENTS), st.sampled_from(PYTHON_FRAGMENTS), commands)
inputs = st.one_of(
    st.text(max_size=60),
    fragments,
    st.builds(lambda a, b: a + b, fragments, st.text(max_size=12)),
    st.builds(lambda a, sep, b: a + sep + b, fragments, st.sampled_from(["; ", "\n", " ", "\n    ", "\r\n"]), fragments),
)


def test_generated_inputs_never_crash_the_engine():
    """A few hundred generated inputs: each gives ok or error, and the session goes on working."""
    loop = asyncio.new_event_loop()
    ws = loop.run_until_complete(Workspace.open(DEMO_KIT, sessions=("A", "B"), defaults=SessionSettings(lock_timeout=5.0)))
    try:

        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(inputs, min_size=1, max_size=4))
        def feed(texts: list[str]) -> None:
            for text in texts:
                result = loop.run_until_complete(ws.run("A", text))
                assert isinstance(result, StepResult)
                assert result.status in ("ok", "error"), result
                if result.status == "error":
                    assert result.error is not None and result.error.type and result.error.message is not None
                assert ws.snapshot().session("A").status in ("idle", "active", "failed")
            if ws.snapshot().session("A").status == "failed":
                rolled_back = loop.run_until_complete(ws.run("A", "rollback"))
                assert rolled_back.status == "ok", rolled_back.error
            check = loop.run_until_complete(ws.run("A", "select 1"))
            if check.status == "error":
                # Only as in any application: the autoflush before the SELECT flushed an object the
                # inputs added and the database refused it; the session then needs a rollback.
                assert ws.snapshot().session("A").status == "failed", f"after {texts!r}: {check.error}"
                assert loop.run_until_complete(ws.run("A", "rollback")).status == "ok"
                check = loop.run_until_complete(ws.run("A", "select 1"))
            assert check.status == "ok", f"after {texts!r}: {check.error}"
            assert check.rows == ((1,),)
            # Start the next example from a clean transaction and sync mode.
            assert loop.run_until_complete(ws.run("A", "rollback")).status == "ok"
            assert loop.run_until_complete(ws.run("A", "\\mode sync")).status == "ok"

        feed()
    finally:
        loop.run_until_complete(ws.close())
        loop.close()


async def test_a_million_row_select_is_streamed_capped_and_counted(workspace):
    from playground.engine.execution import MAX_ROWS

    result = await workspace.run(
        "A", "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000) select x from c"
    )
    assert result.status == "ok"
    assert len(result.rows) == MAX_ROWS and result.rows[0] == (1,)
    assert result.rows_omitted == 1_000_000 - MAX_ROWS
    assert (await workspace.run("A", "select 1")).rows == ((1,),)


async def test_invalid_utf8_pasted_in_gives_a_clear_error_and_the_session_goes_on(workspace):
    # Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape).
    pasted = b"select 'caf\xe9'".decode("utf-8", errors="surrogateescape")
    result = await workspace.run("A", pasted)
    assert result.status == "error"
    assert "surrogate" in result.error.message.lower() and "not UTF-8" in (result.error.hint or "")
    python = await workspace.run("A", b"x = 'caf\xe9'\nlen(x)".decode("utf-8", errors="surrogateescape"))
    assert python.status in ("ok", "error")
    assert (await workspace.run("A", "select 1")).rows == ((1,),)
