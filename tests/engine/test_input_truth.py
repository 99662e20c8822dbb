"""What a step reports is what the input did: DML results, SQL vs Python, control characters."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import event

from playground.engine import Workspace
from playground.engine.language import classify, split_sql
from tests.conftest import committed_rows, ok

# -- a Python step whose last expression is a DML session.execute(...) -----------------------

SYNCHRONIZE = ["'auto'", "'fetch'", "'evaluate'", "False"]

# (the call, as the step's last expression; SQL that reads what it changed; those rows after commit)
DML_CASES = [
    ('session.execute(text("update items set stock = 9 where id = 1"))', "select stock from items where id = 1", [(9,)]),
    *[
        (f"session.execute(update(Item).where(Item.id == 1).values(stock={20 + n}), "
         f"execution_options={{'synchronize_session': {sync}}})", "select stock from items where id = 1", [(20 + n,)])
        for n, sync in enumerate(SYNCHRONIZE)
    ],
    *[
        (f"session.execute(delete(Job).where(Job.id == {n + 1}), execution_options={{'synchronize_session': {sync}}})",
         f"select count(*) from jobs where id = {n + 1}", [(0,)])
        for n, sync in enumerate(SYNCHRONIZE[:3])
    ],
    ("session.execute(delete(Item).where(Item.id == 3), execution_options={'synchronize_session': False})",
     "select count(*) from items where id = 3", [(0,)]),
    ('session.execute(insert(Job).values(payload="p"))', "select count(*) from jobs where payload = 'p'", [(1,)]),
]


async def _in_mode(ws: Workspace, mode: str) -> str:
    """Switch A to sync or async mode; the prefix its calls of session.execute() need."""
    await ok(ws, "A", f"\\mode {mode}")
    return "await " if mode == "async" else ""


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_shows_its_row_count_and_is_applied(any_workspace: Workspace, mode):
    ws = any_workspace
    prefix = await _in_mode(ws, mode)
    for call, check, after in DML_CASES:
        # An object in the identity map gives the synchronize_session strategies something to do.
        result = await ws.run("A", f"i = {prefix}session.get(Item, 1)\n{prefix}{call}")
        assert result.status == "ok", f"{call}: {result.error}"
        assert "1 row affected" in result.messages, f"{call}: {result.messages}"
        assert result.rows is None and result.value is None
        await ok(ws, "A", "commit")
        assert await committed_rows(ws, check) == after, call


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_counts_every_row_it_changed(any_workspace: Workspace, mode):
    ws = any_workspace
    prefix = await _in_mode(ws, mode)
    result = await ok(ws, "A", f"{prefix}session.execute(update(Job).values(taken_by='A'))")
    assert "3 rows affected" in result.messages
    result = await ok(ws, "A", f'{prefix}session.execute(text("delete from jobs where id > 1"))')
    assert "2 rows affected" in result.messages
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select id, taken_by from jobs") == [(1, "A")]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_python_dml_execute_with_returning_shows_its_rows(any_workspace: Workspace, mode):
    ws = any_workspace
    prefix = await _in_mode(ws, mode)
    result = await ok(ws, "A", f'{prefix}session.execute(insert(Job).values(payload="r").returning(Job.payload))')
    assert result.columns == ("payload",) and result.rows == (("r",),)
    if ws.backend.name != "mysql":  # MariaDB has no UPDATE … RETURNING
        result = await ok(ws, "A", f"{prefix}session.execute(update(Item).where(Item.id == 2).values(stock=4)"
                                   ".returning(Item.id, Item.stock), execution_options={'synchronize_session': 'fetch'})")
        assert result.rows == ((2, 4),)
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select payload from jobs where payload = 'r'") == [("r",)]


async def test_a_bulk_insert_through_python_is_applied(any_workspace: Workspace):
    ws = any_workspace
    await ok(ws, "A", 'session.execute(insert(Job), [{"payload": "x"}, {"payload": "y"}])')
    await ok(ws, "A", "commit")
    assert await committed_rows(ws, "select payload from jobs where payload in ('x', 'y') order by payload") == [("x",), ("y",)]


# -- control characters: refused before anything is sent -------------------------------------

CONTROL_INPUTS = [
    pytest.param("select 1\x01 + 2", "U+0001 (SOH) at line 1, column 9", id="sql"),
    pytest.param("insert into items (id, name, stock) values (20, 'x\x1b[31m', 1)", "U+001B (ESC)", id="sql-in-a-literal"),
    pytest.param("select 1\x00", "U+0000 (NUL)", id="nul-sql"),
    pytest.param("session.add(Item(id=20, name='x', stock=1))\x07", "U+0007 (BEL) at line 1, column 44", id="python"),
    pytest.param("x = 1\x00", "U+0000 (NUL)", id="nul-python"),
    pytest.param("session.add(Item(id=20, name='x', stock=1))\nsession.flush()\n\x0c", "U+000C (FF) at line 3, column 1",
                 id="python-block"),
    pytest.param("for n in range(2):\n    session.execute(text('select 1'))\x85\n", "U+0085 (C1 control) at line 2", id="c1"),
    pytest.param("\\begin\x01", "U+0001", id="command"),
    pytest.param("\\savepoint\x1fsp", "U+001F (US)", id="command-split-on-unit-separator"),
    pytest.param("\\cancel\x1c", "U+001C (FS)", id="cancel-command"),
    pytest.param("select 1\x7f", "U+007F (DEL)", id="del"),
    pytest.param("\x01\x02\x03", "(and 2 more)", id="only-control-characters"),
]


@pytest.mark.parametrize(("text", "where"), CONTROL_INPUTS)
@pytest.mark.parametrize("in_transaction", [False, True], ids=["idle", "in-transaction"])
async def test_a_control_character_is_refused_and_nothing_runs(workspace: Workspace, text, where, in_transaction):
    ws = workspace
    if in_transaction:
        await ok(ws, "A", "update items set stock = 5 where id = 1")
    before = ws.snapshot().session("A")

    result = await ws.run("A", text)

    assert result.status == "error" and result.error is not None
    assert result.error.type == "txplay"
    assert "control character" in result.error.message and where in result.error.message, result.error.message
    assert "nothing ran" in result.error.message
    assert result.sql == ()
    after = ws.snapshot().session("A")
    assert (after.status, after.badge, after.transactions, after.objects) == (
        before.status, before.badge, before.transactions, before.objects)
    assert "x" not in ws.sessions["A"].namespace
    assert await committed_rows(ws, "select count(*) from items where id = 20") == [(0,)]


@pytest.mark.parametrize("text", ["select 1\t+ 2", "select 1\r\n + 2", "x = 1\r\nx\t+ 1"])
async def test_tab_newline_and_carriage_return_are_allowed(workspace: Workspace, text):
    result = await ok(workspace, "A", text)
    assert result.rows == ((3,),) or result.plain_value == 2


async def test_the_headless_runner_refuses_a_control_character():
    from playground.scenario import parse, run_scenario

    text = "title: control\nsessions: A\n\nA: select 1\x01 + 2\n=> error txplay: the input holds the control character U+0001\n"
    report = await run_scenario(parse(text, "control.txp"))
    assert report.exit_code == 0, report.events
    step = next(event for event in report.events if event["event"] == "step")
    assert step["status"] == "error" and step["sql"] == []


# -- SQL or Python: decided from the parse of the whole input --------------------------------

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"

SQL_THAT_LOOKS_LIKE_PYTHON = [
    "select (1 + 2) * 2", "select (select count(*) from jobs) as n", "values (1), (2)", "VALUES (1)",
    "with x as (select 1) select * from x", "with recursive t(n) as (select 1) select n from t", "select (1)",
    "select -1", "select +1", "SELECT (setting in ('on', 'off')) AS b FROM pg_settings", "(select 1) union (select 2)",
    "-- a comment first\nselect 1", "/* a comment first */ select 1", "commit;", "COMMIT", "begin; commit", "END;",
    "ABORT;", "vacuum", "analyze;", "checkpoint", "UNLISTEN *;", "EXECUTE getrow_idx;", "kill 42", "set x = 1",
    "select\n  1", "select (1 +", "values (1,", "select .5", "table items", "delete from jobs", "update items set stock = 1", "copy items to stdout",
    "import foreign schema s from server x into y", "with x as (select 1) delete from jobs",
]
PYTHON_THAT_STARTS_WITH_A_KEYWORD = [
    "select(User)", "select(User).where(User.id == 1)", "update(Item).values(stock=1)", "delete(Job)",
    "values = [1, 2]", 'table = "x"', 'insert(Job).values(payload="p")', "values", "table", "values[0]",
    "values.append(3)", "set([1, 2])", "begin = session.begin()", "commit_ = 1", "end - start", "select(User), 2",
    "with session.begin():\n    pass", "with session.begin_nested() as sp:\n    session.add(Item(name='n'))",
    "import os", "execute(1)", "close()", "kill(42)", "kill = 1", "flush", "show = False", "delete_ = 1",
    "select(User).where(", "update(Item).values(stock=", "(select(User))", "# a comment\nselect(User)", "# x -- y /* z\nselect(User)",
    "values, table = 1, 2", "values += [3]", "delete: int = 1", "select = None", "lock = 1\nlock",
    "await session.execute(select(User))", "values = await session.scalars(select(User))",
    # unfinished: the pane waits for the rest of the block instead of running it as SQL
    "with session.begin():", "with session.begin_nested() as sp:", "select(User).where(User.id ==",
    "values = [\n    1,", "table = {", "values += [", "values.extend([", "values[0] = (", "values: list = [",
]
# Python as DESIGN.md (§3) writes it.
DESIGN_PYTHON = [
    "session.add(u)", "session.flush()", "sp = session.begin_nested()", "sp.rollback()", "await session.flush()",
    "async with session.begin_nested():\n    pass", "u = session.get(User, 1)", "session.commit()",
]


@pytest.mark.parametrize("text", SQL_THAT_LOOKS_LIKE_PYTHON)
def test_sql_classifies_as_sql(text):
    assert classify(text).kind == "sql"


@pytest.mark.parametrize("text", PYTHON_THAT_STARTS_WITH_A_KEYWORD + DESIGN_PYTHON)
def test_python_classifies_as_python(text):
    assert classify(text).kind == "python"


@pytest.mark.parametrize("commit", ["-- done\ncommit", "/* done */ COMMIT", "commit -- done"])
async def test_a_commented_commit_is_the_sessions_commit(workspace: Workspace, commit):
    ws = workspace
    await ok(ws, "A", "update items set stock = 2 where id = 1")
    result = await ok(ws, "A", commit)
    assert result.kind == "sql"
    # Sent behind the Session's back, it would leave the Session believing it is still inside.
    assert ws.snapshot().session("A").status == "idle"
    assert await committed_rows(ws, "select stock from items where id = 1") == [(2,)]


def test_sql_splits_on_semicolons_outside_comments():
    statements = split_sql("/* one; */ select 1; -- two; three\nselect 2; /* only a comment */")
    assert [stmt.text for stmt in statements] == ["/* one; */ select 1", "-- two; three\nselect 2"]


def _isolation_specs() -> Path:
    """PostgreSQL's isolation specs: from TXPLAY_PG_ISOLATION_DIR (`.ci/run` fetches PostgreSQL 15's
    source with scripts/upstream_suites.sh), else where the server's development files put them."""
    folder = os.environ.get("TXPLAY_PG_ISOLATION_DIR")
    if folder:
        specs = Path(folder) / "specs"
    else:
        try:
            pgxs = subprocess.run(["pg_config", "--pgxs"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pytest.skip("pg_config is not installed and TXPLAY_PG_ISOLATION_DIR is not set "
                        "(scripts/upstream_suites.sh fetches PostgreSQL's isolation specs)")
        specs = Path(pgxs).parent.parent / "test" / "isolation" / "specs"
    if not specs.is_dir() or not any(specs.glob("*.spec")):
        pytest.skip(f"PostgreSQL's isolation specs are not at {specs.resolve()} "
                    "(scripts/upstream_suites.sh fetches them; point TXPLAY_PG_ISOLATION_DIR at the folder it prints)")
    return specs


def spec_sql_blocks(text: str) -> list[str]:
    """The SQL of every setup, teardown and step block of an isolation spec.

    As isolationtester reads a spec: `#` starts a comment outside blocks, and a block runs from
    `{` to the first `}`.
    """
    blocks, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
        elif ch == '"':
            i = text.index('"', i + 1) + 1
        elif ch == "{":
            end = text.index("}", i)
            blocks.append(text[i + 1 : end].strip())
            i = end + 1
        else:
            i += 1
    return [block for block in blocks if block]


def test_every_step_of_postgresqls_isolation_specs_classifies_as_sql():
    specs = sorted(_isolation_specs().glob("*.spec"))
    python = []
    count = 0
    for spec in specs:
        for block in spec_sql_blocks(spec.read_text(encoding="utf-8")):
            # The block as pasted, and each of its statements typed alone.
            for text in [block, *(stmt.text for stmt in split_sql(block))]:
                count += 1
                if classify(text).kind != "sql":
                    python.append(f"{spec.name}: {text[:80]!r}")
    assert python == []
    assert count >= 2 * len(specs), f"only {count} SQL texts in {len(specs)} specs: are they read right?"


def _seed_python() -> list[str]:
    """Every line of the seed articles that is Python, and every block that starts with a keyword."""
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not here: {SEEDS} is absent")
    texts = []
    for path in sorted(SEEDS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.endswith(":"):
                # A compound statement with its indented body, where the article kept the indentation;
                depth = len(line) - len(line.lstrip())
                body = list(itertools.takewhile(
                    lambda text, depth=depth: not text.strip() or len(text) - len(text.lstrip()) > depth, lines[i + 1 :]
                ))
                # Where the article lost it, the header alone, with a body that does nothing.
                stripped = textwrap.dedent("\n".join([line, *body])).strip() if body else f"{stripped}\n    pass"
            try:
                compile(stripped, "<seed>", "exec")
            except SyntaxError:
                continue
            if stripped and stripped != "FAQ":  # a heading, not code
                texts.append(stripped)
    return texts


def test_the_seed_articles_python_classifies_as_python():
    texts = _seed_python()
    assert len(texts) > 50 and any(text.startswith("with ") and "\n" in text for text in texts)
    assert [text for text in texts if classify(text).kind != "python"] == []


# (SQL that reads like Python, the backends where it is valid, the rows it gives)
SQL_RUNS = [
    ("select (1 + 2) * 2", None, [(6,)]),
    ("select (select count(*) from jobs) as n", None, [(3,)]),
    ("values (1), (2)", None, [(1,), (2,)]),
    ("with x as (select 1) select * from x", None, [(1,)]),
    ("select (1)", None, [(1,)]),
    ("select -1", None, [(-1,)]),
    ("-- a comment first\nselect 1", None, [(1,)]),
    ("(select 1) union all (select 2)", ("postgresql", "mysql"), [(1,), (2,)]),
]


@pytest.mark.parametrize(("text", "backends", "rows"), SQL_RUNS, ids=[case[0] for case in SQL_RUNS])
async def test_sql_that_reads_like_python_runs_as_sql(any_workspace: Workspace, text, backends, rows):
    ws = any_workspace
    result = await ws.run("A", text)
    assert result.kind == "sql"
    if backends is not None and ws.backend.name not in backends:
        # Not valid here: the database's own error, not Python's.
        assert result.status == "error" and result.error.type == "OperationalError", result.error
        return
    assert result.status == "ok", result.error
    assert [tuple(row) for row in result.rows or ()] == rows


# -- a step that waited redraws the objects it touched ---------------------------------------


def _item_row(ws: Workspace, session: str, identity: tuple):
    rows = [row for row in ws.snapshot().session(session).objects if row.cls == "Item" and row.identity == identity]
    assert len(rows) == 1, rows
    return rows[0]


async def _flush_that_waits_on_a(ws: Workspace, flush: str) -> None:
    """B flushes a change to item 1 while A holds its lock; the panel is drawn during the wait."""
    sent = asyncio.Event()

    def on_send(*args: object) -> None:
        sent.set()

    # The flush's first statement is the one that waits for A (UPDATE; on SQLite, BEGIN IMMEDIATE).
    engine = ws.sessions["B"].base_engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_send)
    try:
        waiting = ws.submit("B", flush)
        await sent.wait()
    finally:
        event.remove(engine, "before_cursor_execute", on_send)
    # What the app does while a step waits: it draws B's pane, which shows the change unflushed.
    assert not waiting.done.is_set()
    assert _item_row(ws, "B", (1,)).modified != ()
    await ok(ws, "A", "commit")
    await waiting.done.wait()
    assert waiting.result is not None and waiting.result.status == "ok", waiting.result.error
    assert any(entry.statement.startswith("UPDATE") for entry in waiting.result.sql)


@pytest.mark.parametrize("flush", ["session.flush()", "\\flush"])
async def test_a_flush_that_waited_on_a_lock_shows_the_change_flushed(any_workspace: Workspace, flush):
    ws = any_workspace
    if ws.backend.name == "sqlite":
        # SQLite locks the database: B, holding no lock, waits in BEGIN IMMEDIATE for A's write
        # lock (a deferred BEGIN would take a read lock first, and A could not commit).
        await ok(ws, "B", "\\begin-mode immediate")
        await ok(ws, "B", "session.expire_on_commit = False\ni = session.get(Item, 1)\nsession.commit()\ni.stock = 5")
        await ok(ws, "A", "update items set stock = 1 where id = 1")
    else:
        # A holds the row lock; B's UPDATE waits for it.
        await ok(ws, "A", "update items set stock = 1 where id = 1")
        await ok(ws, "B", "i = session.get(Item, 1)\ni.stock = 5")
    assert _item_row(ws, "B", (1,)).modified == (("stock", "10", "5"),)

    await _flush_that_waits_on_a(ws, flush)

    row = _item_row(ws, "B", (1,))
    assert row.modified == () and row.panel == "persistent"
    assert dict(zip(row.kind.columns, row.values, strict=False))["stock"] == 5


async def test_a_select_followed_by_commit_in_one_step_shows_the_selects_rows(any_workspace):
    """As psql shows it: COMMIT has no rows of its own, so the step's result is the SELECT's
    (a converted isolation spec runs a statement outside a transaction as `STATEMENT; COMMIT`)."""
    ws = any_workspace
    result = await ok(ws, "A", "select name from users where id = 1; commit")
    assert list(result.rows or ()) == [("ann",)]
    assert ws.snapshot().session("A").status == "idle"
