"""The hand-tuned fold equals the fold it replaced (``fold_reference.py``, kept verbatim) on
random policies (every clock feature: data conditions, goal tables and goal-change modes,
case calendars, pauses, earliest stops, reopening, recurring clocks, extensions, escalation)
over random histories: transitions anywhere in the desk process (stay-in-place ones too)
with data writes, and recorded warnings, breaches, extensions and escalations, some of an
earlier cycle. Whole histories, prefixes up to an instant, and a tail folded onto the
clocks its head left (the processor's way) give equal states, keep the same unchanged
clocks as the same objects, and raise the same errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from servicewf import Event, EventKind
from servicewf.clock import epoch_us
from servicewf.processes.presets import complaint_business_centre
from servicewf.sla import (
    BoundPolicy,
    BusinessHours,
    ClockHours,
    ClockSpec,
    ClockStates,
    On,
    Policy,
    WorkingDays,
)

from . import fold_reference
from .helpers import CALENDARS as COMPLAINT_CALENDARS
from .test_oracle import CALENDARS as DESK_CALENDARS
from .test_oracle import DESK
from .test_oracle import POLICY as DESK_POLICY
from .test_policy_data import CALS, FIELD_VALUES, STATES, TRIGGERS, policies
from .test_properties import COMPLAINT, _extendable

# No shrinking (as in test_oracle): a failing example is a whole random policy and history,
# which takes minutes to shrink; the assertion shows the two states that differ.
SETTINGS = settings(max_examples=150, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
T0 = pendulum.datetime(2026, 1, 1, tz="UTC")
EXTRA = ["escalate", "extend", "classify", "reopen", "note", "follow_up", "resolve", "record"]
LEVELS = ["一般", "重要", "緊急", "urgent", "?"]
BY = [BusinessHours(1), WorkingDays(1), ClockHours(2), BusinessHours(minutes=45)]


@st.composite
def histories(draw: st.DrawFn, states: list[str], triggers: list[str],
              clocks: list[str]) -> list[Event]:
    at = T0.add(minutes=draw(st.integers(0, 2 * 365 * 24 * 60)))
    state = draw(st.sampled_from(states))
    out = [Event("c", 1, at, EventKind.OPENED, "a", "agent", None, None, state,
                 draw(data_writes()))]
    for seq in range(2, draw(st.integers(1, 30)) + 2):
        at = at.add(minutes=draw(st.sampled_from([0, 1, 7, 45, 180, 600, 1500, 4000])))
        kind = draw(st.integers(0, 9))
        if kind < 6:
            dest = state if draw(st.integers(0, 3)) == 0 else draw(st.sampled_from(states))
            ev = Event("c", seq, at, EventKind.TRANSITION, "a", "agent",
                       draw(st.sampled_from(triggers)), state, dest, draw(data_writes()))
            state = dest
        elif kind < 9:
            clock = draw(st.sampled_from([*clocks, "nope"]))
            k = draw(st.sampled_from([EventKind.CLOCK_WARNING, EventKind.CLOCK_BREACHED,
                                      EventKind.CLOCK_EXTENDED]))
            data: dict[str, Any] = {"clock": clock}
            if draw(st.booleans()):
                data["cycle"] = draw(st.integers(0, 3))
            if k is EventKind.CLOCK_EXTENDED:
                data["by"] = draw(st.sampled_from(BY)).to_dict()
            ev = Event("c", seq, at, k, "a", "agent", None, state, state, data)
        else:
            tier = draw(st.sampled_from([None, "supervisor", "manager"]))
            ev = Event("c", seq, at, EventKind.ESCALATED, "a", "agent", None, state, state,
                       {} if tier is None else {"tier": tier})
        out.append(ev)
    return out


@st.composite
def data_writes(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in draw(st.lists(st.sampled_from([*sorted(FIELD_VALUES), "level", "other",
                                                 "new_deadline"]), max_size=2)):
        if field == "level":
            out[field] = draw(st.sampled_from(LEVELS))
        elif field == "new_deadline":
            out[field] = T0.add(hours=draw(st.integers(0, 20_000))).isoformat()
        elif field == "other":
            out[field] = draw(st.integers(0, 2))
        else:
            out[field] = draw(st.sampled_from([*FIELD_VALUES[field], None]))
    if draw(st.integers(0, 5)) == 0:
        out["reason"], out["customer_notification"] = "r", "n"
    return out


def _run(bound: Any, history: list[Event], **kw: Any) -> tuple[str, Any]:
    try:
        return "ok", bound.fold(history, **kw)
    except Exception as exc:  # the same error, or none, from both folds
        return type(exc).__name__, None


def _same(new: Any, ref: Any) -> None:
    assert new[0] == ref[0], (new, ref)
    assert new[1] == ref[1]


def _compare(policy: Any, definition: Any, calendars: Any, history: list[Event]) -> None:
    new = BoundPolicy(policy, definition, calendars)
    ref = fold_reference.BoundPolicy(policy, definition, calendars)
    whole = _run(new, history)
    _same(whole, _run(ref, history))
    _same(_run(new, history), whole)  # a warmed binding (key caches filled) agrees
    cut = len(history) // 2
    until = epoch_us(history[cut].at)
    _same(_run(new, history, until=until), _run(ref, history, until=until))
    head = _run(ref, history[:cut])
    if head[0] != "ok":
        return
    data: dict[str, Any] = {}
    for e in history[:cut]:
        if e.kind in (EventKind.OPENED, EventKind.TRANSITION):
            data.update(e.data)
    states: ClockStates = head[1]
    tail_new = _run(new, history[cut:], states=states, data=data)
    tail_ref = _run(ref, history[cut:], states=states, data=data)
    _same(tail_new, tail_ref)
    if tail_new[0] == "ok":
        # Unchanged clocks stay the very objects (the processor's identity caches).
        assert [a is b for a, b in zip(tail_new[1].clocks, states.clocks, strict=True)] == [
            a is b for a, b in zip(tail_ref[1].clocks, states.clocks, strict=True)]
        _check_fold_changed(new, history[cut:], states, data, tail_new[1])


def _check_fold_changed(bound: BoundPolicy, events: list[Event], states: ClockStates,
                        data: dict[str, Any], expected: ClockStates) -> None:
    """fold_changed (the processor's path) folds as fold does, and names exactly the
    positions whose clock is not the very object of ``states``; given the clocks in another
    order it folds the same and names none."""
    got, changed = bound.fold_changed(events, states, data=data)
    assert got == expected
    assert changed == [i for i, (a, b) in enumerate(zip(got.clocks, states.clocks,
                                                        strict=True)) if a is not b]
    if len(states.clocks) > 1:
        turned = attrs.evolve(states, clocks=states.clocks[::-1])
        again, none = bound.fold_changed(events, turned, data=data)
        assert none is None
        assert again == expected


@SETTINGS
@given(st.data())
def test_the_fold_equals_the_reference_on_random_policies(data: st.DataObject) -> None:
    policy = data.draw(policies())
    history = data.draw(histories(STATES, [*TRIGGERS, *EXTRA], [c.name for c in policy.clocks]))
    _compare(policy, DESK, CALS, history)


@SETTINGS
@given(st.data())
def test_the_fold_equals_the_reference_on_the_desk_policy(data: st.DataObject) -> None:
    history = data.draw(histories(STATES, [*TRIGGERS, *EXTRA],
                                  [c.name for c in DESK_POLICY.clocks]))
    _compare(DESK_POLICY, DESK, {**CALS, **DESK_CALENDARS}, history)


COMPLAINT_STATES = ["received", "recorded", "classified", "confirmed", "acknowledged",
                    "investigating", "resolved", "feedback_given", "closed", "followed_up",
                    "archived", "invalid"]


@SETTINGS
@given(st.data())
def test_the_fold_equals_the_reference_on_the_complaint_policy(data: st.DataObject) -> None:
    policy = _extendable(complaint_business_centre())
    triggers = [*EXTRA, "give_feedback", "close", "archive", "acknowledge"]
    history = data.draw(histories(COMPLAINT_STATES, triggers, [c.name for c in policy.clocks]))
    _compare(policy, COMPLAINT, COMPLAINT_CALENDARS, history)


@pytest.mark.parametrize(("after", "outcome"), [
    (dt.timedelta(minutes=10) - dt.timedelta(microseconds=1), "too_early"),
    (dt.timedelta(minutes=10), "met"),  # the window opens at its instant
    (dt.timedelta(hours=1), "met"),  # a deadline is met up to and including its instant
    (dt.timedelta(hours=1, microseconds=1), "breached"),
])
def test_a_stop_on_the_window_and_deadline_instants(after: dt.timedelta, outcome: str) -> None:
    policy = Policy("w", "desk", [ClockSpec(
        "w", start=On(enter="new"), stop=On(enter="triage"), target=ClockHours(1),
        earliest=ClockHours(minutes=10), calendar="24x7", warn=None)])
    history = [Event("c", 1, T0, EventKind.OPENED, "a", "agent", None, None, "new", {}),
               Event("c", 2, T0 + after, EventKind.TRANSITION, "a", "agent", "accept", "new",
                     "triage", {})]
    states = BoundPolicy(policy, DESK, CALS).fold(history)
    assert states["w"].outcome == outcome
    assert states == fold_reference.BoundPolicy(policy, DESK, CALS).fold(history)
