"""Stories with hand-computed deadlines on the China office calendar.

China office: Asia/Shanghai, Mon–Fri 09:00–12:00 and 13:00–18:00 (8 h a day), CN holidays and
调休 make-up workdays from the ``holidays`` package. Around National Day 2026 the package says:
  2026-09-20 Sun  make-up workday (调休)
  2026-09-25 Fri  Mid-Autumn Festival (holiday)
  2026-10-01 Thu … 10-03 Sat  National Day; 10-05 Mon, 10-06 Tue, 10-07 Wed days off
  2026-10-10 Sat  make-up workday (调休)
So the working days after Fri 09-25 are: Mon 09-28 (1), Tue 09-29 (2), Wed 09-30 (3),
Thu 10-08 (4), Fri 10-09 (5), Sat 10-10 (6, 调休).
"""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf import SYSTEM, Actor, EventKind
from servicewf.errors import ExtensionRefused
from servicewf.processes.presets import (
    complaint_business_centre,
    complaint_telecom,
)
from servicewf.sla import (
    BREACHED,
    MET,
    PAUSED,
    BusinessHours,
    ClockSpec,
    ExtensionConditionsUnmet,
    On,
    Policy,
    Sweeper,
    WorkingDays,
    recompute,
)

from .helpers import AGENT, CALENDARS, complaint_definition, make_engine, run_at, sh

SUPERVISOR = Actor("s1", "supervisor")


def _through_acknowledge(engine, clock, level):  # type: ignore[no-untyped-def]
    case = engine.open("complaint", actor=AGENT, data={"channel": "phone"})
    clock.set(sh(2026, 9, 25, 17, 0))
    case = engine.fire(case, "record", actor=AGENT)
    clock.set(sh(2026, 9, 25, 17, 10))
    case = engine.fire(case, "classify", actor=AGENT, data={"level": level})
    clock.set(sh(2026, 9, 25, 17, 20))
    case = engine.fire(case, "confirm_classification", actor=SUPERVISOR)
    case = engine.fire(case, "acknowledge", actor=AGENT)
    return case


@pytest.mark.parametrize(
    ("level", "deadline"),
    [
        # 緊急 2 WD: end of Tue 09-29 (receipt day, a holiday, does not count).
        ("緊急", sh(2026, 9, 29, 18, 0)),
        # 一般 3 WD: end of Wed 09-30.
        ("一般", sh(2026, 9, 30, 18, 0)),
        # 重要 5 WD: the National Day week is skipped: end of Fri 10-09.
        ("重要", sh(2026, 10, 9, 18, 0)),
        # English spelling maps to the same row.
        ("urgent", sh(2026, 9, 29, 18, 0)),
    ],
)
def test_business_centre_resolution_by_level_around_national_day(level, deadline) -> None:  # type: ignore[no-untyped-def]
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, level)
    view = sla.view(engine, case, "resolve", clock.now())
    assert view.deadline == deadline
    # record: 24 h clock hours from receipt, met at 17:00 the same day.
    record = sla.view(engine, case, "record", clock.now())
    assert record.outcome == MET
    assert record.deadline == sh(2026, 9, 26, 16, 30)


def test_urgent_complaint_warns_in_office_hours_then_breaches_and_goes_to_top_management(
) -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, "緊急")
    # Goal: 09-28 and 09-29 = 16 business hours; warn at 75 % = 4 h before the deadline:
    # Tue 09-29 18:00 minus 4 h of office time = 14:00.
    view = sla.view(engine, case, "resolve", clock.now())
    assert view.warning_at == sh(2026, 9, 29, 14, 0)
    sweeper = Sweeper(engine, sla, owner="w1")
    assert run_at(sweeper, sh(2026, 9, 29, 13, 59)).warnings == 0
    report = run_at(sweeper, sh(2026, 9, 29, 14, 0))
    assert (report.warnings, report.breaches) == (1, 0)
    # Never twice per cycle: the timer moved on to the breach, a later sweep adds nothing.
    timer = next(t for t in engine.store.timers(case.id) if t.name == "sla:resolve")
    assert timer.payload["action"] == "breach"
    assert run_at(sweeper, sh(2026, 9, 29, 17, 0)).warnings == 0
    report = run_at(sweeper, sh(2026, 9, 29, 18, 0, 1))
    # 緊急 starts at the manager; above it top management coordinates (000 §5.1).
    assert (report.warnings, report.breaches, report.escalations) == (0, 1, 1)
    case = engine.get(case.id)
    assert (case.data["tier"], sla.states(case).tier) == ("executive", "executive")
    kinds = [e.kind for e in engine.history(case.id)]
    assert kinds.count(EventKind.CLOCK_WARNING) == 1
    assert kinds.count(EventKind.CLOCK_BREACHED) == 1
    # Sticky: resolving afterwards still reports the breach, and the case goes on.
    clock.set(sh(2026, 9, 30, 10, 0))
    case = engine.fire(case, "investigate", actor=AGENT)
    case = engine.fire(case, "resolve", actor=AGENT)
    view = sla.view(engine, case, "resolve", clock.now())
    assert (view.status, view.outcome, view.breached) == ("stopped", BREACHED, True)
    assert case.state == "resolved"


def test_general_complaint_breach_escalates_one_tier_through_the_process_trigger() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, "一般")
    heard: list[str] = []
    report = run_at(Sweeper(engine, sla, listeners=[lambda ev: heard.append(ev.kind)]),
        sh(2026, 9, 30, 18, 0, 1))
    assert (report.breaches, report.escalations) == (1, 1)
    # The definition has an `escalate` trigger offered in `acknowledged`: the escalation is
    # that transition, fired by the system, so the case data carries the new tier.
    history = engine.history(case.id)
    assert not [e for e in history if e.kind is EventKind.ESCALATED]
    fired = [e for e in history if e.trigger == "escalate"]
    assert [(e.actor_id, e.data["tier"]) for e in fired] == [(SYSTEM.id, "supervisor")]
    assert fired[0].data["reason"] == "resolve breached"
    case = engine.get(case.id)
    assert case.data["tier"] == "supervisor"
    assert sla.states(case).tier == "supervisor"
    assert heard == ["warning", "breach", "escalated"] or heard == ["breach", "escalated"]


def test_breach_where_no_escalate_trigger_is_offered_records_an_escalated_event() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = engine.open("complaint", actor=AGENT, data={"channel": "phone"})
    clock.set(sh(2026, 9, 25, 17, 0))
    case = engine.fire(case, "record", actor=AGENT)
    case = engine.fire(case, "classify", actor=AGENT, data={"level": "一般"})
    # Left in `classified` (escalate is offered from `confirmed` on) until the breach.
    report = run_at(Sweeper(engine, sla), sh(2026, 9, 30, 18, 0, 1))
    # acknowledge (24 h, no escalation) and resolve (3 WD, escalates) both breached.
    assert (report.breaches, report.escalations) == (2, 1)
    escalated = [e for e in engine.history(case.id) if e.kind is EventKind.ESCALATED]
    assert [(e.data["from"], e.data["tier"]) for e in escalated] == [("agent", "supervisor")]
    assert "tier" not in engine.get(case.id).data
    assert sla.states(engine.get(case.id)).tier == "supervisor"


def test_reclassification_measures_from_original_receipt() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    c = engine.open("complaint", actor=AGENT)
    clock.set(sh(2026, 9, 28, 9, 30))
    c = engine.fire(c, "record", actor=AGENT)
    c = engine.fire(c, "classify", actor=AGENT, data={"level": "緊急"})
    assert sla.view(engine, c, "resolve", clock.now()).deadline == sh(2026, 9, 29, 18, 0)
    clock.set(sh(2026, 9, 29, 11, 0))
    c = engine.fire(c, "classify", actor=AGENT, data={"level": "重要"})
    # Re-measured from Fri 09-25 16:30, not from Tue 09-29: 5 WD → Fri 10-09 18:00.
    assert sla.view(engine, c, "resolve", clock.now()).deadline == sh(2026, 10, 9, 18, 0)


def test_telecom_extension_needs_reason_and_customer_notice() -> None:
    # Received Tue 2026-09-15 10:00. 3 WD → Wed 16, Thu 17, Fri 18 → Fri 09-18 18:00.
    engine, sla, clock = make_engine([complaint_telecom()], sh(2026, 9, 15, 10, 0))
    case = engine.open("complaint", actor=AGENT)
    assert sla.view(engine, case, "resolve", clock.now()).deadline == sh(2026, 9, 18, 18, 0)
    clock.set(sh(2026, 9, 17, 15, 0))
    with pytest.raises(ExtensionConditionsUnmet) as refused:
        sla.extend(engine, case, clock="resolve", by=WorkingDays(2), actor=AGENT,
                   reason="waiting for the supplier")
    assert isinstance(refused.value, ExtensionRefused)
    assert any("customer notification" in m for m in refused.value.missing)
    assert len(engine.history(case.id)) == 1  # nothing written
    with pytest.raises(ExtensionConditionsUnmet, match="reason"):
        sla.extend(engine, case, clock="resolve", by=WorkingDays(2), actor=AGENT,
                   notice="phoned the customer")
    case = sla.extend(engine, case, clock="resolve", by=WorkingDays(2), actor=AGENT,
                      reason="waiting for the supplier", notice="phoned the customer",
                      customer_notified_at=sh(2026, 9, 17, 14, 50))
    # +2 WD from Fri 09-18: Sat 19 is off, Sun 09-20 is a 调休 make-up workday (1),
    # Mon 09-21 (2) → Mon 09-21 18:00.
    view = sla.view(engine, case, "resolve", clock.now())
    assert view.deadline == sh(2026, 9, 21, 18, 0)
    assert view.extensions == 1
    ext = engine.history(case.id)[-1]
    assert ext.kind is EventKind.CLOCK_EXTENDED and ext.actor_id == AGENT.id
    assert ext.data["reason"] == "waiting for the supplier"
    # The extension is history: a recomputation sees it.
    again = recompute(complaint_telecom(), CALENDARS, engine.history(case.id),
                      definition=complaint_definition())
    assert again == sla.states(case)


def test_extension_of_a_clock_without_rule_is_refused() -> None:
    engine, sla, _ = make_engine([complaint_telecom()], sh(2026, 9, 15, 10, 0))
    case = engine.open("complaint", actor=AGENT)
    with pytest.raises(ExtensionConditionsUnmet, match="may not be extended"):
        sla.extend(engine, case, clock="record", by=WorkingDays(1), actor=AGENT,
                   reason="x", notice="y")


def _request_policy() -> Policy:
    return Policy("req.test", "service_request", [
        ClockSpec("resolve", start=On(enter="received"), stop=On(enter="delivered"),
                  target=BusinessHours(8), calendar="office", pause_in=("waiting_customer",)),
    ])


def test_request_paused_overnight_in_waiting_customer() -> None:
    # Received Tue 09-15 09:00; 8 BH → 18:00 the same day.
    engine, sla, clock = make_engine([_request_policy()], sh(2026, 9, 15, 9, 0))
    case = engine.open("service_request", actor=AGENT)
    assert sla.view(engine, case, "resolve", clock.now()).deadline == sh(2026, 9, 15, 18, 0)
    for trig in ("register", "confirm", "start"):
        case = engine.fire(case, trig, actor=AGENT)
    clock.set(sh(2026, 9, 15, 16, 0))  # 2 business hours left
    case = engine.fire(case, "wait_customer", actor=AGENT)
    view = sla.view(engine, case, "resolve", sh(2026, 9, 15, 23, 0))
    assert view.status == PAUSED and view.is_paused
    assert engine.store.timers(case.id) == []  # a paused clock has nothing due
    clock.set(sh(2026, 9, 16, 10, 0))
    case = engine.fire(case, "resume", actor=AGENT)
    # Paused business time: 16:00–18:00 (2 h) + 09:00–10:00 (1 h) = 3 h; the night does not
    # count. Deadline 09-15 18:00 + 3 BH = 09-16 12:00 (= 10:00 + the 2 h that were left).
    view = sla.view(engine, case, "resolve", clock.now())
    assert view.deadline == sh(2026, 9, 16, 12, 0)
    assert view.paused == dt.timedelta(hours=3)
    assert view.remaining == dt.timedelta(hours=2)
    assert view.elapsed == dt.timedelta(hours=7) - dt.timedelta(hours=1)  # 09–16 minus lunch
    clock.set(sh(2026, 9, 16, 11, 30))
    case = engine.fire(case, "deliver", actor=AGENT)
    assert sla.view(engine, case, "resolve", clock.now()).outcome == MET


def test_system_actor_records_the_sla_events() -> None:
    engine, sla, _ = make_engine([_request_policy()], sh(2026, 9, 15, 9, 0))
    case = engine.open("service_request", actor=AGENT)
    # A deadline is met up to its instant: at 18:00 only the (late) warning is due.
    report = run_at(Sweeper(engine, sla), sh(2026, 9, 15, 18, 0))
    assert (report.warnings, report.breaches) == (1, 0)
    run_at(Sweeper(engine, sla), sh(2026, 9, 15, 18, 0, 1))
    events = engine.history(case.id)[1:]
    assert [e.kind for e in events] == [EventKind.CLOCK_WARNING, EventKind.CLOCK_BREACHED]
    assert {e.actor_id for e in events} == {SYSTEM.id}


def test_sweep_after_the_deadline_skips_the_warning() -> None:
    engine, sla, _ = make_engine([_request_policy()], sh(2026, 9, 15, 9, 0))
    case = engine.open("service_request", actor=AGENT)
    run_at(Sweeper(engine, sla), sh(2026, 9, 16, 9, 0))
    assert [e.kind for e in engine.history(case.id)[1:]] == [EventKind.CLOCK_BREACHED]


def test_an_early_stop_while_paused_closes_the_pause() -> None:
    """Stopping a paused clock before its earliest moment ends the pause at the stop: the
    time spent paused is counted as paused (found by mutation: the close was not tested)."""
    from servicewf.sla import ClockHours, On

    from .helpers import request_definition

    spec = ClockSpec("deliver", start=On(enter="confirmed"), stop=On(enter="cancelled"),
                     target=ClockHours(10), earliest=ClockHours(5),
                     pause_in=("waiting_customer",))
    engine, sla, clock = make_engine([Policy("p", "service_request", (spec,))],
                                     sh(2026, 9, 15, 9, 0), request_definition())
    case = engine.open("service_request", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT)
    case = engine.fire(case, "confirm", actor=AGENT)
    case = engine.fire(case, "start", actor=AGENT)
    clock.advance(hours=1)
    case = engine.fire(case, "wait_customer", actor=AGENT)
    clock.advance(hours=2)
    case = engine.fire(case, "cancel", actor=AGENT)  # stopped 3 h in: before the 5 h earliest
    view = sla.view(engine, case, "deliver", clock.now())
    assert view.status == "stopped" and view.outcome == "too_early"
    assert view.paused == dt.timedelta(hours=2)
    assert view.elapsed == dt.timedelta(hours=1)


def test_a_one_microsecond_pause_moves_the_deadline_by_one_microsecond() -> None:
    """Pauses are counted to the microsecond, the unit every clock measures in (found by
    mutation: a pause of 1 µs could be dropped unnoticed)."""
    from servicewf.sla import ClockHours, On

    from .helpers import request_definition

    spec = ClockSpec("deliver", start=On(enter="confirmed"), stop=On(enter="delivered"),
                     target=ClockHours(10), pause_in=("waiting_customer",))
    engine, sla, clock = make_engine([Policy("p", "service_request", (spec,))],
                                     sh(2026, 9, 15, 9, 0), request_definition())
    case = engine.open("service_request", actor=AGENT)
    case = engine.fire(engine.fire(case, "register", actor=AGENT), "confirm", actor=AGENT)
    case = engine.fire(engine.fire(case, "start", actor=AGENT), "wait_customer", actor=AGENT)
    clock.set(clock.now().add(microseconds=1))
    case = engine.fire(case, "resume", actor=AGENT)
    view = sla.view(engine, case, "deliver", clock.now())
    assert view.deadline == sh(2026, 9, 15, 19, 0).add(microseconds=1)
    assert view.paused == dt.timedelta(microseconds=1)
