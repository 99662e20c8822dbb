"""A confined process (a `txplay web` visitor's) keeps SQLite to its own file and may refuse Python input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from playground.engine import Workspace, confinement
from playground.demo.kit import DEMO_KIT
from tests.conftest import ok


@pytest.fixture
def confined(monkeypatch) -> None:
    """This test's process as a web visitor's without --allow-python; as before afterwards."""
    monkeypatch.setattr(confinement, "_current", confinement.Confinement())
    confinement.confine(python_allowed=False)


async def test_attach_detach_and_extensions_are_refused_in_a_confined_process(confined, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    ws = await Workspace.open(DEMO_KIT)
    try:
        for sql in (f"ATTACH DATABASE '{other}' AS other", "DETACH DATABASE main", "SELECT load_extension('x')"):
            result = await ws.run("A", sql)
            assert result.status == "error", sql
            assert result.error is not None and "not authorized" in result.error.message, sql
        await ok(ws, "A", "select count(*) from items")  # its own file stays open to it
    finally:
        await ws.close()
    assert not other.exists()


async def test_python_is_refused_and_sql_still_runs_in_a_confined_process(confined) -> None:
    ws = await Workspace.open(DEMO_KIT)
    try:
        result = await ws.run("A", "import os; os.listdir('/')")
        assert result.status == "error"
        assert result.error is not None and result.error.type == "PythonRefused"
        await ok(ws, "A", "insert into items (id, name, stock) values (10, 'mug', 3)")
    finally:
        await ws.close()


async def test_an_unconfined_process_attaches_and_runs_python(tmp_path: Path) -> None:
    """The terminal app is untouched by all this."""
    ws = await Workspace.open(DEMO_KIT)
    try:
        await ok(ws, "A", f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
        await ok(ws, "A", "x = 1 + 1")
    finally:
        await ws.close()


@pytest.mark.parametrize("sql", ["VACUUM INTO '{folder}/copy.db'", "ATTACH '{folder}/copy.db' AS copy",
                                 "PRAGMA temp_store_directory = '{folder}'"])
def test_the_authorizer_refuses_reaching_another_file(sql: str, tmp_path: Path) -> None:
    """Outside a transaction too (sessions always run in one, where VACUUM cannot run at all)."""
    connection = sqlite3.connect(tmp_path / "own.db")
    connection.set_authorizer(confinement.sqlite_authorizer)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not authorized|authorization denied"):
            connection.execute(sql.format(folder=tmp_path))
        connection.execute("VACUUM")  # the plain VACUUM makes a private temporary copy: allowed
    finally:
        connection.close()
    assert not (tmp_path / "copy.db").exists()
