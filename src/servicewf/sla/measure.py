"""Integer time for the clocks: the two ways to count epoch microseconds.

Instants are ``int`` epoch microseconds (:func:`servicewf.clock.epoch_us` converts). The fold
over a history works on them so its inner loop does no datetime arithmetic; a calendar is
consulted only at clock boundaries (start, stop, pause, resume, extension), through
:class:`CalendarMeasure`.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo

from servicewf.calendar import BusinessCalendar

__all__ = ["ABSOLUTE", "AbsoluteMeasure", "CalendarMeasure"]

_US = 1_000_000
_EPOCH_UTC = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_US = _dt.timedelta(microseconds=1)
_QUARTER = 900 * _US


class AbsoluteMeasure:
    """24×7 elapsed time: plain integer arithmetic, no calendar."""

    absolute = True

    def add(self, t: int, d: int) -> int:
        return t + d

    def working(self, a: int, b: int) -> int:
        return b - a

    def add_working_days(self, t: int, n: int, cutoff: _dt.time | None,
                         convention: str = "end_of_day") -> int:
        raise TypeError("working days need a calendar; use WorkingDays on a calendar clock")

    def next_opening(self, t: int) -> int:
        return t

    def __repr__(self) -> str:
        return "ABSOLUTE"


ABSOLUTE = AbsoluteMeasure()
"""The shared 24×7 measure."""


class CalendarMeasure:
    """Business time on a :class:`~servicewf.calendar.BusinessCalendar`, in microseconds.

    Working-day deadlines depend only on the receipt's local date (without a cut-off), so they
    are cached per date: a history replay then pays for one date conversion, not a calendar
    search.
    """

    absolute = False

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._zone = zoneinfo.ZoneInfo(calendar.timezone)
        self._wd: dict[tuple[int, int], int] = {}  # (date, n; -n for 'date') → result
        self._dates: dict[int, int] = {}
        # Bound once: the fold calls these in its inner loop.
        self._add_us = calendar.add_us
        self._working_us = calendar.working_us
        self._next_opening_us = calendar.next_opening_us

    def add(self, t: int, d: int) -> int:
        return self._add_us(t, d)

    def working(self, a: int, b: int) -> int:
        if a == b:
            return 0
        return self._working_us(a, b)

    def add_working_days(self, t: int, n: int, cutoff: _dt.time | None,
                         convention: str = "end_of_day") -> int:
        if cutoff is not None or n < 1 or convention not in ("end_of_day", "date"):
            # Only these depend on the receipt's local date alone (memoised below).
            return self.calendar.add_working_days_us(t, n, cutoff=cutoff, convention=convention)
        # Local midnights fall on quarter-hours in UTC for every zone with a quarter-hour
        # offset, so a quarter-hour bucket of UTC has one local date: memoise it.
        bucket = t // _QUARTER
        ordinal = self._dates.get(bucket)
        if ordinal is None:
            local = (_EPOCH_UTC + _dt.timedelta(microseconds=t)).astimezone(self._zone)
            ordinal = local.toordinal()
            off = local.utcoffset()
            if off is not None and off // _ONE_US % _QUARTER == 0:
                if len(self._dates) > 200_000:
                    self._dates.clear()
                self._dates[bucket] = ordinal
        key = (ordinal, n) if convention == "end_of_day" else (ordinal, -n)
        found = self._wd.get(key)
        if found is None:
            found = self.calendar.add_working_days_us(t, n, convention=convention)
            if len(self._wd) > 100_000:  # bound the cache; dates repeat within a few years
                self._wd.clear()
            self._wd[key] = found
        return found

    def next_opening(self, t: int) -> int:
        return self._next_opening_us(t)

    def __repr__(self) -> str:
        return f"CalendarMeasure({self.calendar.timezone})"
