"""The engine and the scenario runner import nothing from Textual."""

import subprocess
import sys

CHECK = """
import sys
import playground.engine, playground.scenario, playground.scenario.runner, playground.scenario.transcript
import playground.scenario.library, playground.demo, playground.cli
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
