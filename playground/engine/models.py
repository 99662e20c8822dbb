"""Loading the user's own declarative models (`--models my_models.py`, a scenario's `models:` header)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import MetaData, inspect
from sqlalchemy.orm import Mapper


class ModelsError(Exception):
    """The models file could not be loaded; says why."""


def load_models(path: str | Path) -> tuple[tuple[type, ...], Any]:
    """Import a Python file and return its mapped classes and their MetaData."""
    path = Path(path)
    if not path.is_file():
        raise ModelsError(f"no such models file: {path}")
    spec = importlib.util.spec_from_file_location(f"txplay_user_models_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise ModelsError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelsError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    return mapped_classes(module, str(path))


def import_models(name: str) -> tuple[tuple[type, ...], Any]:
    """Import a module by its dotted name (`myapp.models`) and return its mapped classes and MetaData.

    The module is imported as the application imports it, so a scenario tests the real mapping.
    """
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name + ".").startswith(exc.name + "."):  # the module itself, not one it imports
            raise ModelsError(f"no module named {name!r} on sys.path (a file needs its path, e.g. models.py)") from None
        raise ModelsError(f"importing {name} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise ModelsError(f"importing {name} failed: {type(exc).__name__}: {exc}") from None
    return mapped_classes(module, name)


def mapped_classes(module: ModuleType, what: str) -> tuple[tuple[type, ...], Any]:
    """The mapped classes a module holds, and the MetaData of the first."""
    classes = []
    for value in vars(module).values():
        if isinstance(value, type) and isinstance(inspect(value, raiseerr=False), Mapper):
            classes.append(value)
    if not classes:
        raise ModelsError(f"{what} defines no mapped classes")
    metadata: MetaData = inspect(classes[0]).local_table.metadata
    return tuple(classes), metadata
