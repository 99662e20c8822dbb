"""Step-by-step comparison of txplay's facts with the reference runner's, as a readable diff."""

from __future__ import annotations

from tests.differential.model import SessionFacts, StepFacts

# The reference's own refusal (a savepoint name that is not open) is txplay's `txplay: …`.
SAME_ERROR = {"RunnerRefused": "txplay"}


def diff(txplay: list[StepFacts], reference: list[StepFacts]) -> list[str]:
    """Every disagreement, step by step; empty when the two runs agree."""
    lines: list[str] = []
    for mine, ref in zip(txplay, reference, strict=False):
        found = _step_diff(mine, ref)
        if found:
            step = ref.step
            shown = step.text if "\n" not in step.text else step.text.replace("\n", " ⏎ ")
            lines.append(f"step {ref.index} {step.session} [{step.kind}] {shown}")
            lines.extend(f"    {line}" for line in found)
    if len(txplay) != len(reference):
        lines.append(f"txplay reported {len(txplay)} steps, the reference {len(reference)}")
    return lines


def _step_diff(mine: StepFacts, ref: StepFacts) -> list[str]:
    out = []
    if mine.kind != ref.kind:
        out.append(f"kind: txplay {mine.kind}, reference {ref.kind}")
    ref_error = SAME_ERROR.get(ref.error or "", ref.error)
    if (mine.outcome, mine.error) != (ref.outcome, ref_error):
        out.append(f"outcome: txplay {_outcome(mine)}, reference {_outcome(ref)}")
    elif ref.outcome == "ok":
        if ref.rows is not None and mine.rows != ref.rows:
            out.append(f"rows: txplay {mine.rows}, reference {ref.rows}")
        if ref.rowcount is not None and mine.rowcount != ref.rowcount:
            out.append(f"rowcount: txplay {mine.rowcount}, reference {ref.rowcount}")
        if ref.value is not None and mine.value != ref.value:
            out.append(f"value: txplay {mine.value}, reference {ref.value}")
    for name, ref_session in ref.sessions.items():
        out.extend(_session_diff(name, mine.sessions.get(name), ref_session))
    return out


def _outcome(facts: StepFacts) -> str:
    if facts.outcome != "error":
        return facts.outcome
    return f"error {facts.error}: {facts.message}"


def _session_diff(name: str, mine: SessionFacts | None, ref: SessionFacts) -> list[str]:
    if mine is None:
        return [f"session {name}: missing from txplay's state event"]
    out = []
    if mine.status != ref.status:
        out.append(f"status {name}: txplay {mine.status}, reference {ref.status}")
    for obj_name in sorted(set(ref.objects) | set(mine.objects)):
        a, b = mine.objects.get(obj_name), ref.objects.get(obj_name)
        if a != b:
            out.append(f"object {name}.{obj_name}: txplay {_obj(a)}, reference {_obj(b)}")
    return out


def _obj(facts: object) -> str:
    if facts is None:
        return "(not shown)"
    state, identity = facts.state, facts.identity  # type: ignore[attr-defined]
    return f"{state} {list(identity) if identity is not None else '-'}"
