"""A clock in a status its reaction to an event does not change (``_fold._idle``) is passed
over without a call, its instant converted only for a clock that reacts: every handler
leaves a run of such a status exactly as it was (all flags, every status, runs of every
kind), folds equal the folds that call every handler, and an instant the conversion refuses
is still refused."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from unittest import mock

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf import Event, EventKind
from servicewf.interop import bpic2013 as bpic
from servicewf.sla import BoundPolicy, ClockHours, ClockSpec, On, Policy, _fold
from servicewf.sla.state import CANCELLED, IDLE, MET, PAUSED, RUNNING, STOPPED, ClockState

from .test_fold_plain_writes import EXTRA, STATIC
from .test_fold_reference import SETTINGS, T0, _run, histories
from .test_oracle import DESK
from .test_policy_data import CALS, STATES, TRIGGERS, policies

SPEC = ClockSpec("c", start=On(enter="new"), stop=On(enter="done"), target=ClockHours(4),
                 earliest=ClockHours(minutes=5), early="ignore", warn=None)
BOUND = BoundPolicy(Policy("p", "desk", [SPEC]), DESK, CALS)
AT = 1_800_000_000_000_000


def _runs() -> list[list[Any]]:
    out = []
    for status, outcome, held, earliest, pause_since in itertools.product(
            (IDLE, RUNNING, PAUSED, STOPPED), (None, MET, CANCELLED), (False, True),
            (None, AT - 1, AT + 1), (None, AT - 10)):
        out.append(list(ClockState("c", cycle=1, status=status, outcome=outcome,
                                   started=AT - 100, target=ClockHours(4),
                                   deadline=AT + 1000, earliest=earliest, held=held,
                                   pause_since=pause_since,
                                   stopped=AT - 50 if status == STOPPED else None)))
    return out


def test_a_handler_changes_nothing_in_the_statuses_it_is_idle_in():
    clock = BOUND.clocks[0]
    for flags in range(1, 256):
        idle = _fold._idle(flags)
        handler = _fold._handler(flags)
        for run in _runs():
            if run[_fold._STATUS] not in idle:
                continue
            before = list(run)
            fold = _fold._Fold(BOUND.empty().clocks, None, None, {})
            handler(BOUND, clock, run, AT, flags, fold)
            assert run == before, (flags, before)


def test_the_idle_statuses():
    assert _fold._idle(_fold._START) == {RUNNING, PAUSED}
    assert _fold._idle(_fold._START | _fold._IN_PAUSE_STATE) == {RUNNING, PAUSED}
    assert _fold._idle(_fold._STOP) == {IDLE, STOPPED}
    assert _fold._idle(_fold._REOPEN) == {RUNNING, PAUSED}
    assert _fold._idle(_fold._PAUSE_STATE_CHANGE) == {IDLE, STOPPED}
    assert _fold._idle(_fold._REOPEN | _fold._CANCEL) == set()
    assert _fold._idle(_fold._IN_PAUSE_STATE) == {RUNNING, PAUSED, IDLE, STOPPED}
    assert _fold._idle(_fold._START | _fold._STOP) == set()
    # A status named nowhere (a decoded value's) goes to the handler.
    assert all("odd" not in _fold._idle(f) for f in range(256))


def _both(policy: Policy, history: list[Event]) -> None:
    fast = BoundPolicy(policy, DESK, CALS)
    every = BoundPolicy(policy, DESK, CALS)
    got = _run(fast, history)
    with mock.patch.object(_fold, "_idle", lambda flags: frozenset()):
        assert _run(every, history) == got


@SETTINGS
@given(st.data())
def test_folds_equal_the_folds_that_call_every_handler(data: st.DataObject) -> None:
    policy = data.draw(policies())
    history = data.draw(histories(STATES, [*TRIGGERS, *EXTRA], [c.name for c in policy.clocks]))
    _both(policy, history)
    _both(STATIC, history)


@pytest.mark.parametrize("moment", [
    dt.datetime(2026, 1, 2, 9),  # naive
    "2026-01-02T09:00:00Z",  # not a datetime
])
def test_an_instant_the_conversion_refuses_is_refused_where_no_clock_reacts(moment: Any):
    bound = bpic.sla().bind(bpic.definition())
    assert bound is not None
    opened = Event("c", 1, T0, EventKind.OPENED, "a", "import", None, None, "new", {})
    # accepted_in_progress reopens the clock, which runs: nothing to do, yet refused.
    moved = Event("c", 2, moment, EventKind.TRANSITION, "a", "import",
                  "accepted_in_progress", "new", "accepted_in_progress", {})
    with pytest.raises((ValueError, TypeError, AttributeError)) as refused:
        _fold.epoch_us(moment)
    with pytest.raises(refused.type):
        bound.fold([opened, moved])
    # An instant of another zone object converts (the clock runs on) as before.
    for zone in (dt.timezone.utc, pendulum.timezone("Asia/Shanghai")):
        other = Event("c", 2, pendulum.datetime(2026, 1, 2, 9, tz="UTC").astimezone(zone),
                      EventKind.TRANSITION, "a", "import", "accepted_in_progress", "new",
                      "accepted_in_progress", {})
        assert bound.fold([opened, other]).clocks[0].status == RUNNING


def test_a_naive_pendulum_instant_is_refused_where_no_clock_reacts():
    bound = bpic.sla().bind(bpic.definition())
    assert bound is not None
    opened = Event("c", 1, T0, EventKind.OPENED, "a", "import", None, None, "new", {})
    moved = Event("c", 2, pendulum.naive(2026, 1, 2, 9), EventKind.TRANSITION, "a", "import",
                  "accepted_in_progress", "new", "accepted_in_progress", {})
    with pytest.raises(ValueError, match="naive"):
        bound.fold([opened, moved])
