"""The SLA processor's queries and its check of hand-recorded extensions (each test pins a
behaviour a surviving mutant broke)."""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf import EventKind
from servicewf.clock import epoch_us
from servicewf.processes.presets import complaint_telecom
from servicewf.sla.policy import ExtensionConditionsUnmet

from .helpers import AGENT, complaint_definition, make_engine, sh


def _complaint():  # type: ignore[no-untyped-def]
    # Received Tue 2026-09-15 10:00; resolve in 3 working days: Fri 09-18 18:00.
    engine, sla, clock = make_engine([complaint_telecom()], sh(2026, 9, 15, 10, 0),
                                     complaint_definition())
    return engine, sla, clock, engine.open("complaint", actor=AGENT)


def test_recompute_takes_a_case_or_its_id() -> None:
    engine, sla, _clock, case = _complaint()
    assert sla.recompute(engine, case.id) == sla.recompute(engine, case) == sla.states(case)


def test_a_view_names_its_target() -> None:
    engine, sla, clock, case = _complaint()
    view = sla.view(engine, case, "resolve", clock.now())
    assert view.deadline == sh(2026, 9, 18, 18, 0)
    assert isinstance(view.target, str) and view.target


def test_breaching_within_includes_a_deadline_exactly_at_the_horizon() -> None:
    engine, sla, clock, case = _complaint()
    deadline = sh(2026, 9, 18, 18, 0)
    now = clock.now()
    to_deadline = dt.timedelta(microseconds=epoch_us(deadline) - epoch_us(now))
    exactly = sla.breaching_within(engine.store, now, to_deadline)
    assert (case.id, "resolve", deadline) in [(b.case_id, b.clock, b.deadline) for b in exactly]
    sooner = sla.breaching_within(engine.store, now, to_deadline - dt.timedelta(microseconds=1))
    assert "resolve" not in [b.clock for b in sooner] and len(sooner) == len(exactly) - 1


def test_a_recorded_extension_needs_a_readable_extension() -> None:
    engine, _sla, _clock, case = _complaint()
    for by in ({"type": "no_such_target"}, "two days", None):
        with pytest.raises(ExtensionConditionsUnmet) as refused:
            engine.record(case, EventKind.CLOCK_EXTENDED, actor=AGENT, data={
                "clock": "resolve", "by": by, "reason": "parts", "notice": "phoned"})
        assert any("data['by']" in m for m in refused.value.missing)
    assert len(engine.history(case.id)) == 1


def test_clock_states_name_their_clocks_and_refuse_unknown_ones() -> None:
    from servicewf.errors import UnknownClock
    from servicewf.sla import ClockState

    _engine, sla, _clock, case = _complaint()
    states = sla.states(case)
    assert states.names() == ("record", "acknowledge", "resolve", "follow_up")  # feedback: off
    with pytest.raises(UnknownClock, match="no clock 'resolution'"):
        states["resolution"]
    stored = case.extensions["sla"]
    assert stored["v"] == 1 and stored == states.to_dict()
    assert ClockState("x").held is False  # a new clock is not held
