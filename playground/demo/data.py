"""The demo rows, and creating the demo schema on a connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from playground.demo.models import Account, Base, Item, Job, User

ROWS: dict[type, list[dict[str, Any]]] = {
    User: [
        {"name": "ann", "email": "ann@example.com"},
        {"name": "bob", "email": "bob@example.com"},
        {"name": "cy", "email": "cy@example.com"},
    ],
    Account: [
        {"user_id": 1, "balance": 100},
        {"user_id": 2, "balance": 50},
        {"user_id": 3, "balance": 0},
    ],
    Item: [
        {"name": "book", "stock": 10},
        {"name": "pen", "stock": 100},
        {"name": "lamp", "stock": 1},
    ],
    Job: [
        {"payload": "send invoice 1", "taken_by": None},
        {"payload": "send invoice 2", "taken_by": None},
        {"payload": "send invoice 3", "taken_by": None},
    ],
}


def create_demo(connection: Connection, *, reset: bool = False) -> None:
    """Create the demo tables and rows on a sync connection (run it through `run_sync`).

    Rows get their ids from the database, in order (1, 2, 3…): explicit ids would leave a
    PostgreSQL sequence behind, and the first INSERT a user types would collide.
    """
    if reset:
        Base.metadata.drop_all(connection)
    Base.metadata.create_all(connection)
    for model, rows in ROWS.items():
        connection.execute(insert(model), rows)
