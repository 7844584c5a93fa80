"""Second-generation SLA policies (issue #15): plain data, data conditions, goal-change modes,
measure-only clocks, cycle records, several policies per process, per-case calendars."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.calendar import BusinessCalendar, china_office
from servicewf.errors import CommandRefused, GoalUndefined, InvalidPolicy, InvalidPolicyData
from servicewf.sla import (
    GOAL_CHANGES,
    POLICY_SCHEMA,
    SLA,
    WORKING_DAY_CONVENTIONS,
    BoundPolicy,
    BusinessHours,
    CaseCalendar,
    ClockHours,
    ClockSpec,
    ExtensionRule,
    FieldCondition,
    GoalTable,
    On,
    Policy,
    Sweeper,
    Warn,
    WorkingDays,
    policy_from_dict,
    policy_to_dict,
    recompute,
)

from .test_oracle import DESK

CALS = {
    "office": china_office(),
    "paris": BusinessCalendar.from_dict({
        "timezone": "Europe/Paris",
        "weekly": {d: [["09:00", "12:30"], ["13:30", "17:00"]]
                   for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "FR"}}),
}
STATES = ["new", "triage", "working", "waiting", "review", "done", "closed", "void"]
TRIGGERS = ["accept", "route", "start", "wait", "answer", "hold", "release", "reprioritize",
            "postpone", "submit", "reject", "approve", "reopen", "close", "note", "void"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
TIERS = ["L1", "L2", "L3"]
REGIONS = ["cn", "eu"]
FIELD_VALUES = {"priority": PRIORITIES, "tier": TIERS, "region": REGIONS}
AGENT = Actor("a1", "agent")
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- strategies ----------------------------------------------------------------------------

plain_targets = st.one_of(
    st.integers(1, 40).map(lambda q: BusinessHours(minutes=15 * q)),
    st.integers(1, 96).map(lambda h: ClockHours(h)),
    st.builds(WorkingDays, st.integers(0, 4), st.none(), st.sampled_from(WORKING_DAY_CONVENTIONS)),
)
business_targets = st.one_of(
    st.integers(1, 40).map(lambda q: BusinessHours(minutes=15 * q)),
    st.builds(WorkingDays, st.integers(0, 4), st.none(), st.sampled_from(WORKING_DAY_CONVENTIONS)),
)


@st.composite
def goal_tables(draw: st.DrawFn) -> GoalTable:
    rows = {p: draw(business_targets) for p in PRIORITIES}
    return GoalTable("priority", rows, domain=tuple(PRIORITIES),
                     when_missing=draw(st.none() | business_targets),
                     aliases={"urgent": "P1"} if draw(st.booleans()) else {})


@st.composite
def field_conditions(draw: st.DrawFn) -> FieldCondition:
    field = draw(st.sampled_from(sorted(FIELD_VALUES)))
    values = FIELD_VALUES[field]
    kind = draw(st.sampled_from(["equals", "in", "changed", "in_changed"]))
    if kind == "equals":
        return FieldCondition(field, equals=draw(st.sampled_from(values)))
    if kind == "changed":
        return FieldCondition(field, changed=True)
    chosen = tuple(draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)))
    return FieldCondition(field, in_=chosen, changed=kind == "in_changed")


@st.composite
def conditions(draw: st.DrawFn, *, data: bool = True) -> On:
    parts: dict[str, Any] = {}
    while not parts:
        if draw(st.booleans()):
            parts["enter"] = tuple(draw(st.lists(st.sampled_from(STATES), max_size=2,
                                                 unique=True)))
        if draw(st.booleans()):
            parts["trigger"] = tuple(draw(st.lists(st.sampled_from(TRIGGERS), max_size=2,
                                                   unique=True)))
        if draw(st.integers(0, 3)) == 0:
            parts["leave"] = (draw(st.sampled_from(STATES)),)
        if data and draw(st.booleans()):
            parts["data"] = tuple(draw(st.lists(field_conditions(), min_size=1, max_size=2)))
        parts = {k: v for k, v in parts.items() if v}
    return On(**parts)


@st.composite
def clock_specs(draw: st.DrawFn, name: str) -> ClockSpec:
    target = draw(st.one_of(st.none(), plain_targets, goal_tables()))
    calendar = draw(st.sampled_from(["office", "24x7", "case", "paris"]))
    pause = draw(st.booleans())
    warn = draw(st.one_of(st.none(), st.just(Warn()), st.builds(
        Warn, st.none() | st.floats(0.1, 0.9), st.just(dt.timedelta(minutes=30)),
        st.booleans())))
    return ClockSpec(
        name, start=draw(conditions()), stop=draw(conditions()), target=target,
        calendar=calendar,
        pause_in=tuple(draw(st.lists(st.sampled_from(["waiting", "review"]), max_size=1))),
        pause=On(trigger="hold") if pause else None,
        resume=On(trigger="release") if pause else None,
        cancel=draw(st.none() | st.just(On(enter="void"))),
        reopen=draw(st.none() | st.just(On(trigger="reopen"))),
        warn=warn, escalate=draw(st.booleans()),
        extension=draw(st.none() | st.just(ExtensionRule(max_count=2))),
        goal_change=draw(st.sampled_from(GOAL_CHANGES)),
        description=draw(st.sampled_from(["", "an OLA clock"])),
    )


@st.composite
def policies(draw: st.DrawFn, index: int = 0) -> Policy:
    n = draw(st.integers(1, 3))
    clocks = [draw(clock_specs(f"p{index}_c{j}")) for j in range(n)]
    choice = CaseCalendar("region", {"cn": "office", "eu": "paris"},
                          draw(st.sampled_from([None, "office"])))
    return Policy(f"desk.p{index}", "desk", clocks, case_calendar=choice,
                  tier_from=draw(st.none() | st.just(("tier", {"L1": "agent", "L2": "supervisor",
                                                               "L3": "manager"}))),
                  extend_triggers={"postpone": clocks[0].name} if clocks[0].extension else {},
                  description=draw(st.sampled_from(["", "customer SLA"])))


@st.composite
def policy_sets(draw: st.DrawFn) -> list[Policy]:
    count = draw(st.integers(1, 3))
    out = [draw(policies(i)) for i in range(count)]
    # one extension trigger per process: keep it on the first policy that wants it
    seen = False
    fixed = []
    for p in out:
        if p.extend_triggers and seen:
            p = Policy(p.name, p.process, p.clocks, case_calendar=p.case_calendar,
                       tier_from=p.tier_from, description=p.description)
        seen = seen or bool(p.extend_triggers)
        fixed.append(p)
    return fixed


# --- plain data ----------------------------------------------------------------------------


@SETTINGS
@given(policies())
def test_a_policy_round_trips_through_plain_data(policy: Policy) -> None:
    data = policy_to_dict(policy)
    text = json.dumps(data, ensure_ascii=False)
    jsonschema.validate(json.loads(text), POLICY_SCHEMA)
    again = policy_from_dict(json.loads(text))
    assert again == policy
    assert policy_to_dict(again) == data


def test_every_mistake_is_listed_at_once_with_its_path() -> None:
    data = policy_to_dict(Policy("p", "desk", [
        ClockSpec("a", On(enter="new"), On(enter="done"), BusinessHours(2)),
        ClockSpec("b", On(enter="new"), On(enter="done"), WorkingDays(2)),
        ClockSpec("c", On(enter="new"), On(enter="done"), None),
    ]))
    data["clocks"][0]["target"] = {"kind": "business_hours", "hours": 0}  # not positive
    data["clocks"][1]["goal_change"] = "sometimes"  # not a mode
    data["clocks"][2]["stop"] = {}  # no stop condition
    data["ladder"] = []
    with pytest.raises(InvalidPolicyData) as info:
        policy_from_dict(data)
    problems = info.value.problems
    assert any(p.startswith("clocks/1/goal_change") for p in problems), problems
    assert any(p.startswith("ladder") for p in problems), problems
    # the schema problems come first; fix them and the semantic ones are listed together
    data["clocks"][1]["goal_change"] = "keep"
    data["ladder"] = ["agent"]
    with pytest.raises(InvalidPolicyData) as info:
        policy_from_dict(data)
    problems = info.value.problems
    assert any(p.startswith("clocks/0/target") and "positive" in p for p in problems), problems
    assert any(p.startswith("clocks/2") and "no stop condition" in p for p in problems)
    assert len(problems) == 2


@pytest.mark.parametrize("bad", [None, 3, "x", [], {"name": 5}, {"name": "p", "process": "d",
                                                                  "clocks": [{"name": "a"}]}])
def test_any_malformed_input_is_refused_with_invalid_policy_data(bad: Any) -> None:
    with pytest.raises(InvalidPolicyData):
        policy_from_dict(bad)


def test_a_policy_with_python_behaviour_is_not_dumped() -> None:
    class Custom(Policy):
        def select_target(self, clock, data):  # type: ignore[no-untyped-def]
            return BusinessHours(1)

    p = Custom("c", "desk", [ClockSpec("a", On(enter="new"), On(enter="done"), None)])
    with pytest.raises(InvalidPolicy, match="select_target"):
        policy_to_dict(p)


# --- recompute equals the incremental state -------------------------------------------------

steps = st.lists(st.tuples(
    st.sampled_from(["fire", "fire", "fire", "sweep"]), st.integers(0, 10_000),
    st.integers(0, 30 * 60), st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)),
                                             st.integers(0, 3), max_size=2)),
    min_size=5, max_size=30)


def _walk(policy_list: list[Policy], start: pendulum.DateTime,
          plan: list[tuple[str, int, int, dict[str, int]]],
          intake: dict[str, str]) -> tuple[Engine, SLA, str]:
    sla = SLA(policy_list, CALS)
    clock = FrozenClock(start)
    engine = Engine(MemoryStore(), clock, [DESK], processors=[sla])
    case = engine.open("desk", actor=AGENT, data=intake)
    sweeper = Sweeper(engine, sla, owner="w")
    for kind, pick, gap, fields in plan:
        clock.advance(minutes=gap)
        if kind == "sweep":
            sweeper.run(clock.now())
            continue
        current = engine.get(case.id)
        allowed = [o.trigger for o in engine.available(current, AGENT) if o.allowed]
        allowed = [t for t in allowed if t != "postpone"]
        if not allowed:
            break
        trig = allowed[pick % len(allowed)]
        data: dict[str, Any] = {f: FIELD_VALUES[f][i % len(FIELD_VALUES[f])]
                                for f, i in fields.items()}
        if trig in ("accept", "reprioritize"):
            data.setdefault("priority", PRIORITIES[pick % 4])
        if trig == "route":
            data["fast"] = pick % 2 == 0
        try:
            engine.fire(current, trig, actor=AGENT, data=data)
        except CommandRefused:
            continue  # a guard said no: the walk goes on
    return engine, sla, case.id


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(policy_sets(), st.integers(0, 365 * 24 * 60), steps,
       st.sampled_from(REGIONS), st.sampled_from([*PRIORITIES, None]))
def test_recompute_equals_incremental_for_random_policies(
    policy_list: list[Policy], minute: int, plan: Any, region: str, priority: str | None,
) -> None:
    start = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai").add(minutes=minute)
    intake: dict[str, str] = {"region": region}
    if priority is not None:
        intake["priority"] = priority
    engine, sla, case_id = _walk(policy_list, start, plan, intake)
    history = engine.history(case_id)
    stored = sla.states(engine.get(case_id))
    bound = sla.bind(DESK)
    assert bound is not None
    assert recompute(bound, None, history) == stored
    # ...and a fresh binding of the same policies folds the same.
    fresh = BoundPolicy(sla.policies["desk"], DESK, CALS)
    assert fresh.fold(history) == stored
    # Every clock of every policy is there, and every cycle record adds up in both terms.
    assert set(stored.names()) == {c.name for p in policy_list for c in p.clocks}
    for s in stored.clocks:
        for cyc in s.past:
            if cyc.stopped is None:
                continue
            assert cyc.elapsed_calendar is not None and cyc.elapsed_business is not None
            assert cyc.elapsed_calendar + cyc.paused_calendar == cyc.stopped - cyc.started
            assert cyc.elapsed_calendar >= 0 and cyc.paused_calendar >= 0
            assert cyc.elapsed_business >= 0 and cyc.paused_business >= 0
        if s.calendar is not None:  # the case's calendar when the cycle started
            assert s.calendar in ("office", "paris")


# --- the new clock behaviours, one by one ----------------------------------------------------

T0 = pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai")  # a Monday


def _fold(policy: Policy, events: list[tuple[int, str, dict[str, Any]]],
          intake: dict[str, Any] | None = None) -> Any:
    """Fire ``(minutes after T0, trigger, data)`` on a desk case; the stored clocks."""
    sla = SLA([policy], CALS)
    clock = FrozenClock(T0)
    engine = Engine(MemoryStore(), clock, [DESK], processors=[sla])
    case = engine.open("desk", actor=AGENT, data=intake or {})
    for minutes, trig, data in events:
        clock.set(T0.add(minutes=minutes))
        case = engine.fire(engine.get(case.id), trig, actor=AGENT, data=data)
    history = engine.history(case.id)
    assert recompute(policy, CALS, history, definition=DESK) == sla.states(case)
    return sla.states(case), engine, sla, case


def test_data_conditions_start_and_stop_a_clock() -> None:
    raised = FieldCondition("priority", in_=("P1",), changed=True)
    policy = Policy("d", "desk", [ClockSpec(
        "major", start=On(data=raised), stop=On(data=FieldCondition("priority",
                                                                     in_=("P3", "P4"))),
        target=ClockHours(4), warn=None)])
    states, *_ = _fold(policy, [
        (10, "accept", {"priority": "P2"}),          # not P1: nothing
        (20, "reprioritize", {"priority": "P1"}),    # raised to P1: starts
        (30, "reprioritize", {"priority": "P1"}),    # unchanged: no new start
        (90, "reprioritize", {"priority": "P3"}),    # lowered: stops
    ])
    major = states["major"]
    assert major.cycle == 1 and major.status == "stopped" and major.outcome == "met"
    assert major.started == T0.add(minutes=20).int_timestamp * 1_000_000
    assert major.stopped == T0.add(minutes=90).int_timestamp * 1_000_000


GOALS = GoalTable("priority", {"P1": ClockHours(2), "P2": ClockHours(8), "P3": ClockHours(24),
                               "P4": ClockHours(48)}, domain=tuple(PRIORITIES))


def _resolve(mode: str) -> Policy:
    return Policy("g", "desk", [ClockSpec(
        "resolve", start=On(enter="new"), stop=On(enter="done"), target=GOALS,
        pause=On(trigger="hold"), resume=On(trigger="release"), warn=None,
        goal_change=mode)])


def _us(minutes: int) -> int:
    return (T0.int_timestamp + minutes * 60) * 1_000_000


def test_goal_change_modes() -> None:
    events = [(0, "accept", {"priority": "P3"}), (60, "hold", {}), (120, "release", {}),
              (300, "reprioritize", {"priority": "P1"})]
    retro, *_ = _fold(_resolve("retroactive"), events, {"priority": "P3"})
    # re-judged from the original start: 2 h + the hour held
    assert retro["resolve"].deadline == _us(180)
    now, *_ = _fold(_resolve("switch_from_now"), events, {"priority": "P3"})
    # 2 h from the change; the pause before it no longer counts
    assert now["resolve"].deadline == _us(300 + 120)
    kept, *_ = _fold(_resolve("keep"), events, {"priority": "P3"})
    assert kept["resolve"].deadline == _us(24 * 60 + 60)
    assert kept["resolve"].target == ClockHours(24)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 600), st.sampled_from(["hold", "release", "note"])),
                max_size=6),
       st.sampled_from(PRIORITIES), st.sampled_from(PRIORITIES), st.integers(1, 900))
def test_retroactive_re_judging_equals_recomputing_with_the_new_goal_from_the_start(
    moves: list[tuple[int, str]], first: str, second: str, change_after: int,
) -> None:
    """Retroactive: the history with the goal changed mid-flight leaves the same deadline as
    the history with the new goal from the start."""
    t = 0
    events: list[tuple[int, str, dict[str, Any]]] = [(0, "accept", {"priority": first})]
    for gap, trig in moves:
        t += gap
        events.append((t, trig, {}))
    change_at = t + change_after
    changed, *_ = _fold(_resolve("retroactive"),
                        [*events, (change_at, "reprioritize", {"priority": second})],
                        {"priority": first})
    fresh, *_ = _fold(_resolve("retroactive"),
                      [(0, "accept", {"priority": second}), *events[1:],
                       (change_at, "reprioritize", {"priority": second})],
                      {"priority": second})
    assert changed["resolve"].deadline == fresh["resolve"].deadline
    assert changed["resolve"].paused == fresh["resolve"].paused


def test_a_measure_only_clock_records_cycles_without_a_verdict() -> None:
    policy = Policy("m", "desk", [ClockSpec(
        "handling", start=On(enter="working"), stop=On(leave="working"), target=None,
        calendar="office", pause=On(trigger="hold"), resume=On(trigger="release"))])
    states, engine, sla, case = _fold(policy, [
        (0, "accept", {"priority": "P2"}), (0, "start", {}),     # Mon 09:00 working
        (60, "hold", {}), (90, "release", {}),                 # 30 min held
        (180, "submit", {}),                                   # 12:00 → review
        (200, "reject", {}),                                   # back to working: cycle 2
        (24 * 60, "submit", {}),                               # Tue 09:00
    ])
    h = states["handling"]
    assert h.deadline is None and h.status == "stopped" and h.outcome == "no_goal"
    assert h.cycle == 2 and len(h.past) == 1
    first = h.past[0]
    assert (first.elapsed_calendar, first.paused_calendar) == (150 * 60_000_000,
                                                                30 * 60_000_000)
    assert (first.elapsed_business, first.paused_business) == (150 * 60_000_000,
                                                                30 * 60_000_000)
    view = sla.view(engine, case, "handling", T0.add(days=2))
    assert view.remaining is None and not view.breached


def test_a_case_calendar_is_chosen_by_a_field() -> None:
    choice = CaseCalendar("region", {"cn": "office", "eu": "paris"})
    policy = Policy("c", "desk", [ClockSpec(
        "respond", start=On(enter="new"), stop=On(enter="triage"), target=BusinessHours(2),
        calendar="case", warn=None)], case_calendar=choice)
    cn, *_ = _fold(policy, [], {"region": "cn"})
    eu, *_ = _fold(policy, [], {"region": "eu"})
    start = pendulum.instance(T0)
    assert cn["respond"].calendar == "office" and eu["respond"].calendar == "paris"
    assert cn["respond"].deadline == CALS["office"].add_us(start.int_timestamp * 10**6,
                                                           2 * 3600 * 10**6)
    assert eu["respond"].deadline == CALS["paris"].add_us(start.int_timestamp * 10**6,
                                                          2 * 3600 * 10**6)
    with pytest.raises(GoalUndefined, match="names none"):
        _fold(policy, [], {"region": "mars"})


def test_a_case_calendar_must_be_supplied_when_bound() -> None:
    choice = CaseCalendar("region", {"cn": "office", "us": "new_york"})
    policy = Policy("c", "desk", [ClockSpec(
        "respond", start=On(enter="new"), stop=On(enter="triage"), target=BusinessHours(2),
        calendar="case")], case_calendar=choice)
    with pytest.raises(InvalidPolicy, match="new_york"):
        BoundPolicy(policy, DESK, CALS)
    with pytest.raises(InvalidPolicy, match="case_calendar"):
        Policy("c", "desk", [ClockSpec("respond", On(enter="new"), On(enter="triage"),
                                       BusinessHours(2), calendar="case")])


def test_several_policies_per_process_each_keep_their_clocks() -> None:
    sla_policy = Policy("customer", "desk", [ClockSpec(
        "resolve", start=On(enter="new"), stop=On(enter="done"), target=GOALS, warn=None)],
        ladder=("agent", "supervisor"))
    ola = Policy("ola.l2", "desk", [ClockSpec(
        "l2_work", start=On(data=FieldCondition("tier", equals="L2", changed=True)),
        stop=On(data=FieldCondition("tier", changed=True), enter="done"),
        target=BusinessHours(4), calendar="office", warn=None)])
    sla = SLA([sla_policy, ola], CALS)
    clock = FrozenClock(T0)
    engine = Engine(MemoryStore(), clock, [DESK], processors=[sla])
    case = engine.open("desk", actor=AGENT, data={"priority": "P2"})
    clock.set(T0.add(minutes=30))
    case = engine.fire(case, "accept", actor=AGENT, data={"priority": "P2", "tier": "L2"})
    clock.set(T0.add(minutes=90))
    case = engine.fire(case, "note", actor=AGENT, data={"tier": "L3"})
    states = sla.states(case)
    assert states.names() == ("resolve", "l2_work")
    assert states["resolve"].deadline == _us(8 * 60)
    assert states["l2_work"].outcome == "met" and states["l2_work"].stopped == _us(90)
    assert sla.policies["desk"].ladder == ("agent", "supervisor")  # the primary's
    with pytest.raises(InvalidPolicy, match="name the clocks of each policy apart"):
        SLA([sla_policy, sla_policy], CALS)


def test_clock_states_stored_before_the_new_fields_still_load() -> None:
    """Cases stored before cycle records and case calendars keep loading (additive fields)."""
    from servicewf.sla import ClockStates

    old = {"v": 1, "policy": "p", "state": "done", "tier": None, "clocks": [{
        "name": "resolve", "cycle": 2, "status": "stopped", "outcome": "met", "started": 5,
        "target": {"kind": "clock_hours", "hours": 2, "minutes": 0, "days": 0}, "base": 10,
        "deadline": 10, "earliest": None, "paused": 0, "pause_since": None, "held": False,
        "stopped": 9, "warned": False, "breached": False, "breach_recorded": False,
        "early_attempts": 0, "extensions": 0, "adjustments": [],
        "past": [[1, 1, 3, 4, "met", False]]}]}
    states = ClockStates.from_dict(old)
    resolve = states["resolve"]
    assert resolve.past[0].elapsed_business is None and resolve.past[0].paused_calendar == 0
    assert resolve.calendar is None and resolve.paused_business == 0 and not states.fields
    again = ClockStates.from_dict(states.to_dict())
    assert again == states


def _one_clock(**clock: Any) -> dict[str, Any]:
    base = {"name": "a", "start": {"enter": ["new"]}, "stop": {"enter": ["done"]},
            "target": {"kind": "business_hours", "hours": 2}}
    base.update(clock)
    return {"name": "p", "process": "desk", "clocks": [base]}


SCHEMA_REFUSALS = [
    # (clock fields, the path the problem names) — each is a shape the schema refuses, so
    # the problem is the schema's ("not valid under any", "is less than the minimum"...),
    # not a later build error
    ({"name": ""}, "clocks/0/name"),
    ({"target": {"kind": "clock_hours", "hours": -0.5}}, "clocks/0/target"),
    ({"target": {"kind": "clock_hours", "hours": 1, "weeks": 1}}, "clocks/0/target"),
    ({"target": {"kind": "business_hours", "hours": 1, "weeks": 1}}, "clocks/0/target"),
    ({"target": {"kind": "business_hours", "minutes": -0.5}}, "clocks/0/target"),
    ({"target": {"kind": "working_days", "n": -1}}, "clocks/0/target"),
    ({"target": {"kind": "working_days", "n": 1, "extra": 1}}, "clocks/0/target"),
    ({"target": {"kind": "working_days", "n": 1, "cutoff": "noon"}}, "clocks/0/target"),
    ({"target": {"kind": "working_days", "n": 1, "convention": "weekly"}}, "clocks/0/target"),
    ({"target": {"kind": "until"}}, "clocks/0/target"),
    ({"target": {"kind": "due_field"}}, "clocks/0/target"),
    ({"target": {"kind": "goal_table", "key": "", "goals": []}}, "clocks/0/target"),
    ({"start": {"enter": [""]}}, "clocks/0/start/enter/0"),
    ({"start": {"data": [{"field": ""}]}}, "clocks/0/start/data/0/field"),
    ({"start": {"data": [{"field": "x", "changed": "yes"}]}}, "clocks/0/start/data/0"),
    ({"start": {"when": "now"}}, "clocks/0/start"),
    ({"calendar": ""}, "clocks/0/calendar"),
    ({"early": "never"}, "clocks/0/early"),
    ({"warn": {"fraction": 0.5, "every": 1}}, "clocks/0/warn"),
    ({"extension": {"max_count": -1}}, "clocks/0/extension"),
    ({"extension": {"roles": "agent"}}, "clocks/0/extension"),
    ({"goal_change": "later"}, "clocks/0/goal_change"),
    ({"escalate": "yes"}, "clocks/0/escalate"),
]


@pytest.mark.parametrize(("fields", "path"), SCHEMA_REFUSALS)
def test_the_schema_refuses_each_malformed_part_by_its_path(fields: dict[str, Any],
                                                              path: str) -> None:
    with pytest.raises(InvalidPolicyData) as info:
        policy_from_dict(_one_clock(**fields))
    problems = info.value.problems
    assert any(p.split(":")[0].startswith(path) for p in problems), problems
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_one_clock(**fields), POLICY_SCHEMA)


@pytest.mark.parametrize("top", [
    {"ladder": []}, {"ladder": [""]}, {"escalate_triggers": [""]}, {"extend_triggers": {"x": 1}},
    {"tier_from": {"field": "tier"}}, {"case_calendar": {"choices": []}},
    {"case_calendar": {"field": "", "default": "office"}}, {"colour": "red"},
])
def test_the_schema_refuses_malformed_policy_fields(top: dict[str, Any]) -> None:
    data = {**_one_clock(), **top}
    with pytest.raises(InvalidPolicyData):
        policy_from_dict(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, POLICY_SCHEMA)


def test_a_minimal_policy_takes_the_documented_defaults() -> None:
    policy = policy_from_dict(_one_clock())
    clock = policy.clocks[0]
    assert clock.calendar == "24x7" and clock.warn == Warn() and clock.early == "violation"
    assert clock.goal_change == "retroactive" and clock.enabled and not clock.escalate
    assert clock.extension is None and clock.pause is None and clock.earliest is None
    assert policy.ladder == ("agent", "supervisor", "manager")
    assert policy.escalate_triggers == ("escalate",) and policy.case_calendar is None
    full = policy_from_dict(_one_clock(
        warn={"lead_seconds": 90}, extension={}, earliest={"kind": "clock_hours", "hours": 1},
        target={"kind": "until", "at": "2026-03-02T09:00:00+08:00"}))
    c = full.clocks[0]
    assert c.warn == Warn(0.75, dt.timedelta(seconds=90)) and c.extension == ExtensionRule()
    assert c.earliest == ClockHours(1)
    assert policy_to_dict(full)["clocks"][0]["warn"]["lead_seconds"] == 90


def test_the_schema_bounds_are_the_documented_ones() -> None:
    """The smallest values the schema allows load (a one-letter calendar name, no extension
    allowed at all, 0 working days), and a choice is a [value, calendar] pair."""
    assert policy_from_dict(_one_clock(calendar="x")).clocks[0].calendar == "x"
    rule = policy_from_dict(_one_clock(extension={"max_count": 0})).clocks[0].extension
    assert rule is not None and rule.max_count == 0
    target = policy_from_dict(_one_clock(target={"kind": "working_days", "n": 0})).clocks[0]
    assert target.target == WorkingDays(0)
    with pytest.raises(InvalidPolicyData, match="case_calendar/choices/0"):
        policy_from_dict({**_one_clock(), "case_calendar": {
            "field": "region", "choices": [["eu", "paris", "extra"]]}})
    with pytest.raises(InvalidPolicyData, match="clocks/0/target"):
        policy_from_dict(_one_clock(target={"kind": "goal_table", "key": "p",
                                            "goals": [["P1", {"kind": "clock_hours",
                                                              "hours": 1}, "x"]]}))
