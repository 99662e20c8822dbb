"""The engine and the scenario runner import nothing from Textual; the engine imports no demo."""

import ast
import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
import playground.engine, playground.scenario, playground.scenario.runner, playground.scenario.transcript
import playground.scenario.library, playground.demo, playground.cli, playground.testing, playground.pytest_plugin
import playground.scenario.models, playground.scenario.export
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(",".join(loaded))
"""


def test_engine_and_runner_do_not_import_textual():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_txplay_run_does_not_load_textual(tmp_path):
    code = (
        "import sys, runpy\n"
        "sys.argv = ['txplay', 'run', '--list']\n"
        "from playground.cli import main\n"
        "main()\n"
        "assert not any(m.startswith('textual') for m in sys.modules), 'textual loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


# -- the engine is handed the demo, it never imports it ---------------------------------------

ENGINE = Path(__file__).resolve().parents[2] / "playground" / "engine"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module `source` (the module called `module`) imports, anywhere in it: top-level or
    inside a function, `import a.b`, `from a import b` (a and a.b), relative imports resolved,
    and `importlib.import_module("a.b")` / `__import__("a.b")` with a literal name."""
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def demo_imports(source: str, module: str) -> set[str]:
    """The imports of `playground.demo` (or a module in it) in `source`."""
    return {m for m in imported_modules(source, module) if m == "playground.demo" or m.startswith("playground.demo.")}


def test_the_engine_does_not_import_the_demo():
    offenders = {}
    for path in sorted(ENGINE.glob("*.py")):
        found = demo_imports(path.read_text(encoding="utf-8"), f"playground.engine.{path.stem}")
        if found:
            offenders[path.name] = sorted(found)
    assert offenders == {}, "the engine is handed the demo (a ModelKit); it imports none of playground.demo"


def test_the_demo_import_check_flags_every_way_of_writing_it():
    planted = {
        "from playground.demo import MODELS": True,
        "def f():\n    from playground.demo.data import create_demo\n": True,
        "import playground.demo.standins as s": True,
        "from playground import demo": True,
        "from ..demo import MODELS": True,
        "from .. import demo": True,
        "import importlib\nimportlib.import_module('playground.demo.describe')": True,
        "from playground.engine.kit import ModelKit": False,
        "from .kit import ModelKit": False,
        "demo = 'playground.demo'": False,
    }
    for source, flagged in planted.items():
        assert bool(demo_imports(source, "playground.engine.workspace")) is flagged, source
