"""Only `playground/engine/backends/` may ask which backend it talks to (STYLE: strategies, not ifs).

The check reads the source tree: a comparison with a backend's name or with a backend-name
literal, a lookup keyed by a backend's name, or an isinstance() test against a strategy or a
lock monitor class, anywhere outside the package, is a branch on the backend.
"""

from __future__ import annotations

import ast
from pathlib import Path

import playground

PACKAGE = Path(playground.__file__).resolve().parent
STRATEGIES = PACKAGE / "engine" / "backends"
BACKEND_NAMES = {"sqlite", "postgresql", "postgres", "mysql", "mariadb"}


def _is_backend_name(node: ast.AST) -> bool:
    """`backend.name`, `ws.backend.name`, `self.backend.name`, `dialect.name`, `url.get_backend_name()`."""
    if isinstance(node, ast.Call):
        node = node.func
        return isinstance(node, ast.Attribute) and node.attr in ("get_backend_name", "get_dialect_name")
    if not (isinstance(node, ast.Attribute) and node.attr == "name"):
        return False
    owner = node.value
    owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return owner_name in ("backend", "dialect")


def _is_name_literal(node: ast.AST) -> bool:
    """A backend name as a string, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.lower() in BACKEND_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_name_literal(e) for e in node.elts)
    return False


def branches(source: str, filename: str = "<source>") -> list[str]:
    """Every place in `source` that branches on which backend it talks to, as `file:line: code`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        hit = False
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            hit = any(_is_backend_name(s) or _is_name_literal(s) for s in sides)
        elif isinstance(node, ast.Subscript):
            hit = _is_backend_name(node.slice)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            hit = any(getattr(c, "id", getattr(c, "attr", "")).endswith(("Backend", "LockMonitor")) for c in classes)
        elif isinstance(node, ast.Match):
            hit = _is_backend_name(node.subject)
        if hit:
            found.append(f"{filename}:{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def sources_outside_the_package() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if STRATEGIES not in p.parents]


def test_no_module_outside_the_backends_package_branches_on_the_backend():
    files = sources_outside_the_package()
    names = {p.relative_to(PACKAGE).as_posix() for p in files}
    # The modules that once asked are read (so this cannot pass by reading nothing).
    assert {"cli.py", "engine/workspace.py", "engine/session.py", "engine/settings.py", "engine/locks.py",
            "scenario/runner.py", "ui/app.py", "ui/commands.py", "ui/demo.py"} <= names
    found = [hit for path in files for hit in branches(path.read_text(), path.relative_to(PACKAGE).as_posix())]
    assert found == []


def test_the_check_flags_each_kind_of_branch_and_not_a_display_string():
    planted = {
        'if ws.backend.name == "sqlite":\n    pass\n': 1,
        'if self.backend.name != "sqlite" or x:\n    pass\n': 1,
        'kind = "SCHEMA" if backend.name == "postgresql" else "DATABASE"\n': 1,
        'if dialect in ("mysql", "mariadb"):\n    pass\n': 1,
        'if engine.dialect.name == other:\n    pass\n': 1,
        'if url.get_backend_name() == wanted:\n    pass\n': 1,
        'query = SERVER_ID_QUERY[backend.name]\n': 1,
        'if isinstance(self.monitor, SqliteLockMonitor):\n    pass\n': 1,
        'if isinstance(b, (backends.PostgresBackend, int)):\n    pass\n': 1,
        'match ws.backend.name:\n    case "sqlite":\n        pass\n': 1,
        'message = f"this scenario runs on {backend.name}"\n': 0,
        'report = RunReport(scenario, ws.backend.name)\n': 0,
        'if scenario.runs_on(ws.backend.name):\n    pass\n': 0,
        'if name == "cancel":\n    pass\n': 0,
    }
    for source, expected in planted.items():
        assert len(branches(source)) == expected, source
