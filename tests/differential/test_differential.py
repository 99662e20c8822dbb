"""txplay against plain SQLAlchemy, step by step, on SQLite, PostgreSQL and MariaDB.

Every scenario (and a few seeded random sequences) runs twice: through txplay's headless runner,
read from its JSON transcript events, and through the independent reference runner in
`reference.py`. After every step the two must agree on the step's kind and outcome (ok, or the
exception class), its rows or rowcount or plain value, and, for every session, the status
(idle / active / failed) and the SQLAlchemy state and identity of every object bound to a name.
A disagreement fails with a step-by-step diff and the reference's own account of the run.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import BACKENDS, server_url
from tests.differential.compare import diff
from tests.differential.conftest import DatabasesByBackend
from tests.differential.model import Scenario, StepFacts
from tests.differential.reference import run_reference
from tests.differential.scenarios import SCENARIOS
from tests.differential.sequences import random_sequence
from tests.differential.through_txplay import run_txplay

SEQUENCES = int(os.environ.get("TXPLAY_DIFF_SEQUENCES", "6"))
CASES = [(backend, scenario) for backend in BACKENDS for scenario in SCENARIOS if scenario.runs_on(backend)]
CASES += [(backend, random_sequence(seed)) for backend in BACKENDS for seed in range(SEQUENCES)]

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.mark.parametrize(("backend", "scenario"), CASES, ids=[f"{b}-{_slug(s.name)}" for b, s in CASES])
async def test_txplay_agrees_with_sqlalchemy(backend: str, scenario: Scenario, databases: DatabasesByBackend) -> None:
    url = None if backend == "sqlite" else server_url(backend)
    reference = await run_reference(scenario, databases.on(backend, url))
    txplay, _ = await run_txplay(scenario, url)
    found = diff(txplay, reference)
    if found:
        pytest.fail(
            f"txplay and plain SQLAlchemy disagree on {scenario.name!r} ({backend}):\n"
            + "\n".join(found)
            + "\n\nthe reference run, step by step:\n"
            + "\n".join(_account(f) for f in reference),
            pytrace=False,
        )


def _account(facts: StepFacts) -> str:
    step = facts.step
    shown = step.text.replace("\n", " ⏎ ")
    result = facts.outcome if facts.outcome == "ok" else f"error {facts.error}"
    for label, value in (("rows", facts.rows), ("rowcount", facts.rowcount), ("value", facts.value)):
        if value is not None:
            result += f" {label} {value}"
    sessions = "; ".join(
        f"{name} {s.status}" + "".join(f" {o}={f.state}" for o, f in sorted(s.objects.items()))
        for name, s in facts.sessions.items()
    )
    return f"  {facts.index} {step.session} [{step.kind}] {shown}\n      → {result} | {sessions}"
