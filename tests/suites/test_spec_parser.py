"""The isolationtester spec language: parsing, the tool's own checks, the permutations it runs,
and libpq's PQprint layout."""

from __future__ import annotations

import pytest

from playground.suites import SuiteError
from playground.suites.isolation import pqprint
from playground.suites.spec import Blocker, parse

SPEC = '''
# a comment
setup { CREATE TABLE t (id int); }
setup
{
  INSERT INTO t VALUES (1);
}
teardown { DROP TABLE t; }

session s1
setup { BEGIN; }
step s1a { SELECT * FROM t; }
step "s1 b" { COMMIT; }   # trailing comment
teardown { ROLLBACK; }

session "two ""quoted"""
step s2a	{	UPDATE t SET id = 2;	}
step s2b { COMMIT; }

permutation s1a s2a(*) "s1 b" s2b(s1a, "s1 b" notices 2)
permutation s2a s1a
'''


def test_a_spec_parses_into_its_parts():
    spec = parse(SPEC, "x.spec")
    assert spec.setups == ["CREATE TABLE t (id int);", "\n  INSERT INTO t VALUES (1);\n"]
    assert spec.teardown == "DROP TABLE t;"
    assert [s.name for s in spec.sessions] == ["s1", 'two "quoted"']
    s1, s2 = spec.sessions
    assert (s1.setup, s1.teardown) == ("BEGIN;", "ROLLBACK;")
    assert [(st.name, st.sql, st.session, st.line) for st in s1.steps] == [
        ("s1a", "SELECT * FROM t;", 0, 12), ("s1 b", "COMMIT;", 0, 13)]
    # Spaces and tabs right inside the braces go (not newlines); the SQL is otherwise kept as written.
    assert s2.steps[0].sql == "UPDATE t SET id = 2;"
    first, second = spec.permutations
    assert [p.name for p in first.steps] == ["s1a", "s2a", "s1 b", "s2b"]
    assert first.steps[1].blockers == (Blocker("once"),)
    assert first.steps[3].blockers == (Blocker("step", "s1a"), Blocker("notices", "s1 b", 2))
    assert first.steps[3].label() == "s2b(s1a,s1 b notices 2)"
    assert first.line == 20
    assert [p.name for p in second.steps] == ["s2a", "s1a"]
    assert spec.unused_steps == []


def test_without_permutation_lines_every_interleaving_runs_in_the_tools_order():
    spec = parse("session a\nstep a1 {1}\nstep a2 {2}\nsession b\nstep b1 {3}\n")
    orders = [[p.name for p in perm.steps] for perm in spec.all_permutations()]
    assert orders == [["a1", "a2", "b1"], ["a1", "b1", "a2"], ["b1", "a1", "a2"]]


def test_steps_left_out_of_every_permutation_are_listed_sorted_as_the_tool_warns():
    spec = parse("session a\nstep zz {1}\nstep a1 {2}\nstep m {3}\npermutation a1\n")
    assert spec.unused_steps == ["m", "zz"]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("session s\nstep a { x }\nstep a { y }\n", 3, "duplicate step name: a"),
    ("session s\nstep a { x }\npermutation a b\n", 3, 'undefined step "b" specified in permutation'),
    ("session s\nstep a { x }\nsession t\nstep b { y }\npermutation a(c) b\n", 5,
     'undefined blocking step "c" referenced in permutation step "a"'),
    ("session s\nstep a { x }\nstep b { y }\npermutation a(b) b\n", 4,
     'permutation step "a" cannot block on its own session'),
    ("session s\nstep a { x \n", 2, "unterminated sql block"),
    ('session "s\n', 1, "unexpected newline in quoted identifier"),
    ("setup { x }\n\n", 1, "a spec needs at least one session"),
    ("session s\n\nstep a { x } step\n", 3, "expected a step name, found the end of the file"),
    ("session s\nstep a { x }\npermutation a(\n", 3, "expected `*` or a step name"),
    ("session s\nstep a { x }\n@\n", 3, 'unexpected character "@"'),
    ("session s\nteardown { x }\n", 2, "session s has no step"),
])
def test_a_broken_spec_says_file_line_and_reason(text, line, reason):
    with pytest.raises(SuiteError) as caught:
        parse(text, "bad.spec")
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.spec:{line}: ")


def test_keywords_are_case_sensitive_and_whole_words():
    spec = parse("session setups\nstep Step { x }\npermutation Step\n")
    assert spec.sessions[0].name == "setups"
    assert spec.sessions[0].steps[0].name == "Step"


def test_pqprint_right_aligns_numeric_columns_and_pads_every_cell():
    table = pqprint([b"id", b"name", b"n"], [[b"1", b"ann", None], [b"10", b"", b"-2.5e3"], [b"3", None, None]])
    assert table.decode().splitlines() == [
        "id|name|     n",
        "--+----+------",
        " 1|ann |      ",
        "10|    |-2.5e3",
        " 3|    |      ",
        "(3 rows)",
        "",
    ]


def test_pqprint_counts_bytes_and_knows_what_does_not_look_numeric():
    # 'é' is two bytes: the column is as wide as its bytes, as libpq pads. A value starting with
    # E, or not ending in a digit, is not numeric; a column of NULLs alone stays right-aligned.
    table = pqprint([b"w", b"e", b"d", b"nulls"], [["é".encode(), b"E1", b"1.", None]])
    assert table.decode().splitlines() == [
        "w |e |d |nulls",
        "--+--+--+-----",
        "é|E1|1.|     ",
        "(1 row)",
        "",
    ]


def test_pqprint_of_no_rows_still_prints_the_header():
    assert pqprint([b"count"], []).decode() == "count\n-----\n(0 rows)\n\n"
