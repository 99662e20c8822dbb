"""The demo database as the engine is handed it: models, rows, stand-ins and their description."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from playground.demo import MODELS
from playground.demo.data import create_demo
from playground.demo.describe import models_help
from playground.demo.models import Base
from playground.demo.standins import make_standins
from playground.engine.kit import ModelKit


def _create(connection: Connection, reset: bool) -> None:
    create_demo(connection, reset=reset)


DEMO_KIT = ModelKit(
    models=MODELS,
    metadata=Base.metadata,
    create_demo=_create,
    demo_tables=frozenset(model.__tablename__ for model in MODELS),
    standins=make_standins,
    describe=models_help,
)


def kit_for(models: tuple[tuple[type, ...], Any] | None = None) -> ModelKit:
    """The demo kit, with a user's own (classes, metadata) in place of the demo models when given."""
    if models is None:
        return DEMO_KIT
    classes, metadata = models
    return replace(DEMO_KIT, models=tuple(classes), metadata=metadata)
