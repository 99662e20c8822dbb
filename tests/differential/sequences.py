"""Random step sequences over a fixed vocabulary, for the differential test.

One session only (two would wait on each other's locks, which this test keeps out), a fixed
seed per sequence: every sequence is a test of its own whose id says how to get it back.
"""

from __future__ import annotations

import random

from tests.differential.model import Scenario, Step, cmd, py, sql

VOCABULARY: tuple[Step, ...] = (
    py("A", 'u = User(name="r", email="r@example.com")'),
    py("A", "session.add(u)"),
    py("A", "session.flush()"),
    py("A", "session.commit()"),
    py("A", "session.rollback()"),
    py("A", "i = session.get(Item, 1)"),
    py("A", "i.stock = i.stock - 20"),
    py("A", "session.delete(i)"),
    py("A", "session.expunge(i)"),
    py("A", "session.expire_all()"),
    py("A", "session.refresh(i)"),
    py("A", "sp = session.begin_nested()"),
    py("A", "sp.rollback()"),
    py("A", "sp.commit()"),
    py("A", 'session.execute(text("select :x"))'),
    py("A", "1 / 0"),
    py("A", "session.execute(update(Item).where(Item.id == 2).values(stock=Item.stock + 1))"),
    sql("A", "select count(*) from users"),
    sql("A", "update items set stock = stock + 1 where id = 3"),
    sql("A", "insert into users (name, email) values ('x', 'ann@example.com')"),
    sql("A", "update items set stock = -1 where id = 2"),
    py("A", "session.begin()"),
    py("A", "session.expunge(u)"),
    py("A", "m = session.merge(i)"),
    cmd("A", "\\savepoint s1"),
    cmd("A", "\\rollback-to s1"),
    sql("A", "BEGIN"),
    sql("A", "COMMIT"),
    sql("A", "ROLLBACK"),
    sql("A", "SAVEPOINT s1"),
    sql("A", "ROLLBACK TO s1"),
    sql("A", "RELEASE s1"),
)


OPENING = (
    py("A", 'u = User(name="r", email="r@example.com")'),
    py("A", "i = session.get(Item, 1)"),
)


def random_sequence(seed: int, length: int = 8) -> Scenario:
    """A scenario: the names `u` and `i` bound, then `length` steps drawn with `seed`."""
    rng = random.Random(seed)
    steps = OPENING + tuple(rng.choice(VOCABULARY) for _ in range(length))
    return Scenario(f"random sequence {seed}", steps, sessions=("A",))
