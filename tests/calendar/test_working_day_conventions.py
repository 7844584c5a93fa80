"""Working-day conventions of ``add_working_days`` (issue #15): each against an oracle that
walks the days one by one through the public per-day API (``is_working_day``,
``working_intervals``, ``next_opening``), plus the properties the issue names (never on a
non-working day, monotone in n, n then -n returns to the convention point) and worked
examples from each peer's public documentation or tests."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo

import pendulum
import pytest
from calendar_strategies import calendars, instants
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from servicewf.calendar import WORKING_DAY_CONVENTIONS, BusinessCalendar
from servicewf.errors import NoWorkingTime

EXAMPLES = int(os.environ.get("SERVICEWF_CALENDAR_EXAMPLES", "60"))
PROPS = settings(max_examples=EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
ONE = dt.timedelta(days=1)
COUNTS = st.integers(-8, 8)


# --- the oracle: one day at a time -------------------------------------------------------------


class Oracle:
    def __init__(self, cal: BusinessCalendar) -> None:
        self.cal = cal

    def working(self, d: dt.date) -> bool:
        return self.cal.is_working_day(d)

    def close(self, d: dt.date) -> pendulum.DateTime:
        return self.cal.working_intervals(d)[-1][1]

    def open(self, d: dt.date) -> pendulum.DateTime:
        return self.cal.working_intervals(d)[0][0]

    def step(self, d: dt.date, n: int) -> dt.date:
        """The |n|-th working day strictly after (n > 0) or before (n < 0) ``d``."""
        sign = 1 if n > 0 else -1
        found = 0
        while found < abs(n):
            d += sign * ONE
            if self.working(d):
                found += 1
        return d

    def on_or_after(self, d: dt.date) -> dt.date:
        return d if self.working(d) else self.step(d, 1)

    def on_or_before(self, d: dt.date) -> dt.date:
        return d if self.working(d) else self.step(d, -1)

    def receipt(self, s: pendulum.DateTime) -> dt.date:
        return s.in_timezone(self.cal.timezone).date()

    def add(self, s: pendulum.DateTime, n: int, convention: str) -> pendulum.DateTime:
        r = self.receipt(s)
        if convention in ("end_of_day", "date"):
            if n > 0:
                d = self.step(r, n)
            else:
                anchor = self.on_or_after(r)
                if convention == "end_of_day":
                    # An instant that is a working day's closing time belongs to that day.
                    for day in (r - ONE, r):
                        if self.working(day) and self.close(day) == s:
                            anchor = day
                d = anchor if n == 0 else self.step(anchor, n)
            return self.close(d) if convention == "end_of_day" else self.open(d)
        if convention == "same_time":
            anchor = self.on_or_after(r) if n >= 0 else self.on_or_before(r)
            d = anchor if n == 0 else self.step(anchor, n)
            local = s.in_timezone(self.cal.timezone)
            wall = dt.datetime(d.year, d.month, d.day, local.hour, local.minute, local.second,
                               local.microsecond, tzinfo=zoneinfo.ZoneInfo(self.cal.timezone))
            return self.cal.next_opening(wall)
        assert convention == "start_day_inclusive"
        if n == 0:
            return self.cal.next_opening(s)
        if n > 0:
            first = r if self.working(r) and s < self.close(r) else self.step(r, 1)
            d = first if n == 1 else self.step(first, n - 1)
            return self.close(d)
        day = r  # the last working day with working time before s
        while not (self.working(day) and self.open(day) < s):
            day -= ONE
        d = day if n == -1 else self.step(day, n + 1)
        return self.open(d)

    def point(self, s: pendulum.DateTime, convention: str) -> pendulum.DateTime:
        """Where n then -n (n >= 1) comes back to: the point of the day counting counts from."""
        r = self.receipt(s)
        if convention == "end_of_day":
            return self.close(self.on_or_before(r))
        if convention == "date":
            return self.open(self.on_or_before(r))
        assert convention == "start_day_inclusive"
        first = r if self.working(r) and s < self.close(r) else self.step(r, 1)
        return self.open(first)


def _in_gap(cal: BusinessCalendar, day: dt.date, local: pendulum.DateTime) -> bool:
    """True when the wall time of ``local`` does not exist (or is ambiguous) on ``day``."""
    zone = zoneinfo.ZoneInfo(cal.timezone)
    wall = dt.datetime(day.year, day.month, day.day, local.hour, local.minute, local.second,
                       tzinfo=zone)
    back = wall.astimezone(dt.timezone.utc).astimezone(zone)
    other = wall.replace(fold=1).astimezone(dt.timezone.utc)
    return back.replace(tzinfo=None) != wall.replace(tzinfo=None) or other != wall.astimezone(
        dt.timezone.utc)


def _add(cal: BusinessCalendar, s: pendulum.DateTime, n: int, convention: str
         ) -> pendulum.DateTime | None:
    try:
        return cal.add_working_days(s, n, convention=convention)
    except NoWorkingTime:
        return None


# --- properties ------------------------------------------------------------------------------


@PROPS
@given(calendars, instants(), COUNTS, st.sampled_from(WORKING_DAY_CONVENTIONS))
def test_each_convention_equals_the_day_by_day_oracle(
    cal: BusinessCalendar, s: pendulum.DateTime, n: int, convention: str
) -> None:
    got = _add(cal, s, n, convention)
    assume(got is not None)
    oracle = Oracle(cal)
    if convention == "same_time":
        anchor = oracle.on_or_after(oracle.receipt(s)) if n >= 0 else oracle.on_or_before(
            oracle.receipt(s))
        target = anchor if n == 0 else oracle.step(anchor, n)
        assume(not _in_gap(cal, target, s.in_timezone(cal.timezone)))
    assert got == oracle.add(s, n, convention)
    assert got.timezone_name == cal.timezone


@PROPS
@given(calendars, instants(), COUNTS, st.sampled_from(WORKING_DAY_CONVENTIONS))
def test_never_lands_on_a_non_working_day(
    cal: BusinessCalendar, s: pendulum.DateTime, n: int, convention: str
) -> None:
    got = _add(cal, s, n, convention)
    assume(got is not None)
    if cal.is_working(got):
        return  # inside working time: on a working day's interval
    # Otherwise it is exactly the closing time of a working day (which may be the next
    # calendar date: 24:00, the end of an overnight shift).
    local = got.in_timezone(cal.timezone).date()
    owners = [d for d in (local - ONE, local)
              if cal.is_working_day(d) and cal.working_intervals(d)[-1][1] == got]
    assert owners, (convention, n, got)


@PROPS
@given(calendars, instants(), COUNTS, st.sampled_from(WORKING_DAY_CONVENTIONS))
def test_monotone_in_n(cal: BusinessCalendar, s: pendulum.DateTime, n: int,
                       convention: str) -> None:
    a = _add(cal, s, n, convention)
    b = _add(cal, s, n + 1, convention)
    assume(a is not None and b is not None)
    assert a <= b
    if n >= 1:  # beyond the convention point each further day is a later day
        assert a < b


@PROPS
@given(calendars, instants(), st.integers(1, 8),
       st.sampled_from(["end_of_day", "date", "start_day_inclusive"]))
def test_n_then_minus_n_returns_to_the_convention_point(
    cal: BusinessCalendar, s: pendulum.DateTime, n: int, convention: str
) -> None:
    there = _add(cal, s, n, convention)
    assume(there is not None)
    back = _add(cal, there, -n, convention)
    assume(back is not None)
    assert back == Oracle(cal).point(s, convention)
    receipt = Oracle(cal).receipt(s)
    closes_previous_day = cal.is_working_day(receipt - ONE) and cal.working_intervals(
        receipt - ONE)[-1][1] == s
    if (convention != "start_day_inclusive" and cal.is_working_day(receipt)
            and not closes_previous_day):
        # On a working receipt day the convention point is the n = 0 answer (unless the
        # start is itself the previous day's closing instant).
        assert back == cal.add_working_days(s, 0, convention=convention)


OFFICE = BusinessCalendar.from_dict({
    "timezone": "Europe/Paris",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-05-01", "2026-05-08", "2026-12-25"],
})


@PROPS
@given(st.integers(0, 365 * 24 * 4 - 1), st.integers(1, 12))
def test_same_time_round_trip_on_a_uniform_calendar(quarter: int, n: int) -> None:
    """On a calendar whose working days share their hours, a start inside working time comes
    back to itself: n then -n working days at the same time of day."""
    s = pendulum.datetime(2026, 1, 1, tz="Europe/Paris").add(minutes=15 * quarter)
    assume(OFFICE.is_working(s))
    there = OFFICE.add_working_days(s, n, convention="same_time")
    assert there.time() == s.in_timezone("Europe/Paris").time()
    assert OFFICE.add_working_days(there, -n, convention="same_time") == s
    assert OFFICE.add_working_days(s, 0, convention="same_time") == s


# --- worked examples from the peers' public documentation ---------------------------------------

MON_FRI = ("mon", "tue", "wed", "thu", "fri")


def test_workalendar_readme_five_working_days_after_christmas_sunday() -> None:
    """workalendar README (France): ``cal.add_working_days(date(2012, 12, 23), 5)`` is
    2012-12-31 (Christmas Day is skipped, the receipt Sunday does not count)."""
    france = BusinessCalendar.from_dict({
        "timezone": "Europe/Paris", "holidays": {"country": "FR"},
        "weekly": {d: [["09:00", "18:00"]] for d in MON_FRI},
    })
    assert france.working_date(dt.date(2012, 12, 23), 5) == dt.date(2012, 12, 31)
    assert france.working_date(dt.date(2012, 12, 31), -5) == dt.date(2012, 12, 21)
    assert france.working_date(dt.date(2012, 12, 24), 0) == dt.date(2012, 12, 24)
    assert france.working_date(dt.date(2012, 12, 25), 0) == dt.date(2012, 12, 26)
    at = pendulum.datetime(2012, 12, 23, 15, tz="Europe/Paris")
    assert france.add_working_days(at, 5, convention="date") == pendulum.datetime(
        2012, 12, 31, 9, tz="Europe/Paris")


def test_business_days_gem_readme_same_time() -> None:
    """The business_days / business_time gems' README: Friday + 1 → Monday, Friday + 2 →
    Tuesday, Saturday + 1 → Tuesday, Saturday + 0 → Monday, Friday − 1 → Thursday, at the
    same time of day (Zammad's ``biz`` keeps the time of day the same way)."""
    cal = BusinessCalendar.from_dict({
        "timezone": "UTC", "weekly": {d: [["09:00", "17:00"]] for d in MON_FRI}})
    friday = pendulum.datetime(2026, 3, 6, 10, 30)
    saturday = pendulum.datetime(2026, 3, 7, 10, 30)

    def at(day: int) -> pendulum.DateTime:
        return pendulum.datetime(2026, 3, day, 10, 30)

    assert cal.add_working_days(friday, 1, convention="same_time") == at(9)  # Monday
    assert cal.add_working_days(friday, 2, convention="same_time") == at(10)  # Tuesday
    assert cal.add_working_days(saturday, 1, convention="same_time") == at(10)  # Tuesday
    assert cal.add_working_days(saturday, 0, convention="same_time") == at(9)  # Monday
    assert cal.add_working_days(friday, -1, convention="same_time") == at(5)  # Thursday
    # Rolled to working time: Friday 18:00 + 1 is Monday 18:00, closed → Tuesday 09:00.
    assert cal.add_working_days(pendulum.datetime(2026, 3, 6, 18), 1,
                                convention="same_time") == pendulum.datetime(2026, 3, 10, 9)


def test_odoo_plan_days_tests() -> None:
    """Odoo's ``resource`` tests (``test_plan_days``, a Mon–Fri 08:00–16:00 calendar):
    plan_days(1, Tue 2018-04-10 00:00) is that Tuesday 16:00 (the receipt day counts);
    plan_days(3, ...) is Thursday 04-12 16:00; plan_days(-10, ...) is 2018-03-27 08:00.
    Odoo's plan_days(0, t) returns t itself; ours rolls t to working time (08:00)."""
    cal = BusinessCalendar.from_dict({
        "timezone": "Europe/Brussels",
        "weekly": {d: [["08:00", "16:00"]] for d in MON_FRI},
    })

    def bxl(*args: int) -> pendulum.DateTime:
        return pendulum.datetime(*args, tz="Europe/Brussels")

    t = bxl(2018, 4, 10)
    assert cal.add_working_days(t, 1, convention="start_day_inclusive") == bxl(2018, 4, 10, 16)
    assert cal.add_working_days(t, 3, convention="start_day_inclusive") == bxl(2018, 4, 12, 16)
    assert cal.add_working_days(t, -10, convention="start_day_inclusive") == bxl(2018, 3, 27, 8)
    assert cal.add_working_days(t, 0, convention="start_day_inclusive") == bxl(2018, 4, 10, 8)
    # After the day's closing the receipt day is over: the next working day is day 1.
    late = bxl(2018, 4, 10, 16)
    assert cal.add_working_days(late, 1, convention="start_day_inclusive") == bxl(
        2018, 4, 11, 16)


def test_end_of_day_examples() -> None:
    """Ours (the default): the receipt day does not count; 0 is the end of the receipt day;
    backward counts the ends of the working days before it."""
    cal = BusinessCalendar.from_dict({
        "timezone": "Asia/Taipei", "weekly": {d: [["09:00", "18:00"]] for d in MON_FRI}})

    def tpe(*args: int) -> pendulum.DateTime:
        return pendulum.datetime(*args, tz="Asia/Taipei")

    friday = tpe(2026, 3, 6, 10)
    assert cal.add_working_days(friday, 1) == tpe(2026, 3, 9, 18)
    assert cal.add_working_days(friday, 0) == tpe(2026, 3, 6, 18)
    assert cal.add_working_days(friday, -1) == tpe(2026, 3, 5, 18)
    assert cal.add_working_days(tpe(2026, 3, 7, 10), 0) == tpe(2026, 3, 9, 18)  # Saturday
    assert cal.add_working_days(tpe(2026, 3, 7, 10), -1) == tpe(2026, 3, 6, 18)
    assert cal.add_working_days(friday, 1, convention="end_of_day") == cal.add_working_days(
        friday, 1)


def test_end_of_day_closing_instant_belongs_to_its_day() -> None:
    """A day ending at 24:00 closes at the next date's midnight: counting back from that
    instant counts from the day it closes."""
    cal = BusinessCalendar.from_dict({
        "timezone": "UTC", "weekly": {d: [["09:00", "24:00"]] for d in MON_FRI}})
    monday_end = pendulum.datetime(2026, 3, 10)  # Tuesday 00:00 = Monday 24:00
    assert cal.add_working_days(monday_end, 0) == monday_end
    assert cal.add_working_days(monday_end, -1) == pendulum.datetime(2026, 3, 7)  # Fri 24:00
    assert cal.add_working_days(monday_end, 1) == pendulum.datetime(2026, 3, 12)  # Wed 24:00


@pytest.mark.parametrize("convention", WORKING_DAY_CONVENTIONS)
def test_a_calendar_without_working_days_refuses(convention: str) -> None:
    closed = BusinessCalendar("UTC", {})
    with pytest.raises(NoWorkingTime):
        closed.add_working_days(pendulum.datetime(2026, 3, 6), 2, convention=convention)
    with pytest.raises(NoWorkingTime):
        closed.add_working_days(pendulum.datetime(2026, 3, 6), -2, convention=convention)
