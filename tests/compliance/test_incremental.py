"""The incremental form of every rule (servicewf.compliance.incremental) against the batch
checker: folded one event (or a few) at a time, with the case's completeness and the instant
changing between commands, every folder's verdict and outcome equal ``rule.evaluate`` on the
same history; and the monitor's per-case state is only ever the state of committed writes."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.compliance import (
    Absence,
    AllOf,
    AlternatePrecedence,
    AlternateResponse,
    ChainPrecedence,
    ChainResponse,
    ChainSuccession,
    Coexistence,
    ComplianceMonitor,
    Condition,
    DataRule,
    Duration,
    Environment,
    Existence,
    HandlerTier,
    History,
    Init,
    NotCoexistence,
    NotSuccession,
    Overdue,
    Precedence,
    RespondedExistence,
    Response,
    Retention,
    RoleRule,
    Succession,
    Verdict,
    Window,
    Within,
    builtin_catalogue,
    builtin_environment,
    check,
)
from servicewf.compliance.trace import Trace, activity
from servicewf.errors import CommandRefused, StaleVersion
from servicewf.events import Event, EventKind
from servicewf.processes.stack import builtin_stack
from servicewf.storage.base import WriteSet
from servicewf.testing import open_case, paths, sample_data

T0 = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")  # a Monday
ACTS = ("a", "b", "c", "open", "archive", "purge")
PAIRS = (Response, Precedence, Succession, ChainResponse, ChainPrecedence, ChainSuccession,
         RespondedExistence, Coexistence, NotCoexistence, NotSuccession, AlternateResponse,
         AlternatePrecedence)
WHEN = (Condition("x", "present"),)


def _rules():
    out = []
    for k, cls in enumerate(PAIRS):
        out.append(cls(id=f"p{k}", source="a", target="b"))
        out.append(cls(id=f"q{k}", source=("a", "c"), target="b", when=WHEN))
        out.append(cls(id=f"s{k}", source="a", target="a"))  # the same activity both sides
    out += [
        Existence(id="e1", activity="a"),
        Existence(id="e2", activity="b", at_least=2, at_most=3),
        Existence(id="e3", activity="c", when=WHEN),
        Absence(id="n0", activity="c"),
        Absence(id="n1", activity=("a", "b"), at_most=2, when=WHEN),
        Init(id="i", activity="open"),
        RoleRule(id="role", activity="b", roles=("supervisor",)),
        RoleRule(id="role2", activity=("a", "c"), roles=("agent",), when=WHEN),
        DataRule(id="d1", activity="b", require=("x",)),
        DataRule(id="d2", activity=("a", "c"), require=("y",), at="event"),
        DataRule(id="d3", activity="c", check=(Condition("x", "in", ["1", "2"]),),
                 when=(Condition("y", "present", at="event"),)),
        DataRule(id="d4", activity=("b", "c"), require=("y",),
                 check=(Condition("x", "absent", at="event"), Condition("due", "present"))),
        DataRule(id="d5", activity="a", check=(Condition("y", "absent"),)),
        HandlerTier(id="tier", activity=("b", "c"), tiers=("agent", "supervisor", "manager"),
                    level_tiers={"low": "agent", "high": "supervisor"}),
        Within(id="w1", start="a", stop="b", limit=Duration(90, "minutes")),
        Within(id="w2", start="a", stop="b", limit=Duration(2, "business_hours"),
               calendar="office", pause="c", resume="open"),
        Within(id="w3", start="open", stop="b", limit=Duration(1, "working_days"),
               calendar="office"),
        Window(id="win", start="a", stop="b", earliest=1, latest=2, calendar="office"),
        Overdue(id="od", activity=("b", "c"), require="y", deadline="due", awaiting="a"),
        Overdue(id="od2", activity="b", require=("x", "y"), deadline="due"),
        Retention(id="ret", field="keep", years=3),
        Retention(id="ret2", field="keep", years=1, required=True),
    ]
    out.append(AllOf(id="all1", parts=(Precedence(id="x", source="a", target="b"),
                                       DataRule(id="x", activity="b", require=("x",)))))
    out.append(AllOf(id="all2", parts=(Response(id="x", source="a", target="b"),
                                       Within(id="x", start="a", stop="b",
                                              limit=Duration(2, "hours")),
                                       AllOf(id="x", parts=(
                                           RoleRule(id="x", activity="c", roles=("agent",)),
                                           Overdue(id="x", activity="c", require="x",
                                                   deadline="due", awaiting="b"),
                                           ChainResponse(id="x", source="c", target="a"))))))
    return out


RULES = _rules()
ENV = Environment()


@st.composite
def steps(draw):
    """A history and how it arrives: events in batches (one command may write several), the
    case complete or not and the instant of the verdict after each batch."""
    n = draw(st.integers(0, 12))
    events = []
    at = T0
    for i in range(1, n + 1):
        at = at.add(minutes=draw(st.sampled_from([0, 1, 20, 45, 200, 1500, 60 * 24 * 400])))
        data = {}
        if draw(st.booleans()):
            data["x"] = draw(st.sampled_from(["1", "2", "3", " "]))
        if draw(st.booleans()):
            data["y"] = "y"
        if draw(st.integers(0, 4)) == 0:
            data["level"] = draw(st.sampled_from(["low", "high", "?"]))
        if draw(st.integers(0, 4)) == 0:
            data["tier"] = draw(st.sampled_from(["supervisor", "manager"]))
        if draw(st.integers(0, 3)) == 0:
            data["due"] = draw(st.sampled_from(
                [T0.add(hours=h).isoformat() for h in (1, 5, 30, 24 * 500)] + ["whenever"]))
        if draw(st.integers(0, 3)) == 0:
            data["keep"] = draw(st.sampled_from(["2031-01-01", "2026-06-01", "soon"]))
        act = draw(st.sampled_from(ACTS))
        kind = EventKind.OPENED if act == "open" and draw(st.booleans()) else \
            EventKind.TRANSITION
        role = draw(st.sampled_from(["agent", "supervisor", "manager"]))
        trigger = None if kind is EventKind.OPENED else act
        events.append(Event("c", i, at, kind, "u", role, trigger, "s0", "s1", data))
    cuts = sorted(set(draw(st.lists(st.integers(1, max(n, 1)), max_size=n))) | {n}) if n else []
    shape = [(c, draw(st.booleans()), draw(st.integers(0, 60 * 24 * 3))) for c in cuts]
    return events, shape


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=steps())
def test_every_rule_folded_incrementally_equals_the_batch_checker(case):
    events, shape = case
    folders = [r.folder() for r in RULES]
    trace = Trace("c", None, [], complete=False, as_of_us=None)
    done = 0
    for cut, complete, later in shape:
        start = len(trace)
        trace.extend(events[done:cut])
        done = cut
        trace.complete = complete
        as_of = events[cut - 1].at.add(minutes=later)
        trace.as_of_us = int(as_of.timestamp() * 1_000_000)
        fresh = Trace("c", None, events[:cut], complete=complete, as_of_us=trace.as_of_us)
        assert [activity(e) for e in events[:cut]] == trace.acts
        for k, (rule, f) in enumerate(zip(RULES, folders, strict=True)):
            expected = rule.evaluate(fresh, ENV)
            if k % 2 == cut % 2:  # the monitor's one call, or its two parts
                assert f.step(trace, start, ENV) is expected.verdict, (rule.id, expected)
            else:
                f.fold(trace, start, ENV)
            assert f.verdict(trace, ENV) is expected.verdict, (rule.id, expected)
            assert f.outcome(trace, ENV) == expected, rule.id


class _Finals:
    """A registry stand-in for the monitor: every process's one final state is ``done``."""

    def get(self, process, version=None):
        return SimpleNamespace(states=[SimpleNamespace(id="open", final=False),
                                       SimpleNamespace(id="done", final=True)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=steps())
def test_the_monitor_fed_command_by_command_equals_the_batch_checker(case):
    """The monitor's own paths (one new event on an open case, on a case that completes or
    reopens with it, several events at once, the first write), with every template in the
    catalogue: after each write its verdicts equal every rule's batch evaluation as of the
    write, and it alerts exactly on the rules whose verdict turned possibly violated or
    violated, with their outcome."""
    events, shape = case
    env = Environment(registry=_Finals())
    alerts = []
    monitor = ComplianceMonitor(RULES, env=env, on_alert=alerts.append)
    before = {}
    done = 0
    for cut, complete, later in shape:
        last = events[cut - 1].at
        updated = last if later % 2 else last.add(minutes=later)  # as of the command or later
        state = "done" if complete else "open"
        write = WriteSet(Case("c", "p", 1, state, cut, events[0].at, updated),
                         tuple(events[done:cut]), done)
        alerts.clear()
        monitor(write)
        done = cut
        fresh = Trace("c", "p", events[:cut], complete=complete, as_of_us=epoch_us(updated))
        expected = {r.id: r.evaluate(fresh, env) for r in RULES}
        assert monitor.verdicts("c") == expected
        turned = {k: o for k, o in expected.items() if o.verdict is not before.get(k, o).verdict
                  or k not in before}
        turned = {k: o for k, o in turned.items()
                  if o.verdict in (Verdict.POSSIBLY_VIOLATED, Verdict.VIOLATED)}
        assert {a.outcome.rule: a.outcome for a in alerts} == turned
        assert len(alerts) == len(turned)
        assert all(a.seq == cut and a.case_id == "c" for a in alerts)
        before = expected


# --- the monitor in an engine: every built-in rule, SLA clocks, time passing ----------------

ACTORS = (Actor("wang", "agent"), Actor("zhao", "supervisor"), Actor("boss", "manager"))


def _walk(engine, clock, case, draw, n):
    definition = engine.registry.get(case.process)
    graph = paths(definition)
    for _ in range(n):
        edges = [t for t, _ in graph.edges(case.state)]
        if not edges:
            return case
        trigger = draw(st.sampled_from(edges))
        clock.advance(minutes=draw(st.sampled_from([1, 30, 60 * 7, 60 * 30, 60 * 24 * 9])))
        data = sample_data(definition, trigger, clock.now())
        for who in ACTORS:
            try:
                case = engine.fire(case, trigger, actor=who, data=data)
                break
            except CommandRefused:
                continue
        yield case


def _batch(engine, case_id, env):
    case = engine.get(case_id)
    report = check([History(case_id, case.process, engine.history(case_id))],
                   builtin_catalogue(), env=env, as_of=case.updated_at)
    return {o.rule: o for o in report.outcomes}


@pytest.mark.parametrize("process", ["complaint", "service_request", "after_sales",
                                     "improvement_action", "service_problem", "incident"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_monitor_after_every_command_equals_the_batch_checker(process, data):
    clock = FrozenClock(T0)
    engine = builtin_stack(MemoryStore(), clock).engine
    env = builtin_environment()
    monitor = ComplianceMonitor(builtin_catalogue(), env=env).attach(engine)
    case = open_case(engine, process)
    assert monitor.verdicts(case.id) == _batch(engine, case.id, env)
    for now in _walk(engine, clock, case, data.draw, 12):
        assert monitor.verdicts(now.id) == _batch(engine, now.id, env)


@pytest.mark.parametrize("process", ["complaint", "service_request", "incident"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_monitor_alerts_in_an_engine_exactly_when_a_verdict_turns(process, data):
    """SLA clock rules judged from the entries that moved (or every entry, when the case
    completes), data and precedence rules from the event's tests, time passing deadlines:
    after every command the monitor's verdicts equal the batch checker's and it alerted on
    exactly the rules whose verdict turned possibly violated or violated."""
    clock = FrozenClock(T0)
    engine = builtin_stack(MemoryStore(), clock).engine
    env = builtin_environment()
    alerts = []
    monitor = ComplianceMonitor(builtin_catalogue(), env=env, on_alert=alerts.append)
    monitor.attach(engine)
    case = open_case(engine, process)
    before = _batch(engine, case.id, env)
    alerts.clear()
    for now in _walk(engine, clock, case, data.draw, 14):
        expected = _batch(engine, now.id, env)
        assert monitor.verdicts(now.id) == expected
        turned = {k: o for k, o in expected.items()
                  if o.verdict is not before[k].verdict
                  and o.verdict in (Verdict.POSSIBLY_VIOLATED, Verdict.VIOLATED)}
        assert {a.outcome.rule: a.outcome for a in alerts} == turned
        assert len(alerts) == len(turned)
        alerts.clear()
        before = expected


# --- the cache only ever holds committed writes ----------------------------------------------


def _complaint_engine(store=None, clock=None):
    clock = clock or FrozenClock(T0)
    return builtin_stack(store if store is not None else MemoryStore(), clock).engine, clock


def _fire(engine, case, trigger, clock):
    definition = engine.registry.get(case.process)
    who = ACTORS[1] if trigger == "confirm_classification" else ACTORS[0]
    return engine.fire(case, trigger, actor=who,
                       data=sample_data(definition, trigger, clock.now()))


def test_a_refused_command_leaves_the_monitor_as_it_was():
    engine, clock = _complaint_engine()
    env = builtin_environment()
    monitor = ComplianceMonitor(builtin_catalogue(), env=env).attach(engine)
    case = _fire(engine, open_case(engine, "complaint"), "record", clock)
    before = monitor.verdicts(case.id)
    with pytest.raises(CommandRefused):  # C11: no closing a complaint just recorded
        engine.fire(case, "close", actor=ACTORS[0], data={"feedback": "x"})
    assert monitor.verdicts(case.id) == before == _batch(engine, case.id, env)
    case = _fire(engine, case, "classify", clock)
    assert monitor.verdicts(case.id) == _batch(engine, case.id, env)


def test_a_stale_write_never_reaches_the_monitor_and_another_writer_makes_it_reload():
    store = MemoryStore()
    clock = FrozenClock(T0)
    mine, _ = _complaint_engine(store, clock)
    theirs, _ = _complaint_engine(store, clock)  # a second process on the same store
    env = builtin_environment()
    monitor = ComplianceMonitor(builtin_catalogue(), env=env).attach(mine)
    case = _fire(mine, open_case(mine, "complaint"), "record", clock)
    old = case
    # the other writer moves the case on: this monitor does not see it
    _fire(theirs, theirs.get(case.id), "classify", clock)
    with pytest.raises(StaleVersion):  # planned against the old version: refused
        _fire(mine, old, "classify", clock)
    assert monitor.verdicts(case.id) == monitor.verdicts(old.id)
    assert monitor.verdicts(case.id)["C6"] is not None
    # the next command here is planned against a version the monitor never folded: it
    # reads the history from the store, and agrees with the batch checker again
    case = _fire(mine, mine.get(case.id), "confirm_classification", clock)
    assert monitor.verdicts(case.id) == _batch(mine, case.id, env)
    assert [e.seq for e in monitor._cases[case.id].trace.events] == list(range(1, 5))


def test_forget_drops_a_cases_state_and_the_next_command_reloads_it():
    engine, clock = _complaint_engine()
    env = builtin_environment()
    monitor = ComplianceMonitor(builtin_catalogue(), env=env).attach(engine)
    case = _fire(engine, open_case(engine, "complaint"), "record", clock)
    monitor.forget(case.id)
    assert monitor.verdicts(case.id) == {}
    case = _fire(engine, case, "classify", clock)
    assert monitor.verdicts(case.id) == _batch(engine, case.id, env)
    monitor.forget()
    assert monitor.verdicts(case.id) == {}


def test_a_write_of_a_version_the_monitor_did_not_fold_is_not_folded_onto_its_state():
    """A transaction around a command rolled back after the observer ran, and the case moved
    on another way: the write is planned against a version the monitor's state does not
    hold, so the monitor reads the history instead of folding onto what never committed."""
    store = MemoryStore()
    clock = FrozenClock(T0)
    engine = Engine(store, clock, builtin_stack(MemoryStore(), clock).engine.registry)
    env = builtin_environment()
    monitor = ComplianceMonitor(builtin_catalogue(), env=env).attach(engine)
    case = open_case(engine, "complaint")
    write = engine.plan_fire(case, "record", actor=ACTORS[0], data=sample_data(
        engine.registry.get("complaint"), "record", clock.now()))
    monitor(write)  # observed, then "rolled back": the store never got it
    assert monitor._cases[case.id].version == 2
    clock.advance(minutes=5)
    case = engine.fire(case, "record", actor=ACTORS[0],
                       data={**sample_data(engine.registry.get("complaint"), "record",
                                           clock.now()), "tracker": "li"})
    assert monitor.verdicts(case.id) == _batch(engine, case.id, env)
    assert monitor._cases[case.id].trace.events[-1].data["tracker"] == "li"
