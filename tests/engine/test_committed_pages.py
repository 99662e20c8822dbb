"""Committed data is read a page at a time, in primary-key order, by a connection outside every session."""

from __future__ import annotations

from tests.conftest import ok


async def test_pages_follow_the_primary_key_and_cover_every_row_once(any_workspace):
    ws = any_workspace
    await ws.run_outside("create table paged (code varchar(10) primary key, n integer)")
    # Inserted out of key order; an update moves a row to the heap's end on PostgreSQL.
    for code, n in [("m", 1), ("c", 2), ("x", 3), ("a", 4), ("q", 5), ("f", 6), ("b", 7)]:
        await ws.run_outside(f"insert into paged (code, n) values ('{code}', {n})")
    await ws.run_outside("update paged set n = 10 where code = 'a'")
    seen: list[tuple] = []
    for offset in range(0, 8, 3):
        page = await ws.committed("paged", limit=3, offset=offset)
        assert page.error is None and page.total == 7
        assert page.columns == ("code", "n")
        seen.extend(page.rows)
    assert [row[0] for row in seen] == ["a", "b", "c", "f", "m", "q", "x"]
    assert dict(seen)["a"] == 10


async def test_uncommitted_rows_are_not_in_the_pages(any_workspace):
    ws = any_workspace
    await ok(ws, "A", "insert into jobs (id, payload) values (900, 'pending')")
    page = await ws.committed("jobs", limit=1000)
    assert all(row[0] != 900 for row in page.rows)
    await ok(ws, "A", "commit")
    page = await ws.committed("jobs", limit=1000)
    assert any(row[0] == 900 for row in page.rows)
