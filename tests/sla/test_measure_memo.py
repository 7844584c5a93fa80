"""The working-day memo of CalendarMeasure answers like the calendar, also in a zone whose
offset is not a whole quarter-hour (there a UTC quarter-hour holds two local dates, so it
must not be memoised by quarter-hour; found by mutation)."""

from __future__ import annotations

import datetime as dt

from servicewf.calendar import BusinessCalendar
from servicewf.clock import epoch_us, from_epoch_us
from servicewf.sla.measure import ABSOLUTE, CalendarMeasure

WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_the_memo_never_mixes_two_local_dates() -> None:
    # Monrovia kept -0:44:30 until 1972: local midnight is 00:44:30 UTC, inside the UTC
    # quarter-hour 00:30-00:45, which so holds the end of one local day and a new one.
    cal = BusinessCalendar("Africa/Monrovia", WEEKDAYS)
    m = CalendarMeasure(cal)
    before = dt.datetime(1970, 1, 6, 0, 44, 0, tzinfo=dt.timezone.utc)   # Mon 23:59:30 local
    after = dt.datetime(1970, 1, 6, 0, 44, 40, tzinfo=dt.timezone.utc)   # Tue 00:00:10 local
    for moment in (before, after, before):
        expected = epoch_us(cal.add_working_days(from_epoch_us(epoch_us(moment)), 1))
        assert m.add_working_days(epoch_us(moment), 1, None) == expected


def test_the_memo_answers_for_every_instant_of_a_day_like_a_cold_measure() -> None:
    cal = BusinessCalendar("Asia/Kolkata", WEEKDAYS)   # +05:30: whole quarter-hours
    m = CalendarMeasure(cal)
    start = epoch_us(dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.timezone.utc))
    for step in range(0, 48 * 3600, 1799):
        t = start + step * 1_000_000
        assert m.add_working_days(t, 2, None) == CalendarMeasure(cal).add_working_days(
            t, 2, None) == epoch_us(cal.add_working_days(from_epoch_us(t), 2))


def test_clock_time_needs_no_calendar() -> None:
    assert ABSOLUTE.next_opening(5) == 5 and ABSOLUTE.add(5, 3) == 8
    assert ABSOLUTE.working(3, 10) == 7


def test_the_memo_is_exact_around_local_midnights_and_dst_changes() -> None:
    days = (("Asia/Kolkata", dt.date(2026, 3, 2)), ("Europe/Berlin", dt.date(2026, 3, 29)),
            ("Europe/Berlin", dt.date(2026, 10, 25)))
    for zone, day in days:
        cal = BusinessCalendar(zone, WEEKDAYS)
        m = CalendarMeasure(cal)
        import pendulum

        for offset_days in (-1, 0, 1):
            midnight = pendulum.datetime(day.year, day.month, day.day, tz=zone).add(
                days=offset_days)
            for minutes in range(-20, 21, 1):
                t = epoch_us(midnight.add(minutes=minutes))
                assert m.add_working_days(t, 1, None) == epoch_us(
                    cal.add_working_days(from_epoch_us(t), 1)), (zone, midnight, minutes)
