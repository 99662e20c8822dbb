"""A Python step's code: the block, and its last expression apart so that its value shows."""

from __future__ import annotations

import ast

import pytest

from playground.engine import execution
from playground.engine.execution import compile_python

CASES = [
    "session.flush()",
    "a = 1\na",
    "a=1; a",
    "x = 'é'; x",
    "x = 'é'\n  # a comment\n(x,\n 1)",
    "def f():\n    return 2\nf()\n# after",
    "a = 1 + \\\n  2; a + 1",
    "a = 1; \\\nb = 2\nb",
    "for i in range(2):\n    pass",
    "",
    "# only a comment",
    "(1 +\n 2)",
    "a = 1\r\nb = 2\r\na + b",
    "s = '\u2028'\nlen(s)",  # a line separator inside a string is no line end to Python
    "s = '\x0c'\n\n\nlen(s)",
    "x = 1\n\n\nx",
    "class K:\n    y = [i for i in range(3)]\nK.y",
]


def _by_the_ast(source: str, flags: int) -> tuple[object, object]:
    tree = compile(source, "<A:1>", "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True)
    last = ast.Expression(tree.body.pop().value) if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = compile(tree, "<A:1>", "exec", flags=flags, dont_inherit=True)
    return body, compile(last, "<A:1>", "eval", flags=flags, dont_inherit=True) if last is not None else None


def _code(code) -> object:
    if code is None:
        return None
    consts = tuple(_code(c) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.co_code, list(code.co_positions()), code.co_names, code.co_filename, consts


@pytest.mark.parametrize("async_mode", [False, True])
@pytest.mark.parametrize("source", CASES)
def test_a_step_compiles_to_the_code_its_syntax_tree_gives_the_first_time_and_again(source, async_mode):
    """The place of the last expression is remembered by source; the code, line numbers and
    columns (what a traceback shows) are the same as splitting the step's syntax tree, each time."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if async_mode else 0
    wanted = tuple(map(_code, _by_the_ast(source, flags)))
    assert tuple(map(_code, compile_python(source, "<A:1>", async_mode))) == wanted
    assert (source, flags) in execution._LAST_EXPRESSION
    assert tuple(map(_code, compile_python(source, "<A:1>", async_mode))) == wanted


def test_each_compile_of_the_same_source_is_its_own_with_its_step_s_file_name_and_warnings():
    """Remembering where the expression starts never reuses code: each step's carries its own
    file name (its traceback's lines) and gives its own compile-time warnings."""
    source = "x = 1\nx is 1"
    with pytest.warns(SyntaxWarning):
        first, first_expr = compile_python(source, "<A:1>", False)
    with pytest.warns(SyntaxWarning):
        second, second_expr = compile_python(source, "<A:2>", False)
    assert (first_expr.co_filename, second_expr.co_filename) == ("<A:1>", "<A:2>")
    assert first_expr is not second_expr


def test_a_syntax_error_is_raised_every_time():
    for _ in range(2):
        with pytest.raises(SyntaxError):
            compile_python("x = (", "<A:1>", False)
