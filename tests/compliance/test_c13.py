"""C13's second half (001 §4.3): an improvement action re-planned after its deadline has a
cause analysis, and one left not effective past its deadline is possibly violated until its
re-plan brings one; the four verdicts on engine-made histories, the template on its own, and
its plain data."""

from __future__ import annotations

import attrs
import pendulum
import pytest

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.compliance import (
    RULE_SCHEMA,
    ComplianceMonitor,
    History,
    Overdue,
    Verdict,
    builtin_catalogue,
    builtin_environment,
    check,
    rule_from_data,
    rule_to_data,
)
from servicewf.errors import CommandRefused, InvalidRule
from servicewf.events import Event, EventKind
from servicewf.processes import builtin_registry
from servicewf.storage.base import WriteSet
from servicewf.testing import open_case

T0 = pendulum.datetime(2026, 4, 1, 9, tz="Asia/Shanghai")
LEAD = Actor("team.lead", "supervisor")
PLAN = {"goal": "回訪及時率 ≥ 95%", "owner": "team.lead", "acceptance_criteria": "Q2 報表"}
CATALOGUE = builtin_catalogue()
C13 = CATALOGUE["C13"]


def _deadline(clock, days):
    return clock.now().add(days=days).isoformat()


def _not_effective():
    """An action planned with a deadline 7 days ahead, implemented, checked, judged not
    effective on day 2."""
    clock = FrozenClock(T0)
    engine = Engine(MemoryStore(), clock, builtin_registry())
    case = open_case(engine, "improvement_action", actor=LEAD,
                     data={"origin": "投訴", "description": "回訪不及時"})
    case = engine.fire(case, "plan", actor=LEAD, data={**PLAN, "deadline": _deadline(clock, 7)})
    clock.advance(days=1)
    case = engine.fire(case, "start", actor=LEAD)
    clock.advance(days=1)
    case = engine.fire(case, "check", actor=LEAD, data={"checked_by": "qa",
                                                         "check_result": "80%"})
    case = engine.fire(case, "mark_not_effective", actor=LEAD, data={"reason": "below target"})
    return engine, clock, case


def _c13(engine, case_id, *, as_of=None, events=None):
    history = History(case_id, "improvement_action",
                      events if events is not None else engine.history(case_id))
    report = check([history], [C13], registry=engine.registry, env=builtin_environment(),
                   as_of=as_of)
    outcome = report.outcome("C13", case_id)
    assert outcome is not None
    return outcome


def _finish(engine, clock, case, **replan):
    case = engine.fire(case, "re_plan", actor=LEAD,
                       data={**PLAN, "deadline": _deadline(clock, 30), **replan})
    case = engine.fire(case, "start", actor=LEAD)
    case = engine.fire(case, "check", actor=LEAD, data={"checked_by": "qa",
                                                         "check_result": "97%"})
    return engine.fire(case, "close", actor=LEAD)


def test_an_open_action_before_its_deadline_is_possibly_satisfied():
    engine, clock, case = _not_effective()
    outcome = _c13(engine, case.id, as_of=clock.now())
    assert outcome.verdict is Verdict.POSSIBLY_SATISFIED
    assert outcome.pending == () and outcome.violations == ()


def test_an_action_left_not_effective_past_its_deadline_is_possibly_violated():
    engine, clock, case = _not_effective()
    clock.advance(days=6)  # day 8: the 7-day deadline has passed
    outcome = _c13(engine, case.id, as_of=clock.now())
    assert outcome.verdict is Verdict.POSSIBLY_VIOLATED
    marked = engine.history(case.id)[-1]
    assert marked.trigger == "mark_not_effective"
    assert outcome.pending == (marked.seq,)
    assert "re_plan needs cause_analysis" in outcome.reason
    # as of the day it was marked, it was not overdue yet
    assert _c13(engine, case.id, as_of=marked.at).verdict is Verdict.POSSIBLY_SATISFIED


def test_an_overdue_re_plan_with_a_cause_analysis_satisfies_it():
    engine, clock, case = _not_effective()
    clock.advance(days=6)
    with pytest.raises(CommandRefused):  # the engine's guard: no cause analysis, no re-plan
        engine.fire(case, "re_plan", actor=LEAD, data={**PLAN,
                                                       "deadline": _deadline(clock, 30)})
    case = _finish(engine, clock, case, cause_analysis="supplier delivered late")
    outcome = _c13(engine, case.id)
    re_plan = next(e for e in engine.history(case.id) if e.trigger == "re_plan")
    assert outcome.verdict is Verdict.SATISFIED
    assert re_plan.seq in outcome.fulfilments and outcome.violations == ()
    assert not check([History(case.id, "improvement_action", engine.history(case.id))],
                     CATALOGUE, registry=engine.registry,
                     env=builtin_environment()).violated


def test_a_re_plan_on_time_needs_no_cause_analysis():
    engine, clock, case = _not_effective()
    case = _finish(engine, clock, case)
    assert _c13(engine, case.id).verdict is Verdict.SATISFIED
    overdue = C13.parts[2]
    out = check([History(case.id, "improvement_action", engine.history(case.id))],
                [overdue], registry=engine.registry).outcome("C13", case.id)
    assert out is not None and out.activations == ()  # not activated at all


def test_an_overdue_re_plan_without_a_cause_analysis_is_violated():
    engine, clock, case = _not_effective()
    clock.advance(days=6)
    case = _finish(engine, clock, case, cause_analysis="supplier delivered late")
    # the history as an import from another system would have it: no cause analysis
    events = [attrs.evolve(e, data={k: v for k, v in e.data.items() if k != "cause_analysis"})
              if e.trigger == "re_plan" else e for e in engine.history(case.id)]
    outcome = _c13(engine, case.id, events=events)
    re_plan = next(e for e in events if e.trigger == "re_plan")
    assert outcome.verdict is Verdict.VIOLATED
    assert outcome.violations == (re_plan.seq,)
    assert outcome.reason == (f"re_plan at #{re_plan.seq} after the deadline: cause_analysis "
                              "missing")
    report = check([History(case.id, "improvement_action", events)], CATALOGUE,
                   registry=engine.registry, env=builtin_environment())
    assert report.violated_rules() == {"C13"}
    # a blank cause analysis is no cause analysis
    blank = [attrs.evolve(e, data={**e.data, "cause_analysis": "  "})
             if e.trigger == "re_plan" else e for e in events]
    assert _c13(engine, case.id, events=blank).violations == (re_plan.seq,)


def test_a_complete_case_that_never_got_its_re_plan_is_violated():
    engine, _, case = _not_effective()
    events = engine.history(case.id)
    late = events[-1].at.add(days=30)
    outcome = check([History(case.id, "improvement_action", events, complete=True)], [C13],
                    as_of=late).outcome("C13", case.id)
    assert outcome is not None and outcome.verdict is Verdict.VIOLATED
    assert outcome.violations == (events[-1].seq,)


def test_the_monitor_alerts_on_an_overdue_re_plan_without_a_cause_analysis():
    """A write the engine's guard would refuse, appended by hand (an import): the monitor
    judges what was committed."""
    engine, _, case = _not_effective()
    alerts = []
    monitor = ComplianceMonitor([C13], env=builtin_environment(), on_alert=alerts.append,
                                store=engine.store)
    late = case.updated_at.add(days=6)
    replan = Event(case.id, case.version + 1, late, EventKind.TRANSITION, "team.lead",
                   "supervisor", "re_plan", "not_effective", "planned",
                   {**PLAN, "deadline": late.add(days=30).isoformat()})
    after = attrs.evolve(case, state="planned", version=case.version + 1, updated_at=late)
    write = WriteSet(after, (replan,), case.version)
    engine.store.append(write)
    monitor(write)
    verdict = monitor.verdicts(case.id)["C13"]
    assert verdict.verdict is Verdict.VIOLATED and verdict.violations == (replan.seq,)
    assert [(a.outcome.rule, a.seq) for a in alerts] == [("C13", replan.seq)]
    assert verdict == _c13(engine, case.id)


def test_the_overdue_template_on_its_own_and_as_plain_data():
    rule = Overdue(id="ACME-7", cites="ACME §3", activity="reopen", require="apology",
                   deadline="promised_by", awaiting=("escalate",), processes=("complaint",))
    data = rule_to_data(rule)
    assert data["template"] == "overdue" and rule_from_data(data) == rule
    assert "overdue" in RULE_SCHEMA["properties"]["template"]["enum"]
    with pytest.raises(InvalidRule):
        rule_from_data({"template": "overdue", "id": "x", "activity": "a"})  # no require
    with pytest.raises(InvalidRule):
        Overdue(id="x", activity="a", require=())
    with pytest.raises(InvalidRule):
        Overdue(id="x", activity="a", require="b", deadline="")
