"""At the edges of the datetime range (years 1 and 9999) and of the years a calendar computes,
every public method raises :class:`CalendarRangeError` (a ``CalendarError``), never a bare
``OverflowError`` or ``ValueError`` from the stdlib."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.calendar import BusinessCalendar, china_office
from servicewf.errors import CalendarError, CalendarRangeError

UTC = dt.timezone.utc
ALWAYS = BusinessCalendar.always_open("UTC")
ALWAYS_NY = BusinessCalendar.always_open("America/New_York")
OFFICE = BusinessCalendar.from_dict({"timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}})
CHINA = china_office()
CALENDARS = [ALWAYS, ALWAYS_NY, OFFICE, CHINA]
# The property test builds a fresh calendar per example: a shared one would extend its table
# across every year the examples touched (is_working_day(1800-01-02) after 1970 computes 170
# years). china_office() is left out: its holiday tables are slow and its code paths OFFICE's.
FRESH_CALENDARS = st.sampled_from([
    lambda: BusinessCalendar.always_open("UTC"),
    lambda: BusinessCalendar.always_open("America/New_York"),
    lambda: BusinessCalendar.from_dict(
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}}),
    lambda: BusinessCalendar.from_dict(
        {"timezone": "America/New_York", "weekly": {"fri": [["22:00", "06:00"]]}}),
]).map(lambda make: make())

LAST = dt.datetime(9999, 12, 31, 23, tzinfo=UTC)
FIRST = dt.datetime(1, 1, 1, 1, tzinfo=UTC)


def test_range_error_is_a_calendar_error() -> None:
    assert issubclass(CalendarRangeError, CalendarError)
    assert issubclass(CalendarRangeError, ValueError)


def test_add_past_year_9999_on_24x7() -> None:
    with pytest.raises(CalendarRangeError, match="years 1–9999"):
        ALWAYS.add(LAST, dt.timedelta(days=1))
    with pytest.raises(CalendarRangeError, match="shorter duration"):
        ALWAYS.add(dt.datetime(2026, 1, 1, tzinfo=UTC), dt.timedelta.max)
    with pytest.raises(CalendarRangeError):
        ALWAYS.subtract(FIRST, dt.timedelta(days=1))
    with pytest.raises(CalendarRangeError):
        ALWAYS.add(dt.datetime(2026, 1, 1, tzinfo=UTC), dt.timedelta.min)


def test_instant_beyond_utc_range() -> None:
    """9999-12-31T23:00-14:00 is a valid datetime but in year 10000 once in UTC."""
    late = dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-14)))
    early = dt.datetime(1, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
    for cal in CALENDARS:
        for moment in (late, early):
            with pytest.raises(CalendarRangeError, match="years 1–9999"):
                cal.add(moment, dt.timedelta(hours=1))
            if cal in (OFFICE, CHINA):  # a 24×7 calendar counts plain absolute time
                with pytest.raises(CalendarRangeError):
                    cal.working_time(moment, dt.datetime(2026, 1, 1, tzinfo=UTC))
                with pytest.raises(CalendarRangeError):
                    cal.is_working(moment)


def test_scheduled_calendar_outside_its_years() -> None:
    with pytest.raises(CalendarRangeError, match="outside the years a calendar computes"):
        OFFICE.add(dt.datetime(3500, 1, 1, tzinfo=UTC), dt.timedelta(hours=1))
    with pytest.raises(CalendarRangeError, match="use an instant inside them"):
        OFFICE.is_working_day(dt.date(1, 1, 1))
    with pytest.raises(CalendarRangeError):
        OFFICE.next_opening_us(10**20)
    with pytest.raises(CalendarRangeError):
        OFFICE.working_us(-(10**400), 0)


def test_24x7_day_and_window_at_the_edge() -> None:
    with pytest.raises(CalendarRangeError):
        ALWAYS.working_intervals(dt.date(9999, 12, 31))  # ends at 10000-01-01T00:00
    with pytest.raises(CalendarRangeError):
        ALWAYS.window(dt.datetime(2026, 1, 1, tzinfo=UTC), 0, 10**9)
    with pytest.raises(CalendarRangeError):
        ALWAYS.window(dt.datetime(2026, 1, 1, tzinfo=UTC), -(10**9), 0)
    with pytest.raises(CalendarRangeError):
        ALWAYS.add_working_days(LAST, 2)


EDGE_DAYS = 3
edge_instants = st.builds(
    lambda base, minutes, offset: base.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
    + dt.timedelta(minutes=minutes),
    st.sampled_from([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31 - EDGE_DAYS + 1),
                     dt.datetime(1800, 1, 1), dt.datetime(2999, 12, 30)]),
    st.integers(0, EDGE_DAYS * 24 * 60 - 1),
    st.integers(-14 * 60, 14 * 60),
)
durations = st.one_of(
    st.sampled_from([dt.timedelta.max, dt.timedelta.min, dt.timedelta(0)]),
    st.timedeltas(),
    st.timedeltas(min_value=dt.timedelta(days=-10), max_value=dt.timedelta(days=10)),
)

# Epoch microseconds: near 1970 (cheap to compute), or far beyond any datetime.
micros = st.one_of(st.integers(-(10**12), 10**12), st.integers(10**18, 10**40),
                   st.integers(-(10**40), -(10**18)))


def _only_calendar_errors(call: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(CalendarError):
        call(*args)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FRESH_CALENDARS, edge_instants, edge_instants, durations,
       st.integers(-(10**12), 10**12), micros, micros)
def test_public_arithmetic_at_the_year_limits(
    cal: BusinessCalendar, start: dt.datetime, end: dt.datetime, duration: dt.timedelta,
    days: int, us: int, us2: int,
) -> None:
    """Only results or ``CalendarError``s: no ``OverflowError``/``ValueError`` escapes."""
    _only_calendar_errors(cal.add, start, duration)
    _only_calendar_errors(cal.subtract, start, duration)
    _only_calendar_errors(cal.working_time, start, end)
    _only_calendar_errors(cal.next_opening, start)
    _only_calendar_errors(cal.is_working, start)
    _only_calendar_errors(cal.add_working_days, start, 1 + abs(days) % 400)
    _only_calendar_errors(cal.window, start, days, days + 1)
    _only_calendar_errors(cal.working_intervals, start.date())
    _only_calendar_errors(cal.is_working_day, start.date())
    # (A huge delta from near 1970 walks ~1000 years of tables into NoWorkingTime: slow, and
    # not a range edge, so the delta stays small unless the start is itself far out.)
    _only_calendar_errors(cal.add_us, us, us2 if abs(us) > 10**12 else us2 % 10**12)
    _only_calendar_errors(cal.working_us, us, us2)
    _only_calendar_errors(cal.next_opening_us, us)
