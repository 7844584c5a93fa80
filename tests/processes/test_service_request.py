"""P1 service_request: happy path, every branch and refusal, with the audit log asserted."""

from __future__ import annotations

import pytest

from servicewf import (
    Actor,
    CommandContext,
    DataMissing,
    Engine,
    GuardFailed,
    MemoryStore,
    TriggerNotAllowed,
)
from servicewf.processes.service_request import ServiceRequestData, definition
from tests.processes.support import Harness

INTAKE = {"channel": "電話", "customer_ref": "C-1", "description": "projector broken"}
TO_AGREED = ("register", "confirm", "propose_plan", "agree_plan")


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_happy_path_records_every_step(h: Harness) -> None:
    case = h.open("service_request", **INTAKE)
    case = h.run(case, *TO_AGREED, "start", "deliver", "accept", "follow_up", "archive")
    assert case.state == "archived"
    assert h.trail(case) == [
        (None, None, "received"),
        ("register", "received", "registered"),
        ("confirm", "registered", "confirmed"),
        ("propose_plan", "confirmed", "planned"),
        ("agree_plan", "planned", "plan_agreed"),
        ("start", "plan_agreed", "in_progress"),
        ("deliver", "in_progress", "delivered"),
        ("accept", "delivered", "accepted"),
        ("follow_up", "accepted", "followed_up"),
        ("archive", "followed_up", "archived"),
    ]
    events = h.history(case)
    assert events[7].data["satisfaction"] == "滿意" and events[7].role == "agent"
    assert all(e.at == h.clock.now() for e in events)
    typed = case.data_as(ServiceRequestData)
    assert typed.priority == "urgent" and typed.satisfaction == "satisfied"
    assert typed.channel == "phone" and not typed.escalated


def test_intake_is_checked_on_open(h: Harness) -> None:
    with pytest.raises(DataMissing) as err:
        h.open("service_request", channel="phone")
    assert err.value.missing == ("customer_ref", "description")
    with pytest.raises(GuardFailed) as bad:
        h.open("service_request", **{**INTAKE, "channel": "pigeon"})
    assert bad.value.guard == "channel_known"
    assert h.engine.store.count(process="service_request") == 0


def test_register_refused_without_intake_c1(h: Harness) -> None:
    # The engine refuses an opening without intake; C1 is the second line of defence for a
    # case opened under a definition derived without intake (an integrator's variant).
    with pytest.raises(DataMissing):
        h.engine.open("service_request", actor=Actor("a", "agent"), data={})
    variant = definition().derive(version=1).set_intake(()).own_fields(False).build()
    h.engine = Engine(MemoryStore(), h.clock, [variant])
    case = h.engine.open("service_request", actor=Actor("a", "agent"), data={})
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "register")
    assert err.value.guard == "intake_complete" and err.value.rule == "C1 (001 §2.1)"
    # Supplying the intake with the register command satisfies C1.
    case = h.fire(case, "register", **INTAKE)
    assert case.state == "registered"


def test_missing_data_names_fields_and_changes_nothing(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register")
    with pytest.raises(DataMissing) as err:
        h.fire(case, "confirm", owner=None, due=None)
    assert set(err.value.missing) == {"owner", "due"}
    assert h.engine.get(case.id) == case and len(h.history(case)) == 2


def test_unknown_priority_refused(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "confirm", priority="whenever")
    assert err.value.guard == "priority_known"
    assert "緊急/urgent" in str(err.value)
    for spelling, expected in (("紧急", "urgent"), ("Important", "important"), ("普通", "normal")):
        fresh = h.run(h.open("service_request", **INTAKE), "register")
        done = h.fire(fresh, "confirm", priority=spelling)
        assert done.data_as(ServiceRequestData).priority == expected


def test_due_must_be_an_aware_instant(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "confirm", due="2026-03-03 10:00")  # naive
    assert err.value.guard == "due_is_instant"


def test_request_and_supply_info_stay_registered(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register", "request_info", "supply_info")
    assert case.state == "registered"
    assert h.trail(case)[-2:] == [("request_info", "registered", "registered"),
                                  ("supply_info", "registered", "registered")]


def test_start_needs_agreed_plan_c3(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register", "confirm", "propose_plan")
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "start")
    case = h.run(case, "agree_plan", "revise_plan")
    assert case.state == "planned"
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "start")
    case = h.run(case, "revise_plan", "agree_plan", "start")
    assert h.triggers(case)[-4:] == ["revise_plan", "revise_plan", "agree_plan", "start"]


def test_plan_agreed_guard_can_fail() -> None:
    d = definition()
    h = Harness()
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED)
    ok = CommandContext(case, d, "start", Actor("a", "agent"), {}, h.clock.now())
    assert d.guards["plan_agreed"](ok)
    stripped = type(case)(case.id, case.process, 1, "plan_agreed", case.version, case.opened_at,
                          case.updated_at, {k: v for k, v in case.data.items()
                                            if k != "confirmed_by"})
    bad = CommandContext(stripped, d, "start", Actor("a", "agent"), {}, h.clock.now())
    assert not d.guards["plan_agreed"](bad)
    assert d.guards["plan_agreed"].rule == "C3 (000 §2.4)"


def test_delivery_recorded_guard_c4() -> None:
    d = definition()
    h = Harness()
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "deliver")
    g = d.guards["delivery_recorded"]
    assert g(CommandContext(case, d, "accept", Actor("a", "agent"), {}, h.clock.now()))
    bare = type(case)(case.id, case.process, 1, "delivered", case.version, case.opened_at,
                      case.updated_at, {"channel": "phone"})
    assert not g(CommandContext(bare, d, "accept", Actor("a", "agent"), {}, h.clock.now()))
    assert g.rule == "C4 (001 §3.3)"


def test_accept_needs_signer_and_satisfaction_c5(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "deliver")
    with pytest.raises(DataMissing) as err:
        h.fire(case, "accept", satisfaction=None, signer=None)
    assert set(err.value.missing) == {"signer", "satisfaction"}
    with pytest.raises(GuardFailed) as bad:
        h.fire(case, "accept", satisfaction="meh")
    assert (bad.value.guard, bad.value.rule) == ("satisfaction_known",
                                                 "C5 (000 §3.4, 001 §3.3)")
    assert h.fire(case, "accept", satisfaction=4).data_as(ServiceRequestData).satisfaction \
        == "satisfied"


def test_rework_after_failed_acceptance(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "deliver")
    case = h.fire(case, "rework", reason="acceptance failed: colour wrong")
    assert case.state == "in_progress"
    case = h.run(case, "deliver", "accept")
    assert h.triggers(case)[-4:] == ["deliver", "rework", "deliver", "accept"]
    assert h.history(case)[-3].data["reason"] == "acceptance failed: colour wrong"


def test_wait_customer_and_resume_and_escalate(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "wait_customer")
    assert case.state == "waiting_customer"
    case = h.fire(case, "escalate", alert_kind="資源不足", reason="no technician free")
    assert case.state == "waiting_customer" and case.data_as(ServiceRequestData).escalated
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "escalate", alert_kind="boredom")
    assert (err.value.guard, err.value.rule) == ("alert_kind_known", "vocabulary (002 §3.3)")
    case = h.run(case, "resume")
    assert h.trail(case)[-3:] == [
        ("wait_customer", "in_progress", "waiting_customer"),
        ("escalate", "waiting_customer", "waiting_customer"),
        ("resume", "waiting_customer", "in_progress"),
    ]


def test_second_follow_up_stays(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "deliver", "accept",
                 "follow_up", "follow_up")
    assert case.state == "followed_up"
    assert h.trail(case)[-1] == ("follow_up", "followed_up", "followed_up")


def test_archive_retention_at_least_three_years(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), *TO_AGREED, "start", "deliver", "accept",
                 "follow_up")
    short = h.clock.now().add(years=2).date().isoformat()
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "archive", retain_until=short)
    assert (err.value.guard, err.value.rule) == ("retention_at_least_3_years",
                                                 "Retention (001 §4.4)")
    exact = h.clock.now().add(years=3).date().isoformat()
    assert h.fire(case, "archive", retain_until=exact).state == "archived"


@pytest.mark.parametrize("steps", [(), ("register",), TO_AGREED, (*TO_AGREED, "start")])
def test_cancel_from_any_open_state_needs_reason(h: Harness, steps: tuple[str, ...]) -> None:
    case = h.run(h.open("service_request", **INTAKE), *steps)
    with pytest.raises(DataMissing):
        h.fire(case, "cancel", reason=None)
    case = h.fire(case, "cancel", reason="customer withdrew")
    assert case.state == "cancelled"
    with pytest.raises(TriggerNotAllowed) as err:
        h.fire(case, "register")
    assert "final state" in str(err.value)


def test_reject_needs_reason_and_notification(h: Harness) -> None:
    case = h.run(h.open("service_request", **INTAKE), "register")
    with pytest.raises(DataMissing) as err:
        h.fire(case, "reject", customer_notification=None)
    assert err.value.missing == ("customer_notification",)
    case = h.fire(case, "reject", reason="outside our service area")
    assert h.trail(case)[-1] == ("reject", "registered", "rejected")
    confirmed = h.run(h.open("service_request", **INTAKE), "register", "confirm")
    with pytest.raises(TriggerNotAllowed):
        h.fire(confirmed, "reject")
