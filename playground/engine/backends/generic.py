"""Any SQLAlchemy async dialect txplay has no strategy for."""

from __future__ import annotations

from playground.engine.backends.base import Backend


class GenericBackend(Backend):
    """Any SQLAlchemy async dialect without a strategy of its own: SQL, ORM states and
    transactions work; no lock monitor, no lock timeout, no namespace of its own."""

    sets_lock_timeout = False
    missing_features = "no lock monitor"
