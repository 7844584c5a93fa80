"""The SLA and the built-in processes share one truth: the complaint's own ``extend`` is the
extension of its resolution clock, an automatic escalation is the process's ``escalate`` (or
counts for C9 where that is not offered), and the incident's progress updates are a
recurring clock."""

from __future__ import annotations

import datetime as dt

import attrs
import pendulum
import pytest

from servicewf import SYSTEM, Actor, EventKind, GuardFailed
from servicewf.errors import InvalidPolicy
from servicewf.processes.complaint import current_tier
from servicewf.processes.presets import (
    complaint_business_centre,
)
from servicewf.sla import (
    BREACHED,
    CANCELLED,
    MET,
    ClockHours,
    ClockSpec,
    ExtensionConditionsUnmet,
    ExtensionRule,
    On,
    Policy,
    Sweeper,
    Until,
    WorkingDays,
    target_from_dict,
)
from tests.processes.support import Harness
from tests.sla.helpers import run_at

TZ = "Asia/Shanghai"
# Mon 2026-03-02 09:00; 一般 = 3 WD → Thu 03-05 18:00.
START = pendulum.datetime(2026, 3, 2, 9, 0, tz=TZ)
INTAKE = {"channel": "電話", "customer_ref": "C-7", "content": "invoice wrong twice"}


def sh(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=TZ)


def classified(h: Harness, level: str = "一般"):  # type: ignore[no-untyped-def]
    case = h.open("complaint", **INTAKE)
    return h.run(case, "record", ("classify", "agent", {"level": level}))


def acknowledged(h: Harness, level: str = "一般"):  # type: ignore[no-untyped-def]
    return h.run(classified(h, level), ("confirm_classification", "supervisor"), "acknowledge")


def resolve_deadline(h: Harness, case) -> pendulum.DateTime | None:  # type: ignore[no-untyped-def]
    assert h.sla is not None
    return h.sla.view(h.engine, case, "resolve", h.clock.now()).deadline


# --- extension: one path ---------------------------------------------------------------------


def test_firing_the_complaints_extend_moves_the_resolution_deadline() -> None:
    h = Harness(START, with_sla=True)
    case = acknowledged(h)
    assert resolve_deadline(h, case) == sh(2026, 3, 5, 18)
    told = sh(2026, 3, 9, 12)
    case = h.fire(case, "extend", reason="parts on order", customer_notification="phoned",
                  new_deadline=told.isoformat())
    assert resolve_deadline(h, case) == told
    assert h.sla is not None
    assert h.sla.states(case)["resolve"].extensions == 1
    last = h.engine.history(case.id)[-1]
    assert (last.kind, last.trigger) == (EventKind.TRANSITION, "extend")
    # The stored clocks equal a recomputation from the history.
    assert h.sla.recompute(h.engine, case) == h.sla.states(case)


def test_sla_extend_on_a_complaint_fires_its_extend_transition() -> None:
    h = Harness(START, with_sla=True)
    case = acknowledged(h)
    assert h.sla is not None
    agent = Actor("wang", "agent")
    case = h.sla.extend(h.engine, case, clock="resolve", by=WorkingDays(2), actor=agent,
                        reason="supplier delay", notice="SMS sent 10:05")
    history = h.engine.history(case.id)
    assert not [e for e in history if e.kind is EventKind.CLOCK_EXTENDED]
    last = history[-1]
    assert (last.trigger, last.actor_id) == ("extend", "wang")
    # Thu 03-05 18:00 + 2 WD = Mon 03-09 18:00, recorded as the deadline the customer was told.
    assert case.data["new_deadline"] == sh(2026, 3, 9, 18).isoformat()
    assert case.data["customer_notification"] == "SMS sent 10:05"
    assert resolve_deadline(h, case) == sh(2026, 3, 9, 18)


def test_extension_through_the_transition_obeys_the_policys_rule() -> None:
    policy = complaint_business_centre().replace_clock(
        "resolve", extension=ExtensionRule(max_count=1))
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    h.sla.policies["complaint"] = policy
    h.sla._bound.clear()
    case = acknowledged(h)
    case = h.fire(case, "extend", new_deadline=sh(2026, 3, 6, 18).isoformat())
    with pytest.raises(ExtensionConditionsUnmet) as refused:
        h.fire(case, "extend", new_deadline=sh(2026, 3, 9, 18).isoformat())
    assert "at most 1 extension" in str(refused.value)
    assert h.engine.get(case.id).version == case.version  # nothing written


def test_sla_extend_before_the_goal_is_known_is_refused() -> None:
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    case = h.run(h.open("complaint", **INTAKE), "record")  # not classified: no deadline yet
    with pytest.raises(ExtensionConditionsUnmet) as refused:
        h.sla.extend(h.engine, case, clock="resolve", by=WorkingDays(1),
                     actor=Actor("wang", "agent"), reason="r", notice="n")
    assert "no goal yet" in str(refused.value)


def test_until_round_trips_and_rejects_naive_instants() -> None:
    until = Until.of(sh(2026, 3, 9, 12))
    assert target_from_dict(until.to_dict()) == until
    assert Until.of("2026-03-09T04:00:00+00:00") == until
    assert str(until) == "until 2026-03-09T04:00:00+00:00"
    with pytest.raises(InvalidPolicy):
        Until.of(dt.datetime(2026, 3, 9, 12))  # naive on purpose


def test_policy_rejects_extend_triggers_naming_unknown_or_fixed_clocks() -> None:
    clock = ClockSpec("c", start=On(enter="a"), stop=On(enter="b"), target=ClockHours(1))
    with pytest.raises(InvalidPolicy, match="unknown clock 'nope'"):
        Policy("p", "x", (clock,), extend_triggers={"extend": "nope"})
    with pytest.raises(InvalidPolicy, match="may not be extended"):
        Policy("p", "x", (clock,), extend_triggers={"extend": "c"})


# --- escalation: one tier ----------------------------------------------------------------------


def test_automatic_escalation_fires_escalate_and_c9_follows_it() -> None:
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    case = acknowledged(h)
    report = run_at(Sweeper(h.engine, h.sla), sh(2026, 3, 5, 18, 0, 1))
    assert report.escalations == 1
    case = h.engine.get(case.id)
    last = h.engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id, last.data["tier"]) == ("escalate", SYSTEM.id,
                                                                "supervisor")
    assert current_tier(case) == "supervisor"
    with pytest.raises(GuardFailed) as refused:
        h.fire(case, "investigate", "agent")
    assert refused.value.rule == "C9 (000 §5.1, 001 §7.2)"
    assert h.fire(case, "investigate", "supervisor").state == "investigating"


def test_escalation_recorded_before_escalate_is_offered_still_binds_c9() -> None:
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    case = classified(h)  # escalate is offered from `confirmed` on
    run_at(Sweeper(h.engine, h.sla), sh(2026, 3, 5, 18, 0, 1))
    case = h.engine.get(case.id)
    kinds = [e.kind for e in h.engine.history(case.id)]
    assert EventKind.ESCALATED in kinds
    assert "tier" not in case.data and current_tier(case) == "supervisor"
    case = h.run(case, ("confirm_classification", "supervisor"), "acknowledge")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "investigate", "agent")
    assert (err.value.guard, err.value.rule) == ("handler_matches_level",
                                                 "C9 (000 §5.1, 001 §7.2)")
    case = h.fire(case, "investigate", "supervisor")
    # A later escalation by hand goes on from there: supervisor → manager.
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "escalate", "supervisor", tier="supervisor")
    assert (err.value.guard, err.value.rule) == ("one_tier_up", "escalation (000 §5.1, 001 §7.2)")
    case = h.fire(case, "escalate", "supervisor", tier="manager")
    assert current_tier(case) == "manager"


# --- incident progress updates: a recurring clock -----------------------------------------------


def test_incident_progress_updates_recur_while_responding() -> None:
    h = Harness(START, with_sla=True)
    assert h.sla is not None
    sla, engine = h.sla, h.engine
    case = h.open("incident", description="water leak in the server room")
    case = h.run(case, ("classify", "agent", {"level": "重大", "category": "accident"}),
                 "respond")
    view = sla.view(engine, case, "progress_update", h.clock.now())
    assert (view.cycle, view.deadline) == (1, START.add(hours=4))
    h.clock.advance(hours=3)
    case = h.fire(case, "update_customers", progress_update="pumps running")
    view = sla.view(engine, case, "progress_update", h.clock.now())
    assert (view.cycle, view.deadline) == (2, START.add(hours=7))
    assert view.past[0].outcome == MET
    # No update for 4 h: the sweep records the missed update as a breach.
    report = run_at(Sweeper(engine, sla), START.add(hours=7, seconds=1))
    assert report.breaches == 1
    case = engine.get(case.id)
    h.clock.set(START.add(hours=8))
    case = h.fire(case, "update_customers", progress_update="power restored")
    view = sla.view(engine, case, "progress_update", h.clock.now())
    assert view.cycle == 3 and view.past[-1].outcome == BREACHED
    # Leaving `responding` ends the obligation.
    case = h.fire(case, "recover", recovery="all systems back")
    view = sla.view(engine, case, "progress_update", h.clock.now())
    assert (view.status, view.outcome) == ("stopped", CANCELLED)
    assert not [t for t in engine.store.timers(case.id) if t.name == "sla:progress_update"]
    assert sla.recompute(engine, case) == sla.states(case)


# --- a sweep handler resets only its own timers ---------------------------------------------


def test_settling_a_stale_sla_timer_keeps_other_subsystems_timers() -> None:
    from servicewf.storage.base import Timer

    h = Harness(START, with_sla=True)
    assert h.sla is not None
    case = acknowledged(h)
    store = h.engine.store
    real = {t.name: t for t in store.timers(case.id)}
    foreign = Timer(case.id, "crm:callback", START.add(days=30), "complaint", {"who": "wang"})
    # A stale SLA timer due now (as after a policy change) beside another subsystem's timer.
    stale = attrs.evolve(real["sla:resolve"], due=h.clock.now())
    store.set_timers(case.id, [*[t for n, t in real.items() if n != "sla:resolve"], stale,
                               foreign])
    report = run_at(Sweeper(h.engine, h.sla), h.clock.now())
    assert (report.timers, report.warnings, report.breaches) == (1, 0, 0)
    after = {t.name: t for t in store.timers(case.id)}
    assert after["crm:callback"] == foreign
    assert after["sla:resolve"].due == real["sla:resolve"].due  # reset from the clocks


def test_replace_timers_refuses_timers_outside_its_prefix() -> None:
    from servicewf.storage.base import Timer, replace_timers

    h = Harness(START, with_sla=True)
    case = acknowledged(h)
    before = h.engine.store.timers(case.id)
    with pytest.raises(ValueError, match="does not start with 'obl:'"):
        replace_timers(h.engine.store, case.id, "obl:",
                       [Timer(case.id, "sla:resolve", START, "complaint", {})])
    assert h.engine.store.timers(case.id) == before
