"""P4 service_problem."""

from __future__ import annotations

import pytest

from servicewf import Actor, CommandContext, GuardFailed, RoleNotPermitted, TriggerNotAllowed
from servicewf.processes.service_problem import ServiceProblemData, definition
from tests.processes.support import Harness

INTAKE = {"problem_type": "系統故障", "description": "ticket system down"}


def test_happy_path_with_reanalysis() -> None:
    h = Harness()
    case = h.run(h.open("service_problem", **INTAKE), "report", "analyse", "resolve",
                 "reanalyse", "resolve", "verify", "archive", ("review", "supervisor"))
    assert [t for t, _, _ in h.trail(case)][1:] == [
        "report", "analyse", "resolve", "reanalyse", "resolve", "verify", "archive", "review"]
    assert case.state == "reviewed"
    assert case.data_as(ServiceProblemData).problem_type == "system_failure"


def test_no_archive_before_verification_c12() -> None:
    h = Harness()
    case = h.run(h.open("service_problem", **INTAKE), "report", "analyse", "resolve")
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "archive")
    d = definition()
    g = d.guards["problem_verified"]
    assert g.rule == "C12 (000 §3.3)"
    assert not g(CommandContext(case, d, "archive", Actor("a", "agent"), {}, h.clock.now()))
    case = h.fire(case, "verify")
    assert g(CommandContext(case, d, "archive", Actor("a", "agent"), {}, h.clock.now()))


def test_complaint_problem_needs_linked_case_and_review_needs_lead() -> None:
    h = Harness()
    case = h.open("service_problem", problem_type="投訴", description="complaint pattern")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "report")
    assert err.value.guard == "complaint_linked"
    case = h.run(case, ("report", "agent", {"linked_case_id": "CMP-1"}), "analyse", "resolve",
                 "verify", "archive")
    with pytest.raises(RoleNotPermitted):
        h.fire(case, "review", "agent")


def test_verified_means_the_verified_state_and_who_verified_it_c12() -> None:
    """Both halves of C12's check hold separately (found by mutation: `and` read as `or`
    went unnoticed): a verifier's name alone does not make a problem verified, nor does the
    state without one."""
    import attrs

    h = Harness()
    case = h.run(h.open("service_problem", **INTAKE), "report", "analyse", "resolve")
    d = definition()
    g = d.guards["problem_verified"]
    actor, now = Actor("a", "agent"), h.clock.now()
    named = attrs.evolve(case, data={**case.data, "verified_by": "lead"})
    assert not g(CommandContext(named, d, "archive", actor, {}, now))
    unnamed = attrs.evolve(case, state="verified")
    assert not g(CommandContext(unnamed, d, "archive", actor, {}, now))
    both = attrs.evolve(named, state="verified")
    assert g(CommandContext(both, d, "archive", actor, {}, now))
