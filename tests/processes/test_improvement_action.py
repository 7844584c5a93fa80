"""P7 improvement_action."""

from __future__ import annotations

import pytest

from servicewf import DataMissing, GuardFailed, TriggerNotAllowed
from servicewf.processes.improvement_action import ImprovementActionData
from tests.processes.support import Harness

INTAKE = {"origin": "投訴", "description": "follow-ups late"}


def test_plan_requires_owner_deadline_criteria_c13() -> None:
    h = Harness()
    case = h.open("improvement_action", **INTAKE)
    with pytest.raises(DataMissing) as err:
        h.fire(case, "plan", owner=None, acceptance_criteria=None)
    assert set(err.value.missing) == {"owner", "acceptance_criteria"}
    with pytest.raises(GuardFailed) as past:
        h.fire(case, "plan", deadline=h.clock.now().subtract(days=1).isoformat())
    assert (past.value.guard, past.value.rule) == ("deadline_in_future", "C13 (001 §4.3)")
    case = h.run(case, "plan", "start", "check", "close")
    assert [d for _, _, d in h.trail(case)] == ["identified", "planned", "implementing",
                                                "checked", "closed"]
    assert case.data_as(ImprovementActionData).origin == "complaint"


def test_not_effective_re_plan_needs_cause_analysis_when_overdue() -> None:
    h = Harness()
    case = h.run(h.open("improvement_action", **INTAKE), "plan", "start", "check",
                 "mark_not_effective")
    assert case.state == "not_effective"
    # Before the deadline: no cause analysis needed.
    early = h.run(h.open("improvement_action", **INTAKE), "plan", "start", "check",
                  "mark_not_effective", "re_plan")
    assert early.state == "planned"
    h.clock.advance(days=10)  # past the 5-day deadline
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "re_plan")
    assert err.value.guard == "cause_analysis_if_overdue"
    case = h.fire(case, "re_plan", cause_analysis="owner was on leave; no deputy")
    assert h.trail(case)[-1] == ("re_plan", "not_effective", "planned")
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "close")


def test_overdue_means_strictly_after_the_deadline() -> None:
    """At the deadline itself the action is not yet overdue (found by mutation: the boundary
    was not pinned)."""
    from servicewf.processes.improvement_action import is_overdue

    deadline = "2026-03-09T18:00:00+08:00"
    assert not is_overdue(deadline, "2026-03-09T18:00:00+08:00")
    assert not is_overdue(deadline, "2026-03-09T10:00:00+00:00")  # the same instant
    assert is_overdue(deadline, "2026-03-09T18:00:00.000001+08:00")
    assert not is_overdue(None, deadline) and not is_overdue(deadline, None)
