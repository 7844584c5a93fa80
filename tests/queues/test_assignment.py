"""Assignment through audited engine commands, with the guidelines' rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Actor
from servicewf.errors import CommandRefused, DataMissing, GuardFailed, RoleNotPermitted
from servicewf.events import EventKind
from servicewf.queues import ASSIGNMENT_TRIGGERS, current_owner, queue_state
from servicewf.storage import MemoryStore
from tests.queues.support import open_complaint, stack_on

ANA, BO = Actor("ana", "agent"), Actor("bo", "agent")
LEAD = Actor("zhao", "supervisor")
BOSS = Actor("qian", "manager")


def refused_by(exc: pytest.ExceptionInfo[CommandRefused], rule: str) -> bool:
    return isinstance(exc.value, GuardFailed) and rule in (exc.value.rule or "")


def test_first_receiver_owns_until_formal_hand_over() -> None:
    s, _ = stack_on(MemoryStore())
    case = open_complaint(s, level="一般", vip=False, owner="ana")
    assert current_owner(case) == "ana" and queue_state(case).owner_role == "agent"
    # Nobody can simply assign or claim an owned complaint (首問負責制).
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "assign_owner", actor=LEAD, data={"owner": "bo",
                                                              "owner_role": "agent"})
    assert exc.value.guard == "queue_unowned"
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "claim", actor=BO, data={"owner": "bo"})
    assert exc.value.guard == "queue_unowned"
    # Release is refused for complaints: hand it over to a named person instead.
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "release", actor=ANA, data={"reason": "busy"})
    assert exc.value.guard == "queue_release_allowed"
    # A hand-over needs a reason ...
    with pytest.raises(DataMissing) as missing:
        s.engine.fire(case, "hand_over", actor=ANA, data={"owner": "bo",
                                                          "owner_role": "agent"})
    assert tuple(missing.value.missing) == ("reason",)
    # ... and is made by the owner or a lead, to someone else.
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "hand_over", actor=BO, data={"owner": "bo", "owner_role": "agent",
                                                         "reason": "mine now"})
    assert exc.value.guard == "queue_by_owner_or_lead"
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "hand_over", actor=ANA, data={"owner": "ana",
                                                          "owner_role": "agent", "reason": "x"})
    assert exc.value.guard == "queue_new_owner"
    case = s.engine.fire(case, "hand_over", actor=ANA, data={
        "owner": "bo", "owner_role": "agent", "reason": "leave"})
    assert current_owner(case) == "bo"
    assert case.data["owner"] == "bo"
    last = s.engine.history(case.id)[-1]
    assert (last.kind, last.trigger, last.actor_id, last.data["reason"]) == (
        EventKind.TRANSITION, "hand_over", "ana", "leave")


def test_handler_role_must_match_the_level() -> None:
    s, _ = stack_on(MemoryStore())
    case = open_complaint(s, level="重要", vip=False, owner="ana")
    assert queue_state(case).tier == "supervisor" and queue_state(case).needs_owner
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "hand_over", actor=ANA, data={
            "owner": "bo", "owner_role": "agent", "reason": "r"})
    assert exc.value.guard == "queue_role_matches_tier" and "C9" in (exc.value.rule or "")
    case = s.engine.fire(case, "hand_over", actor=ANA, data={
        "owner": "zhao", "owner_role": "supervisor", "reason": "important"})
    assert not queue_state(case).needs_owner
    assert s.queues.inbox(role="supervisor", unassigned=True).items == ()


def test_claim_names_yourself_with_your_role() -> None:
    s, _ = stack_on(MemoryStore())
    case = open_complaint(s, level=None, vip=False, owner=None)
    assert current_owner(case) is None
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "claim", actor=ANA, data={"owner": "bo"})
    assert exc.value.guard == "queue_claims_self"
    with pytest.raises(GuardFailed) as exc:
        s.engine.fire(case, "claim", actor=ANA, data={"owner": "ana", "owner_role": "manager"})
    assert exc.value.guard == "queue_claims_self"
    case = s.engine.fire(case, "claim", actor=ANA, data={"owner": "ana"})
    assert (current_owner(case), queue_state(case).owner_role) == ("ana", "agent")


def test_assign_is_for_leads_and_routing() -> None:
    s, _ = stack_on(MemoryStore())
    case = open_complaint(s, level=None, vip=False, owner=None)
    with pytest.raises(RoleNotPermitted):
        s.engine.fire(case, "assign_owner", actor=ANA, data={"owner": "bo"})
    case = s.engine.fire(case, "assign_owner", actor=LEAD, data={"owner": "bo",
                                                                 "owner_role": "agent"})
    assert current_owner(case) == "bo"
    assert s.queues.inbox(actor="bo").items[0].case.id == case.id


def test_release_puts_a_service_request_back_in_its_queue() -> None:
    s, _ = stack_on(MemoryStore())
    case = s.engine.open("service_request", actor=ANA, data={
        "channel": "電話", "customer_ref": "C-9", "description": "printer"})
    case = s.engine.fire(case, "claim", actor=ANA, data={"owner": "ana"})
    with pytest.raises(DataMissing):
        s.engine.fire(case, "release", actor=ANA)
    case = s.engine.fire(case, "release", actor=ANA, data={"reason": "off shift"})
    assert current_owner(case) is None
    assert s.queues.inbox(actor="ana").items == ()


def test_no_work_starts_without_a_confirmed_owner() -> None:
    """C2: the complaint's investigate (work start) needs an owner; one released or never
    named is refused with the C2 rule."""
    from servicewf.queues import QueueProcessor, with_assignment_registry
    from servicewf.queues.policy import QueuePolicy

    policy = QueuePolicy(work_start={"consultation": ("answer",)})
    from servicewf import Engine, FrozenClock
    from servicewf.processes import builtin_registry
    from tests.queues.support import START

    engine = Engine(MemoryStore(), FrozenClock(START),
                    with_assignment_registry(builtin_registry(), policy),
                    processors=[QueueProcessor(policy)])
    case = engine.open("consultation", actor=ANA, data={
        "channel": "電話", "customer_ref": "C-1", "question": "hours?"})
    triggers = {o.trigger for o in engine.available(case, ANA)}
    assert "answer" in triggers
    with pytest.raises(GuardFailed) as exc:
        engine.fire(case, "answer", actor=ANA, data={"answer": "9-18"})
    assert exc.value.guard == "queue_owner_confirmed" and "C2" in (exc.value.rule or "")
    case = engine.fire(case, "claim", actor=ANA, data={"owner": "ana"})
    case = engine.fire(case, "answer", actor=ANA, data={"answer": "9-18"})
    assert case.state == "answered"


# --- every change of owner is an audited event -----------------------------------------------

people = [ANA, BO, LEAD, BOSS, Actor("cai", "agent")]
commands = st.lists(st.tuples(st.sampled_from(ASSIGNMENT_TRIGGERS), st.sampled_from(people),
                              st.sampled_from(people), st.booleans(), st.booleans()),
                    max_size=12)


@settings(max_examples=40, deadline=None)
@given(commands=commands, process=st.sampled_from(["complaint", "service_request"]))
def test_every_owner_change_is_an_audited_event(commands: list[Any], process: str) -> None:
    """Random assignment commands: the owner changes exactly when an assignment event is
    appended, the event names who did it, and the owner follows a model written here."""
    s, _ = stack_on(MemoryStore())
    model: str | None = None
    if process == "complaint":
        # Recorded by its first receiver: hand_over is offered from `recorded` on.
        case = open_complaint(s, level=None, vip=False, owner="cai")
        model = "cai"
    else:
        case = s.engine.open("service_request", actor=ANA, data={
            "channel": "電話", "customer_ref": "C-9", "description": "printer"})
    for trigger, actor, target, with_reason, with_role in commands:
        data: dict[str, Any] = {"owner": target.id}
        if with_role:
            data["owner_role"] = target.role
        if with_reason:
            data["reason"] = "because"
        if trigger == "claim":
            data = {"owner": actor.id}
        if trigger == "release":
            data = {"reason": "because"} if with_reason else {}
        before = len(s.engine.history(case.id))
        # The model of the rules, independent of the guards' code.
        lead = actor.role in ("supervisor", "manager")
        if trigger == "assign_owner":
            ok = lead and model is None
        elif trigger == "claim":
            ok = model is None
        elif trigger == "hand_over":
            ok = (model is not None and with_reason and (actor.id == model or lead)
                  and target.id != model)
        else:
            ok = (process != "complaint" and model is not None and with_reason
                  and (actor.id == model or lead))
        try:
            case = s.engine.fire(case, trigger, actor=actor, data=data)
        except CommandRefused:
            assert not ok, (trigger, actor, data, model)
            assert len(s.engine.history(case.id)) == before
            continue
        assert ok, (trigger, actor, data, model)
        model = None if trigger == "release" else data["owner"]
        events = s.engine.history(case.id)
        assert len(events) == before + 1
        assert (events[-1].trigger, events[-1].actor_id) == (trigger, actor.id)
        assert current_owner(case) == model
    owners = [e for e in s.engine.history(case.id) if e.trigger in ASSIGNMENT_TRIGGERS]
    assert all(e.kind is EventKind.TRANSITION for e in owners)


def test_the_after_sales_dispatch_names_the_owner() -> None:
    s, _ = stack_on(MemoryStore())
    desk = Actor("desk", "agent")
    case = s.engine.open("after_sales", actor=desk, data={
        "channel": "電話", "customer_ref": "C-1", "description": "no power"})
    case = s.engine.fire(case, "classify", actor=desk, data={"problem_type": "hardware"})
    case = s.engine.fire(case, "prioritise", actor=desk, data={"priority": "緊急"})
    assert current_owner(case) is None
    case = s.engine.fire(case, "assign", actor=desk, data={"technician": "wu"})
    assert current_owner(case) == "wu"
    assert [i.id for i in s.queues.inbox(actor="wu")] == [case.id]
    assert queue_state(case).rank == 1  # urgent, not VIP
