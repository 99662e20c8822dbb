"""README and `help` tell the truth about the demo database; hints name `--demo` and the driver extra."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from playground.demo.kit import DEMO_KIT, kit_for
from playground.demo import MODELS
from playground.demo.describe import README_END, README_START, readme_section
from playground.engine import SessionSettings, Workspace
from playground.engine.backends import BackendError, resolve

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_demo_section() -> str:
    readme = README.read_text(encoding="utf-8")
    assert README_START in readme and README_END in readme, "README has no generated demo-database section"
    return readme[readme.index(README_START): readme.index(README_END) + len(README_END)]


async def rows_the_demo_database_starts_with() -> dict[str, list[tuple]]:
    """Every demo table's rows, read back from a freshly created demo database."""
    ws = await Workspace.open(DEMO_KIT, sessions=(), defaults=SessionSettings())
    try:
        out = {}
        async with ws.observer.connect() as conn:
            for model in MODELS:
                table = model.__table__.name
                result = await conn.execute(text(f"select * from {table} order by id"))
                out[table] = [tuple(row) for row in result]
        return out
    finally:
        await ws.close()


def test_readme_lists_the_demo_models_and_rows_as_generated():
    assert readme_demo_section() == readme_section(), (
        "README's demo-database section is stale: replace it with `python -m playground.demo.describe`")


def test_readme_names_every_model_with_its_table_and_columns():
    lines = readme_demo_section().splitlines()
    for model in MODELS:
        table = model.__table__
        (line,) = [line for line in lines if line.startswith(f"| `{model.__name__}` | `{table.name}` |")]
        for column in table.columns:
            assert re.search(rf"`{column.name}\b", line), (model.__name__, column.name)
        for relationship in inspect(model).relationships:
            assert relationship.key in line


async def test_readme_shows_exactly_the_rows_the_demo_database_starts_with():
    section = readme_demo_section()
    for table, rows in (await rows_the_demo_database_starts_with()).items():
        if not rows:
            assert re.search(rf"`{table}`[^\n]*start empty", section), table
            continue
        (line,) = [line for line in section.splitlines() if line.startswith(f"| `{table}` (")]
        assert re.findall(r"`(\([^`]*\))`", line) == [repr(row) for row in rows], table


async def test_help_lists_the_demo_models_and_their_starting_rows(workspace):
    result = await workspace.run("A", "help")
    lines = result.messages
    for model in MODELS:
        assert any(line.strip().startswith(f"{model.__name__} (table {model.__table__.name}):") for line in lines), model
    for table, rows in (await rows_the_demo_database_starts_with()).items():
        if rows:
            (line,) = [line for line in lines if line.strip().startswith(f"{table} (")]
            for row in rows:
                assert repr(row) in line
        else:
            assert any(line.strip().startswith("empty at the start:") and table in line for line in lines)


async def test_help_lists_a_users_own_models_without_the_demo_rows():
    from sqlalchemy import Integer, MetaData, String
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    class Base(DeclarativeBase):
        metadata = MetaData()

    class Widget(Base):
        __tablename__ = "widgets"
        id = mapped_column(Integer, primary_key=True)
        label = mapped_column(String(20), unique=True)

    ws = await Workspace.open(kit_for(((Widget,), Base.metadata)), sessions=("A",), demo=False,
                              setup="create table widgets (id int primary key, label text unique)")
    try:
        lines = [line.strip() for line in (await ws.run("A", "help")).messages]
    finally:
        await ws.close()
    assert "Models:" in lines
    assert "Widget (table widgets): id, label unique" in lines
    assert not any(line.startswith(("Demo", "User (")) for line in lines)


def test_readme_shows_demo_for_a_server_url():
    readme = README.read_text(encoding="utf-8")
    assert re.search(r"txplay --url postgresql://\S+ --demo", readme)
    assert re.search(r"txplay --url mysql://\S+ --demo", readme)
    assert "Without `--demo`" in readme


# -- a demo table the database does not have --------------------------------------------------


@pytest.fixture
async def bare_workspace(backend_url):
    """Sessions on a database without the demo tables (as `txplay --url URL` without `--demo`)."""
    ws = await Workspace.open(DEMO_KIT, backend_url, sessions=("A",), demo=False, isolate=True,
                              defaults=SessionSettings(lock_timeout=5.0))
    try:
        yield ws
    finally:
        await ws.close()


@pytest.mark.parametrize("step", ["select * from items", "session.get(Item, 1)", "insert into jobs (payload) values ('x')"])
async def test_a_missing_demo_table_gets_a_hint_that_names_demo(bare_workspace, step):
    result = await bare_workspace.run("A", step)
    assert result.status == "error"
    assert result.error.hint and "--demo" in result.error.hint, result.error
    table = "jobs" if "jobs" in step else "items"
    assert f"`{table}` is a demo table" in result.error.hint


async def test_a_missing_table_of_ones_own_gets_no_demo_hint(bare_workspace):
    result = await bare_workspace.run("A", "select * from invoices")
    assert result.status == "error"
    assert not (result.error.hint and "--demo" in result.error.hint)


# -- the missing-driver hint -------------------------------------------------------------------


def missing_driver(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a))


def test_a_missing_driver_names_the_extra_for_an_installed_txplay(monkeypatch):
    missing_driver(monkeypatch)
    with pytest.raises(BackendError) as caught:
        resolve("postgresql://localhost/shop")
    message = str(caught.value)
    assert "the asyncpg driver for postgresql is not installed" in message
    assert "pip install 'txplay[postgres]'" in message
    assert "pip install '.[postgres]'" in message  # and for a source checkout


def test_a_source_checkout_that_was_never_installed_gets_the_folder_form(monkeypatch, tmp_path):
    from importlib import metadata

    import playground.engine.backends as backends
    from playground.engine.backends import install_hint

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    checkout = Path(backends.__file__).resolve().parents[3]  # playground/engine/backends/__init__.py
    monkeypatch.chdir(checkout)
    assert install_hint("postgres") == "pip install '.[postgres]'"
    monkeypatch.chdir(tmp_path)
    assert install_hint("mysql") == f"pip install '{checkout}[mysql]'"
