"""The service-request clocks the catalogue lists beyond the response clocks: resolution by the
promised due time (000 §2.2), initial feedback processing 24 h after delivery (000 §3.2), and
the business-centre service times (001 §6.1)."""

from __future__ import annotations

import pendulum
import pytest

from servicewf.calendar import china_office
from servicewf.processes.presets import (
    service_request_business_centre,
)
from servicewf.sla import (
    MET,
    PAUSED,
    SLA,
    DueField,
    GoalUndefined,
    Sweeper,
)
from tests.processes.support import Harness

TZ = "Asia/Shanghai"
START = pendulum.datetime(2026, 3, 2, 9, 0, tz=TZ)  # Monday
INTAKE = {"channel": "電話", "customer_ref": "C-1", "description": "projector broken"}


def test_resolution_runs_to_the_promised_due_time_and_pauses_while_waiting() -> None:
    h = Harness(START, with_sla=True)
    sla = h.sla
    assert sla is not None
    due = START.add(days=2)
    case = h.run(h.open("service_request", **INTAKE), "register",
                 ("confirm", "agent", {"due": due.isoformat()}))
    view = sla.view(h.engine, case, "resolution", h.clock.now())
    assert (view.status, view.deadline) == ("running", due)
    case = h.run(case, "propose_plan", "agree_plan", "start")
    h.clock.advance(hours=1)
    case = h.fire(case, "wait_customer", reason="customer away")
    h.clock.advance(hours=5)
    assert sla.view(h.engine, case, "resolution", h.clock.now()).status == PAUSED
    case = h.fire(case, "resume")
    # Waiting for the customer (5 h) moves the promised time by 5 h.
    assert sla.view(h.engine, case, "resolution", h.clock.now()).deadline == due.add(hours=5)
    case = h.fire(case, "deliver")
    assert sla.view(h.engine, case, "resolution", h.clock.now()).outcome == MET
    assert sla.recompute(h.engine, case) == sla.states(case)


def test_resolution_without_a_due_time_has_no_deadline_and_a_bad_one_is_refused() -> None:
    h = Harness(START, with_sla=True)
    sla = h.sla
    assert sla is not None
    policy = sla.policies["service_request"]
    assert isinstance(policy.clock("resolution").target, DueField)
    with pytest.raises(GoalUndefined, match="aware ISO 8601"):
        policy.select_target(policy.clock("resolution"), {"due": "next Tuesday"})
    assert policy.select_target(policy.clock("resolution"), {}) is None


def test_feedback_processing_24h_after_delivery_met_by_acceptance_or_rework() -> None:
    h = Harness(START, with_sla=True)
    sla = h.sla
    assert sla is not None
    case = h.run(h.open("service_request", **INTAKE), "register", "confirm", "propose_plan",
                 "agree_plan", "start", "deliver")
    view = sla.view(h.engine, case, "feedback_processing", h.clock.now())
    assert view.deadline == h.clock.now().add(hours=24)
    h.clock.advance(hours=3)
    case = h.fire(case, "rework", reason="image still flickers")
    assert sla.view(h.engine, case, "feedback_processing", h.clock.now()).outcome == MET
    case = h.fire(case, "deliver")
    h.clock.advance(hours=25)
    report = Sweeper(h.engine, sla).run(h.clock.now())
    assert report.breaches == 2  # feedback processing and the post-service contact
    cycle = sla.view(h.engine, h.engine.get(case.id), "feedback_processing", h.clock.now())
    assert (cycle.cycle, cycle.breached) == (2, True)


@pytest.mark.parametrize(("request_type", "minutes"), [
    ("check_in", 30), ("入住登記", 30), ("printing", 60), ("Printing", 60), ("repair", None)])
def test_business_centre_service_time_by_request_type(request_type: str,
                                                     minutes: int | None) -> None:
    h = Harness(START)
    sla = SLA([service_request_business_centre()], {"office": china_office()})
    h.engine.processors = [sla]
    case = h.run(h.open("service_request", **INTAKE),
                 ("register", "agent", {"request_type": request_type}))
    view = sla.view(h.engine, case, "service_time", h.clock.now())
    expected = None if minutes is None else START.add(minutes=minutes)
    assert view.deadline == expected


def test_a_promised_due_time_moves_by_clock_time_over_a_night() -> None:
    """A pause shifts a promised due time in clock time, even across closed office hours
    (DueField is absolute; found by mutation)."""
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    due = START.add(days=5)
    case = h.run(h.open("service_request", **INTAKE), "register",
                 ("confirm", "agent", {"due": due.isoformat()}),
                 "propose_plan", "agree_plan", "start")
    evening = h.clock.now().in_timezone("Asia/Shanghai").start_of("day").add(hours=17)
    h.clock.set(max(evening, h.clock.now()))
    case = h.fire(case, "wait_customer", reason="customer away")
    paused_at = h.clock.now()
    h.clock.set(paused_at.add(hours=17))  # overnight, mostly outside office hours
    case = h.fire(case, "resume")
    view = h.sla.view(h.engine, case, "resolution", h.clock.now())
    assert view.deadline == due.add(hours=17)
