"""The seed articles' code examples, pasted into a pane as written, and what they commit.

The articles live outside the repository (`../shared/seeds`); their code is read at test time and
never copied here. Each example is found by its first line (plus the next line where the first
is not unique). The first article keeps its indentation; the second lost it, so for its examples
a test gives only an indentation level per line and checks that, stripped, the lines are exactly
the article's. The sound examples must do what the article says; the flawed ones must fail the
way SQLAlchemy 2.x makes them fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from playground.engine import Workspace
from tests.conftest import committed_rows, ok, value


@pytest.fixture
def workspace(any_workspace):
    """These tests hold on every backend: SQLite, PostgreSQL and MariaDB/MySQL."""
    return any_workspace


REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"

if not SEEDS.is_dir():
    pytest.skip(f"the seed articles are not here: {SEEDS} is absent", allow_module_level=True)

INDENT = "    "


def seed_lines(prefix: str) -> list[str]:
    """The lines of the seed article whose file name starts with `prefix`."""
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    assert len(found) == 1, f"expected one {prefix}_*.txt in {SEEDS}, found {[p.name for p in found]}"
    return found[0].read_text(encoding="utf-8").splitlines()


def locate(lines: list[str], anchor: tuple[str, ...]) -> int:
    """Index of the one place where the lines (stripped) start with `anchor`."""
    n = len(anchor)
    starts = [
        i for i in range(len(lines) - n + 1)
        if [line.strip() for line in lines[i : i + n]] == [a.strip() for a in anchor]
    ]
    assert len(starts) == 1, f"{anchor[0]!r} should start exactly one example, found {len(starts)}"
    return starts[0]


def is_prose(line: str) -> bool:
    """Whether a line is the article's text rather than code."""
    try:
        compile(line.strip(), "<line>", "exec")
    except SyntaxError:
        return True
    return False


def example(*anchor: str) -> str:
    """A code example of the first article, indentation kept.

    It starts at `anchor` and ends before the first blank line that is followed by an unindented
    line (the article's text, which resumes after every example).
    """
    lines = seed_lines("000")
    start = locate(lines, anchor)
    end = start + 1
    while end < len(lines):
        if not lines[end].strip():
            following = next((line for line in lines[end:] if line.strip()), "")
            if not following.startswith((" ", "\t")):
                break
        end += 1
    code = "\n".join(lines[start:end]).rstrip()
    ast.parse(code)  # the whole example, and nothing of the text around it
    assert is_prose(next(line for line in lines[end:] if line.strip()))
    return code


def reindented(anchor: tuple[str, ...], indents: list[int]) -> str:
    """A code example of the second article, whose indentation was lost, re-indented.

    `indents` gives one level per line; the text itself is the article's, verbatim.
    """
    lines = seed_lines("003")
    start = locate(lines, anchor)
    block = lines[start : start + len(indents)]
    assert len(block) == len(indents), "the example is shorter than its indentation list"
    code = "\n".join(INDENT * level + line.strip() for level, line in zip(indents, block, strict=False))
    assert [line.strip() for line in code.splitlines()] == [line.strip() for line in block]
    assert start + len(indents) == len(lines) or is_prose(lines[start + len(indents)]), (
        f"the example starting {anchor[0]!r} goes on after {len(indents)} lines"
    )
    ast.parse(code)
    return code


async def status(ws: Workspace, session: str) -> str:
    """idle | active | failed | waiting, as the pane's header says."""
    return ws.snapshot().session(session).status


# -- first article: nested transactions and savepoints ----------------------------------------


async def test_intro_try_commit_except_rollback_commits_the_work_in_progress(workspace):
    code = example("session = Session()")
    await ok(workspace, "A", "session.add(AuditLog(action='work in progress'))")
    await ok(workspace, "A", code)
    assert await committed_rows(workspace, "select action from audit_log") == [("work in progress",)]
    assert await status(workspace, "A") == "idle"


async def test_intro_try_commit_except_rollback_discards_a_failing_commit(workspace):
    code = example("session = Session()")
    # A second user with ann's e-mail: the unique constraint refuses the COMMIT's flush.
    await ok(workspace, "A", "session.add(User(name='ann again', email='ann@example.com'))")
    result = await ok(workspace, "A", code)  # the bare except swallows the IntegrityError
    assert "ROLLBACK" in [entry.statement for entry in result.sql]
    assert await committed_rows(workspace, "select name from users order by id") == [("ann",), ("bob",), ("cy",)]
    assert await status(workspace, "A") == "idle"


CART = "from types import SimpleNamespace\nuser_id = 1\n"


async def test_process_checkout_commits_the_order_and_its_lines(workspace):
    await ok(workspace, "A", example("def process_checkout(session, user_id, items):"))
    await ok(workspace, "A", CART + "cart_items = [SimpleNamespace(id=1, qty=2), SimpleNamespace(id=2, qty=5)]")
    await ok(workspace, "A", "process_checkout(session, user_id, cart_items)")
    assert await committed_rows(workspace, "select id, user_id from orders") == [(1, 1)]
    assert await committed_rows(workspace, "select order_id, item_id, quantity from order_lines order by id") == [
        (1, 1, 2),
        (1, 2, 5),
    ]


async def test_checkout_failure_is_rolled_back_entirely_and_logged(workspace):
    await ok(workspace, "A", example("def process_checkout(session, user_id, items):"))
    # The second item is not in the catalogue: its line cannot be stored (item_id NOT NULL).
    await ok(workspace, "A", CART + "cart_items = [SimpleNamespace(id=1, qty=2), SimpleNamespace(id=None, qty=1)]")
    await ok(workspace, "A", example("try:", "process_checkout(session, user_id, cart_items)"))
    assert await value(workspace, "A", "[type(args[0]).__name__ for args in log_error.calls]") == ["IntegrityError"]
    assert await committed_rows(workspace, "select count(*) from orders") == [(0,)]
    assert await committed_rows(workspace, "select count(*) from order_lines") == [(0,)]
    assert await status(workspace, "A") == "idle"


async def test_process_payment_keeps_the_log_when_the_api_fails(workspace):
    await ok(workspace, "A", example("def process_payment(session, user_id, amount):"))
    await ok(workspace, "A", "payment_api.fail_next(1)")
    await ok(workspace, "A", "process_payment(session, 1, 30)")
    assert await value(workspace, "A", "notify_support.calls") == [(1,)]
    # Session B sees what A committed: the log row, and no payment.
    assert (await ok(workspace, "B", "select user_id, amount from payment_log")).rows == ((1, 30),)
    assert (await ok(workspace, "B", "select count(*) from payments")).rows == ((0,),)
    # B's read holds SQLite's SHARED lock until B's transaction ends; A's next COMMIT would wait.
    await ok(workspace, "B", "rollback")

    await ok(workspace, "A", "process_payment(session, 2, 20)")
    assert await committed_rows(workspace, "select user_id, confirmation from payments") == [(2, "conf-1")]
    assert await committed_rows(workspace, "select user_id, amount from payment_log order by id") == [(1, 30), (2, 20)]
    assert await value(workspace, "A", "notify_support.calls") == [(1,)]


async def test_retry_with_savepoints_commits_the_attempt_that_succeeded(workspace):
    await ok(workspace, "A", "user_id, amount = 1, 30\nuser = session.get(User, user_id)")
    await ok(workspace, "A", "payment_api.fail_next(2)")
    await ok(workspace, "A", example("for _ in range(3):"))
    assert await value(workspace, "A", "len(payment_api.calls)") == 3
    await ok(workspace, "A", "session.commit()")
    assert await committed_rows(workspace, "select user_id, confirmation from payments") == [(1, "conf-1")]


async def test_retry_with_savepoints_gives_up_after_three_attempts(workspace):
    await ok(workspace, "A", "user_id, amount = 1, 30\nuser = session.get(User, user_id)")
    await ok(workspace, "A", "session.add(PaymentLog(user_id=user_id, amount=amount))")
    await ok(workspace, "A", "payment_api.fail_next(3)")
    result = await workspace.run("A", example("for _ in range(3):"))
    assert result.status == "error"
    assert result.error.type == "PaymentAPIError"
    assert "Failed after 3 attempts" in result.error.message
    # Only the savepoints were rolled back: the outer transaction, and its log row, go on.
    assert await status(workspace, "A") == "active"
    await ok(workspace, "A", "session.commit()")
    assert await committed_rows(workspace, "select user_id, amount from payment_log") == [(1, 30)]
    assert await committed_rows(workspace, "select count(*) from payments") == [(0,)]


async def test_import_data_commits_the_good_rows_and_logs_the_bad_ones(workspace):
    await ok(workspace, "A", example("def import_data(session, rows):"))
    await ok(
        workspace,
        "A",
        "rows = [\n"
        "    {'name': 'dee', 'email': 'dee@example.com'},\n"
        "    {'name': 'ann twin', 'email': 'ann@example.com'},\n"
        "    {'name': 'no email'},\n"
        "    {'name': 'eve', 'email': 'eve@example.com'},\n"
        "]",
    )
    await ok(workspace, "A", "import_data(session, rows)")
    assert await committed_rows(workspace, "select name, email from users where id > 3 order by id") == [
        ("dee", "dee@example.com"),
        ("eve", "eve@example.com"),
    ]
    assert await committed_rows(workspace, "select count(*) from users") == [(5,)]
    calls = await value(workspace, "A", "log_invalid_row.calls")
    assert [row["name"] for row, _ in calls] == ["ann twin", "no email"]
    assert ("IntegrityError" in calls[0][1] or "UniqueViolation" in calls[0][1]) and "email" in calls[0][1]
    assert calls[1][1] == "'email'"


async def test_best_practice_block_on_a_fresh_session_runs_and_leaves_it_idle(workspace):
    await ok(workspace, "A", example("try:", "session.begin()"))
    assert await status(workspace, "A") == "idle"
    assert await committed_rows(workspace, "select count(*) from audit_log") == [(0,)]


async def test_best_practice_block_after_earlier_work_fails_and_discards_it(workspace):
    # SQLAlchemy 2.x autobegins: once the session did anything, session.begin() is refused,
    # and the except clause rolls back the work done so far.
    await ok(workspace, "A", "entry = AuditLog(action='earlier work')\nsession.add(entry)\nsession.flush()")
    result = await workspace.run("A", example("try:", "session.begin()"))
    assert result.status == "error"
    assert result.error.type == "InvalidRequestError"
    assert "already begun" in result.error.message
    assert await status(workspace, "A") == "idle"
    assert await committed_rows(workspace, "select count(*) from audit_log") == [(0,)]
    [row] = [o for o in workspace.snapshot().session("A").objects if "entry" in o.names]
    assert (row.state, row.panel, row.cause) == ("transient", "expunged", "rollback")


# -- second article: isolation and commit strategies (indentation restored) -------------------

SYNC_SCOPE = (
    ("from sqlalchemy import create_engine, text",),
    [0, 0, 0, 0, 1, 1, 2, 3, 3, 3],
)
ISOLATION_OVERRIDE = (
    ("from sqlalchemy import create_engine, IsolationLevel",),
    [0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 4, 3, 3],
)
ASYNC_CONTEXT = (
    ("from sqlalchemy.ext.asyncio import create_async_engine, AsyncSession",),
    [0, 0, 0, 0, 1, 0, 1, 1, 1, 2, 3, 3, 3],
)
PARTIAL_ROLLBACK = (
    ("from sqlalchemy.orm import Session", "from sqlalchemy.exc import IntegrityError"),
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 4, 4, 2, 3, 3, 2, 2],
)


async def test_sync_transaction_scope_commits_on_block_exit(workspace):
    await ok(workspace, "A", reindented(*SYNC_SCOPE))
    await ok(workspace, "A", "sync_transaction_scope(engine)")
    assert await committed_rows(workspace, "select action from audit_log") == [("SYNC_COMMIT",)]
    assert await status(workspace, "A") == "idle"


async def test_isolation_level_enum_does_not_exist(workspace):
    result = await workspace.run("A", reindented(*ISOLATION_OVERRIDE))
    assert result.status == "error"
    assert result.error.type == "ImportError"
    assert "IsolationLevel" in result.error.message
    assert "apply_serializable_override" not in workspace.sessions["A"].namespace
    # The pane goes on as before.
    assert (await ok(workspace, "A", "select count(*) from users")).rows == ((3,),)


async def test_async_transaction_context_commits_on_success_and_rolls_back_on_error(workspace):
    await ok(workspace, "A", "\\mode async")
    await ok(workspace, "A", reindented(*ASYNC_CONTEXT))
    await ok(
        workspace,
        "A",
        "from contextlib import asynccontextmanager\n"
        "scope = asynccontextmanager(async_transaction_context)\n"
        "async with scope(engine) as s:\n"
        "    s.add(AuditLog(action='ASYNC_COMMIT'))\n",
    )
    assert await committed_rows(workspace, "select action from audit_log") == [("ASYNC_COMMIT",)]

    failed = await workspace.run(
        "A",
        "async with scope(engine) as s:\n"
        "    s.add(AuditLog(action='ASYNC_FAILED'))\n"
        "    await s.flush()\n"
        "    raise ValueError('after the flush')\n",
    )
    assert failed.status == "error" and failed.error.type == "ValueError"
    assert "ROLLBACK" in [entry.statement for entry in failed.sql]
    assert await committed_rows(workspace, "select action from audit_log") == [("ASYNC_COMMIT",)]


async def test_partial_rollback_pattern_as_written_needs_text(workspace):
    await ok(workspace, "A", reindented(*PARTIAL_ROLLBACK))
    result = await workspace.run("A", 'partial_rollback_pattern(session, {"order": 1})')
    assert result.status == "error"
    assert result.error.type == "ArgumentError"
    assert "text(" in result.error.message
    # The ArgumentError is no IntegrityError: nothing catches it, and `with session.begin()` rolls back.
    assert await value(workspace, "A", "session.in_transaction()") is False
    assert await committed_rows(workspace, "select count(*) from users where name = 'primary_user'") == [(0,)]
    assert await committed_rows(workspace, "select count(*) from audit_log") == [(0,)]


async def test_partial_rollback_pattern_with_text_rolls_back_the_outer_work_too(workspace):
    code, fixes = re.subn(r'session\.execute\(("[^"]*")', r"session.execute(text(\1)", reindented(*PARTIAL_ROLLBACK))
    assert fixes == 1
    await ok(workspace, "A", code)
    result = await workspace.run("A", """partial_rollback_pattern(session, '{"order": 1}')""")
    # session.rollback() ended the whole transaction, so `with session.begin()` has none to close.
    assert result.status == "error"
    assert result.error.type == "InvalidRequestError"
    statements = [entry.statement for entry in result.sql]
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in statements)
    assert "ROLLBACK" in statements
    assert await committed_rows(workspace, "select count(*) from users where name = 'primary_user'") == [(0,)]
    assert await committed_rows(workspace, "select count(*) from audit_log") == [(0,)]
    assert await value(workspace, "A", "session.in_transaction()") is False
