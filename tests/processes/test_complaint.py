"""P2 complaint: happy path, every branch and refusal, with the audit log asserted."""

from __future__ import annotations

import pytest

from servicewf import (
    Actor,
    CommandContext,
    DataMissing,
    GuardFailed,
    RoleNotPermitted,
    TriggerNotAllowed,
)
from servicewf.processes.complaint import ComplaintData, current_tier, definition, next_tier
from tests.processes.support import Harness

INTAKE = {"channel": "網上", "customer_ref": "C-2", "content": "rude technician"}


@pytest.fixture
def h() -> Harness:
    return Harness()


def to_acknowledged(h: Harness, level: str = "一般"):  # type: ignore[no-untyped-def]
    case = h.open("complaint", **INTAKE)
    return h.run(case, "record", ("classify", "agent", {"level": level}),
                 ("confirm_classification", "supervisor"), "acknowledge")


def test_happy_path(h: Harness) -> None:
    case = to_acknowledged(h)
    case = h.run(case, "investigate", "resolve", "give_feedback",
                 ("close", "agent", {"satisfaction": "非常滿意"}), "follow_up", "archive")
    assert case.state == "archived"
    assert [t for t, _, _ in h.trail(case)] == [
        None, "record", "classify", "confirm_classification", "acknowledge", "investigate",
        "resolve", "give_feedback", "close", "follow_up", "archive"]
    events = h.history(case)
    assert events[3].role == "supervisor"
    typed = case.data_as(ComplaintData)
    assert typed.level == "general" and typed.complaint_type == "service_attitude"
    assert typed.satisfaction == "very_satisfied" and typed.remedy == "apology_compensation"
    assert typed.responsible == "first_receiver-value"


def test_invalid_complaint_from_received_or_recorded(h: Harness) -> None:
    for steps in ((), ("record",)):
        case = h.run(h.open("complaint", **INTAKE), *steps)
        with pytest.raises(DataMissing) as err:
            h.fire(case, "reject_invalid", redirect=None)
        assert err.value.missing == ("redirect",)
        case = h.fire(case, "reject_invalid", explanation="not our product",
                      redirect="manufacturer hotline")
        assert case.state == "invalid"
        with pytest.raises(TriggerNotAllowed):
            h.fire(case, "record")


def test_classify_needs_known_values(h: Harness) -> None:
    case = h.run(h.open("complaint", **INTAKE), "record")
    for field, bad in (("level", "apocalyptic"), ("scope", "galactic"),
                       ("complaint_type", "vibes")):
        with pytest.raises(GuardFailed) as err:
            h.fire(case, "classify", **{field: bad})
        assert err.value.guard == f"{field}_known"
    case = h.fire(case, "classify", level="important")
    case = h.fire(case, "classify", level="紧急")  # re-classification before confirmation
    assert case.data_as(ComplaintData).level == "urgent"


def test_tracker_guard_c10() -> None:
    d = definition()
    h = Harness()
    case = h.engine.open("complaint", actor=Actor("a", "agent"), data=INTAKE)
    g = d.guards["has_tracker"]
    assert not g(CommandContext(case, d, "classify", Actor("a", "agent"), {}, h.clock.now()))
    case = h.fire(case, "record")
    assert g(CommandContext(case, d, "classify", Actor("a", "agent"), {}, h.clock.now()))
    assert g.rule == "C10 (001 §7.1–7.2)"


def test_supervisor_confirmation_c6(h: Harness) -> None:
    case = h.run(h.open("complaint", **INTAKE), "record", "classify")
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "acknowledge")
    with pytest.raises(RoleNotPermitted) as err:
        h.fire(case, "confirm_classification", "agent")
    assert set(err.value.allowed) == {"supervisor", "manager", "executive"}
    case = h.fire(case, "confirm_classification", "manager", supervisor="boss")
    assert case.state == "confirmed"
    d = definition()
    g = d.guards["classification_confirmed"]
    assert g.rule == "C6 (000 §5.2)"
    assert g(CommandContext(case, d, "acknowledge", Actor("a", "agent"), {}, h.clock.now()))
    early = type(case)(case.id, "complaint", 1, "classified", 3, case.opened_at, case.updated_at,
                       case.data)
    assert not g(CommandContext(early, d, "acknowledge", Actor("a", "agent"), {},
                                h.clock.now()))


def test_acknowledge_needs_expected_time_c7(h: Harness) -> None:
    case = h.run(h.open("complaint", **INTAKE), "record", "classify",
                 ("confirm_classification", "supervisor"))
    with pytest.raises(DataMissing):
        h.fire(case, "acknowledge", expected_completion=None)
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "acknowledge", expected_completion="soon")
    assert (err.value.guard, err.value.rule) == ("expected_completion_is_instant",
                                                 "C7 (000 §5.2)")
    d = definition()
    bare = type(case)(case.id, "complaint", 1, "investigating", 9, case.opened_at,
                      case.updated_at, {"level": "一般"})
    assert not d.guards["acknowledged_with_time"](
        CommandContext(bare, d, "resolve", Actor("a", "agent"), {}, h.clock.now()))


@pytest.mark.parametrize(("level", "tier"), [("一般", "agent"), ("重要", "supervisor"),
                                             ("緊急", "manager")])
def test_handler_role_matches_level_c9(h: Harness, level: str, tier: str) -> None:
    case = to_acknowledged(h, level)
    assert current_tier(case) == tier
    for role in {"agent", "supervisor", "manager"} - {tier}:
        with pytest.raises(GuardFailed) as err:
            h.fire(case, "investigate", role)
        assert err.value.guard == "handler_matches_level"
        assert err.value.rule == "C9 (000 §5.1, 001 §7.2)"
    case = h.fire(case, "investigate", tier)
    assert h.history(case)[-1].role == tier


def test_escalate_records_new_tier_one_step_up(h: Harness) -> None:
    case = to_acknowledged(h, "一般")
    assert next_tier(case) == "supervisor"
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "escalate", tier="manager")  # skipping a tier
    assert err.value.guard == "one_tier_up"
    case = h.fire(case, "escalate", tier="supervisor", reason="customer threatens media")
    assert case.state == "acknowledged" and current_tier(case) == "supervisor"
    assert h.trail(case)[-1] == ("escalate", "acknowledged", "acknowledged")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "investigate", "agent")  # the agent tier is no longer enough
    assert (err.value.guard, err.value.rule) == ("handler_matches_level", "C9 (000 §5.1, 001 §7.2)")
    case = h.fire(case, "investigate", "supervisor")
    case = h.fire(case, "escalate", tier="manager")
    assert next_tier(case) == "executive"  # top management coordinates (000 §5.1)
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "resolve", "supervisor")
    assert (err.value.guard, err.value.rule) == ("handler_matches_level", "C9 (000 §5.1, 001 §7.2)")
    case = h.fire(case, "escalate", tier="executive")
    assert next_tier(case) is None
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "escalate", tier="ceo")
    assert (err.value.guard, err.value.rule) == ("one_tier_up",
                                                 "escalation (000 §5.1, 001 §7.2)")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "resolve", "manager")
    assert (err.value.guard, err.value.rule) == ("handler_matches_level", "C9 (000 §5.1, 001 §7.2)")
    assert h.fire(case, "resolve", "executive").state == "resolved"


def test_extend_needs_reason_notice_and_future_deadline_c14(h: Harness) -> None:
    case = to_acknowledged(h)
    with pytest.raises(DataMissing) as err:
        h.fire(case, "extend", customer_notification=None)
    assert err.value.missing == ("customer_notification",)
    with pytest.raises(GuardFailed) as bad:
        h.fire(case, "extend", customer_notification="   ")
    assert (bad.value.guard, bad.value.rule) == ("extension_noticed", "C14 (003 §4.3.1)")
    with pytest.raises(GuardFailed) as past:
        h.fire(case, "extend", new_deadline=h.clock.now().subtract(days=1).isoformat())
    assert (past.value.guard, past.value.rule) == ("new_deadline_in_future", "C14 (003 §4.3.1)")
    case = h.fire(case, "extend", reason="parts from abroad",
                  customer_notification="SMS sent 10:02")
    assert h.trail(case)[-1] == ("extend", "acknowledged", "acknowledged")


def test_reopen_until_satisfied_and_close_refused_while_dissatisfied_c11(h: Harness) -> None:
    case = h.run(to_acknowledged(h), "investigate", "resolve", "give_feedback")
    case = h.fire(case, "record_satisfaction", satisfaction="不滿意")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "close", satisfaction="不满意")
    assert (err.value.guard, err.value.rule) == ("customer_not_dissatisfied", "C11 (004 §6)")
    assert "reopen" in str(err.value)
    with pytest.raises(GuardFailed) as score:
        h.fire(case, "close", satisfaction=1)  # 1 of 5: dissatisfied
    assert (score.value.guard, score.value.rule) == ("customer_not_dissatisfied", "C11 (004 §6)")
    case = h.fire(case, "reopen", reason="still rude on the phone")
    assert case.state == "investigating"
    case = h.run(case, "resolve", "give_feedback", ("close", "agent", {"satisfaction": "滿意"}))
    assert [t for t, _, _ in h.trail(case)][-6:] == [
        "give_feedback", "record_satisfaction", "reopen", "resolve", "give_feedback", "close"]
    assert case.state == "closed"


def test_close_needs_satisfaction_c8(h: Harness) -> None:
    case = h.run(to_acknowledged(h), "investigate", "resolve", "give_feedback")
    with pytest.raises(DataMissing) as err:
        h.fire(case, "close", satisfaction=None)
    assert err.value.missing == ("satisfaction",)
    with pytest.raises(GuardFailed) as bad:
        h.fire(case, "close", satisfaction="ecstatic")
    assert (bad.value.guard, bad.value.rule) == ("satisfaction_known", "C8 (001 §7.3)")


def test_hand_over_keeps_state_and_changes_owner(h: Harness) -> None:
    case = h.run(h.open("complaint", **INTAKE), "record")
    case = h.fire(case, "hand_over", owner="li", reason="shift change")
    assert case.state == "recorded" and case.data_as(ComplaintData).responsible == "li"


def test_follow_up_twice_then_archive(h: Harness) -> None:
    case = h.run(to_acknowledged(h), "investigate", "resolve", "give_feedback", "close",
                 "follow_up", "follow_up")
    assert h.trail(case)[-1] == ("follow_up", "followed_up", "followed_up")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "archive", retain_until="2027-01-01")
    assert (err.value.guard, err.value.rule) == ("retention_at_least_3_years",
                                                 "Retention (001 §4.4)")
    assert h.fire(case, "archive").state == "archived"
