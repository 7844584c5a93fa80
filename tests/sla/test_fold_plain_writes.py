"""A binding whose clocks read no event data as it is written (no data condition, no goal
chosen by data) folds data-writing events in ``_run`` itself, without ``_written``: the same
states (and errors) as the general way, on random policies and histories; the fast way is
taken exactly for such bindings."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from servicewf import Event, EventKind
from servicewf.interop import bpic2013 as bpic
from servicewf.sla import BoundPolicy, ClockHours, ClockSpec, On, Policy

from .test_fold_reference import SETTINGS, T0, _run, histories
from .test_oracle import DESK
from .test_policy_data import CALS, STATES, TRIGGERS, policies

EXTRA = ["escalate", "extend", "classify", "reopen", "note", "follow_up", "resolve"]


def _both(policy: Policy, history: list[Event], **kw: Any) -> None:
    fast = BoundPolicy(policy, DESK, CALS)
    general = BoundPolicy(policy, DESK, CALS)
    general._plain_writes = False  # every data-writing event through _written
    assert _run(fast, history, **kw) == _run(general, history, **kw)


# A policy of static goals and no data conditions: the fast way.
STATIC = Policy("static", "desk", [
    ClockSpec("respond", start=On(enter="new"), stop=On(leave="new"),
              target=ClockHours(4), warn=None),
    ClockSpec("resolve", start=On(enter="new"), stop=On(enter="done"),
              reopen=On(trigger="reopen"), pause_in=("waiting",), target=ClockHours(40),
              warn=None)])


@SETTINGS
@given(st.data())
def test_queued_data_folds_as_written_data_on_random_policies(data: st.DataObject) -> None:
    policy = data.draw(policies())
    history = data.draw(histories(STATES, [*TRIGGERS, *EXTRA], [c.name for c in policy.clocks]))
    _both(policy, history)
    _both(STATIC, history)
    _both(policy, history, until=int(history[len(history) // 2].at.timestamp() * 1e6))


def test_the_fast_way_is_taken_exactly_when_nothing_reads_written_data() -> None:
    assert BoundPolicy(STATIC, DESK, CALS)._plain_writes
    assert bpic.sla().bind(bpic.definition())._plain_writes  # type: ignore[union-attr]
    keyed = Policy("keyed", "desk", [ClockSpec(
        "resolve", start=On(enter="new", data=()), stop=On(enter="done"),
        target=ClockHours(4), warn=None)])
    assert BoundPolicy(keyed, DESK, CALS)._plain_writes


def test_written_data_is_merged_when_a_goal_reads_it() -> None:
    # A clock starting after data was written (queued, not merged) sees that data.
    from servicewf.sla import GoalTable

    policy = Policy("table", "desk", [ClockSpec(
        "resolve", start=On(enter="triage"), stop=On(enter="done"),
        target=GoalTable("priority", {"high": ClockHours(1)}, default=ClockHours(8)),
        warn=None)])
    bound = BoundPolicy(policy, DESK, CALS)
    history = [Event("c", 1, T0, EventKind.OPENED, "a", "agent", None, None, "new", {}),
               Event("c", 2, T0.add(minutes=1), EventKind.TRANSITION, "a", "agent", "t",
                     "new", "new", {"priority": "high"}),
               Event("c", 3, T0.add(minutes=2), EventKind.TRANSITION, "a", "agent", "t",
                     "new", "triage", {})]
    states = bound.fold(history)
    assert states.clocks[0].deadline - states.clocks[0].started == 3_600_000_000


def test_queued_data_is_what_a_later_start_reads() -> None:
    # A clock on the case's calendar (chosen by data) with a static goal: nothing reads the
    # data as it is written, and the start reads it (queued, then merged), written by an
    # event that moves no clock or by one that does.
    from servicewf.sla import CaseCalendar

    policy = Policy("cal", "desk", [
        ClockSpec("resolve", start=On(enter="triage"), stop=On(enter="done"),
                  target=ClockHours(4), calendar="case", warn=None),
        ClockSpec("respond", start=On(enter="new"), stop=On(leave="new"),
                  target=ClockHours(1), warn=None)],
        case_calendar=CaseCalendar("region", {"eu": "paris"}, "office"))
    bound = BoundPolicy(policy, DESK, CALS)
    assert bound._plain_writes
    opened = Event("c", 1, T0, EventKind.OPENED, "a", "agent", None, None, "new", {})
    for moves in ([("new", "new", {"region": "eu"}), ("new", "triage", {})],
                  [("new", "waiting", {"region": "eu"}), ("waiting", "triage", {})]):
        history = [opened] + [
            Event("c", n, T0.add(minutes=n), EventKind.TRANSITION, "a", "agent", "t", source,
                  dest, data) for n, (source, dest, data) in enumerate(moves, start=2)]
        assert bound.fold(history).clocks[0].calendar == "paris", moves
