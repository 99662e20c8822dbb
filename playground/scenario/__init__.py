"""Scenarios: the `.txp` format, the headless runner and transcripts. Imports nothing from Textual."""

from playground.scenario.parser import Scenario, ScenarioError, parse, parse_file
from playground.scenario.runner import RunReport, run_scenario

__all__ = ["RunReport", "Scenario", "ScenarioError", "parse", "parse_file", "run_scenario"]
