"""P8 recurring obligations: due instants and missed periods."""

from __future__ import annotations

from itertools import pairwise

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import FrozenClock
from servicewf.processes.cadence import (
    Cadence,
    contact_cadence,
    due_instants,
    next_due,
    periods,
    survey_cadence,
)

TZ = "Asia/Shanghai"


def local(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=TZ)


def test_presets() -> None:
    assert survey_cadence("high") is Cadence.QUARTERLY
    assert survey_cadence("低頻") is Cadence.HALF_YEARLY
    assert contact_cadence("VIP") is Cadence.WEEKLY
    assert contact_cadence("普通") is Cadence.TWICE_MONTHLY
    assert contact_cadence("prospect") is None
    with pytest.raises(ValueError):
        survey_cadence("sometimes")


def test_quarterly_survey_due_and_missed() -> None:
    clock = FrozenClock(local(2026, 8, 15, 9))
    done = [local(2026, 2, 10, 10)]  # Q1 met, Q2 missed, Q3 open
    status = next_due(Cadence.QUARTERLY, pendulum.date(2026, 1, 1), clock, tz=TZ, done=done)
    assert status.next_due == local(2026, 10, 1)
    assert status.missed == (local(2026, 7, 1),)
    assert not status.current_met
    status = next_due(Cadence.QUARTERLY, pendulum.date(2026, 1, 1), clock, tz=TZ,
                      done=[*done, local(2026, 8, 1, 9)])
    assert status.current_met and status.next_due == local(2026, 10, 1)


def test_due_is_in_the_zone_of_the_obligation() -> None:
    dues = due_instants(Cadence.MONTHLY, pendulum.date(2026, 1, 31), local(2026, 4, 1), tz=TZ)
    assert [d.in_timezone(TZ).date().isoformat() for d in dues] == [
        "2026-02-28", "2026-03-31", "2026-04-30"]  # no month-end drift
    assert dues[0] == local(2026, 2, 28)


def test_vip_weekly_and_ordinary_twice_a_month() -> None:
    start = pendulum.date(2026, 3, 2)
    clock = FrozenClock(local(2026, 3, 20, 12))
    vip = next_due(Cadence.WEEKLY, start, clock, tz=TZ, done=[local(2026, 3, 3, 10)])
    assert vip.missed == (local(2026, 3, 16),)  # week of 9 March had no contact
    assert vip.next_due == local(2026, 3, 23)
    ordinary = next_due(Cadence.TWICE_MONTHLY, start, clock, tz=TZ)
    assert ordinary.missed == (local(2026, 3, 17),)
    assert ordinary.next_due == local(2026, 4, 2)


def test_before_start_the_first_period_is_current() -> None:
    clock = FrozenClock(local(2025, 12, 1))
    status = next_due(Cadence.HALF_YEARLY, pendulum.date(2026, 1, 1), clock, tz=TZ)
    assert status.next_due == local(2026, 7, 1) and status.missed == ()


@settings(max_examples=80, deadline=None)
@given(cadence=st.sampled_from(list(Cadence)),
       start=st.dates(min_value=pendulum.date(2024, 1, 1), max_value=pendulum.date(2027, 1, 1)),
       days=st.integers(0, 800))
def test_periods_tile_time_without_gaps(cadence: Cadence, start: pendulum.Date,
                                        days: int) -> None:
    now = pendulum.datetime(start.year, start.month, start.day, tz=TZ).add(days=days, hours=5)
    ps = periods(cadence, start, now, tz=TZ)
    assert ps[0].start == pendulum.datetime(start.year, start.month, start.day, tz=TZ)
    for a, b in pairwise(ps):
        assert a.due == b.start and a.start < a.due
    assert ps[-1].start <= now < ps[-1].due
    status = next_due(cadence, start, FrozenClock(now), tz=TZ)
    assert status.next_due == ps[-1].due
    assert len(status.missed) == len(ps) - 1  # nothing done: every closed period is missed


def test_period_edges_are_exact() -> None:
    """Periods include their start and exclude their due instant, a period beginning exactly
    at ``until`` has begun, and indexes start at 0 (surviving mutants of cadence)."""
    import datetime as _dt

    import pytest as _pytest

    from servicewf.processes.cadence import Cadence, period_bounds, periods

    start = _dt.date(2026, 1, 5)  # a Monday
    first_due = period_bounds(Cadence.WEEKLY, start, 0)[1]
    assert first_due == period_bounds(Cadence.WEEKLY, start, 1)[0]
    with _pytest.raises(ValueError, match="negative"):
        period_bounds(Cadence.WEEKLY, start, -1)
    at_due = periods(Cadence.WEEKLY, start, first_due)
    assert [p.index for p in at_due] == [0, 1]          # period 1 begins exactly at until
    assert at_due[1].start == first_due
    done_at_start = periods(Cadence.WEEKLY, start, first_due, done=[first_due])
    assert [p.met for p in done_at_start] == [False, True]  # start included, due excluded
