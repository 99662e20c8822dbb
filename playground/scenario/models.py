"""A scenario's `models:` header: the user's own mapped classes in place of the demo's.

So a scenario (and the pytest test it is) exercises the application's real mapping. The header
names a Python file, relative to the scenario's folder, or a module importable by its dotted
name. On the fresh database the models' tables are created before `setup:` runs, which then
only has to add rows; `demo: no` leaves the tables to `setup:` (or to the database).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from playground.demo.kit import DEMO_KIT, kit_for
from playground.engine.kit import ModelKit
from playground.scenario.parser import Scenario, ScenarioError

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def scenario_kit(scenario: Scenario) -> ModelKit:
    """The kit the scenario's sessions work with: the demo's, or one on the `models:` header's classes.

    A models file or module that cannot be loaded is a ScenarioError at the header's line.
    """
    if scenario.models is None:
        return DEMO_KIT
    from playground.engine.models import ModelsError, import_models, load_models

    try:
        if _DOTTED.match(scenario.models) and not scenario.models.endswith(".py"):
            classes, metadata = import_models(scenario.models)
        else:
            classes, metadata = load_models(models_path(scenario))
    except ModelsError as exc:
        raise ScenarioError(scenario.source, scenario.models_line, f"models: {exc}") from None
    return replace(
        kit_for((classes, metadata)),
        create_demo=lambda connection, reset: _create_tables(metadata, connection, reset),
        demo_tables=frozenset(table.name for table in metadata.sorted_tables),
    )


def models_path(scenario: Scenario) -> Path:
    """The models file, a relative path taken from the scenario file's folder (the current one for text)."""
    assert scenario.models is not None
    path = Path(scenario.models).expanduser()
    if path.is_absolute():
        return path
    return Path(scenario.source).parent / path


def _create_tables(metadata: Any, connection: Connection, reset: bool) -> None:
    if reset:
        metadata.drop_all(connection)
    metadata.create_all(connection)
