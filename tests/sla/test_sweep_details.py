"""Details of the sweep a person relies on (each test pins a behaviour a surviving mutant
broke): listeners hear warnings, counters start at zero, defaults."""

from __future__ import annotations

from servicewf.processes.presets import complaint_business_centre
from servicewf.sla import Sweeper, SweepEvent, SweepReport

from .helpers import AGENT, make_engine, run_at, sh
from .test_scenarios import _through_acknowledge


def test_listeners_hear_the_warning_with_its_clock_and_data() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, "緊急")
    heard: list[SweepEvent] = []
    sweeper = Sweeper(engine, sla, owner="w1", listeners=[heard.append])
    report = run_at(sweeper, sh(2026, 9, 29, 14, 0))
    assert report.warnings == 1
    warnings = [e for e in heard if e.kind == "warning"]
    assert [(e.case.id, e.clock) for e in warnings] == [(case.id, "resolve")]
    assert warnings[0].data["clock"] == "resolve"
    assert warnings[0].case.version == engine.get(case.id).version


def test_report_counters_start_at_zero_and_the_default_batch() -> None:
    report = SweepReport()
    report.count("obligation_missed")
    report.count("obligation_missed", 2)
    assert report.counts == {"obligation_missed": 3}
    engine, sla, _clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    sweeper = Sweeper(engine, sla)
    assert sweeper.batch == 1000
    assert sweeper.owner.startswith("sla-sweeper-") and len(sweeper.owner) == 20
    assert AGENT.role == "agent"


def test_an_escalation_made_by_the_process_trigger_is_not_repeated() -> None:
    """A pending breach action finds the escalation the process's own ``escalate`` trigger
    recorded (not only an ``escalated`` event) and only drops its timer."""
    from servicewf import EventKind
    from servicewf.sla.sweep import breach_timer_name
    from servicewf.storage import Timer
    from servicewf.storage.base import replace_timers

    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, "一般")
    first = run_at(Sweeper(engine, sla), sh(2026, 10, 9, 18, 0, 1))
    assert first.escalations == 1
    fired = [e for e in engine.history(case.id) if e.trigger == "escalate"]
    assert len(fired) == 1  # the escalation is the process's own transition here
    name = breach_timer_name("resolve", 1)
    at = clock.now()
    replace_timers(engine.store, case.id, name,
                   [Timer(case.id, name, at, "complaint", {"clock": "resolve", "cycle": 1})])
    again = run_at(Sweeper(engine, sla), at.add(minutes=1))
    assert again.escalations == 0
    assert [e.trigger for e in engine.history(case.id)].count("escalate") == 1
    assert not [t for t in engine.store.timers(case.id) if t.name.startswith("sla-breach:")]
    assert EventKind.ESCALATED not in [e.kind for e in engine.history(case.id)]


def test_action_context_commit_and_escalate_hand_back_the_case() -> None:
    from servicewf import EventKind
    from servicewf.sla.sweep import ActionContext

    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    case = _through_acknowledge(engine, clock, "緊急")
    run_at(Sweeper(engine, sla), sh(2026, 9, 29, 18, 0, 1))  # manager -> executive
    case = engine.get(case.id)
    assert sla.states(case).tier == "executive"
    ctx = ActionContext(engine, sla, clock.now(), SweepReport(), [])
    assert ctx.escalate(case, clock="resolve", reason="again") is case  # the top: no change
    write = engine.plan_record(case, EventKind.NOTE, data={"text": "checked"})
    committed = ctx.commit(write)
    assert committed is not None and committed == engine.get(case.id)
    assert committed.version == case.version + 1
