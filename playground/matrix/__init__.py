"""The isolation matrix: which anomalies a database prevents at each isolation level, measured.

Each test is a built-in `.txp` scenario (`matrix_*`) run at a level; what it concludes comes
from what its sessions saw (the rows a read returned, whether a step waited, which error it
got, the committed state at the end), decided by the test's own rule — never from a table of
answers per database. The test designs follow Hermitage's (Martin Kleppmann, CC BY 4.0).
Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from playground.matrix.model import Decide, MatrixTest, Observed, Verdict, error_code
from playground.matrix.suite import SUITE, decide_g0, decide_g1a, decide_p4

__all__ = ["SUITE", "Decide", "MatrixTest", "Observed", "Verdict", "decide_g0", "decide_g1a", "decide_p4", "error_code",
           "observations", "run_cell"]


def observations(report: Any) -> list[Observed]:
    """The steps of a run, in scenario order, as the decision rules read them."""
    return [Observed(record.result, record.waited) for record in report.steps]


async def run_cell(test: MatrixTest, level: str, url: str | None, journal_mode: str | None = None) -> Verdict:
    """Run `test` at `level` (and SQLite `journal_mode`) on `url` (a fresh SQLite file when None) and decide it."""
    from playground.scenario import library
    from playground.scenario.runner import run_scenario

    scenario = dataclasses.replace(library.load(test.scenario), isolation=level, journal_mode=journal_mode)
    report = await run_scenario(scenario, url, states=False)
    steps = observations(report)
    if report.error or len(steps) != len(scenario.steps) or any(s.result is None for s in steps):
        raise RuntimeError(f"{test.name} at {level} did not run to its end: {report.error or 'a step did not finish'}")
    return test.decide(steps)
