"""The UI's modules: no import cycle among them, and one widget per module."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from textual.widget import Widget

import playground.ui

UI = Path(playground.ui.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(UI.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(UI.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The playground.ui modules `path` imports anywhere: at the top, in functions, under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        found |= {name for name in names if name in MODULES}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            cycle = visit(imported, path + [module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def test_no_import_cycle_among_the_ui_modules():
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    assert graph["playground.ui.app"], "the import graph found no imports at all"
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_each_module_holds_at_most_one_widget():
    for name in MODULES:
        module = importlib.import_module(name)
        widgets = [
            cls.__name__ for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, Widget) and cls.__module__ == name
        ]
        assert len(widgets) <= 1, f"{name} holds {', '.join(widgets)}"
