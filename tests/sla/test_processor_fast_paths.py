"""The SLA processor's hand-written paths against their reference forms.

``_frozen_clock`` builds a clock's plain data by hand (reusing the previous clock's finished
cycles) rather than through ``ClockState.to_dict``, and ``_timers_for`` times only the clocks
an event touched. Here the first is compared with ``freeze_trusted(state.to_dict())`` (values,
key order, container types) and the stored timers with ``next_action`` of every clock of the
recomputed states, built through ``Timer``'s public constructor; with and without a leased
timer (the memory store's lease bookkeeping).
"""

from __future__ import annotations

import json
from typing import Any

import pendulum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import STAY, Actor, DefinitionBuilder, Engine, FrozenClock, MemoryStore
from servicewf._frozen import FrozenDict
from servicewf.clock import from_epoch_us
from servicewf.plain import freeze_trusted
from servicewf.sla import (
    SLA,
    BusinessHours,
    ClockHours,
    ClockSpec,
    ClockStates,
    GoalTable,
    On,
    Policy,
    Warn,
    WorkingDays,
    recompute,
)
from servicewf.sla.processor import TIMER_PREFIX, _frozen_clock
from servicewf.sla.state import IDLE, PAUSED, RUNNING, STOPPED, ClockState, Cycle
from servicewf.storage.base import Timer

from .helpers import CALENDARS

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

instants = st.integers(1_600_000_000_000_000, 1_900_000_000_000_000)
maybe_instant = st.none() | instants
targets = st.sampled_from([BusinessHours(2), ClockHours(days=5), WorkingDays(1)])
cycles = st.builds(Cycle, st.integers(1, 9), instants, maybe_instant, maybe_instant,
                   st.sampled_from([None, "met", "breached"]), st.booleans(),
                   maybe_instant, maybe_instant, st.integers(0, 10**9), st.integers(0, 10**9))


@st.composite
def clock_states(draw: st.DrawFn, name: str = "resolve") -> ClockState:
    return ClockState(
        name, draw(st.integers(0, 9)), draw(st.sampled_from([IDLE, RUNNING, PAUSED, STOPPED])),
        draw(st.sampled_from([None, "met", "breached"])), draw(maybe_instant),
        draw(st.none() | targets), draw(maybe_instant), draw(maybe_instant),
        draw(maybe_instant), draw(st.integers(0, 10**9)), draw(maybe_instant),
        draw(st.booleans()), draw(maybe_instant), draw(st.booleans()), draw(st.booleans()),
        draw(st.booleans()), draw(st.integers(0, 3)), draw(st.integers(0, 3)),
        tuple(draw(st.lists(st.integers(1, 10**9) | targets, max_size=3))),
        tuple(draw(st.lists(cycles, max_size=3))), draw(st.integers(0, 10**9)),
        draw(st.integers(0, 10**9)), draw(st.none() | st.just("office")))


def _shape(value: Any) -> Any:
    """The container types of a plain value, all the way down."""
    if isinstance(value, dict):
        return (type(value), [(k, _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value), [_shape(v) for v in value])
    return type(value)


def _same_plain(got: Any, state: ClockState) -> None:
    want = freeze_trusted(state.to_dict())
    assert got == want
    assert json.dumps(got) == json.dumps(want)  # the same keys in the same order
    assert _shape(got) == _shape(want)  # FrozenDict and FrozenList at every level
    assert type(got) is FrozenDict


def test_the_clock_keys_are_the_fields_of_the_state_in_order() -> None:
    assert tuple(ClockState("x").to_dict()) == ClockState._fields


@SETTINGS
@given(clock_states())
def test_a_new_clock_is_its_plain_data(state: ClockState) -> None:
    _same_plain(_frozen_clock(state, None, None), state)


@SETTINGS
@given(prev=clock_states(), data=st.data())
def test_a_changed_clock_reuses_the_cycles_it_kept(prev: ClockState, data: st.DataObject) -> None:
    # The event keeps some fields (the very objects) and changes others; its past is the
    # previous past (the same tuple), the previous past plus cycles (the same cycle objects
    # first), or another past altogether.
    fresh = data.draw(clock_states())
    keep = data.draw(st.lists(st.booleans(), min_size=len(ClockState._fields),
                              max_size=len(ClockState._fields)))
    values = [old if k else new for old, new, k in zip(prev, fresh, keep, strict=True)]
    values[0] = prev.name
    past = data.draw(st.sampled_from(["same", "grown", "other"]))
    if past == "same":
        values[ClockState._fields.index("past")] = prev.past
    elif past == "grown":
        values[ClockState._fields.index("past")] = prev.past + fresh.past
    state = ClockState(*values)
    prev_data = _frozen_clock(prev, None, None)
    got = _frozen_clock(state, prev, prev_data)
    _same_plain(got, state)
    if past == "same":
        assert got["past"] is prev_data["past"]
    elif past == "grown":
        for j in range(len(prev.past)):
            assert got["past"][j] is prev_data["past"][j]
    if state.adjustments and state.adjustments is prev.adjustments:
        # Kept adjustments are the previous plain data (a pause or a stop keeps them).
        assert got["adjustments"] is prev_data["adjustments"]


# --- the timers: a workflow of seven clocks (the fire benchmark's), random commands ----------

AGENT = Actor("a", "agent")


def _seven_clocks() -> tuple[Any, Policy]:
    b = DefinitionBuilder("ticket", 1)
    b.add_state("open", initial=True)
    for s in ("working", "waiting"):
        b.add_state(s)
    b.add_state("done", final=True)
    b.add_transition("work", ("open", "waiting"), "working")
    b.add_transition("wait", "working", "waiting")
    b.add_transition("note", ("open", "working", "waiting"), STAY)
    b.add_transition("finish", "working", "done")
    levels = GoalTable("level", {"high": BusinessHours(4), "normal": BusinessHours(16)},
                       domain=("high", "normal"), when_missing=BusinessHours(16))
    clocks = [
        ClockSpec("respond", start=On(enter="open"), stop=On(leave="open"),
                  target=BusinessHours(2), calendar="office"),
        ClockSpec("resolve", start=On(enter="open"), stop=On(enter="done"), target=levels,
                  pause_in=("waiting",), calendar="office"),
        ClockSpec("resolve_24x7", start=On(enter="open"), stop=On(enter="done"),
                  target=ClockHours(days=5)),
        ClockSpec("update", start=On(enter="working", trigger="note"),
                  stop=On(trigger="note", leave="working"), target=ClockHours(4), warn=None),
        ClockSpec("waiting_time", start=On(enter="waiting"), stop=On(leave="waiting"),
                  target=BusinessHours(24), calendar="office", warn=Warn(fraction=0.5)),
        ClockSpec("handling", start=On(enter="working"), stop=On(leave="working"),
                  target=BusinessHours(8), calendar="office"),
        ClockSpec("close", start=On(enter="open"), stop=On(enter="done"),
                  target=ClockHours(days=30), warn=None),
    ]
    return b.build(), Policy("ticket.sla", "ticket", clocks)


TICKET, TICKET_POLICY = _seven_clocks()


def _oracle(bound: Any, case_id: str, history: list[Any]) -> list[Timer]:
    """The timers from the clocks recomputed from the history, by the public constructor and
    ``next_action`` of every clock."""
    out = []
    for s in recompute(bound, None, history).clocks:
        action = bound.next_action(s.name, s)
        if action is not None:
            out.append(Timer(case_id, TIMER_PREFIX + s.name, from_epoch_us(action[1]),
                             "ticket", {"clock": s.name, "cycle": s.cycle,
                                        "action": action[0], "deadline": s.deadline}))
    return sorted(out, key=lambda t: t.name)


@SETTINGS
@given(start=st.integers(0, 365 * 24 * 60),
       steps=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 3 * 24 * 60),
                                st.sampled_from([None, "high", "normal"]),
                                st.booleans()), min_size=1, max_size=25))
def test_the_stored_timers_equal_next_action_of_every_clock(
        start: int, steps: list[tuple[int, int, str | None, bool]]) -> None:
    store = MemoryStore()
    clock = FrozenClock(pendulum.datetime(2026, 1, 5, tz="UTC").add(minutes=start))
    sla = SLA([TICKET_POLICY], CALENDARS)
    engine = Engine(store, clock, [TICKET], processors=[sla])
    bound = sla.bind(TICKET)
    assert bound is not None
    case = engine.open("ticket", actor=AGENT, data={"level": "high"})
    for pick, gap, level, lease in steps:
        clock.advance(minutes=gap)
        options = [o.trigger for o in engine.available(case, AGENT) if o.allowed]
        if not options:
            break
        trig = options[pick % len(options)]
        data = {"level": level} if level is not None and trig == "note" else None
        if lease:
            # A leased timer: the store's lease bookkeeping (not its fast path) runs.
            store.claim_due_timers(clock.now().add(days=60), owner="w",
                                   lease=pendulum.duration(minutes=5), limit=1)
        case = engine.fire(case, trig, actor=AGENT, data=data)
        held = sorted(store.timers(case.id), key=lambda t: t.name)
        assert held == _oracle(bound, case.id, engine.history(case.id))
        # From the plain data alone (no memo, every clock timed anew): the same timers.
        plain = json.loads(json.dumps(case.extensions["sla"]))
        again = sla.timers_of(bound, case.id, ClockStates.from_dict(plain))
        assert sorted(again, key=lambda t: t.name) == held



def test_a_stored_value_of_a_policy_with_its_clocks_in_another_order() -> None:
    # The case held in memory carries the memo of another SLA whose policy lists the clocks
    # in the other order (a policy changed under a running engine): no position of the memo
    # corresponds, so every clock is matched by name, and what is stored equals a
    # recomputation with the new policy.
    store = MemoryStore()
    clock = FrozenClock(pendulum.datetime(2026, 1, 5, 1, tz="UTC"))
    engine = Engine(store, clock, [TICKET], processors=[SLA([TICKET_POLICY], CALENDARS)])
    case = engine.open("ticket", actor=AGENT, data={"level": "high"})
    clock.advance(minutes=30)
    case = engine.fire(case, "work", actor=AGENT)
    turned = Policy(TICKET_POLICY.name, TICKET_POLICY.process, TICKET_POLICY.clocks[::-1])
    sla = SLA([turned], CALENDARS)
    bound = sla.bind(TICKET)
    assert bound is not None
    engine = Engine(store, clock, [TICKET], processors=[sla])
    for trig in ("note", "wait", "work"):
        clock.advance(minutes=45)
        case = engine.fire(case, trig, actor=AGENT)
        fresh = recompute(bound, None, engine.history(case.id))
        assert sla.states(case) == fresh
        assert case.extensions["sla"] == fresh.to_dict()
        held = sorted(store.timers(case.id), key=lambda t: t.name)
        assert held == _oracle(bound, case.id, engine.history(case.id))
