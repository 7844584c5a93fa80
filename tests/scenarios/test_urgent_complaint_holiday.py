"""Story (001 §7.2, §7.4; 000 §5.1–5.2; 004 §6) with the default clocks on the China office
calendar: an urgent complaint received on the Friday afternoon before the Qingming holiday,
escalated by the sweep when its 2-working-day clock breaches, reopened once because the
customer was not satisfied, then closed, followed up within 30 days and archived.

Calendar (the ``holidays`` package, CN 2026): Sat 04-04 weekend, Sun 04-05 清明節 and Mon 04-06
its day off; office hours Mon–Fri 09:00–12:00 and 13:00–18:00 (Asia/Shanghai). The receipt day
does not count, so 緊急 2 WD from Fri 04-03 ends Wed 04-08 18:00 (Tue 04-07 = day 1).
"""

from __future__ import annotations

import pendulum
import pytest

from servicewf import SYSTEM, Actor, GuardFailed
from servicewf.processes import open_case
from servicewf.processes.complaint import current_tier
from servicewf.sla import BREACHED, MET, Sweeper
from tests.processes.support import Harness

TZ = "Asia/Shanghai"


def sh(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=TZ)


def test_urgent_complaint_before_qingming_breaches_escalates_reopens_and_is_archived() -> None:
    h = Harness(sh(2026, 4, 3, 16, 30), with_sla=True)
    e, sla = h.engine, h.sla
    assert sla is not None
    night_shift = Sweeper(e, sla, owner="night-shift")

    def sweep(at):  # type: ignore[no-untyped-def]
        h.clock.set(at)  # the worker sweeps at its clock's now; events carry that instant
        return night_shift.run()
    wang, zhao = Actor("wang", "agent"), Actor("zhao", "supervisor")
    liu, chen = Actor("liu", "manager"), Actor("chen", "executive")
    states: list[str] = []

    def fire(case, trigger, actor, at, **data):  # type: ignore[no-untyped-def]
        h.clock.set(at)
        case = e.fire(case, trigger, actor=actor, data=data)
        states.append(case.state)
        return case

    def clock_of(case, name):  # type: ignore[no-untyped-def]
        return sla.view(e, case, name, h.clock.now())

    case = open_case(e, "complaint", actor=wang, data={
        "channel": "熱線", "customer_ref": "VIP-12",
        "content": "視頻會議系統在董事會期間中斷兩次"})
    assert clock_of(case, "record").deadline == sh(2026, 4, 4, 16, 30)  # 24 h, clock hours
    assert clock_of(case, "resolve").deadline is None  # no level yet: no goal
    case = fire(case, "record", wang, sh(2026, 4, 3, 16, 50), tracker="wang",
                first_receiver="wang")
    case = fire(case, "classify", wang, sh(2026, 4, 3, 17, 0), complaint_type="設施",
                level="緊急", scope="外部")
    # Measured from the receipt, across the holiday: Tue 04-07 (1), Wed 04-08 (2).
    assert clock_of(case, "resolve").deadline == sh(2026, 4, 8, 18, 0)
    assert current_tier(case) == "manager"
    case = fire(case, "confirm_classification", zhao, sh(2026, 4, 3, 17, 20), supervisor="zhao")
    case = fire(case, "acknowledge", wang, sh(2026, 4, 3, 17, 30),
                measures="vendor engineer on site Tuesday 09:00",
                expected_completion=sh(2026, 4, 8, 12, 0).isoformat())
    assert (clock_of(case, "record").outcome, clock_of(case, "acknowledge").outcome) == (MET, MET)

    # Nothing falls due over the holiday weekend.
    assert sweep(sh(2026, 4, 6, 23, 0)).timers == 0
    case = fire(case, "investigate", liu, sh(2026, 4, 7, 10, 0), handler="liu")
    # Warning at 75 % of the office time from receipt to deadline: Fri 16:30–18:00 (1.5 h)
    # + Tue 8 h + Wed 8 h = 17.5 h; the last 25 % (4 h 22.5 min) starts Wed 13:37:30.
    assert clock_of(case, "resolve").warning_at == sh(2026, 4, 8, 13, 37, 30)
    assert sweep(sh(2026, 4, 8, 13, 37, 29)).warnings == 0
    report = sweep(sh(2026, 4, 8, 13, 37, 30))
    assert (report.warnings, report.breaches) == (1, 0)
    # The deadline passes: the sweep records the breach and escalates above the manager.
    report = sweep(sh(2026, 4, 8, 18, 5))
    assert (report.warnings, report.breaches, report.escalations) == (0, 1, 1)
    case = e.get(case.id)
    assert case.state == "investigating" and current_tier(case) == "executive"
    h.clock.set(sh(2026, 4, 9, 11, 0))
    # the manager tier may no longer resolve it (C9)
    with pytest.raises(GuardFailed) as refused:
        e.fire(case, "resolve", actor=liu, data={"remedy": "維修更換", "result": "codec"})
    assert refused.value.rule == "C9 (000 §5.1, 001 §7.2)"
    case = fire(case, "resolve", chen, sh(2026, 4, 9, 11, 0), remedy="維修更換",
                result="codec replaced, spare unit installed")
    resolve = clock_of(case, "resolve")
    assert (resolve.status, resolve.outcome, resolve.breached) == ("stopped", BREACHED, True)
    case = fire(case, "give_feedback", wang, sh(2026, 4, 9, 14, 0),
                feedback="codec replaced; spare unit on site", feedback_channel="phone")
    case = fire(case, "record_satisfaction", wang, sh(2026, 4, 9, 14, 10),
                satisfaction="不滿意")
    # closing while the customer is dissatisfied is refused (C11)
    with pytest.raises(GuardFailed) as refused:
        e.fire(case, "close", actor=wang, data={"satisfaction": "不滿意"})
    assert refused.value.rule == "C11 (004 §6)"
    case = fire(case, "reopen", wang, sh(2026, 4, 9, 14, 30),
                reason="customer wants a root-cause report")
    # The clock continues (004 §6): the 2.5 office hours it stood still (11:00–12:00,
    # 13:00–14:30) move the deadline from Wed 18:00 to Thu 04-09 11:30; it stays breached.
    resolve = clock_of(case, "resolve")
    assert (resolve.status, resolve.deadline, resolve.breached) == (
        "running", sh(2026, 4, 9, 11, 30), True)
    assert sweep(sh(2026, 4, 9, 18, 0)).breaches == 0  # sticky: never recorded twice
    case = fire(case, "resolve", chen, sh(2026, 4, 10, 10, 0), remedy="流程改進",
                result="root-cause report delivered; monitoring added")
    case = fire(case, "give_feedback", wang, sh(2026, 4, 10, 11, 0),
                feedback="report sent by email", feedback_channel="email", satisfaction="滿意")
    case = fire(case, "close", wang, sh(2026, 4, 10, 15, 0), satisfaction="滿意")
    assert clock_of(case, "follow_up").deadline == sh(2026, 5, 10, 15, 0)  # 30 days
    case = fire(case, "follow_up", wang, sh(2026, 4, 28, 10, 0),
                follow_up_result="no recurrence; customer satisfied")
    assert clock_of(case, "follow_up").outcome == MET
    case = fire(case, "archive", wang, sh(2026, 4, 28, 11, 0), archive_key="CMP-2026-0412",
                retain_until="2029-05-01")

    assert states == [
        "recorded", "classified", "confirmed", "acknowledged", "investigating", "resolved",
        "feedback_given", "feedback_given", "investigating", "resolved", "feedback_given",
        "closed", "followed_up", "archived"]
    history = e.history(case.id)
    assert [(ev.kind.value, ev.trigger or ev.data.get("clock"), ev.actor_id)
            for ev in history] == [
        ("opened", None, "wang"),
        ("transition", "record", "wang"),
        ("transition", "classify", "wang"),
        ("transition", "confirm_classification", "zhao"),
        ("transition", "acknowledge", "wang"),
        ("transition", "investigate", "liu"),
        ("clock_warning", "resolve", SYSTEM.id),
        ("clock_breached", "resolve", SYSTEM.id),
        ("transition", "escalate", SYSTEM.id),
        ("transition", "resolve", "chen"),
        ("transition", "give_feedback", "wang"),
        ("transition", "record_satisfaction", "wang"),
        ("transition", "reopen", "wang"),
        ("transition", "resolve", "chen"),
        ("transition", "give_feedback", "wang"),
        ("transition", "close", "wang"),
        ("transition", "follow_up", "wang"),
        ("transition", "archive", "wang"),
    ]
    escalation = history[8]
    assert escalation.data == {"tier": "executive", "reason": "resolve breached"}
    assert escalation.at == sh(2026, 4, 8, 18, 5)
    assert history[7].data["deadline"] == sh(2026, 4, 8, 18, 0).in_tz("UTC").isoformat()
    assert not e.store.timers(case.id)  # archived: nothing left to fall due
    assert sla.recompute(e, case) == sla.states(case)
    assert case.version == len(history)
