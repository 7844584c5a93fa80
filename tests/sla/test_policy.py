"""Policy validation, goal tables, presets, windows, cycles, queries and repair."""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf.errors import CommandRefused, InvalidPolicy, UnknownClock
from servicewf.processes.presets import (
    PRESETS,
    complaint_business_centre,
    incident,
    service_request,
)
from servicewf.sla import (
    CANCELLED,
    MET,
    SLA,
    TOO_EARLY,
    BoundPolicy,
    ClockHours,
    ClockSpec,
    GoalTable,
    GoalUndefined,
    On,
    Policy,
    WorkingDays,
)

from .helpers import AGENT, CALENDARS, complaint_definition, make_engine, request_definition, sh


def test_goal_table_refuses_missing_overlapping_and_foreign_values() -> None:
    with pytest.raises(InvalidPolicy, match="no goal for domain value"):
        GoalTable("level", {"一般": WorkingDays(3)}, domain=("一般", "重要"))
    with pytest.raises(InvalidPolicy, match="more than one row"):
        GoalTable("level", [("一般", WorkingDays(3)), (("一般", "重要"), WorkingDays(5))])
    with pytest.raises(InvalidPolicy, match="outside the domain"):
        GoalTable("level", {"一般": WorkingDays(3), "x": WorkingDays(1)}, domain=("一般",))
    with pytest.raises(InvalidPolicy, match="mixes clock hours"):
        GoalTable("level", {"一般": WorkingDays(3), "重要": ClockHours(4)})
    with pytest.raises(InvalidPolicy, match="twice"):
        GoalTable("level", {"一般": WorkingDays(3)}, domain=("一般", "一般"))


def test_value_outside_domain_refuses_the_command_or_uses_the_default() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 15, 9))
    case = engine.fire(engine.open("complaint", actor=AGENT), "record", actor=AGENT)
    with pytest.raises(GoalUndefined, match="default="):
        engine.fire(case, "classify", actor=AGENT, data={"level": "超級"})
    with pytest.raises(CommandRefused) as refused:  # a refusal like any other
        engine.fire(case, "classify", actor=AGENT, data={"level": "超級"})
    assert isinstance(refused.value, GoalUndefined)
    assert (refused.value.case_id, refused.value.trigger) == (case.id, "classify")
    assert engine.get(case.id).state == "recorded"  # nothing written
    policy = complaint_business_centre()
    table = policy.clock("resolve").target
    assert isinstance(table, GoalTable)
    lenient = policy.replace_clock("resolve", target=GoalTable(
        "level", table.goals, domain=table.domain, default=WorkingDays(1)))
    engine, sla, clock = make_engine([lenient], sh(2026, 9, 15, 9))
    case = engine.fire(engine.open("complaint", actor=AGENT), "record", actor=AGENT)
    case = engine.fire(case, "classify", actor=AGENT, data={"level": "超級"})
    assert sla.view(engine, case, "resolve", clock.now()).deadline == sh(2026, 9, 16, 18)


def test_policy_refuses_duplicates_and_empty_conditions() -> None:
    clock = ClockSpec("a", start=On(enter="received"), stop=On(), target=ClockHours(1))
    with pytest.raises(InvalidPolicy, match="no stop condition"):
        Policy("p", "complaint", [clock])
    ok = attrs_ok = ClockSpec("a", start=On(enter="received"), stop=On(enter="recorded"),
                              target=ClockHours(1))
    with pytest.raises(InvalidPolicy, match="defined twice"):
        Policy("p", "complaint", [ok, attrs_ok])


def test_binding_checks_names_and_calendars() -> None:
    bad = Policy("p", "complaint", [
        ClockSpec("a", start=On(enter="recieved"), stop=On(trigger="fix"),
                  target=ClockHours(1), calendar="paris")])
    with pytest.raises(InvalidPolicy) as err:
        BoundPolicy(bad, complaint_definition(), CALENDARS)
    message = str(err.value)
    assert "'recieved'" in message and "'fix'" in message and "'paris'" in message


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_bind_to_the_built_in_processes(name: str) -> None:
    processes = pytest.importorskip("servicewf.processes")
    policy = PRESETS[name]()
    module = getattr(processes, policy.process, None)
    if module is None:  # the registry layout may differ; import the module by name
        import importlib
        module = importlib.import_module(f"servicewf.processes.{policy.process}")
    definition = module.definition()
    bound = BoundPolicy(policy, definition, CALENDARS)
    assert bound.definition is definition and bound.policy is policy
    assert [c.spec.name for c in bound.clocks] == [c.name for c in policy.enabled]
    assert policy.problems_with(definition) == []
    # Every state and trigger the preset names really is in the definition (not vacuous:
    # each enabled clock names at least one of them).
    for c in policy.enabled:
        states, triggers = c.names()
        assert states or triggers, c.name
        assert all(definition.has_state(s) for s in states), (c.name, states)
        assert triggers <= set(definition.triggers), (c.name, triggers)
    # ...and binding the same preset to a definition of another process is refused.
    other = request_definition() if policy.process != "service_request" else (
        complaint_definition())
    with pytest.raises(InvalidPolicy, match="policy is for process"):
        BoundPolicy(policy, other, CALENDARS)


def test_unknown_clock_is_named() -> None:
    with pytest.raises(UnknownClock, match="known: record"):
        complaint_business_centre().clock("nope")


def _window_policy() -> Policy:
    return Policy("w", "service_request", [
        ClockSpec("second_follow_up", start=On(enter="delivered"), stop=On(trigger="follow_up"),
                  target=ClockHours(days=30), earliest=ClockHours(days=15)),
    ])


def _delivered(engine):  # type: ignore[no-untyped-def]
    case = engine.open("service_request", actor=AGENT)
    for trig in ("register", "confirm", "start", "deliver", "accept"):
        case = engine.fire(case, trig, actor=AGENT)
    return case


@pytest.mark.parametrize(("days", "outcome"), [(3, TOO_EARLY), (15, MET), (20, MET),
                                                (31, "breached")])
def test_window_follow_up(days: int, outcome: str) -> None:
    engine, sla, clock = make_engine([_window_policy()], sh(2026, 3, 2, 10))
    case = _delivered(engine)
    clock.advance(days=days)
    case = engine.fire(case, "follow_up", actor=AGENT)
    assert sla.view(engine, case, "second_follow_up", clock.now()).outcome == outcome


def test_preset_window_ignores_the_first_contact() -> None:
    engine, sla, clock = make_engine([service_request()], sh(2026, 3, 2, 10))
    case = _delivered(engine)
    clock.advance(hours=5)
    case = engine.fire(case, "follow_up", actor=AGENT)  # the 24 h post-service contact
    assert sla.view(engine, case, "post_service_contact", clock.now()).outcome == MET
    second = sla.view(engine, case, "second_follow_up", clock.now())
    assert second.status == "running" and second.earliest == sh(2026, 3, 17, 10)
    clock.advance(days=16)
    case = engine.fire(case, "follow_up", actor=AGENT)
    assert sla.view(engine, case, "second_follow_up", clock.now()).outcome == MET


def test_cycles_restart_and_keep_the_past() -> None:
    policy = Policy("c", "service_request", [
        ClockSpec("work", start=On(enter="in_progress"), stop=On(leave="in_progress"),
                  target=ClockHours(2)),
    ])
    engine, sla, clock = make_engine([policy], sh(2026, 3, 2, 10))
    case = engine.open("service_request", actor=AGENT)
    for trig in ("register", "confirm", "start"):
        case = engine.fire(case, trig, actor=AGENT)
    clock.advance(hours=3)
    case = engine.fire(case, "deliver", actor=AGENT)
    case = engine.fire(case, "rework", actor=AGENT)
    view = sla.view(engine, case, "work", clock.now())
    assert view.cycle == 2 and view.status == "running"
    assert [(c.number, c.outcome) for c in view.past] == [(1, "breached")]


def test_cancel_ends_without_verdict_and_clears_timers() -> None:
    engine, sla, clock = make_engine([service_request()], sh(2026, 3, 2, 10))
    case = engine.open("service_request", actor=AGENT)
    assert engine.store.timers(case.id)
    case = engine.fire(case, "cancel", actor=AGENT)
    assert sla.view(engine, case, "first_response", clock.now()).outcome == CANCELLED
    assert engine.store.timers(case.id) == []


def test_breaching_within_uses_the_timers() -> None:
    engine, sla, clock = make_engine([incident_like()], sh(2026, 3, 2, 10))
    a = engine.open("service_request", actor=AGENT)
    clock.advance(hours=1)
    b = engine.open("service_request", actor=AGENT)
    soon = sla.breaching_within(engine.store, sh(2026, 3, 2, 11), dt.timedelta(hours=1, minutes=30))
    assert [x.case_id for x in soon] == [a.id]
    later = sla.breaching_within(engine.store, sh(2026, 3, 2, 11), dt.timedelta(hours=3))
    assert [x.case_id for x in later] == [a.id, b.id]
    assert later[0].deadline == sh(2026, 3, 2, 12)


def incident_like() -> Policy:
    return Policy("i", "service_request", [
        ClockSpec("respond", start=On(enter="received"), stop=On(enter="confirmed"),
                  target=ClockHours(2))])


def test_repair_replays_a_changed_policy() -> None:
    engine, sla, clock = make_engine([incident_like()], sh(2026, 3, 2, 10))
    case = engine.open("service_request", actor=AGENT)
    assert sla.view(engine, case, "respond", clock.now()).deadline == sh(2026, 3, 2, 12)
    stricter = SLA([incident_like().replace_clock("respond", target=ClockHours(1))], CALENDARS)
    engine.processors = [stricter]
    case = stricter.repair(engine, case.id)
    assert stricter.view(engine, case, "respond", clock.now()).deadline == sh(2026, 3, 2, 11)
    assert engine.store.timers(case.id)[0].payload["deadline"] is not None
    assert stricter.repair(engine, case.id) == case  # nothing more to repair
    assert engine.history(case.id)[-1].data == {"sla_repair": "i"}


def test_incident_preset_targets() -> None:
    from servicewf import DefinitionBuilder

    d = (DefinitionBuilder("incident", 1).add_state("detected", initial=True)
         .add_state("classified").add_state("responding").add_state("closed", final=True)
         .add_transition("classify", "detected", "classified", required="level")
         .add_transition("respond", "classified", "responding")
         .add_transition("update_customers", "responding", "=")
         .add_transition("close", "responding", "closed").build())
    sla = SLA([incident()], CALENDARS)
    engine, _, clock = make_engine([], sh(2026, 3, 2, 10), d)
    engine.processors = [sla]
    case = engine.open("incident", actor=AGENT)
    assert sla.view(engine, case, "response", clock.now()).deadline is None
    clock.advance(minutes=30)
    case = engine.fire(case, "classify", actor=AGENT, data={"level": "較大"})
    # 較大: 4 h from detection (10:00), not from classification.
    assert sla.view(engine, case, "response", clock.now()).deadline == sh(2026, 3, 2, 14)


def test_request_definition_is_valid_for_presets() -> None:
    sla = SLA([service_request()], CALENDARS)
    definition = request_definition()
    sla.validate([definition])
    bound = sla.bind(definition)
    assert bound is not None and bound.definition is definition
    assert {c.spec.name for c in bound.clocks} == {c.name for c in service_request().enabled}
    # The trimmed definition without a state the preset names is refused, naming it.
    trimmed = definition.derive().remove_state("waiting_customer").build()
    with pytest.raises(InvalidPolicy, match="unknown state 'waiting_customer'"):
        SLA([service_request()], CALENDARS).validate([trimmed])


def test_documented_clocks_of_the_processes_exist_in_their_presets() -> None:
    from servicewf.processes import PROCESSES

    for process in ("service_request", "complaint", "incident"):
        real = {c.name for make in PRESETS.values() for c in make().clocks
                if make().process == process}
        documented = {d.name.split(" ")[0] for d in PROCESSES[process].clocks}
        assert documented - {"archive_retention"} <= real, process
