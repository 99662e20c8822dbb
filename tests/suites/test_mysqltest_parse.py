"""Reading mysqltest files (no server needed): commands as mysqltest splits them, and the refusals
that come before anything runs, each with file:line and the reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from playground.suites import SuiteError
from playground.suites.compare import compare
from playground.suites.mysqltest import load
from playground.suites.mysqltest_output import Filters, parse_regexes, sort_lines
from playground.suites.mysqltest_parse import Command
from playground.suites.mysqltest_vars import Variables, get_strings, read_int, split_args


def write(tmp_path: Path, text: str, name: str = "t.test") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def commands(tmp_path: Path, text: str) -> list[Command]:
    return list(load(write(tmp_path, text), basedir=tmp_path).commands)


def kinds(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in commands(tmp_path, text) if c.kind not in ("comment", "empty")]


def refused(tmp_path: Path, text: str) -> SuiteError:
    with pytest.raises(SuiteError) as info:
        load(write(tmp_path, text), basedir=tmp_path)
    return info.value


# -- statements and delimiters ----------------------------------------------------------------


def test_mysqltest_statements_end_at_the_delimiter_not_inside_quotes(tmp_path):
    found = kinds(tmp_path, """
        SELECT 'a;b' AS x, "c;d" AS `e;f`; SELECT 2;
        INSERT INTO t
          VALUES (1);
        """)
    assert found == [
        ("query", "SELECT 'a;b' AS x, \"c;d\" AS `e;f`"),
        ("query", "SELECT 2"),
        ("query", "INSERT INTO t\nVALUES (1)"),  # result format 1: continuation lines lose their indent
    ]


def test_mysqltest_delimiter_changes_how_later_statements_end(tmp_path):
    found = commands(tmp_path, """
        delimiter //;
        CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//
        --delimiter ;
        SELECT 3;
        """)
    assert [(c.kind, c.text, c.delimiter) for c in found] == [
        ("delimiter", "delimiter //", ";"),
        ("query", "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", "//"),
        ("delimiter", "delimiter ;", "//"),
        ("query", "SELECT 3", ";"),
    ]


def test_mysqltest_line_form_commands_need_no_delimiter(tmp_path):
    found = kinds(tmp_path, """
        --echo hello; world
        --send SELECT 1
        --reap
        -- source include/x.inc
        echo two;
        """.replace("-- source include/x.inc\n", ""))
    assert found == [("echo", "echo hello; world"), ("send", "send SELECT 1"), ("reap", "reap"), ("echo", "echo two")]


def test_mysqltest_comments_and_empty_lines(tmp_path):
    found = commands(tmp_path, """
        # a comment; with a semicolon
        SELECT 1;

        SELECT 2;
        """)
    assert [c.kind for c in found] == ["comment", "query", "empty", "query"]
    assert [c.line for c in found] == [1, 2, 3, 4]


def test_mysqltest_if_and_while_heads_end_at_the_brace(tmp_path):
    found = kinds(tmp_path, """
        let $i= 2;
        while ($i)
        {
          dec $i;
          if ($i == 1) {
            echo one;
          }
        }
        """)
    assert [k for k, _ in found] == ["let", "while", "dec", "if", "echo", "}", "}"]
    assert found[1] == ("while", "while ($i)\n{")


def test_mysqltest_connect_forms_and_session_names(tmp_path):
    test = load(write(tmp_path, """
        connect (con1,localhost,root,,);
        --connect (con2,localhost,root,,)
        connect(con3,localhost,root,,);
        connection con1;
        """), basedir=tmp_path)
    assert [c.kind for c in test.commands] == ["connect", "connect", "connect", "connection"]
    assert test.sessions == ("default", "con1", "con2", "con3")


def test_mysqltest_query_command_forces_sql(tmp_path):
    assert kinds(tmp_path, "query echo 1;\n") == [("query", "echo 1")]


# -- includes ---------------------------------------------------------------------------------


def test_mysqltest_source_inlines_the_included_file_beside_the_test(tmp_path):
    write(tmp_path, "SELECT 'included';\n", "include/mine.inc")
    found = commands(tmp_path, """
        --source include/mine.inc
        SELECT 'after';
        """)
    assert [(c.kind, c.text) for c in found] == [
        ("source", "source include/mine.inc"),
        ("query", "SELECT 'included'"),
        ("query", "SELECT 'after'"),
    ]
    assert found[0].path == str(tmp_path / "include" / "mine.inc")
    assert found[1].source == str(tmp_path / "include" / "mine.inc")


def test_mysqltest_source_of_a_missing_file_is_refused(tmp_path):
    error = refused(tmp_path, "SELECT 1;\n--source include/nowhere.inc\n")
    assert error.line == 2 and "include/nowhere.inc" in error.reason


def test_mysqltest_unsupported_command_in_an_included_file_names_that_file(tmp_path):
    write(tmp_path, "SELECT 1;\n--exec ls\n", "include/bad.inc")
    error = refused(tmp_path, "--source include/bad.inc\n")
    assert error.source == str(tmp_path / "include" / "bad.inc")
    assert error.line == 2 and "exec" in error.reason


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["exec ls", "--perl", "--write_file $MYSQLTEST_VARDIR/x", "--change_user root", "enable_metadata"])
def test_mysqltest_unsupported_commands_are_refused_with_line_and_name(tmp_path, command):
    name = command.lstrip("-").split()[0]
    text = f"SELECT 1;\nSELECT 2;\n{command}{'' if command.startswith('--') else ';'}\n"
    error = refused(tmp_path, text)
    assert error.line == 3
    assert f"'{name}'" in error.reason
    assert str(error).startswith(f"{tmp_path / 't.test'}:3: ")


def test_mysqltest_line_that_is_no_command_is_refused(tmp_path):
    error = refused(tmp_path, "-- just a note\n")
    assert error.line == 1 and "'--just'" in error.reason


def test_mysqltest_unknown_error_name_is_refused(tmp_path):
    error = refused(tmp_path, "--error ER_NO_SUCH_THING\nSELECT 1;\n")
    assert error.line == 1 and "ER_NO_SUCH_THING" in error.reason


def test_mysqltest_unclosed_block_and_stray_brace_are_refused(tmp_path):
    assert "never closed" in refused(tmp_path, "if (1)\n{\n  echo x;\n").reason
    assert refused(tmp_path, "echo x;\n}\n").line == 2


def test_mysqltest_statement_without_its_delimiter_at_the_end_is_refused(tmp_path):
    error = refused(tmp_path, "SELECT 1;\nSELECT 2\n")
    assert error.line == 2 and "delimiter" in error.reason


def test_mysqltest_missing_file_is_refused(tmp_path):
    with pytest.raises(SuiteError) as info:
        load(tmp_path / "absent.test")
    assert info.value.line == 0


# -- variables and arguments ------------------------------------------------------------------


def test_mysqltest_variables_expand_with_escapes():
    variables = Variables(environ={"FROM_ENV": "env"})
    variables.set("$a", "1")
    variables.set("name", "x")
    assert variables.expand(r"$a-$name-\$a-\\-\"-$FROM_ENV-$unset.") == '1-x-$a-\\-"-env-.'
    assert variables.expand(r"\$a", keep_escapes=True) == r"\$a"


def test_mysqltest_numbers_read_like_strtol():
    assert read_int("12") == (12, True)
    assert read_int(" -3 apples") == (-3, True)
    assert read_int("4x") == (4, False)
    assert read_int("abc") == (0, False)


def test_mysqltest_argument_lists_split_on_their_separator_and_quotes():
    variables = Variables(environ={})
    variables.set("u", "root")
    args, rest = split_args(variables, "con1,localhost,$u,,'a,b'", 5, ",")
    assert args == ["con1", "localhost", "root", "", "a,b"] and rest == ""
    assert get_strings(variables, "1 '#' 3 \"x y\" 4 $u") == ["1", "#", "3", "x y", "4", "root"]


# -- output -----------------------------------------------------------------------------------


def test_mysqltest_sorting_keeps_the_heading():
    assert sort_lines("a\tb\n3\tx\n1\ty\n", keep_header=True) == "a\tb\n1\ty\n3\tx\n"
    assert sort_lines("b\na\n", keep_header=False) == "a\nb\n"


def test_mysqltest_filters_replace_strings_and_regexes():
    filters = Filters(pairs=[("ab", "X"), ("abc", "Y")])
    assert filters.apply("abcab") == "YX"
    filters = Filters(regexes=parse_regexes(r"/id=([0-9]+)/id=<\1>/ /HELLO/bye/i"))
    assert filters.apply("id=42 Hello") == "id=<42> bye"


def test_mysqltest_compare_ignores_trailing_spaces_and_shows_a_diff(tmp_path):
    expected = tmp_path / "x.result"
    expected.write_text("a \nb\n")
    assert compare("a\nb\n\n", expected) == (True, "")
    same, diff = compare("a\nc\n", expected)
    assert not same and "-b" in diff and "+c" in diff


def test_mysqltest_url_is_read_without_the_engine():
    from playground.suites.mysqltest import MysqlTest, _endpoint

    test = MysqlTest("x.test", (), ())
    endpoint = _endpoint(test, "mysql+asyncmy://me:p%40ss@db.local:3307/shop")
    assert (endpoint.host, endpoint.port, endpoint.user, endpoint.password, endpoint.database) == (
        "db.local", 3307, "me", "p@ss", "shop")
    with pytest.raises(SuiteError) as info:
        _endpoint(test, "postgresql://x:secret@h/db")
    assert info.value.line == 1 and "secret" not in str(info.value) and "not on postgresql" in info.value.reason
