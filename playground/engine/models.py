"""Loading the user's own declarative models (`--models my_models.py`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
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
    classes = []
    for value in vars(module).values():
        if isinstance(value, type) and isinstance(inspect(value, raiseerr=False), Mapper):
            classes.append(value)
    if not classes:
        raise ModelsError(f"{path} defines no mapped classes")
    metadata: MetaData = inspect(classes[0]).local_table.metadata
    return tuple(classes), metadata
