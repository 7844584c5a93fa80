"""Edges of the calendar's documented inputs: the years it computes, the duration types it
takes, the arguments it refuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest

from servicewf import calendar
from servicewf.calendar import BusinessCalendar
from servicewf.errors import CalendarRangeError, InvalidCalendar, NoWorkingTime, UnknownTimeZone

UTC = dt.timezone.utc
WEEKLY = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}


# The documented years (docs/calendar.md), written out: a test reading them from the module
# would follow a wrong value there.
MIN_YEAR, MAX_YEAR = 1800, 2999


def test_the_module_states_the_documented_years() -> None:
    assert (calendar.MIN_YEAR, calendar.MAX_YEAR) == (MIN_YEAR, MAX_YEAR)


def office() -> BusinessCalendar:
    """A fresh calendar (each test's table starts empty: far years stay cheap)."""
    return BusinessCalendar("UTC", WEEKLY)


def test_a_calendar_computes_exactly_min_year_to_max_year() -> None:
    last_monday = max(dt.date(MAX_YEAR, 12, 31) - dt.timedelta(days=d) for d in range(7)
                      if (dt.date(MAX_YEAR, 12, 31) - dt.timedelta(days=d)).weekday() == 0)
    assert office().is_working_day(last_monday)
    first_monday = min(dt.date(MIN_YEAR, 1, 1) + dt.timedelta(days=d) for d in range(7)
                       if (dt.date(MIN_YEAR, 1, 1) + dt.timedelta(days=d)).weekday() == 0)
    assert office().is_working_day(first_monday)
    with pytest.raises(CalendarRangeError, match="outside the years"):
        office().is_working_day(dt.date(MAX_YEAR + 1, 1, 1))
    with pytest.raises(CalendarRangeError, match="outside the years"):
        office().is_working_day(dt.date(MIN_YEAR - 1, 12, 31))


def test_durations_may_be_pendulum_durations_or_timedelta_subclasses() -> None:
    cal = office()
    start = pendulum.datetime(2026, 3, 2, 16, tz="UTC")  # a Monday, one hour before closing
    expected = pendulum.datetime(2026, 3, 3, 10, tz="UTC")
    assert cal.add(start, dt.timedelta(hours=2)) == expected
    assert cal.add(start, pendulum.duration(hours=2)) == expected
    assert cal.add(start, pendulum.duration(days=1, hours=2)) == cal.add(
        start, dt.timedelta(days=1, hours=2))
    assert cal.subtract(expected, pendulum.duration(hours=2)) == start


def test_an_instant_beyond_datetimes_names_about_which_year() -> None:
    always = BusinessCalendar.always_open("UTC")
    with pytest.raises(CalendarRangeError, match="about year 10000"):
        always.add(dt.datetime(9999, 12, 31, 23, tzinfo=UTC), dt.timedelta(days=1))


@pytest.mark.parametrize("zone", ["", None, 8, b"UTC"], ids=repr)
def test_the_zone_must_be_a_zone_name(zone: Any) -> None:
    with pytest.raises(UnknownTimeZone, match="IANA zone name"):
        BusinessCalendar(zone, WEEKLY)


@pytest.mark.parametrize("item", [
    {"date": "2026-03-02", "form": "12:00"},
    {"day": "2026-03-02"},
    {"from": "12:00", "to": "13:00"},
], ids=repr)
def test_a_partial_closure_takes_only_date_from_and_to(item: dict[str, str]) -> None:
    with pytest.raises(InvalidCalendar, match=r"extra_holidays\[1\]: expected"):
        BusinessCalendar("UTC", WEEKLY, extra_holidays=["2026-03-03", item])


@pytest.mark.parametrize(("earliest", "latest"), [(True, 2), (1, False)])
def test_a_window_bound_is_not_a_bool(earliest: Any, latest: Any) -> None:
    with pytest.raises(TypeError, match="expected days"):
        office().window(pendulum.datetime(2026, 3, 2, tz="UTC"), earliest, latest)


# --- wall-clock times on DST days, against the zone database ---------------------------------

DST_DAYS = [
    ("America/New_York", dt.date(2026, 3, 8)),  # 02:00 → 03:00
    ("America/New_York", dt.date(2026, 11, 1)),  # 02:00 → 01:00
    ("Australia/Lord_Howe", dt.date(2026, 4, 5)),  # 02:00 → 01:30
    ("Australia/Lord_Howe", dt.date(2026, 10, 4)),  # 02:00 → 02:30
]


def resolve(zone: str, day: dt.date, wall: dt.time) -> dt.datetime:
    """The documented rule from the zone database alone: an existing wall time is its first
    occurrence; one inside a gap is the instant of the jump."""
    import zoneinfo

    zi = zoneinfo.ZoneInfo(zone)
    naive = dt.datetime.combine(day, wall)
    found = [u for u in (naive.replace(tzinfo=zi, fold=f).astimezone(UTC) for f in (0, 1))
             if u.astimezone(zi).replace(tzinfo=None) == naive]
    if found:
        return min(found)
    # a gap: the jump is the first second whose wall time is at or after ``naive``
    lo = int(naive.replace(tzinfo=UTC).timestamp()) - 15 * 3600
    hi = lo + 30 * 3600
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, zi).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


@pytest.mark.parametrize(("zone", "day"), DST_DAYS, ids=lambda v: str(v))
def test_wall_times_on_dst_days_resolve_as_the_zone_database_says(zone: str,
                                                                 day: dt.date) -> None:
    walls = [dt.time(h, m) for h in range(4) for m in range(60)]
    walls += [dt.time(h, 59, 59) for h in range(4)] + [dt.time(h, 29, 59) for h in range(4)]
    with promptly(20):  # finding the jump in a gap is a search: it must end
        for wall in walls:
            cal = BusinessCalendar(zone, {}, overrides={day: [(wall, "24:00")]})
            # (an ambiguous local time never compares equal across zones: PEP 495)
            start = cal.working_intervals(day)[0][0].astimezone(UTC)
            assert start == resolve(zone, day, wall), (zone, day, wall)


# --- searching beyond the loaded years -------------------------------------------------------


def one_hour_in(year: int) -> BusinessCalendar:
    """Working time only 09:00–10:00 on one day of ``year`` (nothing recurs)."""
    return BusinessCalendar("UTC", {}, overrides={dt.date(year, 5, 5): [["09:00", "10:00"]]})


def test_working_time_years_ahead_is_found_forward_and_backward() -> None:
    now = pendulum.datetime(2026, 1, 1, tz="UTC")
    opening = pendulum.datetime(2031, 5, 5, 9, tz="UTC")
    assert one_hour_in(2031).next_opening(now) == opening
    assert one_hour_in(2031).add(now, dt.timedelta(minutes=30)) == opening.add(minutes=30)
    # counting back exactly all the working time there is lands on its opening
    assert one_hour_in(2031).subtract(opening.add(hours=1), dt.timedelta(hours=1)) == opening
    assert one_hour_in(2031).subtract(opening.add(hours=5), dt.timedelta(hours=1)) == opening
    later = pendulum.datetime(2036, 1, 1, tz="UTC")
    assert one_hour_in(2031).subtract(later, dt.timedelta(minutes=15)) == opening.add(minutes=45)
    with pytest.raises(NoWorkingTime, match="after"):
        one_hour_in(2031).next_opening(opening.add(hours=1))
    with pytest.raises(NoWorkingTime, match="before"):
        one_hour_in(2031).subtract(opening, dt.timedelta(minutes=1))


def promptly(seconds: float) -> Any:
    """Fail the block (instead of hanging) when it runs longer than ``seconds``."""
    import contextlib
    import signal

    @contextlib.contextmanager
    def limit() -> Any:
        def expired(signum: int, frame: object) -> None:
            raise AssertionError(f"still searching after {seconds}s")

        old = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    return limit()


def test_a_search_stops_at_the_last_computed_year() -> None:
    cal = office()  # 16 working hours a week, about 830 a year
    start = pendulum.datetime(MAX_YEAR - 1, 6, 1, tz="UTC")
    assert cal.add(start, dt.timedelta(hours=1000)).year == MAX_YEAR
    with promptly(10), pytest.raises(NoWorkingTime, match="after"):
        cal.add(start, dt.timedelta(hours=2000))
    # the last supported year computes; the year after it is refused (docs/calendar.md)
    assert cal.is_working(pendulum.datetime(MAX_YEAR, 6, 1, 10, tz="UTC")) in (True, False)
    with pytest.raises(CalendarRangeError):
        cal.is_working(pendulum.datetime(MAX_YEAR + 1, 6, 1, tz="UTC"))
