"""The `.txp` format (DESIGN §4): headers, blocks, steps, notes, expectations, and errors with file:line."""

from __future__ import annotations

import textwrap

import pytest

from playground.scenario import ScenarioError, parse, parse_file
from playground.scenario.parser import UNEVALUATED


def txp(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def parse_error(text: str, source: str = "bad.txp") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse(txp(text), source)
    return info.value


# -- headers --------------------------------------------------------------------------------


def test_headers_are_read():
    sc = parse(txp("""
        # a comment before the headers
        title: Savepoint keeps the payment log
        description: One line shown under the title.
        sessions: A B Worker1
        isolation: read_committed
        lock-timeout: 2.5
        backends: sqlite postgresql
        journal-mode: WAL
        begin-mode: Immediate
        mode: async

        A: select 1
    """), "demo.txp")
    assert sc.source == "demo.txp"
    assert sc.title == "Savepoint keeps the payment log"
    assert sc.description == "One line shown under the title."
    assert sc.sessions == ("A", "B", "Worker1")
    assert sc.isolation == "READ COMMITTED"
    assert sc.lock_timeout == 2.5
    assert sc.backends == ("sqlite", "postgresql")
    assert sc.journal_mode == "wal"
    assert sc.begin_mode == "immediate"
    assert sc.mode == "async"
    assert sc.runs_on("sqlite") and sc.runs_on("postgresql") and not sc.runs_on("mysql")


def test_defaults_without_headers():
    sc = parse("A: select 1\nB: select 2\n")
    assert sc.sessions == ("A", "B")
    assert sc.title == "" and sc.description == ""
    assert sc.isolation is None and sc.lock_timeout is None and sc.backends == ()
    assert sc.setup is None and sc.teardown is None
    assert sc.runs_on("sqlite") and sc.runs_on("mysql")
    assert [(s.session, s.input, s.line) for s in sc.steps] == [("A", "select 1", 1), ("B", "select 2", 2)]


def test_lock_timeout_accepts_a_seconds_suffix():
    assert parse("lock-timeout: 2s\nA: select 1\n").lock_timeout == 2.0


# -- blocks ---------------------------------------------------------------------------------


def test_setup_and_teardown_blocks_are_dedented_sql():
    sc = parse(txp("""
        sessions: A
        setup:
            create table test (id int primary key, value int);

            insert into test (id, value) values (1, 10), (2, 20);

        A: select * from test
        teardown:
            drop table test;
    """))
    assert sc.setup == "create table test (id int primary key, value int);\n\ninsert into test (id, value) values (1, 10), (2, 20);"
    assert sc.teardown == "drop table test;"
    assert [s.input for s in sc.steps] == ["select * from test"]


def test_teardown_may_come_before_the_steps():
    sc = parse(txp("""
        teardown:
            delete from jobs;
        A: select 1
    """))
    assert sc.teardown == "delete from jobs;"
    assert len(sc.steps) == 1


def test_step_block_is_dedented_and_keeps_inner_indentation_and_blank_lines():
    sc = parse(txp("""
        A: |
            for row in rows:
                nested = session.begin_nested()

            session.commit()
        B: select 1
    """))
    assert sc.steps[0].input == "for row in rows:\n    nested = session.begin_nested()\n\nsession.commit()"
    assert sc.steps[0].line == 1
    assert sc.steps[1].input == "select 1" and sc.steps[1].line == 6


def test_block_with_tabs_and_trailing_blank_lines():
    sc = parse("A: |\n\tx = 1\n\tif x:\n\t\ty = 2\n\n\nB: select 1\n")
    assert sc.steps[0].input == "x = 1\nif x:\n\ty = 2"


def test_comments_and_blank_lines_between_steps_are_ignored():
    sc = parse(txp("""
        A: select 1

        # B reads next
        B: select 2
        => ok
    """))
    assert [s.input for s in sc.steps] == ["select 1", "select 2"]
    assert [e.text for e in sc.steps[1].expectations] == ["ok"]


# -- notes ----------------------------------------------------------------------------------


def test_notes_attach_to_the_next_step_and_trailing_notes_are_kept():
    sc = parse(txp("""
        A: begin
        note: B waits for A's row lock.
        note: Committing A lets it through.
        B: update items set stock = 1 where id = 1
        A: commit
        note: the end
    """))
    assert sc.steps[0].notes == []
    assert sc.steps[1].notes == ["B waits for A's row lock.", "Committing A lets it through."]
    assert sc.steps[2].notes == []
    assert sc.trailing_notes == ["the end"]


# -- expectations ---------------------------------------------------------------------------


def _only_expectation(line: str):
    sc = parse(f"A: select 1\n=> {line}\n")
    (exp,) = sc.steps[0].expectations
    assert exp.line == 2
    return exp


def test_ok_expectation():
    exp = _only_expectation("ok")
    assert exp.outcome.kind == "ok" and not exp.waits and exp.backend is None and exp.text == "ok"


def test_error_expectation_keeps_its_text():
    exp = _only_expectation("error IntegrityError: UNIQUE constraint failed")
    assert exp.outcome.kind == "error"
    assert exp.outcome.text == "IntegrityError: UNIQUE constraint failed"
    assert not exp.waits


def test_rows_expectation_is_a_list_of_tuples():
    exp = _only_expectation("rows [(1, 'ann'), [2, None]]")
    assert exp.outcome.kind == "rows"
    assert exp.outcome.literal == [(1, "ann"), (2, None)]
    assert all(isinstance(r, tuple) for r in exp.outcome.literal)


def test_empty_rows_expectation():
    assert _only_expectation("rows []").outcome.literal == []


def test_value_expectation_is_a_python_literal():
    exp = _only_expectation("value ['accounts', 'email', 3, True, None]")
    assert exp.outcome.kind == "value"
    assert exp.outcome.literal == ["accounts", "email", 3, True, None]


def test_value_expectation_that_is_no_literal_is_compared_by_repr():
    exp = _only_expectation("value User(id=1, name='ann')")
    assert exp.outcome.kind == "value"
    assert exp.outcome.literal is UNEVALUATED
    assert exp.outcome.text == "User(id=1, name='ann')"


def test_waits_alone():
    exp = _only_expectation("waits")
    assert exp.waits and exp.outcome is None


@pytest.mark.parametrize(
    ("line", "kind", "text", "literal"),
    [
        ("waits, then ok", "ok", "", None),
        ("waits, then error database is locked", "error", "database is locked", None),
        ("waits, then rows [(1, 11), (2, 20)]", "rows", "[(1, 11), (2, 20)]", [(1, 11), (2, 20)]),
        ("waits, then value 3", "value", "3", 3),
        ("waits then ok", "ok", "", None),
    ],
)
def test_waits_then_outcome(line, kind, text, literal):
    exp = _only_expectation(line)
    assert exp.waits
    assert exp.outcome.kind == kind
    assert exp.outcome.text == text
    assert exp.outcome.literal == literal
    assert exp.text == line


def test_keywords_are_case_insensitive():
    """The parser compares `ok`, `error`, `waits, then` without case; capitals must not crash it."""
    assert _only_expectation("OK").outcome.kind == "ok"
    assert _only_expectation("Error x").outcome.kind == "error"
    exp = _only_expectation("Waits, Then ok")
    assert exp.waits and exp.outcome.kind == "ok"


def test_backend_prefixes_apply_to_one_backend():
    sc = parse(txp("""
        B: update items set stock = stock - 1 where id = 1
        => [sqlite] waits, then ok
        => [postgresql] ok
        => [mysql] error Lock wait timeout
        => rows []
    """))
    exps = sc.steps[0].expectations
    assert [(e.backend, e.waits, e.outcome.kind if e.outcome else None) for e in exps] == [
        ("sqlite", True, "ok"), ("postgresql", False, "ok"), ("mysql", False, "error"), (None, False, "rows"),
    ]
    assert exps[2].outcome.text == "Lock wait timeout"
    assert [e.line for e in exps] == [2, 3, 4, 5]
    assert [e.text for e in sc.steps[0].expectations_for("sqlite")] == ["[sqlite] waits, then ok", "rows []"]
    assert [e.text for e in sc.steps[0].expectations_for("postgresql")] == ["[postgresql] ok", "rows []"]
    assert [e.text for e in sc.steps[0].expectations_for("mysql")] == ["[mysql] error Lock wait timeout", "rows []"]


def test_expectations_belong_to_the_step_right_before_them():
    sc = parse(txp("""
        A: select 1
        => rows [(1,)]
        B: select 2
        A: select 3
        => ok
        => rows [(3,)]
    """))
    assert [[e.text for e in s.expectations] for s in sc.steps] == [["rows [(1,)]"], [], ["ok", "rows [(3,)]"]]


# -- errors: file, line and reason ----------------------------------------------------------


def test_scenario_error_carries_source_line_and_reason():
    err = parse_error("""
        title: t
        colour: red
        A: select 1
    """, "my.txp")
    assert err.source == "my.txp"
    assert err.line == 2
    assert "unknown header" in err.reason and "colour" in err.reason
    assert str(err).startswith("my.txp:2: ")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        pytest.param("title: t\ncolour: red\nA: select 1\n", 2, "unknown header", id="unknown-header"),
        pytest.param("sessions: A B\nA: select 1\nC: select 1\n", 3, "session C is not in", id="undeclared-session"),
        pytest.param("A: select 1\nC: select 1\n", 2, "session C is not in", id="session-outside-default-sessions"),
        pytest.param("title: t\n=> ok\nA: select 1\n", 2, "expectation before any step", id="expectation-before-step"),
        pytest.param("A: select 1\n=> rows [(1,\n", 2, "rows must be", id="rows-not-a-literal"),
        pytest.param("A: select 1\n=> rows 5\n", 2, "list of tuples", id="rows-not-a-list"),
        pytest.param("A: select 1\n=> rows [1, 2]\n", 2, "list of tuples", id="rows-not-tuples"),
        pytest.param("A: select 1\n=> rows\n", 2, "needs a Python literal", id="rows-empty"),
        pytest.param("A: |\nB: select 1\n", 1, "no indented lines", id="empty-step-block"),
        pytest.param("A: select 1\nA: |\n\n   \n", 2, "no indented lines", id="empty-step-block-at-end"),
        pytest.param("setup:\nA: select 1\n", 1, "no indented lines", id="empty-setup-block"),
        pytest.param("A: select 1\nteardown:\n", 2, "no indented lines", id="empty-teardown-block"),
        pytest.param("A: select 1\ntitle: late\n", 2, "after the first step", id="header-after-steps"),
        pytest.param("A: select 1\nsessions: A B\n", 2, "after the first step", id="sessions-after-steps"),
        pytest.param("backends: sqlite oracle\nA: select 1\n", 1, "unknown backend", id="unknown-backend-header"),
        pytest.param("A: select 1\n=> [oracle] ok\n", 2, "unknown backend", id="unknown-backend-prefix"),
        pytest.param("title: a\ntitle: b\nA: select 1\n", 2, "given twice", id="duplicate-header"),
        pytest.param("title:\nA: select 1\n", 1, "no value", id="header-without-value"),
        pytest.param("lock-timeout: soon\nA: select 1\n", 1, "number of seconds", id="lock-timeout-not-a-number"),
        pytest.param("lock-timeout: -1\nA: select 1\n", 1, "between 0 and 3600", id="lock-timeout-negative"),
        pytest.param("journal-mode: memory\nA: select 1\n", 1, "journal-mode", id="journal-mode-unknown"),
        pytest.param("begin-mode: lazy\nA: select 1\n", 1, "begin-mode", id="begin-mode-unknown"),
        pytest.param("mode: turbo\nA: select 1\n", 1, "sync or async", id="mode-unknown"),
        pytest.param("sessions: A a\nA: select 1\n", 1, "capital letter", id="session-name-lowercase"),
        pytest.param("sessions: A A\nA: select 1\n", 1, "named twice", id="session-named-twice"),
        pytest.param("sessions: A B C D E F G\nA: select 1\n", 1, "1 to 6 sessions", id="too-many-sessions"),
        pytest.param("A: select 1\nnote: n\n=> ok\n", 3, "not a note", id="expectation-after-note"),
        pytest.param("A:\n", 1, "no input", id="step-without-input"),
        pytest.param("A: select 1\n=> maybe\n", 2, "unknown expectation", id="unknown-expectation"),
        pytest.param("A: select 1\n=> error\n", 2, "needs the text", id="error-without-text"),
        pytest.param("A: select 1\n=> value\n", 2, "needs a Python literal", id="value-without-literal"),
        pytest.param("A: select 1\n=>\n", 2, "empty expectation", id="empty-expectation"),
        pytest.param("A: select 1\n=> [sqlite]\n", 2, "empty expectation", id="empty-backend-expectation"),
        pytest.param("A: select 1\n=> waits, ok\n", 2, "waits, then", id="waits-without-then"),
        pytest.param("A: select 1\nnote:\n", 2, "empty note", id="empty-note"),
        pytest.param("A: select 1\n    indented\n", 2, "unexpected indented line", id="stray-indented-line"),
        pytest.param("A: select 1\nthis is not a step\n", 2, "expected", id="garbage-line"),
        pytest.param("A: select 1\x00\n", 1, "NUL", id="nul-byte"),
        pytest.param("title: only headers\n", 1, "no steps", id="no-steps"),
    ],
)
def test_invalid_scenarios_say_where_and_why(text, line, reason):
    with pytest.raises(ScenarioError) as info:
        parse(text, "bad.txp")
    err = info.value
    assert err.source == "bad.txp"
    assert err.line == line, str(err)
    assert reason.lower() in err.reason.lower(), str(err)
    assert str(err) == f"bad.txp:{line}: {err.reason}"


@pytest.mark.parametrize("literal", ["[({[1]: 2},)]", "[({[1]},)]"])
def test_rows_literal_that_python_cannot_build_is_a_scenario_error(literal):
    """`ast.literal_eval` raises TypeError for unhashable keys; the parser must report file:line."""
    with pytest.raises(ScenarioError) as info:
        parse(f"A: select 1\n=> rows {literal}\n", "bad.txp")
    assert info.value.line == 2


def test_value_literal_that_python_cannot_build_does_not_crash_the_parser():
    try:
        sc = parse("A: select 1\n=> value {[1]: 2}\n", "bad.txp")
    except ScenarioError as err:
        assert err.line == 2
    else:
        assert sc.steps[0].expectations[0].outcome.kind == "value"


# -- files ----------------------------------------------------------------------------------


def test_parse_file_reads_utf8(tmp_path):
    path = tmp_path / "ok.txp"
    path.write_text("title: Café ☕\nA: select 'é'\n=> rows [('é',)]\n", encoding="utf-8")
    sc = parse_file(path)
    assert sc.title == "Café ☕"
    assert sc.source == str(path)
    assert sc.steps[0].expectations[0].outcome.literal == [("é",)]


def test_parse_file_handles_crlf_line_endings(tmp_path):
    path = tmp_path / "crlf.txp"
    path.write_bytes(b"title: t\r\nA: |\r\n    x = 1\r\n    y = 2\r\n=> ok\r\n")
    sc = parse_file(path)
    assert sc.title == "t"
    assert sc.steps[0].input == "x = 1\ny = 2"
    assert [e.text for e in sc.steps[0].expectations] == ["ok"]


def test_parse_file_rejects_invalid_utf8_with_the_line(tmp_path):
    path = tmp_path / "latin1.txp"
    path.write_bytes("title: t\nA: select 1\nB: select 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        parse_file(path)
    err = info.value
    assert err.source == str(path)
    assert err.line == 3
    assert "utf-8" in err.reason.lower()
    assert str(err).startswith(f"{path}:3: ")


def test_parse_file_reports_a_missing_file(tmp_path):
    path = tmp_path / "missing.txp"
    with pytest.raises(ScenarioError) as info:
        parse_file(path)
    assert info.value.source == str(path)
    assert "cannot read" in info.value.reason


def test_parse_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.txp"
    path.write_text("title: t\nA: select 1\n=> rows nope\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        parse_file(path)
    assert info.value.source == str(path) and info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")


def test_requires_may_repeat_and_name_a_backend():
    from playground.scenario.parser import parse

    sc = parse("requires: [mysql] @@innodb_snapshot_isolation is not null\nrequires: select 1\nA: select 1\n")
    assert [(r.backend, r.query) for r in sc.requires] == [("mysql", "@@innodb_snapshot_isolation is not null"), (None, "select 1")]
    assert sc.requires[0].sql == "SELECT @@innodb_snapshot_isolation is not null"
    assert sc.requires[1].sql == "select 1"
    assert [r.query for r in sc.requirements_for("sqlite")] == ["select 1"]
    assert len(sc.requirements_for("mysql")) == 2


@pytest.mark.parametrize(("text", "reason"), [
    ("requires: [oracle] 1\nA: select 1\n", "unknown backend [oracle]"),
    ("requires: [mysql]\nA: select 1\n", "needs a query or expression"),
])
def test_a_bad_requires_says_why(text, reason):
    from playground.scenario.parser import ScenarioError, parse

    with pytest.raises(ScenarioError) as raised:
        parse(text)
    assert reason in str(raised.value) and raised.value.line == 1


def test_demo_no_starts_the_database_without_the_demo_schema():
    assert parse("A: select 1\n").demo is True
    assert parse("demo: no\nA: select 1\n").demo is False
    with pytest.raises(ScenarioError, match="demo is yes or no"):
        parse("demo: maybe\nA: select 1\n")


async def test_a_scenario_with_demo_no_has_only_its_own_tables():
    from playground.scenario.runner import run_scenario

    report = await run_scenario(parse(
        "demo: no\nsetup:\n    create table jobs (id int primary key)\n"
        "A: select name from sqlite_master where type = 'table' order by name\n=> rows [('jobs',)]\n"))
    assert report.exit_code == 0, [c.reason for r in report.steps for c in r.checks]
