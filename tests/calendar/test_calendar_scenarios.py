"""Hand-checked scenarios: each expectation is computed by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from servicewf.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar, china_office

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
SH = "Asia/Shanghai"
NY = "America/New_York"


def sh(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(y, m, d, h, mi, tz=SH)


def weekdays_9_to_17(tz: str = "Europe/Berlin", **extra: object) -> BusinessCalendar:
    days = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    return BusinessCalendar.from_dict({"timezone": tz, "weekly": days, **extra})


# --- China: Mid-Autumn, National Day and 调休 -------------------------------------------------


def test_china_2026_holiday_data_as_the_expectations_assume() -> None:
    cal = china_office()
    # holidays 0.109, CN 2026: Fri 09-25 Mid-Autumn; Oct 1-3 and 5-7 off (Oct 4 is a Sunday);
    # make-up workdays Sun 09-20 and Sat 10-10.
    assert not cal.is_working_day(dt.date(2026, 9, 25))
    assert cal.is_working_day(dt.date(2026, 9, 20))
    assert cal.is_working_day(dt.date(2026, 10, 10))
    for day in (1, 2, 3, 4, 5, 6, 7):
        assert not cal.is_working_day(dt.date(2026, 10, day))
    assert cal.is_working_day(dt.date(2026, 10, 8))
    assert not cal.is_working_day(dt.date(2026, 9, 27))  # an ordinary Sunday
    # A make-up Saturday works the weekday office hours.
    assert [(a.hour, b.hour) for a, b in cal.working_intervals(dt.date(2026, 10, 10))] == [
        (9, 12),
        (13, 18),
    ]


def test_urgent_complaint_on_mid_autumn_friday_due_in_two_working_days() -> None:
    cal = china_office()
    received = sh(2026, 9, 25, 16, 30)  # Friday, itself a holiday (Mid-Autumn)
    # Receipt day never counts; Sat 26 / Sun 27 closed; Mon 28 = day 1; Tue 29 = day 2,
    # which ends at 18:00.
    assert cal.add_working_days(received, 2) == sh(2026, 9, 29, 18)
    # The cutoff option does not make a holiday count.
    assert cal.add_working_days(received, 2, cutoff=dt.time(17)) == sh(2026, 9, 29, 18)
    # In business hours: counting starts Mon 09:00; 8 h a day; 16 h ends Tue 18:00 (closing
    # time stays, no roll to Wednesday).
    assert cal.add(received, 16 * H) == sh(2026, 9, 29, 18)
    assert not cal.is_working(received)


def test_request_before_national_day() -> None:
    cal = china_office()
    received = sh(2026, 9, 30, 16, 30)  # Wednesday, a working day
    # Oct 1-7 off: day 1 = Thu Oct 8, day 2 = Fri Oct 9, day 3 = make-up Sat Oct 10.
    assert cal.add_working_days(received, 2) == sh(2026, 10, 9, 18)
    assert cal.add_working_days(received, 3) == sh(2026, 10, 10, 18)
    # Received before a 17:00 cutoff: Sep 30 is day 1, so day 2 is Oct 8.
    assert cal.add_working_days(received, 2, cutoff=dt.time(17)) == sh(2026, 10, 8, 18)
    assert cal.add_working_days(received, 2, cutoff=dt.time(16)) == sh(2026, 10, 9, 18)
    # 3 h: 1.5 h until 18:00 on Sep 30, then Oct 8 09:00 + 1.5 h.
    assert cal.add(received, 3 * H) == sh(2026, 10, 8, 10, 30)
    assert cal.working_time(received, sh(2026, 10, 8, 10, 30)) == 3 * H
    # An instant given in another zone; the answer comes back in the calendar's zone.
    utc = received.in_timezone("UTC")
    result = cal.add(utc, 3 * H)
    assert result == sh(2026, 10, 8, 10, 30)
    assert result.timezone_name == SH


def test_lunch_break_is_not_working_time() -> None:
    cal = china_office()
    assert cal.add(sh(2026, 9, 29, 11, 30), H) == sh(2026, 9, 29, 13, 30)
    assert not cal.is_working(sh(2026, 9, 29, 12, 30))
    assert cal.next_opening(sh(2026, 9, 29, 12, 30)) == sh(2026, 9, 29, 13)


# --- boundary conventions ---------------------------------------------------------------------


def test_deadline_on_closing_time_stays_there() -> None:
    cal = weekdays_9_to_17()
    fri = pendulum.datetime(2026, 9, 4, 16, tz="Europe/Berlin")
    assert cal.add(fri, H) == pendulum.datetime(2026, 9, 4, 17, tz="Europe/Berlin")
    assert not cal.is_working(fri.set(hour=17))
    assert cal.is_working(fri.set(hour=9))


def test_start_outside_hours_counts_from_next_opening() -> None:
    cal = weekdays_9_to_17()
    sat = pendulum.datetime(2026, 9, 5, 12, tz="Europe/Berlin")
    mon = pendulum.datetime(2026, 9, 7, 9, tz="Europe/Berlin")
    assert cal.add(sat, H) == mon.add(hours=1)
    assert cal.add(sat, dt.timedelta(0)) == mon
    # From a closing time, zero goes to the next opening, but 1 h counts from it too.
    fri_close = pendulum.datetime(2026, 9, 4, 17, tz="Europe/Berlin")
    assert cal.add(fri_close, dt.timedelta(0)) == mon
    assert cal.add(fri_close, H) == mon.add(hours=1)
    inside = pendulum.datetime(2026, 9, 4, 10, 15, tz="Europe/Berlin")
    assert cal.add(inside, dt.timedelta(0)) == inside


def test_subtract_is_how_long_before() -> None:
    cal = weekdays_9_to_17()
    mon10 = pendulum.datetime(2026, 9, 7, 10, tz="Europe/Berlin")
    # 1 h back to Monday 09:00 (an opening stays), then Friday 17:00 - 1 h.
    assert cal.subtract(mon10, 2 * H) == pendulum.datetime(2026, 9, 4, 16, tz="Europe/Berlin")
    assert cal.subtract(mon10, H) == pendulum.datetime(2026, 9, 7, 9, tz="Europe/Berlin")
    assert cal.add(mon10, -2 * H) == cal.subtract(mon10, 2 * H)
    assert cal.working_time(mon10, pendulum.datetime(2026, 9, 4, 16, tz="Europe/Berlin")) == (
        -2 * H
    )


# --- 24x7 -------------------------------------------------------------------------------------


def test_twenty_four_seven_before_midnight() -> None:
    received = pendulum.datetime(2026, 9, 25, 23, 50, tz=SH)
    assert TWENTY_FOUR_SEVEN.add(received, 30 * M) == pendulum.datetime(2026, 9, 26, 0, 20, tz=SH)
    line = BusinessCalendar.always_open(SH)
    due = line.add(received, 30 * M)
    assert (due.day, due.hour, due.minute, due.timezone_name) == (26, 0, 20, SH)


def test_twenty_four_seven_across_spring_forward_is_absolute() -> None:
    line = BusinessCalendar.always_open(NY)
    start = pendulum.datetime(2026, 3, 8, 1, 30, tz=NY)  # 01:30 EST; at 02:00 clocks jump
    due = line.add(start, H)
    assert due == pendulum.datetime(2026, 3, 8, 3, 30, tz=NY)  # 03:30 EDT, 1 real hour later
    assert line.working_time(start, due) == H


# --- overnight shifts ---------------------------------------------------------------------------


def overnight(**extra: object) -> BusinessCalendar:
    # Night desk: Monday to Friday nights, 22:00 to 06:00 the next morning.
    days = {d: [["22:00", "06:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    return BusinessCalendar.from_dict({"timezone": "Europe/London", "weekly": days, **extra})


def ldn(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(y, m, d, h, mi, tz="Europe/London")


def test_friday_evening_clock_on_an_overnight_calendar() -> None:
    cal = overnight()
    fri = ldn(2026, 9, 4, 21)
    # Friday's shift 22:00-Sat 06:00 gives 8 h; Sat and Sun own no shift; the remaining 2 h
    # run from Monday 22:00 to Tuesday 00:00.
    assert cal.add(fri, 10 * H) == ldn(2026, 9, 8, 0)
    assert cal.add(fri, 9 * H) == ldn(2026, 9, 7, 23)
    assert cal.add(fri, 8 * H) == ldn(2026, 9, 5, 6)  # closing time of Friday's shift
    assert cal.is_working(ldn(2026, 9, 5, 5))  # Saturday morning belongs to Friday
    assert not cal.is_working(ldn(2026, 9, 6, 5))  # Sunday morning: Saturday has no shift
    assert cal.is_working(ldn(2026, 9, 7, 5)) is False  # Monday morning: Sunday no shift
    assert cal.is_working_day(dt.date(2026, 9, 4))
    assert not cal.is_working_day(dt.date(2026, 9, 5))
    # Thursday 10:00 + 1 working day = the end of Friday's shift, Saturday 06:00.
    assert cal.add_working_days(ldn(2026, 9, 3, 10), 1) == ldn(2026, 9, 5, 6)


def test_overnight_shift_belongs_to_the_day_it_starts_on() -> None:
    # A holiday on Friday cancels Friday night's shift, Saturday-morning part included.
    cal = overnight(extra_holidays=["2026-09-04"])
    assert not cal.is_working(ldn(2026, 9, 4, 23))
    assert not cal.is_working(ldn(2026, 9, 5, 5))
    # A holiday on Saturday does not cut Friday's shift.
    cal = overnight(extra_holidays=["2026-09-05"])
    assert cal.is_working(ldn(2026, 9, 5, 5))


def test_partial_closure_after_midnight_cuts_the_overnight_tail() -> None:
    # Partial closures are wall-clock windows of their date, whoever owns the interval.
    cal = overnight(extra_holidays=[{"date": "2026-09-05", "from": "02:00", "to": "04:00"}])
    assert cal.is_working(ldn(2026, 9, 5, 1))
    assert not cal.is_working(ldn(2026, 9, 5, 3))
    assert cal.working_time(ldn(2026, 9, 4, 22), ldn(2026, 9, 5, 6)) == 6 * H


# --- DST in New York ------------------------------------------------------------------------------


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> pendulum.DateTime:
    return pendulum.DateTime(y, m, d, h, mi, tzinfo=pendulum.timezone(NY))


def test_spring_forward_day_keeps_a_full_office_day() -> None:
    cal = BusinessCalendar(NY, {d: [("09:00", "17:00")] for d in range(7)})
    (start, end), = cal.working_intervals(dt.date(2026, 3, 8))
    assert end - start == 8 * H
    assert cal.working_time(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 8 * H
    assert cal.add(ny(2026, 3, 7, 16), 2 * H) == ny(2026, 3, 8, 10)


def test_overnight_interval_across_the_gap_is_an_hour_shorter() -> None:
    cal = BusinessCalendar(NY, {d: [("22:00", "06:00")] for d in range(7)})
    (start, end), = cal.working_intervals(dt.date(2026, 3, 7))  # Sat night into Sunday 8th
    assert end - start == 7 * H
    assert cal.working_time(ny(2026, 3, 7, 22), ny(2026, 3, 8, 6)) == 7 * H
    assert cal.add(ny(2026, 3, 7, 22), 7 * H) == ny(2026, 3, 8, 6)
    (start, end), = cal.working_intervals(dt.date(2026, 10, 31))  # fall back: 9 real hours
    assert end - start == 9 * H


def test_boundaries_in_a_gap_or_overlap_resolve_deterministically() -> None:
    cal = BusinessCalendar(
        NY,
        {d: [("01:30", "02:30"), ("02:45", "04:00")] for d in range(7)},
    )
    # Mar 8: 02:00-03:00 does not exist. 02:30 and 02:45 both mean the jump (03:00 EDT).
    ivs = cal.working_intervals(dt.date(2026, 3, 8))
    assert [(a.isoformat(), b.isoformat()) for a, b in ivs] == [
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"),
        ("2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"),
    ]
    assert cal.working_time(ny(2026, 3, 8, 0), ny(2026, 3, 8, 5)) == 90 * M
    # Nov 1: 01:00-02:00 happens twice; 01:30 is its first occurrence (EDT, fold=0).
    ivs = cal.working_intervals(dt.date(2026, 11, 1))
    assert ivs[0][0].isoformat() == "2026-11-01T01:30:00-04:00"
    assert ivs[0][1] - ivs[0][0] == 2 * H  # 01:30 EDT to 02:30 EST


def test_interval_entirely_inside_a_gap_vanishes() -> None:
    cal = BusinessCalendar(NY, {"sun": [("02:10", "02:50")], "mon": [("09:00", "10:00")]})
    assert cal.working_intervals(dt.date(2026, 3, 8)) == []
    assert not cal.is_working_day(dt.date(2026, 3, 8))
    assert cal.is_working_day(dt.date(2026, 3, 15))


# --- closures, overrides, extra workdays --------------------------------------------------------


def berlin(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(y, m, d, h, mi, tz="Europe/Berlin")


def test_partial_day_closure() -> None:
    cal = weekdays_9_to_17(
        extra_holidays=[{"date": "2026-12-31", "from": "12:00", "to": "18:00"}]
    )
    # Thu Dec 31 works 09:00-12:00 only: 1 h from 11:00, then Fri Jan 1 09:00 + 1 h.
    assert cal.add(berlin(2026, 12, 31, 11), 2 * H) == berlin(2027, 1, 1, 10)
    assert [(a.hour, b.hour) for a, b in cal.working_intervals(dt.date(2026, 12, 31))] == [
        (9, 12)
    ]
    # The working day still ends at its (new) last closing time.
    assert cal.add_working_days(berlin(2026, 12, 30, 10), 1) == berlin(2026, 12, 31, 12)


def test_half_day_override() -> None:
    cal = weekdays_9_to_17(overrides={"2026-12-24": [["09:00", "13:00"]]})
    # Thu Dec 24 closes at 13:00: 1 h from 12:00, then Fri Dec 25 09:00 + 1 h.
    assert cal.add(berlin(2026, 12, 24, 12), 2 * H) == berlin(2026, 12, 25, 10)
    assert cal.add(berlin(2026, 12, 24, 12), H) == berlin(2026, 12, 24, 13)


def test_override_opens_a_closed_day() -> None:
    cal = weekdays_9_to_17(overrides={"2026-09-05": [["10:00", "12:00"]]})
    assert cal.add(berlin(2026, 9, 4, 16), 2 * H) == berlin(2026, 9, 5, 11)


def test_extra_workday_uses_the_first_weekday_schedule_or_workday_hours() -> None:
    cal = BusinessCalendar.from_dict({
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["08:00", "12:00"]], "tue": [["09:00", "17:00"]]},
        "extra_workdays": ["2026-09-05"],  # a Saturday
    })
    assert [(a.hour, b.hour) for a, b in cal.working_intervals(dt.date(2026, 9, 5))] == [(8, 12)]
    cal = BusinessCalendar.from_dict({**cal.to_dict(), "workday_hours": [["10:00", "14:00"]]})
    assert [(a.hour, b.hour) for a, b in cal.working_intervals(dt.date(2026, 9, 5))] == [(10, 14)]
    # An extra workday on a public holiday with its own weekday schedule keeps that schedule.
    cal = weekdays_9_to_17(holidays=["2026-09-07"], extra_workdays=["2026-09-07"])
    assert [(a.hour, b.hour) for a, b in cal.working_intervals(dt.date(2026, 9, 7))] == [(9, 17)]


def test_country_holidays_with_subdivision() -> None:
    cal = weekdays_9_to_17("America/Los_Angeles", holidays={"country": "US", "subdiv": "CA"})
    assert not cal.is_working_day(dt.date(2026, 7, 3))  # Independence Day observed (Friday)
    assert not cal.is_working_day(dt.date(2026, 3, 31))  # César Chávez Day, California only
    assert cal.is_working_day(dt.date(2026, 3, 30))


# --- working days and windows -------------------------------------------------------------------


def test_working_days_on_twenty_four_seven_end_at_midnight() -> None:
    received = pendulum.datetime(2026, 9, 25, 10, tz="UTC")
    # Day 1 = Sep 26, which ends at 24:00 = Sep 27 00:00.
    assert TWENTY_FOUR_SEVEN.add_working_days(received, 1) == pendulum.datetime(2026, 9, 27)
    assert TWENTY_FOUR_SEVEN.add_working_days(received, 1, cutoff=dt.time(12)) == (
        pendulum.datetime(2026, 9, 26)
    )


def test_cutoff_after_closing_does_not_count_the_receipt_day() -> None:
    cal = weekdays_9_to_17()
    received = berlin(2026, 9, 1, 17, 30)  # Tuesday after closing, before a 20:00 cutoff
    assert cal.add_working_days(received, 1, cutoff=dt.time(20)) == berlin(2026, 9, 2, 17)
    assert cal.add_working_days(berlin(2026, 9, 1, 8), 1, cutoff=dt.time(20)) == (
        berlin(2026, 9, 1, 17)
    )


def test_follow_up_window_day_15_to_day_30() -> None:
    cal = china_office()
    delivered = sh(2026, 9, 1, 15)
    earliest, latest = cal.window(delivered, 15, 30)
    assert earliest == sh(2026, 9, 16, 0)
    assert latest == sh(2026, 10, 2, 0)  # the end (24:00) of Oct 1
    earliest, latest = cal.window(delivered, 2 * H, 8 * H)
    assert (earliest, latest) == (sh(2026, 9, 1, 17), sh(2026, 9, 2, 15))
    with pytest.raises(ValueError):
        cal.window(delivered, 30, 15)
