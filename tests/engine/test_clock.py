from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Clock, FrozenClock, SystemClock
from servicewf.clock import as_utc


def test_frozen_clock_moves_only_when_told():
    c = FrozenClock(pendulum.datetime(2026, 9, 25, 16, 30, tz="Asia/Shanghai"))
    assert c.now() == pendulum.datetime(2026, 9, 25, 8, 30, tz="UTC")
    assert c.now() == c.now()
    assert c.advance(hours=2, minutes=1) == pendulum.datetime(2026, 9, 25, 10, 31, tz="UTC")
    c.set(pendulum.datetime(2020, 1, 1, tz="UTC"))
    assert c.now().year == 2020
    with pytest.raises(ValueError):
        c.advance(seconds=-1)
    assert isinstance(c, Clock) and isinstance(SystemClock(), Clock)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        FrozenClock(dt.datetime(2026, 1, 1))
    assert as_utc(dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))).hour == 0


def test_library_never_reads_the_wall_clock():
    """Only clock.SystemClock may read the wall clock (and the CLI, which picks the clock)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "src" / "servicewf"
    pattern = re.compile(r"(pendulum\.now|datetime\.now|datetime\.utcnow|time\.time\(|"
                         r"date\.today|pendulum\.today)")
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in ("clock.py", "cli.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []


def test_epoch_microseconds_one_pair_of_helpers():
    import zoneinfo

    from servicewf.clock import epoch_us, from_epoch_us

    t0 = pendulum.datetime(2026, 3, 1, 9, 0, 0, 123456, tz="UTC")
    std = dt.datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=dt.timezone.utc)
    shanghai = t0.in_timezone("Asia/Shanghai")
    zoned = std.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    expected = 1_772_355_600_123_456
    assert {epoch_us(m) for m in (t0, std, shanghai, zoned)} == {expected}
    for us in (expected, 0, -1, -(10**15), 253_402_300_799_999_999):
        back = from_epoch_us(us)
        assert back.tzinfo is pendulum.UTC and epoch_us(back) == us
    local = from_epoch_us(expected, "Asia/Shanghai")
    assert local == t0 and local.hour == 17
    with pytest.raises(ValueError, match="naive datetime"):
        epoch_us(dt.datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="aware datetime"):
        epoch_us(dt.date(2026, 1, 1))  # type: ignore[arg-type]


def test_instants_are_converted_to_microseconds_in_one_place():
    """``clock.epoch_us`` is the only conversion: no module keeps its own epoch arithmetic."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "src" / "servicewf"
    pattern = re.compile(r"def (_?instant_us|to_us|from_us|to_micros|from_micros)\(|timegm")
    offenders = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                 if p.name != "clock.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@settings(max_examples=300, deadline=None)
@given(us=st.integers(-(10**15), 4 * 10**15),
       zone=st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Paris", "America/New_York",
                             "Australia/Lord_Howe", "+05:30"]))
def test_local_date_us_is_the_date_of_from_epoch_us_in_the_zone(us, zone):
    from servicewf.clock import from_epoch_us, local_date_us

    tz = pendulum.FixedTimezone(5 * 3600 + 1800) if zone == "+05:30" else pendulum.timezone(zone)
    assert local_date_us(us, tz) == from_epoch_us(us, tz).date()


@given(day=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), years=st.integers(0, 50))
def test_years_after_keeps_the_day_or_falls_back_from_29_february(day, years):
    import calendar

    from servicewf.clock import _years_after

    later = _years_after(day, years)
    assert later.year == day.year + years and later.month == day.month
    leap_day_lost = (day.month, day.day) == (2, 29) and not calendar.isleap(later.year)
    assert later.day == (28 if leap_day_lost else day.day)
