"""Every bad input gets a clear, typed error naming what is wrong."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pendulum
import pytest

from servicewf.calendar import MAX_YEAR, MIN_YEAR, BusinessCalendar, china_office
from servicewf.errors import CalendarError, InvalidCalendar, NoWorkingTime, UnknownTimeZone

OFFICE = {"mon": [["09:00", "17:00"]]}


def build(**data: Any) -> BusinessCalendar:
    return BusinessCalendar.from_dict({"timezone": "UTC", "weekly": OFFICE, **data})


def test_unknown_zone() -> None:
    with pytest.raises(UnknownTimeZone, match="Mars/Olympus"):
        BusinessCalendar("Mars/Olympus")
    with pytest.raises(UnknownTimeZone):
        BusinessCalendar.from_dict({"timezone": "Not/AZone", "weekly": {}})
    assert issubclass(UnknownTimeZone, CalendarError)


@pytest.mark.parametrize(
    ("weekly", "needle"),
    [
        ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, r"weekly\.mon: .*overlap"),
        ({"tue": [["09:00", "09:00"]]}, r"weekly\.tue\[0\]: start equals end"),
        ({"wed": [["24:00", "06:00"]]}, r"weekly\.wed\[0\]: 24:00 can only end"),
        ({"thu": [["22:00", "07:00"]], "fri": [["06:00", "10:00"]]}, r"weekly\.thu: overnight"),
        ({"sun": [["22:00", "07:00"]], "mon": [["06:00", "10:00"]]}, r"weekly\.sun: overnight"),
    ],
)
def test_bad_intervals(weekly: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidCalendar, match=needle):
        BusinessCalendar.from_dict({"timezone": "UTC", "weekly": weekly})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"weekly": {"mon": [["9:00", "17:00"]]}}, r"weekly\.mon\.0\.0"),
        ({"weekly": {"mon": [["09:00", "25:00"]]}}, r"weekly\.mon\.0\.1"),
        ({"weekly": {"mon": [["09:00"]]}}, r"weekly\.mon\.0"),
        ({"weekly": {"monday": []}}, r"weekly"),
        ({"extra_holidays": ["2026-02-30"]}, r"extra_holidays\[0\]: '2026-02-30' is not a real"),
        ({"extra_holidays": ["26-1-1"]}, r"extra_holidays\.0"),
        ({"extra_workdays": ["2026-13-01"]}, r"extra_workdays\[0\]"),
        ({"overrides": {"2026-02-31": []}}, r"overrides key '2026-02-31'"),
        ({"overrides": {"tomorrow": []}}, r"overrides"),
        ({"holidays": {"country": "XX"}}, r"holidays: country 'XX'"),
        ({"holidays": {"country": "US", "subdiv": "ZZ"}}, r"holidays: .*'ZZ'"),
        ({"colour": "blue"}, r"calendar: Additional properties"),
        (
            {"extra_holidays": [{"date": "2026-12-31", "from": "18:00", "to": "12:00"}]},
            r"extra_holidays\[0\]: closure 'to'",
        ),
        (
            {"extra_holidays": ["2026-10-10"], "extra_workdays": ["2026-10-10"]},
            r"extra_workdays: 2026-10-10 is also",
        ),
        (
            {"extra_holidays": ["2026-10-10"], "overrides": {"2026-10-10": []}},
            r"overrides\.2026-10-10",
        ),
        ({"workday_hours": [["10:00", "09:00"], ["08:00", "11:00"]]}, r"workday_hours: "),
    ],
)
def test_bad_fields_are_named(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidCalendar, match=needle):
        build(**data)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(InvalidCalendar, match="unknown weekday"):
        BusinessCalendar("UTC", {"funday": []})
    with pytest.raises(InvalidCalendar, match="whole-second"):
        BusinessCalendar("UTC", {"mon": [(dt.time(9, 0, 0, 5), "10:00")]})
    with pytest.raises(InvalidCalendar, match="subdivision needs a country"):
        BusinessCalendar("UTC", subdiv="CA")
    with pytest.raises(InvalidCalendar, match="expected a date"):
        BusinessCalendar("UTC", extra_workdays=[dt.datetime(2026, 1, 1)])
    with pytest.raises(InvalidCalendar, match="calendar: expected a mapping"):
        BusinessCalendar.from_dict([])  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    cal = china_office()
    naive = dt.datetime(2026, 9, 30, 10)
    for call in (
        lambda: cal.add(naive, dt.timedelta(hours=1)),
        lambda: cal.is_working(naive),
        lambda: cal.next_opening(naive),
        lambda: cal.working_time(naive, naive),
        lambda: cal.add_working_days(naive, 1),
        lambda: cal.window(naive, 1, 2),
        lambda: BusinessCalendar.always_open().add(naive, dt.timedelta(0)),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_wrong_argument_types() -> None:
    cal = china_office()
    s = pendulum.datetime(2026, 9, 30, 10, tz="Asia/Shanghai")
    with pytest.raises(TypeError):
        cal.add(s, 3600)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cal.add(dt.date(2026, 9, 30), dt.timedelta(0))  # type: ignore[arg-type]
    # n = 0 and negative n are defined now (issue #15); a non-integer n, an unknown
    # convention and a cut-off outside end_of_day are refused.
    with pytest.raises(ValueError, match="whole number"):
        cal.add_working_days(s, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        cal.add_working_days(s, True)
    with pytest.raises(ValueError, match="unknown working-day convention"):
        cal.add_working_days(s, 1, convention="business")
    with pytest.raises(ValueError, match="cutoff= is for the 'end_of_day'"):
        cal.add_working_days(s, 1, cutoff=dt.time(12), convention="same_time")
    with pytest.raises(TypeError):
        cal.window(s, 1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidCalendar):
        cal.is_working_day(s)  # a datetime, not a date


def test_calendar_without_working_time_fails_fast() -> None:
    closed = BusinessCalendar("UTC", {})
    s = pendulum.datetime(2026, 1, 1)
    started = time.perf_counter()
    with pytest.raises(NoWorkingTime):
        closed.add(s, dt.timedelta(hours=1))
    with pytest.raises(NoWorkingTime):
        closed.subtract(s, dt.timedelta(hours=1))
    with pytest.raises(NoWorkingTime):
        closed.next_opening(s)
    with pytest.raises(NoWorkingTime):
        closed.add_working_days(s, 1)
    assert closed.working_time(s, s.add(years=1)) == dt.timedelta(0)
    assert not closed.is_working(s)
    assert time.perf_counter() - started < 5


def test_working_time_only_on_listed_dates_runs_out() -> None:
    cal = BusinessCalendar("UTC", {}, overrides={"2026-05-04": [("09:00", "10:00")]})
    s = pendulum.datetime(2026, 1, 1)
    assert cal.add(s, dt.timedelta(minutes=30)) == pendulum.datetime(2026, 5, 4, 9, 30)
    assert cal.add(s, dt.timedelta(hours=1)) == pendulum.datetime(2026, 5, 4, 10)
    with pytest.raises(NoWorkingTime):
        cal.add(s, dt.timedelta(hours=2))
    with pytest.raises(NoWorkingTime):
        cal.next_opening(pendulum.datetime(2026, 6, 1))


def test_holidays_everywhere_still_terminate() -> None:
    # Only Mondays open, and every Monday of the supported range would need listing: instead
    # check a calendar whose only weekday is shut by a long holiday list stops searching.
    mondays = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(60 * 53)]
    cal = BusinessCalendar("UTC", {"mon": [("09:00", "10:00")]}, holiday_dates=mondays)
    with pytest.raises(NoWorkingTime):
        cal.add(pendulum.datetime(2026, 1, 1), dt.timedelta(hours=1))


def test_calendar_is_immutable() -> None:
    cal = china_office()
    with pytest.raises(AttributeError):
        cal.timezone = "UTC"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cal._weekly = ()
    with pytest.raises(AttributeError):
        del cal._zi


def test_years_outside_the_supported_range() -> None:
    cal = china_office()
    with pytest.raises(CalendarError, match="outside the years"):
        cal.is_working(pendulum.datetime(3500, 1, 1))


def _fresh_calendars() -> list[BusinessCalendar]:
    # Fresh instances: the lazily loaded table must not depend on earlier calls.
    return [build(), build(holidays=["2026-01-01"]),
            BusinessCalendar.from_dict({"timezone": "America/New_York", "weekly": OFFICE})]


@pytest.mark.parametrize("year", [MIN_YEAR, MIN_YEAR + 1, MAX_YEAR - 1, MAX_YEAR])
def test_every_supported_year_computes(year: int) -> None:
    """docs/calendar.md: the supported years are MIN_YEAR to MAX_YEAR inclusive; instants
    *beyond* raise. The first and last supported years must work too (the table loads the
    neighbouring years, which must be clamped, not refused)."""
    monday = next(dt.date(year, 6, d) for d in range(1, 8) if dt.date(year, 6, d).weekday() == 0)
    for cal in _fresh_calendars():
        zone = cal.timezone
        nine = pendulum.datetime(monday.year, monday.month, monday.day, 9, tz=zone)
        assert cal.is_working_day(monday)
        assert cal.is_working(nine.add(hours=1))
        assert not cal.is_working(nine.add(hours=8))
        assert cal.add(nine, dt.timedelta(hours=3)) == nine.add(hours=3)
        assert cal.working_time(nine, nine.add(days=1)) == dt.timedelta(hours=8)
        assert cal.next_opening(nine.subtract(hours=2)) == nine
        assert cal.add_working_days(nine.subtract(days=3), 1) == nine.add(hours=8)


@pytest.mark.parametrize("moment", [
    pendulum.datetime(MIN_YEAR - 1, 12, 31, 12), pendulum.datetime(MAX_YEAR + 1, 1, 1, 12),
    pendulum.datetime(MIN_YEAR - 50, 6, 1), pendulum.datetime(MAX_YEAR + 500, 6, 1)])
def test_instants_beyond_the_supported_years_raise(moment: pendulum.DateTime) -> None:
    for cal in _fresh_calendars():
        with pytest.raises(CalendarError, match="outside the years"):
            cal.is_working(moment)
        with pytest.raises(CalendarError, match="outside the years"):
            cal.add(moment, dt.timedelta(hours=1))
        with pytest.raises(CalendarError, match="outside the years"):
            cal.working_time(pendulum.datetime(2026, 1, 1), moment)
        with pytest.raises(CalendarError, match="outside the years"):
            cal.add_working_days(moment, 1)
    # The 24x7 calendar is plain arithmetic: no year limit.
    always = BusinessCalendar.always_open()
    assert always.is_working(moment)
    assert always.add(moment, dt.timedelta(hours=1)) == moment.add(hours=1)


def test_counting_past_the_last_supported_year_is_refused_not_wrapped() -> None:
    cal = build()
    late = pendulum.datetime(MAX_YEAR, 12, 20, 9)
    with pytest.raises(CalendarError):  # NoWorkingTime is a CalendarError
        cal.add(late, dt.timedelta(hours=8 * 10))
    with pytest.raises(CalendarError):
        cal.add_working_days(late, 5)
