"""The epoch-microsecond API (``add_us``, ``working_us``, ``next_opening_us``).

Each method must agree with the datetime method of the same meaning on random calendars,
zones and instants (DST weeks included), and must also satisfy the documented rules on its own:
``working_us`` against a sum over ``working_intervals`` (which builds each day separately, not
from the lookup table), and ``add_us`` as the first (forward) or last (backward) instant with
the asked-for working time.
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
import pytest
from calendar_strategies import calendar_dicts, calendars, instants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.calendar import BusinessCalendar
from servicewf.errors import CalendarError, NoWorkingTime

EXAMPLES = int(os.environ.get("SERVICEWF_CALENDAR_EXAMPLES", "60"))
PROPS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_ONE_US = dt.timedelta(microseconds=1)
DAY_US = 86_400 * 1_000_000

# Signed spans: up to 40 days either way, often on a quarter-hour grid so that results land
# on openings and closings.
spans = st.one_of(
    st.integers(-40 * 96, 40 * 96).map(lambda q: q * 900_000_000),
    st.integers(-40 * DAY_US, 40 * DAY_US),
)


def us(moment: dt.datetime) -> int:
    """Epoch microseconds, computed with the stdlib (independently of the library)."""
    return dt.datetime.__sub__(moment, _EPOCH) // _ONE_US


def at(t_us: int) -> pendulum.DateTime:
    seconds, micro = divmod(t_us, 1_000_000)
    return pendulum.from_timestamp(seconds, tz="UTC").add(microseconds=micro)


@st.composite
def dst_instants(draw: st.DrawFn) -> pendulum.DateTime:
    """Instants within three days of a DST change of New York, London or Sydney."""
    zone, changes = draw(st.sampled_from([
        ("America/New_York", [(2026, 3, 8), (2026, 11, 1), (2019, 3, 10)]),
        ("Europe/London", [(2026, 3, 29), (2026, 10, 25)]),
        ("Australia/Sydney", [(2026, 4, 5), (2026, 10, 4)]),
    ]))
    y, m, d = draw(st.sampled_from(changes))
    base = pendulum.datetime(y, m, d, tz=zone)
    return base.add(minutes=draw(st.integers(-3 * 1440, 3 * 1440)),
                    microseconds=draw(st.sampled_from([0, 0, 1, 999_999])))


any_instant = st.one_of(instants(), dst_instants())
dst_calendars = calendar_dicts(
    zones=["America/New_York", "Europe/London", "Australia/Sydney"]
).map(BusinessCalendar.from_dict)
any_calendar = st.one_of(calendars, dst_calendars)


# --- agreement with the datetime methods ---------------------------------------------------


@PROPS
@given(any_calendar, any_instant, spans)
def test_add_us_agrees_with_add_and_subtract(
    cal: BusinessCalendar, s: pendulum.DateTime, d: int
) -> None:
    result = cal.add_us(us(s), d)
    assert result == us(cal.add(s, dt.timedelta(microseconds=d)))
    assert result == us(cal.subtract(s, dt.timedelta(microseconds=-d)))


@PROPS
@given(any_calendar, any_instant, spans)
def test_working_us_agrees_with_working_time(
    cal: BusinessCalendar, a: pendulum.DateTime, span: int
) -> None:
    b = at(us(a) + span)
    assert cal.working_us(us(a), us(b)) == cal.working_time(a, b) // _ONE_US


@PROPS
@given(any_calendar, any_instant)
def test_next_opening_us_agrees_with_next_opening(
    cal: BusinessCalendar, s: pendulum.DateTime
) -> None:
    assert cal.next_opening_us(us(s)) == us(cal.next_opening(s))


# --- the documented rules, checked on their own --------------------------------------------


def _union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@PROPS
@given(any_calendar, any_instant, st.integers(-6 * DAY_US, 6 * DAY_US))
def test_working_us_is_the_working_time_inside_the_span(
    cal: BusinessCalendar, s: pendulum.DateTime, span: int
) -> None:
    a, b = us(s), us(s) + span
    lo, hi = min(a, b), max(a, b)
    first = at(lo).in_timezone(cal.timezone).date() - dt.timedelta(days=2)
    last = at(hi).in_timezone(cal.timezone).date()
    owned = [
        (us(x), us(y))
        for n in range((last - first).days + 1)
        for x, y in cal.working_intervals(first + dt.timedelta(days=n))
    ]
    inside = sum(max(0, min(y, hi) - max(x, lo)) for x, y in _union(owned))
    assert cal.working_us(a, b) == (inside if a <= b else -inside)


@PROPS
@given(any_calendar, any_instant, spans)
def test_add_us_is_the_first_or_last_instant_with_that_working_time(
    cal: BusinessCalendar, s: pendulum.DateTime, d: int
) -> None:
    t = us(s)
    result = cal.add_us(t, d)
    assert cal.working_us(t, result) == d
    if d > 0:
        # The first such instant: just before it, time was still being counted (a result on
        # a closing time stays there).
        assert result > t
        assert cal.is_working(at(result - 1))
    elif d < 0:
        # The last such instant: it is inside working time (an opening at the earliest).
        assert result < t
        assert cal.is_working(at(result))
    else:
        assert result == cal.next_opening_us(t)


@PROPS
@given(any_calendar, any_instant)
def test_next_opening_us_is_the_first_working_instant(
    cal: BusinessCalendar, s: pendulum.DateTime
) -> None:
    t = us(s)
    opening = cal.next_opening_us(t)
    assert opening >= t
    assert cal.is_working(at(opening))
    assert cal.working_us(t, opening) == 0
    if opening > t:
        assert not cal.is_working(s)
        assert not cal.is_working(at(opening - 1))


@PROPS
@given(any_calendar, any_instant, spans, spans)
def test_working_us_adds_up_and_changes_sign(
    cal: BusinessCalendar, s: pendulum.DateTime, x: int, y: int
) -> None:
    a, b, c = us(s), us(s) + x, us(s) + x + y
    assert cal.working_us(a, b) + cal.working_us(b, c) == cal.working_us(a, c)
    assert cal.working_us(b, a) == -cal.working_us(a, b)
    assert abs(cal.working_us(a, b)) <= abs(b - a)


@PROPS
@given(st.sampled_from(["UTC", "America/New_York", "Australia/Sydney"]), any_instant,
       st.integers(-10**13, 10**13))
def test_twenty_four_seven_is_plain_integer_arithmetic(
    zone: str, s: pendulum.DateTime, d: int
) -> None:
    cal = BusinessCalendar.always_open(zone)
    t = us(s)
    assert cal.add_us(t, d) == t + d
    assert cal.working_us(t, t + d) == d
    assert cal.next_opening_us(t) == t


# --- edge cases ----------------------------------------------------------------------------

OFFICE = BusinessCalendar("UTC", {"mon": [("09:00", "17:00")]})
MON_9 = us(pendulum.datetime(2026, 3, 2, 9))
HOUR = 3600 * 1_000_000


def test_boundaries_of_one_interval() -> None:
    assert OFFICE.add_us(MON_9, 8 * HOUR) == MON_9 + 8 * HOUR  # ends on the closing: stays
    assert OFFICE.add_us(MON_9 + 8 * HOUR, 1) == MON_9 + 7 * 86_400_000_000 + 1  # next Monday
    assert OFFICE.add_us(MON_9, -1) == MON_9 - 7 * 86_400_000_000 + 8 * HOUR - 1
    assert OFFICE.add_us(MON_9 + 8 * HOUR, -8 * HOUR) == MON_9  # lands on the opening: stays
    assert OFFICE.next_opening_us(MON_9 + 8 * HOUR) == MON_9 + 7 * 86_400_000_000
    assert OFFICE.next_opening_us(MON_9 - 1) == MON_9
    assert OFFICE.working_us(MON_9 - HOUR, MON_9 + 9 * HOUR) == 8 * HOUR
    assert OFFICE.working_us(MON_9 + 9 * HOUR, MON_9 - HOUR) == -8 * HOUR
    assert OFFICE.working_us(MON_9 + 8 * HOUR, MON_9 + 8 * HOUR) == 0


def test_new_york_spring_forward_keeps_eight_hours() -> None:
    # 2026-03-08 is a Sunday; the Sunday office opens at 09:00 EDT after the 02:00 jump.
    cal = BusinessCalendar("America/New_York", {"sun": [("00:00", "09:00")]})
    start = us(pendulum.datetime(2026, 3, 8, 0, tz="America/New_York"))
    end = us(pendulum.datetime(2026, 3, 8, 9, tz="America/New_York"))
    assert end - start == 8 * HOUR  # nine wall-clock hours, eight real ones
    assert cal.working_us(start, end) == 8 * HOUR
    assert cal.add_us(start, 8 * HOUR) == end


def test_no_working_time() -> None:
    closed = BusinessCalendar("UTC", {})
    with pytest.raises(NoWorkingTime):
        closed.add_us(MON_9, HOUR)
    with pytest.raises(NoWorkingTime):
        closed.add_us(MON_9, -HOUR)
    with pytest.raises(NoWorkingTime):
        closed.add_us(MON_9, 0)
    with pytest.raises(NoWorkingTime):
        closed.next_opening_us(MON_9)
    assert closed.working_us(MON_9, MON_9 + 365 * 86_400_000_000) == 0


def test_years_outside_the_supported_range() -> None:
    far = us(pendulum.datetime(3100, 1, 1))
    with pytest.raises(CalendarError, match="outside the years"):
        OFFICE.add_us(far, HOUR)
    with pytest.raises(CalendarError):
        OFFICE.working_us(MON_9, far)
    assert BusinessCalendar.always_open().add_us(far, HOUR) == far + HOUR


@pytest.mark.parametrize("bad", [1.5, True, "0", None, pendulum.datetime(2026, 3, 2)])
def test_non_integers_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="start_us: expected int microseconds"):
        OFFICE.add_us(bad, HOUR)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="delta_us: expected int microseconds"):
        OFFICE.add_us(MON_9, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="end_us: expected int microseconds"):
        OFFICE.working_us(MON_9, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="t_us: expected int microseconds"):
        OFFICE.next_opening_us(bad)  # type: ignore[arg-type]


def test_a_two_year_span_comes_back_exactly() -> None:
    # The table grows by several years at once; the count must stay exact across them.
    cal = BusinessCalendar("Asia/Shanghai", {d: [("09:00", "18:00")]
                                             for d in ("mon", "tue", "wed", "thu", "fri")},
                           country="CN")
    t = us(pendulum.datetime(2026, 1, 5, 10, tz="Asia/Shanghai"))
    later = cal.add_us(t, 4000 * HOUR)
    assert cal.working_us(t, later) == 4000 * HOUR
    assert cal.add_us(later, -4000 * HOUR) == cal.next_opening_us(t)
