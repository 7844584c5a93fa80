"""Story (000 ch.5, 001 ch.7, 004 §6): a complaint received on a Friday afternoon, escalated,
reopened once because the customer was not satisfied, then closed, followed up and archived."""

from __future__ import annotations

import pendulum
import pytest

from servicewf import Actor, GuardFailed
from servicewf.processes.complaint import ComplaintData, current_tier
from tests.processes.support import Harness

TZ = "Asia/Shanghai"
FRIDAY = pendulum.datetime(2026, 3, 6, 16, 30, tz=TZ)  # a Friday


def test_friday_complaint_escalated_reopened_closed_archived() -> None:
    h = Harness(FRIDAY)
    e = h.engine
    wang, zhao, liu = Actor("wang", "agent"), Actor("zhao", "supervisor"), Actor("liu", "manager")
    steps: list[tuple[str, str, pendulum.DateTime]] = []

    def fire(case, trigger, actor, **data):  # type: ignore[no-untyped-def]
        case = e.fire(case, trigger, actor=actor, data=data)
        steps.append((trigger, case.state, h.clock.now()))
        return case

    from servicewf.processes import open_case

    case = open_case(e, "complaint", actor=wang, data={
        "channel": "熱線", "customer_ref": "VIP-88",
        "content": "會議室空調壞了一整天,下午的客戶會議被迫取消,要求賠償"})
    h.clock.advance(minutes=20)
    case = fire(case, "record", wang, tracker="wang", first_receiver="wang")
    case = fire(case, "classify", wang, complaint_type="設施", level="重要", scope="外部")
    h.clock.advance(minutes=40)
    case = fire(case, "confirm_classification", zhao, supervisor="zhao")
    case = fire(case, "acknowledge", wang, measures="engineer on site Monday 9:00; credit note",
                expected_completion=pendulum.datetime(2026, 3, 10, 18, tz=TZ).isoformat())
    assert current_tier(case) == "supervisor"
    # Monday: the customer threatens to leave; the supervisor escalates to the manager.
    h.clock.set(pendulum.datetime(2026, 3, 9, 9, 15, tz=TZ))
    case = fire(case, "escalate", zhao, tier="manager", reason="VIP threatens to terminate")
    # a supervisor may not handle a manager-tier complaint
    with pytest.raises(GuardFailed) as refused:
        fire(case, "investigate", zhao, handler="zhao")
    assert refused.value.rule == "C9 (000 §5.1, 001 §7.2)"
    case = fire(case, "investigate", liu, handler="liu")
    h.clock.advance(hours=5)
    case = fire(case, "resolve", liu, remedy="維修更換", result="compressor replaced")
    case = fire(case, "give_feedback", wang, feedback="compressor replaced, credit note issued",
                feedback_channel="phone")
    case = fire(case, "record_satisfaction", wang, satisfaction="不滿意")
    # closing while dissatisfied must be refused
    with pytest.raises(GuardFailed) as refused:
        fire(case, "close", wang, satisfaction="不滿意")
    assert refused.value.rule == "C11 (004 §6)"
    case = fire(case, "reopen", wang, reason="no compensation for the cancelled meeting")
    h.clock.advance(hours=20)
    case = fire(case, "resolve", liu, remedy="道歉賠償", result="one month's room fee refunded")
    case = fire(case, "give_feedback", wang, feedback="refund confirmed in writing",
                feedback_channel="email", satisfaction="滿意")
    case = fire(case, "close", wang, satisfaction="滿意")
    h.clock.set(pendulum.datetime(2026, 3, 25, 10, tz=TZ))
    case = fire(case, "follow_up", wang, follow_up_result="customer renewed the contract")
    case = fire(case, "archive", wang, archive_key="CMP-2026-0088",
                retain_until="2029-12-31")

    assert [(t, s) for t, s, _ in steps] == [
        ("record", "recorded"), ("classify", "classified"),
        ("confirm_classification", "confirmed"), ("acknowledge", "acknowledged"),
        ("escalate", "acknowledged"), ("investigate", "investigating"),
        ("resolve", "resolved"), ("give_feedback", "feedback_given"),
        ("record_satisfaction", "feedback_given"), ("reopen", "investigating"),
        ("resolve", "resolved"), ("give_feedback", "feedback_given"), ("close", "closed"),
        ("follow_up", "followed_up"), ("archive", "archived")]
    events = e.history(case.id)
    assert [(ev.trigger, ev.source, ev.dest, ev.actor_id, ev.role) for ev in events] == [
        (None, None, "received", "wang", "agent"),
        ("record", "received", "recorded", "wang", "agent"),
        ("classify", "recorded", "classified", "wang", "agent"),
        ("confirm_classification", "classified", "confirmed", "zhao", "supervisor"),
        ("acknowledge", "confirmed", "acknowledged", "wang", "agent"),
        ("escalate", "acknowledged", "acknowledged", "zhao", "supervisor"),
        ("investigate", "acknowledged", "investigating", "liu", "manager"),
        ("resolve", "investigating", "resolved", "liu", "manager"),
        ("give_feedback", "resolved", "feedback_given", "wang", "agent"),
        ("record_satisfaction", "feedback_given", "feedback_given", "wang", "agent"),
        ("reopen", "feedback_given", "investigating", "wang", "agent"),
        ("resolve", "investigating", "resolved", "liu", "manager"),
        ("give_feedback", "resolved", "feedback_given", "wang", "agent"),
        ("close", "feedback_given", "closed", "wang", "agent"),
        ("follow_up", "closed", "followed_up", "wang", "agent"),
        ("archive", "followed_up", "archived", "wang", "agent"),
    ]
    assert [ev.at for ev in events] == [FRIDAY] + [at for _, _, at in steps]
    assert events[1].at == FRIDAY.add(minutes=20)
    assert events[5].at == pendulum.datetime(2026, 3, 9, 9, 15, tz=TZ)
    assert events[5].data == {"tier": "manager", "reason": "VIP threatens to terminate"}
    typed = case.data_as(ComplaintData)
    assert (typed.level, typed.tier, typed.remedy, typed.satisfaction) == (
        "important", "manager", "apology_compensation", "satisfied")
    # The follow-up fell within 30 days of closing (001 §7.4).
    assert (events[-2].at - events[-3].at).days < 30
