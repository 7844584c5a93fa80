"""Hypothesis properties of business-time arithmetic over random calendars and zones."""

from __future__ import annotations

import datetime as dt
import os

import jsonschema
import pendulum
from calendar_strategies import ZONES, calendar_dicts, calendars, durations, instants
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from servicewf.calendar import CALENDAR_SCHEMA, BusinessCalendar

# Raise for a deeper run, e.g. SERVICEWF_CALENDAR_EXAMPLES=400 (about a minute).
EXAMPLES = int(os.environ.get("SERVICEWF_CALENDAR_EXAMPLES", "60"))
PROPS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ZERO = dt.timedelta(0)
SPAN = st.integers(-40 * 86_400_000_000, 40 * 86_400_000_000).map(
    lambda us: dt.timedelta(microseconds=us)
)


@PROPS
@given(calendars, instants())
def test_add_zero_is_start_when_working_else_next_opening(
    cal: BusinessCalendar, s: pendulum.DateTime
) -> None:
    result = cal.add(s, ZERO)
    if cal.is_working(s):
        assert result == s
    else:
        assert result > s
        assert result == cal.next_opening(s)
        assert cal.working_time(s, result) == ZERO
    assert cal.is_working(result)
    assert result.timezone_name == cal.timezone


@PROPS
@given(calendars, instants(), durations, durations)
def test_add_is_monotone_in_duration(
    cal: BusinessCalendar, s: pendulum.DateTime, a: dt.timedelta, b: dt.timedelta
) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add(s, a) <= cal.add(s, b)


@PROPS
@given(calendars, instants(), durations)
def test_working_time_to_the_deadline_is_the_duration(
    cal: BusinessCalendar, s: pendulum.DateTime, d: dt.timedelta
) -> None:
    deadline = cal.add(s, d)
    assert deadline >= s
    assert cal.working_time(s, deadline) == d
    assert cal.working_time(deadline, s) == -d


@PROPS
@given(calendars, instants(), durations, durations)
def test_add_is_additive(
    cal: BusinessCalendar, s: pendulum.DateTime, a: dt.timedelta, b: dt.timedelta
) -> None:
    # b == 0 is the zero rule's business: a deadline on a closing time then moves to the
    # next opening (documented), so additivity is stated for b > 0.
    assume(b > ZERO)
    assert cal.add(cal.add(s, a), b) == cal.add(s, a + b)


@PROPS
@given(st.sampled_from(ZONES), instants(), st.integers(-10**12, 10**12), st.booleans())
def test_twenty_four_seven_is_absolute_time(
    zone: str, s: pendulum.DateTime, us: int, through_table: bool
) -> None:
    cal = BusinessCalendar.always_open(zone)
    if through_table:
        # A far-away holiday turns off the absolute shortcut, so the interval table is used.
        cal = BusinessCalendar.from_dict({**cal.to_dict(), "holidays": ["1850-01-01"]})
    d = dt.timedelta(microseconds=us)
    result = cal.add(s, d)
    assert result == s + d
    assert result.timezone_name == zone
    assert cal.working_time(s, s + d) == d
    assert cal.is_working(s)


@PROPS
@given(calendars, instants(), durations, durations, durations)
def test_pausing_moves_the_deadline_by_the_paused_working_time(
    cal: BusinessCalendar,
    s: pendulum.DateTime,
    d: dt.timedelta,
    gap1: dt.timedelta,
    gap2: dt.timedelta,
) -> None:
    p = s + gap1 / 4  # pause starts (absolute time after the start)
    q = p + gap2  # and ends
    consumed = cal.working_time(s, p)
    assume(consumed < d)  # the pause starts before the goal is met
    resumed = cal.add(q, d - consumed)
    assert resumed == cal.add(s, d + cal.working_time(p, q))
    assert resumed >= cal.add(s, d)


@PROPS
@given(calendars, instants(), SPAN, SPAN)
def test_working_time_splits_and_matches_the_day_by_day_sum(
    cal: BusinessCalendar, a: pendulum.DateTime, to_b: dt.timedelta, to_c: dt.timedelta
) -> None:
    b, c = a + to_b, a + to_c
    assert cal.working_time(a, c) == cal.working_time(a, b) + cal.working_time(b, c)
    lo, hi = min(a, c), max(a, c)
    # Independent oracle: intersect [lo, hi) with every day's own intervals.
    total = ZERO
    day = lo.in_timezone(cal.timezone).date() - dt.timedelta(days=1)
    while day <= hi.in_timezone(cal.timezone).date():
        for start, end in cal.working_intervals(day):
            total += max(ZERO, min(end, hi) - max(start, lo))
        day += dt.timedelta(days=1)
    # Overrides may overlap a neighbouring overnight shift; the calendar counts the union.
    assert cal.working_time(lo, hi) <= total
    if "overrides" not in cal.to_dict():
        assert cal.working_time(lo, hi) == total


@PROPS
@given(calendars, instants(), durations)
def test_backward_add_inverts_forward_add(
    cal: BusinessCalendar, s: pendulum.DateTime, d: dt.timedelta
) -> None:
    assume(d > ZERO)
    forward = cal.add(s, d)
    assert cal.subtract(forward, d) == cal.add(s, ZERO)  # lands on s, or s's next opening
    if cal.is_working(s):
        back = cal.subtract(s, d)
        assert back < s
        # Forward from ``back`` lands on s, or on the closing time just before s when s is
        # an opening (a deadline on a closing time stays there); both are d of working time.
        again = cal.add(back, d)
        assert again == s or (again < s and cal.next_opening(again) == s)
        assert cal.working_time(back, s) == d


def _receipt_counts(cal: BusinessCalendar, s: pendulum.DateTime, cutoff: dt.time | None) -> bool:
    """Whether the receipt day is day 1, from the documented rule alone: a cut-off is set, the
    receipt day is a working day, and the receipt is before the cut-off (local time) and
    before that day's closing."""
    if cutoff is None:
        return False
    local = s.in_timezone(cal.timezone)
    day = local.date()
    if not cal.is_working_day(day):
        return False
    closing = cal.working_intervals(day)[-1][1]
    return local.time() < cutoff and s < closing


@PROPS
@given(calendars, instants(), st.integers(1, 15), st.sampled_from([None, dt.time(12)]))
def test_add_working_days_ends_a_working_day(
    cal: BusinessCalendar, s: pendulum.DateTime, n: int, cutoff: dt.time | None
) -> None:
    due = cal.add_working_days(s, n, cutoff=cutoff)
    receipt = s.in_timezone(cal.timezone).date()
    # Independent expectation: walk the days after receipt (the receipt day itself when the
    # rule says it counts) and take the end of the n-th working day.
    counts = _receipt_counts(cal, s, cutoff)
    day = receipt if counts else receipt + dt.timedelta(days=1)
    found = 0
    while True:
        if cal.is_working_day(day):
            found += 1
            if found == n:
                break
        day += dt.timedelta(days=1)
    assert due == cal.working_intervals(day)[-1][1], (counts, day)
    # The end of a working day may be the next calendar day (24:00, overnight shift).
    local = due.in_timezone(cal.timezone)
    assert local.date() in (day, day + dt.timedelta(days=1))
    assert day > receipt or (counts and day == receipt and n == 1)
    assert cal.add_working_days(s, n + 1, cutoff=cutoff) > due


@PROPS
@given(calendar_dicts())
def test_dict_round_trip(data: dict[str, object]) -> None:
    cal = BusinessCalendar.from_dict(data)
    dumped = cal.to_dict()
    jsonschema.validate(dumped, CALENDAR_SCHEMA)
    again = BusinessCalendar.from_dict(dumped)
    assert again == cal
    assert again.to_dict() == dumped
    assert hash(again) == hash(cal)


@PROPS
@given(calendars, instants())
def test_next_opening_is_working_and_nothing_works_before_it(
    cal: BusinessCalendar, s: pendulum.DateTime
) -> None:
    opening = cal.next_opening(s)
    assert cal.is_working(opening)
    assert cal.working_time(s, opening) == ZERO
    if opening > s:
        assert not cal.is_working(s)
        assert not cal.is_working(opening - dt.timedelta(microseconds=1))
