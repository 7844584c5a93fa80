"""The testing kit through its public names only, as a CRM team would use it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, GuardFailed, RoleNotPermitted
from servicewf.calendar import BusinessCalendar
from servicewf.compliance import Precedence, builtin_catalogue, check
from servicewf.processes import builtin_registry
from servicewf.testing import (
    assert_complies,
    assert_refused,
    drive,
    open_case,
    paths,
)
from servicewf.testing.strategies import (
    calendars,
    command_sequences,
    histories,
    payload_schema,
    payloads,
)

REGISTRY = builtin_registry()
COMPLAINT = REGISTRY.get("complaint")


def test_swf_engine_runs_the_built_in_processes(swf_engine, swf_clock):
    case = open_case(swf_engine, "complaint")
    assert case.state == "received"
    assert case.opened_at == swf_clock.now()
    assert "sla" in case.extensions  # the default SLA clocks run


@pytest.mark.swf_backends("memory", "sqlite", "postgresql")
def test_drive_reaches_a_state_on_every_store(swf_engine, swf_backend):
    case = drive(swf_engine, open_case(swf_engine, "complaint"), to="feedback_given")
    assert case.state == "feedback_given"
    triggers = [e.trigger for e in swf_engine.history(case.id)[1:]]
    # the shortest path: record → classify → confirm → acknowledge → investigate → resolve →
    # give_feedback
    assert triggers == ["record", "classify", "confirm_classification", "acknowledge",
                        "investigate", "resolve", "give_feedback"]
    assert_complies(case, engine=swf_engine)


def test_drive_refuses_an_unreachable_state(swf_engine):
    case = drive(swf_engine, open_case(swf_engine, "complaint"), to="invalid")
    with pytest.raises(AssertionError, match="no path"):
        drive(swf_engine, case, to="closed")


def test_a_complaint_cannot_be_closed_while_the_customer_is_dissatisfied(swf_engine):
    case = drive(swf_engine, open_case(swf_engine, "complaint"), to="feedback_given")
    with assert_refused(GuardFailed, rule="C11") as refusal:
        swf_engine.fire(case, "close", actor=Actor("wang", "agent"),
                        data={"satisfaction": "不滿意"})
    assert refusal.error is not None and refusal.error.guard == "customer_not_dissatisfied"


def test_assert_refused_fails_on_the_wrong_rule_or_no_refusal(swf_engine):
    case = drive(swf_engine, open_case(swf_engine, "complaint"), to="feedback_given")
    with pytest.raises(AssertionError, match="not 'C8'"), \
            assert_refused(GuardFailed, rule="C8"):
        swf_engine.fire(case, "close", actor=Actor("wang", "agent"),
                        data={"satisfaction": "不滿意"})
    with pytest.raises(AssertionError, match="nothing was refused"), \
            assert_refused(GuardFailed, rule="C11"):
        pass
    with pytest.raises(AssertionError, match="expected GuardFailed"), \
            assert_refused(GuardFailed):
        swf_engine.fire(case, "close", actor=Actor("x", "customer"),
                        data={"satisfaction": "滿意"})
    with assert_refused(RoleNotPermitted):
        swf_engine.fire(drive(swf_engine, open_case(swf_engine, "complaint"), to="classified"),
                        "confirm_classification", actor=Actor("a", "agent"),
                        data={"supervisor": "zhao"})


def test_assert_complies_names_the_violated_rule_and_event():
    events = [e for e in _archived_complaint() if e.trigger != "give_feedback"]
    events = [e.__class__(**{**{f: getattr(e, f) for f in (
        "case_id", "at", "kind", "actor_id", "role", "trigger", "source", "dest", "data",
        "comment")}, "seq": n}) for n, e in enumerate(events, 1)]
    close = next(e.seq for e in events if e.trigger == "close")
    with pytest.raises(AssertionError, match=rf"C8: violated at #{close}\b"):
        assert_complies(events, [r for r in builtin_catalogue() if r.id == "C8"])


def _archived_complaint():
    from servicewf import FrozenClock, MemoryStore
    from servicewf.processes.stack import builtin_stack
    from servicewf.testing.plugin import START

    engine = builtin_stack(MemoryStore(), FrozenClock(START)).engine
    case = drive(engine, open_case(engine, "complaint"), to="archived")
    return engine.history(case.id)


def test_paths_prove_properties_of_every_path():
    graph = paths(COMPLAINT)
    # C8 for every path: no way from received to closed avoids give_feedback
    assert graph.must_pass("received", "closed", "give_feedback")
    assert graph.must_pass("received", "closed", "feedback_given")
    assert not graph.must_pass("received", "closed", "escalate")
    assert graph.exists("received", "archived", avoiding={"reopen"})
    assert not graph.exists("received", "archived", avoiding={"resolved"})
    assert not graph.must_pass("invalid", "closed", "resolve")  # no path at all
    shortest = graph.shortest("received", "acknowledged")
    assert [t for t, _ in shortest] == ["record", "classify", "confirm_classification",
                                        "acknowledge"]
    every = list(graph.all_paths("received", "closed", max_length=12))
    assert every and all("give_feedback" in [t for t, _ in p] for p in every)


@settings(max_examples=30, deadline=None)
@given(command_sequences(COMPLAINT, max_length=12))
def test_command_sequences_follow_the_graph(triggers):
    state = COMPLAINT.initial.id
    for t in triggers:
        options = COMPLAINT.compiled.options(t, state)
        assert options, (t, state)
        state = options[0].target(state)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(COMPLAINT, to="archived"))
def test_histories_are_compliant_and_end_where_asked(events):
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].dest == "archived"
    report = check([events], [r for r in builtin_catalogue()
                              if "complaint" in r.processes and not r.id.startswith("T:")],
                   process="complaint", registry=REGISTRY)
    assert not report.violated


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(histories(COMPLAINT, to="archived",
                 violate=Precedence(id="C6", source="confirm_classification",
                                    target="acknowledge")))
def test_histories_mutated_to_break_a_rule_break_it(events):
    report = check([events], [Precedence(id="C6", source="confirm_classification",
                                         target="acknowledge")])
    assert report.violated_rules() == {"C6"}


@settings(max_examples=20, deadline=None)
@given(calendars())
def test_calendars_are_business_calendars_with_working_time(calendar):
    assert isinstance(calendar, BusinessCalendar)
    assert calendar.timezone in ("Asia/Shanghai", "UTC", "Europe/London")
    assert calendar.working_us(0, 14 * 86_400 * 1_000_000) > 0  # two weeks hold working time


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_payloads_from_the_schema_of_a_transition_are_accepted_as_data(data):
    schema = payload_schema(COMPLAINT, "record")
    assert schema["required"] == ["first_receiver", "tracker"]
    payload = data.draw(payloads(schema))
    assert set(payload) == {"first_receiver", "tracker"}
    assert all(v.strip() for v in payload.values())


def test_drive_re_plans_an_overdue_improvement_action_with_the_sample_data(swf_engine,
                                                                           swf_clock):
    """The re_plan sample brings a cause analysis: an action re-planned after its deadline
    (the engine's cause_analysis_if_overdue guard, C13's second half) is driven and complies."""
    case = drive(swf_engine, open_case(swf_engine, "improvement_action"), to="not_effective")
    swf_clock.advance(days=30)  # past the plan's deadline ({soon}: a week ahead)
    case = drive(swf_engine, case, to="planned")
    replan = swf_engine.history(case.id)[-1]
    assert replan.trigger == "re_plan" and replan.data["cause_analysis"].strip()
    assert_complies(case, engine=swf_engine)
