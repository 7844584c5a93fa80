"""Hypothesis strategies for business calendars (shared by the calendar tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from hypothesis import strategies as st

from servicewf.calendar import WEEKDAYS, BusinessCalendar
from servicewf.errors import InvalidCalendar

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Sao_Paulo",  # DST until 2019, switching at midnight
    "Asia/Kolkata",
]

# Instants the properties start from: 2016..2027 covers Sao Paulo's last DST years.
_LO = int(pendulum.datetime(2016, 1, 1).timestamp())
_HI = int(pendulum.datetime(2027, 6, 1).timestamp())
_DAY_LO = dt.date(2016, 1, 1)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_schedule(draw: st.DrawFn) -> list[list[str]]:
    """0-3 intervals on a 15-minute grid inside 06:00-22:00, maybe an overnight one, or 24 h."""
    mode = draw(st.sampled_from(["closed", "regular", "regular", "regular", "full"]))
    if mode == "closed":
        return []
    if mode == "full":
        return [["00:00", "24:00"]]
    k = draw(st.integers(1, 3))
    points = sorted(draw(st.sets(st.integers(24, 88), min_size=2 * k, max_size=2 * k)))
    out = [[_hhmm(points[2 * i] * 15), _hhmm(points[2 * i + 1] * 15)] for i in range(k)]
    if draw(st.integers(0, 4)) == 0:  # an overnight shift
        start = draw(st.integers(89, 95)) * 15
        end = draw(st.integers(0, 24)) * 15
        out.append([_hhmm(start), _hhmm(end)])
    return out


def _weekly_time(data: dict[str, Any]) -> float:
    cal = BusinessCalendar.from_dict({"timezone": "UTC", "weekly": data})
    total = 0.0
    for day in cal.to_dict()["weekly"].values():
        for a, b in day:
            sa = int(a[:2]) * 60 + int(a[3:])
            sb = int(b[:2]) * 60 + int(b[3:])
            total += (sb - sa) % 1440 or 1440
    return total / 60


@st.composite
def calendar_dicts(draw: st.DrawFn, *, zones: list[str] | None = None) -> dict[str, Any]:
    """A valid calendar description with at least 4 working hours a week."""
    weekly = {day: draw(day_schedule()) for day in WEEKDAYS}
    try:
        hours = _weekly_time(weekly)
    except InvalidCalendar:  # an overnight shift ran into a 24-hour day: drop the shifts
        weekly = {d: [iv for iv in ivs if iv[1] > iv[0] or iv[1] == "00:00"]
                  for d, ivs in weekly.items()}
        hours = _weekly_time(weekly)
    if hours < 4:
        weekly["wed"] = [["09:00", "17:00"]]
    data: dict[str, Any] = {
        "timezone": draw(st.sampled_from(zones or ZONES)),
        "weekly": weekly,
    }
    dates = st.integers(0, 12 * 366).map(lambda n: _DAY_LO + dt.timedelta(days=n))
    kind = draw(st.sampled_from(["none", "none", "country", "list"]))
    if kind == "country":
        data["holidays"] = {"country": draw(st.sampled_from(["CN", "US", "GB"]))}
    elif kind == "list":
        data["holidays"] = [d.isoformat() for d in draw(st.lists(dates, max_size=20))]
    extra: list[Any] = [d.isoformat() for d in draw(st.lists(dates, max_size=10, unique=True))]
    for day in draw(st.lists(dates, max_size=5)):
        a = draw(st.integers(0, 95))
        b = draw(st.integers(a + 1, 96))
        extra.append({"date": day.isoformat(), "from": _hhmm(a * 15), "to": _hhmm(b * 15)})
    whole = {e for e in extra if isinstance(e, str)}
    workdays = [d.isoformat() for d in draw(st.lists(dates, max_size=5, unique=True))
                if d.isoformat() not in whole]
    overrides = {
        d.isoformat(): draw(day_schedule())
        for d in draw(st.lists(dates, max_size=5, unique=True))
        if d.isoformat() not in whole and d.isoformat() not in workdays
    }
    if extra:
        data["extra_holidays"] = extra
    if workdays:
        data["extra_workdays"] = workdays
    if overrides:
        data["overrides"] = overrides
    if draw(st.booleans()):
        data["workday_hours"] = [["10:00", "16:00"]]
    return data


calendars = calendar_dicts().map(BusinessCalendar.from_dict)


@st.composite
def instants(draw: st.DrawFn) -> pendulum.DateTime:
    """An aware instant in a random zone, sometimes exactly on a quarter hour."""
    if draw(st.booleans()):
        ts = draw(st.integers(_LO // 900, _HI // 900)) * 900
        us = 0
    else:
        ts = draw(st.integers(_LO, _HI))
        us = draw(st.integers(0, 999_999))
    zone = draw(st.sampled_from(ZONES))
    return pendulum.from_timestamp(ts, tz=zone).add(microseconds=us)


durations = st.one_of(
    st.integers(0, 100 * 4).map(lambda q: dt.timedelta(minutes=15 * q)),
    st.integers(0, 100 * 3600 * 1_000_000).map(lambda u: dt.timedelta(microseconds=u)),
)
