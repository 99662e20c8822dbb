"""The demo rows, and creating the demo schema on a connection."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from playground.demo.models import Account, Base, Item, Job, User

ROWS = {
    User: [
        {"id": 1, "name": "ann", "email": "ann@example.com"},
        {"id": 2, "name": "bob", "email": "bob@example.com"},
        {"id": 3, "name": "cy", "email": "cy@example.com"},
    ],
    Account: [
        {"id": 1, "user_id": 1, "balance": 100},
        {"id": 2, "user_id": 2, "balance": 50},
        {"id": 3, "user_id": 3, "balance": 0},
    ],
    Item: [
        {"id": 1, "name": "book", "stock": 10},
        {"id": 2, "name": "pen", "stock": 100},
        {"id": 3, "name": "lamp", "stock": 1},
    ],
    Job: [
        {"id": 1, "payload": "send invoice 1", "taken_by": None},
        {"id": 2, "payload": "send invoice 2", "taken_by": None},
        {"id": 3, "payload": "send invoice 3", "taken_by": None},
    ],
}


def create_demo(connection: Connection, *, reset: bool = False) -> None:
    """Create the demo tables and rows on a sync connection (run it through `run_sync`)."""
    if reset:
        Base.metadata.drop_all(connection)
    Base.metadata.create_all(connection)
    for model, rows in ROWS.items():
        connection.execute(insert(model), rows)
