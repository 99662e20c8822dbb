"""README's claims about SQLAlchemy and the databases, each checked where it happens (issue 13)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ok, value

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_names_sqlalchemys_five_states_and_no_expunged_state():
    assert "transient, pending, persistent, deleted\nor detached (SQLAlchemy's five states" in README
    assert "pending, persistent, deleted, detached\nor expunged" not in README


async def test_an_expunged_object_is_detached_or_transient_never_a_state_of_its_own(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "u = session.get(User, 1); session.expunge(u)")
    await ok(ws, "A", "p = User(name='pat', email='pat@example.com'); session.add(p); session.expunge(p)")
    await ok(ws, "A", "n = User(name='nia', email='nia@example.com'); sp = session.begin_nested(); session.add(n); session.flush()")
    await ok(ws, "A", "sp.rollback()")
    states = "[[s for s in ('transient', 'pending', 'persistent', 'deleted', 'detached') if getattr(inspect(o), s)] for o in (u, p, n)]"
    # README: a savepoint rolled back leaves the object it inserted expunged, that is transient again.
    assert await value(ws, "A", states) == [["detached"], ["transient"], ["transient"]]
    await ok(ws, "A", "session.rollback()")
