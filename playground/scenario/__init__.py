"""Scenarios: the `.txp` format, the headless runner and transcripts. Imports nothing from Textual.

The runner (and with it SQLAlchemy) is loaded on first use (PEP 562): the app imports the parser
and the recorder before its first paint.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from playground.scenario.parser import Scenario, ScenarioError, parse, parse_file

if TYPE_CHECKING:
    from playground.scenario.runner import RunReport, run_scenario

__all__ = ["RunReport", "Scenario", "ScenarioError", "parse", "parse_file", "run_scenario"]


def __getattr__(name: str) -> Any:
    """Load the runner's names the first time one is asked for."""
    if name not in ("RunReport", "run_scenario"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.runner"), name)
    globals()[name] = value
    return value
