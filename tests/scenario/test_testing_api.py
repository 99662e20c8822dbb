"""playground.testing: a scenario run from Python, by path, name or text, and its transcript;
a scenario's `models:` header puts the user's own mapping in the sessions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from playground.scenario.parser import ScenarioError, parse
from playground.testing import Transcript, run, run_async
from tests.conftest import server_url

TABLE = """\
setup:
    create table t (id int primary key, v int);
"""

FORGOTTEN_COMMIT = f"""\
title: the insert was never committed
sessions: A B
{TABLE}
A: insert into t (id, v) values (1, 10)
A: rollback
B: select v from t
=> rows [(10,)]
B: select count(*) from t
=> rows [(0,)]
"""

MODELS = """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""


def models_scenario(models: str, demo: str = "") -> str:
    """Two sessions on the user's Customer model: one adds through the ORM, the other sees it once committed."""
    return textwrap.dedent(f"""\
        title: my own models
        models: {models}
        {demo}
        setup:
            insert into customers (id, name) values (1, 'ann');
        A: session.get(Customer, 1).name
        => value 'ann'
        A: session.add(Customer(id=2, name='bob'))
        A: session.commit()
        B: session.scalars(select(Customer.name).order_by(Customer.id)).all()
        => value ['ann', 'bob']
        B: select count(*) from items
        => error items
        """)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- running, by name, path or text ---------------------------------------------------------------


def test_a_built_in_scenario_by_name_passes_from_sync_code():
    transcript = run("expunge_vs_detach")
    assert isinstance(transcript, Transcript)
    assert transcript.passed and not transcript.skipped and transcript.failure == ""
    assert transcript.backend == "sqlite"
    assert transcript.checks and all(c.held for c in transcript.checks)
    assert [s.index for s in transcript.steps] == list(range(1, len(transcript.steps) + 1))


async def test_a_file_by_path_from_async_code(tmp_path):
    path = write(tmp_path, "case.txp", f"title: t\nsessions: A\n{TABLE}\nA: insert into t values (1, 10)\nA: select v from t\n=> rows [(10,)]\n")
    transcript = await run_async(path)
    assert transcript.passed
    assert transcript.scenario.source == str(path)
    last = transcript.steps[-1]
    assert (last.session, last.input, last.status, last.rows) == ("A", "select v from t", "ok", ((10,),))
    assert last.sql == ("select v from t",)


async def test_a_failing_expectation_says_the_step_what_was_expected_and_what_happened():
    transcript = await run_async(FORGOTTEN_COMMIT, source="forgotten.txp")
    assert not transcript.passed
    (step,) = transcript.failures
    assert (step.index, step.session, step.line, step.rows) == (3, "B", 8, ())
    assert [(c.expected, c.held) for c in step.checks] == [("rows [(10,)]", False)]
    failure = transcript.failure
    assert failure.startswith("forgotten.txp on sqlite: 1 expectation FAILED")
    assert "step 3 (B, line 8): select v from t" in failure
    assert "expected: rows [(10,)]\n  happened: got []" in failure
    # The transcript around it: the rollback before it, and the check after it, which held.
    around = failure.split("transcript around it:\n", 1)[1]
    assert "2 A> rollback   [ok]" in around and "✓ expected rows [(0,)]: held" in around
    with pytest.raises(AssertionError, match="select v from t"):
        transcript.assert_passed()


async def test_a_scenario_for_another_backend_is_skipped_with_the_reason():
    transcript = await run_async("lost_update")
    assert transcript.skipped and transcript.passed
    assert transcript.skip_reason == "this scenario runs on postgresql, mysql, not sqlite"
    assert transcript.steps == ()


async def test_an_unknown_name_and_bad_text_are_scenario_errors():
    with pytest.raises(ScenarioError, match="no built-in scenario named 'lost_updat'"):
        await run_async("lost_updat")
    with pytest.raises(ScenarioError) as info:
        await run_async("title: t\nA: select 1\n=> rowz [(1,)]\n", source="mine.txp")
    assert (info.value.source, info.value.line) == ("mine.txp", 3)


# -- the user's own models -------------------------------------------------------------------------


def test_models_and_markers_headers_parse():
    scenario = parse("title: t\nmodels: myapp.models\nmarkers: slow, db\nA: select 1\n")
    assert (scenario.models, scenario.models_line, scenario.markers) == ("myapp.models", 2, ("slow", "db"))
    with pytest.raises(ScenarioError, match="marker 'no-dash' is not a Python name") as info:
        parse("markers: slow no-dash\nA: select 1\n")
    assert info.value.line == 1


async def test_a_models_file_is_found_beside_the_scenario_and_its_tables_created(tmp_path, monkeypatch, backend_url):
    write(tmp_path / "app", "models.py", MODELS)
    path = write(tmp_path / "app", "test_customers.txp", models_scenario("models.py"))
    monkeypatch.chdir(tmp_path)  # not the scenario's folder: the models file is found from the scenario's
    transcript = await run_async(path, backend_url)
    assert transcript.passed, transcript.failure
    assert len(transcript.checks) == 3  # the demo's tables are not there: the user's models replace them


async def test_a_models_module_is_imported_by_its_dotted_name(tmp_path, monkeypatch):
    write(tmp_path / "shop_under_test", "__init__.py", "")
    write(tmp_path / "shop_under_test", "mapping.py", MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    transcript = await run_async(models_scenario("shop_under_test.mapping"))
    assert transcript.passed, transcript.failure


async def test_demo_no_leaves_the_models_tables_to_the_setup(tmp_path):
    write(tmp_path, "models.py", MODELS)
    text = models_scenario("models.py", demo="demo: no").replace(
        "setup:\n", "setup:\n    create table customers (id int primary key, name varchar(50));\n")
    transcript = await run_async(text, source=tmp_path / "inline.txp")
    assert transcript.passed, transcript.failure


@pytest.mark.parametrize(("models", "reason"), [
    ("missing.py", "models: no such models file"),
    ("no_such_package.models", "models: no module named 'no_such_package.models' on sys.path"),
    ("empty.py", "defines no mapped classes"),
])
async def test_models_that_cannot_be_loaded_are_an_error_at_the_header(tmp_path, models, reason):
    write(tmp_path, "empty.py", "X = 1\n")
    path = write(tmp_path, "case.txp", models_scenario(models))
    with pytest.raises(ScenarioError, match=reason) as info:
        await run_async(path)
    assert (info.value.source, info.value.line) == (str(path), 2)


# -- README's "Keep what you found" -----------------------------------------------------------------

SHOP_MODELS = MODELS + """

class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
"""


def readme_blocks() -> list[str]:
    """The code blocks of README's "Keep what you found" section, in order."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Keep what you found\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1] for block in section.split("```")[1::2]]


@pytest.fixture
def shop(tmp_path, monkeypatch) -> Path:
    """A project with README's `myapp.models` importable and its scenario at tests/test_checkout.txp."""
    write(tmp_path / "myapp", "__init__.py", "")
    write(tmp_path / "myapp", "models.py", SHOP_MODELS)
    write(tmp_path / "tests", "test_checkout.txp", readme_blocks()[0])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_readmes_scenario_passes_and_its_failure_reads_as_shown(shop):
    path = shop / "tests" / "test_checkout.txp"
    assert (await run_async(path)).passed
    # README shows the failure of the same scenario had the order been lost with the payment.
    lost = path.read_text(encoding="utf-8").replace("sp.rollback()", "session.rollback()")
    failure = (await run_async(lost, source=path)).failure
    shown = readme_blocks()[2].split("\ntranscript around it:")[0].splitlines()[1:]
    assert failure.startswith(f"{path} on sqlite: 1 expectation FAILED")
    assert "\n".join(shown[1:]) in failure


def test_readmes_three_lines_of_python_run_as_written(shop):
    code = readme_blocks()[3]
    assert len(code.strip().splitlines()) == 3
    exec(code.replace("postgresql://localhost/test", server_url("postgresql")), {})
