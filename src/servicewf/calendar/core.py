"""Business calendars and exact business-time arithmetic.

Internally every instant is an ``int`` of microseconds since the Unix epoch (UTC). Working time
is a sorted list of disjoint absolute intervals with cumulative working time at each interval,
built one local year at a time on demand; an addition is then two binary searches, whatever the
duration. See ``docs/calendar.md`` for the conventions.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import json
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import holidays as _holidays
import pendulum

from servicewf.calendar.schema import (
    CALENDAR_SCHEMA,
    DAY_SECONDS,
    WEEKDAYS,
    DateLike,
    Interval,
    IntervalLike,
    format_date,
    format_interval,
    format_time,
    parse_date,
    parse_day,
    parse_time,
    parse_weekly,
)
from servicewf.clock import epoch_us
from servicewf.errors import (
    CalendarError,
    CalendarRangeError,
    InvalidCalendar,
    NoWorkingTime,
    UnknownTimeZone,
)

__all__ = ["MAX_YEAR", "MIN_YEAR", "WORKING_DAY_CONVENTIONS", "BusinessCalendar", "Closure"]

WORKING_DAY_CONVENTIONS = ("end_of_day", "same_time", "start_day_inclusive", "date")
"""The names :meth:`BusinessCalendar.add_working_days` accepts as ``convention=``."""

MIN_YEAR = 1800
"""First local year a calendar with holidays or gaps can compute in."""
MAX_YEAR = 2999
"""Last local year a calendar with holidays or gaps can compute in."""

_US = 1_000_000
_DAY_US = DAY_SECONDS * _US
_EPOCH_ORD = _dt.date(1970, 1, 1).toordinal()
_EPOCH_UTC = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_US = _dt.timedelta(microseconds=1)
# A run of this many years without any working time means there is none to find.
_EMPTY_YEARS_LIMIT = 50

Closure = tuple[int, int]
"""A partial-day closure: ``[from, to)`` in seconds after that date's midnight (wall clock)."""

ExtraHoliday = DateLike | Mapping[str, Any]

@functools.cache
def _validator() -> Any:
    # jsonschema is imported when data is validated, not with the module: it is a third of
    # a second of every start (the demo validates nothing).
    import jsonschema

    return jsonschema.Draft202012Validator(CALENDAR_SCHEMA)


def _td_us(value: _dt.timedelta) -> int:
    """Exact microseconds of a timedelta (also of a pendulum ``Duration``)."""
    if type(value) is _dt.timedelta:
        return (value.days * DAY_SECONDS + value.seconds) * _US + value.microseconds
    if not isinstance(value, _dt.timedelta):
        raise TypeError(f"expected a timedelta duration, got {type(value).__name__}")
    days: int = _dt.timedelta.days.__get__(value)  # bypass subclasses' own ``days``
    seconds: int = _dt.timedelta.seconds.__get__(value)
    micro: int = _dt.timedelta.microseconds.__get__(value)
    return (days * DAY_SECONDS + seconds) * _US + micro


def _offset_us(offset: _dt.timedelta | None) -> int:
    if offset is None:  # pragma: no cover - zoneinfo always answers for a zone
        raise CalendarError("time zone gave no UTC offset")
    return _td_us(offset)


def _beyond_datetimes(us: int, what: str) -> CalendarRangeError:
    """The error for an instant a datetime cannot hold (in UTC or the calendar's zone)."""
    year = 1970 + us * 10_000 // (3_652_425 * _DAY_US)  # Gregorian years, exact integers
    where = f"about year {year}" if abs(year) < 10**12 else "far"
    return CalendarRangeError(
        f"{what} ({where}, {_short(us)} µs from 1970) is outside the years 1–9999 a datetime "
        "can hold; use a nearer start or a shorter duration"
    )


def _short(n: int) -> str:
    """``n`` in decimal, or its order of magnitude when it has too many digits to print."""
    if abs(n) < 10**30:
        return str(n)
    return f"{'-' if n < 0 else ''}~2**{abs(n).bit_length() - 1}"


def _refuse_non_int(**values: object) -> None:
    """Raise ``TypeError`` for the first value that is not a plain ``int`` of microseconds."""
    for name, value in values.items():
        if type(value) is not int:
            raise TypeError(
                f"{name}: expected int microseconds (epoch microseconds for an instant), got "
                f"{type(value).__name__} {value!r}; convert with int(), or use the datetime "
                "methods (add, working_time, next_opening)"
            )


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of intervals (touching ones join, so 24x7 becomes one long interval)."""
    intervals.sort()
    out: list[tuple[int, int]] = []
    for start, end in intervals:
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _subtract(
    intervals: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """``intervals`` minus ``holes`` (both absolute, ``intervals`` disjoint and sorted)."""
    for h_start, h_end in holes:
        cut: list[tuple[int, int]] = []
        for start, end in intervals:
            if h_end <= start or end <= h_start:
                cut.append((start, end))
                continue
            if start < h_start:
                cut.append((start, h_start))
            if h_end < end:
                cut.append((h_end, end))
        intervals = cut
    return intervals


class _Table:
    """An immutable snapshot of working intervals over local years ``lo..hi``.

    ``cum[i]`` is the working time before interval ``i`` (from an arbitrary origin), so the
    working time between two instants is a difference of two :meth:`position` values.
    """

    __slots__ = (
        "closes", "cum", "cumend", "ends", "hi", "lo", "opens", "safe_hi", "safe_lo", "starts",
        "workdays",
    )

    def __init__(
        self,
        lo: int,
        hi: int,
        intervals: list[tuple[int, int]],
        workdays: list[int],
        closes: list[int],
        opens: list[int] | None = None,
    ) -> None:
        self.lo = lo
        self.hi = hi
        # Instants whose UTC year y has y - 1 and y + 1 loaded: a cheap coverage test.
        self.safe_lo = (_dt.date(lo + 1, 1, 1).toordinal() - _EPOCH_ORD) * _DAY_US
        self.safe_hi = (_dt.date(hi, 1, 1).toordinal() - _EPOCH_ORD) * _DAY_US
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]
        cum: list[int] = []
        cumend: list[int] = []
        total = 0
        for s, e in intervals:
            cum.append(total)
            total += e - s
            cumend.append(total)
        self.cum = cum
        self.cumend = cumend
        self.workdays = workdays
        self.closes = closes
        self.opens = opens if opens is not None else []

    def position(self, t: int) -> int:
        """Working time from the origin up to instant ``t``."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        if t < self.ends[i]:
            return self.cum[i] + t - self.starts[i]
        return self.cumend[i]


class BusinessCalendar:
    """Working time in one IANA zone: weekly intervals, holidays, make-up days and overrides.

    Immutable once built (lazily filled caches aside). Every operation accepts any aware
    datetime (a naive one raises ``ValueError``) and returns an aware :class:`pendulum.DateTime`
    in the calendar's zone.

    Conventions (details in ``docs/calendar.md``):

    * intervals are half-open ``[start, end)``; ``"24:00"`` ends a day; an interval whose end is
      before its start is overnight and belongs to the day it **starts** on (that day's holiday
      status decides it); ``end == start`` is refused;
    * precedence for a date: override > whole-day extra holiday > extra workday > public holiday
      (country or listed) > make-up workday of the country > weekly schedule; partial closures
      are then cut out as absolute windows of that date's wall clock;
    * an extra or make-up workday falling on a closed weekday uses ``workday_hours``, by default
      the schedule of the first weekday (Monday first) that has one;
    * a wall time in a DST gap means the instant of the jump; in a DST overlap, the first
      occurrence (``fold=0``).
    """

    __slots__ = (
        "_always",
        "_closures",
        "_country",
        "_dates_span",
        "_extra_holidays",
        "_extra_workdays",
        "_frozen",
        "_hol",
        "_holiday_dates",
        "_overrides",
        "_ptz",
        "_recurring",
        "_subdiv",
        "_table",
        "_timezone",
        "_weekly",
        "_workday_hours",
        "_workday_hours_given",
        "_years",
        "_zi",
    )

    _always: bool
    _closures: dict[_dt.date, tuple[Closure, ...]]
    _country: str | None
    _dates_span: tuple[int, int] | None
    _extra_holidays: frozenset[_dt.date]
    _extra_workdays: frozenset[_dt.date]
    _frozen: bool
    _hol: Any
    _holiday_dates: frozenset[_dt.date]
    _overrides: dict[_dt.date, tuple[Interval, ...]]
    _ptz: pendulum.Timezone
    _recurring: bool
    _subdiv: str | None
    _table: _Table | None
    _timezone: str
    _weekly: tuple[tuple[Interval, ...], ...]
    _workday_hours: tuple[Interval, ...]
    _workday_hours_given: bool
    _years: dict[int, tuple[list[tuple[int, int]], list[int], list[int], list[int]]]
    _zi: zoneinfo.ZoneInfo

    def __init__(
        self,
        timezone: str,
        weekly: Mapping[Any, Sequence[IntervalLike]] | None = None,
        *,
        country: str | None = None,
        subdiv: str | None = None,
        holiday_dates: Iterable[DateLike] = (),
        extra_holidays: Iterable[ExtraHoliday] = (),
        extra_workdays: Iterable[DateLike] = (),
        overrides: Mapping[DateLike, Sequence[IntervalLike]] | None = None,
        workday_hours: Sequence[IntervalLike] | None = None,
    ) -> None:
        """Build a calendar; bad input raises :class:`InvalidCalendar` naming the field.

        ``weekly`` maps ``"mon"``..``"sun"`` (or 0..6) to ``[start, end]`` pairs of ``"HH:MM"``
        strings or ``time`` objects; missing weekdays are closed. ``country``/``subdiv`` take
        public holidays (and make-up weekend workdays such as China's 调休) from the
        ``holidays`` package. ``extra_holidays`` items are dates (whole day) or mappings
        ``{"date": ..., "from": "12:00", "to": "18:00"}`` (a partial closure).
        """
        if not isinstance(timezone, str) or not timezone:
            raise UnknownTimeZone(f"timezone: expected an IANA zone name, got {timezone!r}")
        try:
            zi = zoneinfo.ZoneInfo(timezone)
            ptz = pendulum.timezone(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise UnknownTimeZone(f"timezone: unknown IANA time zone {timezone!r}") from exc
        set_ = object.__setattr__
        set_(self, "_timezone", timezone)
        set_(self, "_zi", zi)
        set_(self, "_ptz", ptz)
        week = parse_weekly(weekly)
        set_(self, "_weekly", week)

        hol: Any = None
        if country is not None:
            if not isinstance(country, str):
                raise InvalidCalendar(f"holidays.country: expected a country code, got {country!r}")
            try:
                hol = _holidays.country_holidays(country, subdiv=subdiv)
            except NotImplementedError as exc:
                raise InvalidCalendar(
                    f"holidays: country {country!r} / subdivision {subdiv!r} is not known to "
                    f"the holidays package: {exc}"
                ) from exc
        elif subdiv is not None:
            raise InvalidCalendar("holidays.subdiv: a subdivision needs a country")
        set_(self, "_country", country)
        set_(self, "_subdiv", subdiv)
        set_(self, "_hol", hol)
        set_(
            self,
            "_holiday_dates",
            frozenset(parse_date(d, f"holidays.dates[{i}]") for i, d in enumerate(holiday_dates)),
        )

        whole: set[_dt.date] = set()
        closures: dict[_dt.date, tuple[Closure, ...]] = {}
        for i, item in enumerate(extra_holidays):
            field = f"extra_holidays[{i}]"
            if isinstance(item, Mapping):
                unknown = set(item) - {"date", "from", "to"}
                if unknown or "date" not in item:
                    raise InvalidCalendar(
                        f"{field}: expected {{'date', 'from', 'to'}} keys, got {sorted(item)}"
                    )
                day = parse_date(item["date"], f"{field}.date")
                if "from" not in item and "to" not in item:
                    whole.add(day)
                    continue
                start = parse_time(item.get("from", "00:00"), f"{field}.from")
                end = parse_time(item.get("to", "24:00"), f"{field}.to")
                if end <= start:
                    raise InvalidCalendar(
                        f"{field}: closure 'to' ({format_time(end)}) must be after 'from' "
                        f"({format_time(start)}); split a closure across midnight in two"
                    )
                closures[day] = tuple(sorted({*closures.get(day, ()), (start, end)}))
            else:
                whole.add(parse_date(item, field))
        set_(self, "_extra_holidays", frozenset(whole))
        set_(self, "_closures", closures)

        workdays = frozenset(
            parse_date(d, f"extra_workdays[{i}]") for i, d in enumerate(extra_workdays)
        )
        clash = sorted(workdays & whole)
        if clash:
            raise InvalidCalendar(
                f"extra_workdays: {format_date(clash[0])} is also a whole-day extra holiday"
            )
        set_(self, "_extra_workdays", workdays)

        parsed_overrides: dict[_dt.date, tuple[Interval, ...]] = {}
        for key, intervals in (overrides or {}).items():
            day = parse_date(key, f"overrides key {key!r}")
            field = f"overrides.{format_date(day)}"
            if day in parsed_overrides:
                raise InvalidCalendar(f"{field}: the date is given twice")
            if day in whole or day in workdays:
                raise InvalidCalendar(
                    f"{field}: the date is also an extra holiday or extra workday; an override "
                    "already decides the whole day"
                )
            parsed_overrides[day] = parse_day(intervals, field)
        set_(self, "_overrides", parsed_overrides)

        given = workday_hours is not None
        if workday_hours is not None:
            default_day = parse_day(workday_hours, "workday_hours")
        else:
            default_day = next((d for d in week if d), ())
        set_(self, "_workday_hours", default_day)
        set_(self, "_workday_hours_given", given)

        # Can working time recur forever, or only on the explicitly listed dates?
        recurring = any(week) or (hol is not None and bool(default_day))
        set_(self, "_recurring", recurring)
        explicit = [*parsed_overrides, *workdays]
        set_(
            self,
            "_dates_span",
            (min(explicit).year, max(explicit).year) if explicit else None,
        )
        full = ((0, DAY_SECONDS),)
        set_(
            self,
            "_always",
            all(d == full for d in week)
            and hol is None
            and not self._holiday_dates
            and not whole
            and not closures
            and not parsed_overrides,
        )
        set_(self, "_years", {})
        set_(self, "_table", None)
        set_(self, "_frozen", True)

    # --- immutability and identity ------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("BusinessCalendar is immutable; build a new one instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("BusinessCalendar is immutable; build a new one instead")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return f"BusinessCalendar.from_dict({self.to_dict()!r})"

    @property
    def timezone(self) -> str:
        """The IANA zone name."""
        return self._timezone

    @property
    def tz(self) -> pendulum.Timezone:
        """The zone, as a pendulum ``Timezone``."""
        return self._ptz

    # --- construction from and to plain data ----------------------------------------------

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A 24×7 calendar: its arithmetic is plain absolute time, DST or not."""
        return cls(timezone, {day: [("00:00", "24:00")] for day in WEEKDAYS})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from plain data (see :data:`CALENDAR_SCHEMA`).

        Raises :class:`InvalidCalendar` naming the offending field, or
        :class:`UnknownTimeZone`.
        """
        if not isinstance(data, Mapping):
            raise InvalidCalendar(f"calendar: expected a mapping, got {type(data).__name__}")
        import jsonschema.exceptions

        error = jsonschema.exceptions.best_match(_validator().iter_errors(dict(data)))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "calendar"
            raise InvalidCalendar(f"{where}: {error.message}")
        hols = data.get("holidays")
        country: str | None = None
        subdiv: str | None = None
        dates: list[str] = []
        if isinstance(hols, Mapping):
            country = hols["country"]
            subdiv = hols.get("subdiv")
            dates = list(hols.get("dates", []))
        elif isinstance(hols, list):
            dates = hols
        return cls(
            data["timezone"],
            data.get("weekly"),
            country=country,
            subdiv=subdiv,
            holiday_dates=dates,
            extra_holidays=data.get("extra_holidays", ()),
            extra_workdays=data.get("extra_workdays", ()),
            overrides=data.get("overrides"),
            workday_hours=data.get("workday_hours"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain-data form; ``from_dict(cal.to_dict()) == cal``."""
        out: dict[str, Any] = {
            "timezone": self._timezone,
            "weekly": {
                name: [format_interval(iv) for iv in day]
                for name, day in zip(WEEKDAYS, self._weekly, strict=True)
            },
        }
        listed = sorted(format_date(d) for d in self._holiday_dates)
        if self._country is not None:
            hol: dict[str, Any] = {"country": self._country}
            if self._subdiv is not None:
                hol["subdiv"] = self._subdiv
            if listed:
                hol["dates"] = listed
            out["holidays"] = hol
        elif listed:
            out["holidays"] = listed
        extra: list[Any] = [format_date(d) for d in sorted(self._extra_holidays)]
        for day in sorted(self._closures):
            for start, end in self._closures[day]:
                extra.append(
                    {"date": format_date(day), "from": format_time(start), "to": format_time(end)}
                )
        if extra:
            out["extra_holidays"] = extra
        if self._extra_workdays:
            out["extra_workdays"] = [format_date(d) for d in sorted(self._extra_workdays)]
        if self._workday_hours_given:
            out["workday_hours"] = [format_interval(iv) for iv in self._workday_hours]
        if self._overrides:
            out["overrides"] = {
                format_date(d): [format_interval(iv) for iv in self._overrides[d]]
                for d in sorted(self._overrides)
            }
        return out

    # --- conversions ----------------------------------------------------------------------

    def _out(self, us: int) -> pendulum.DateTime:
        """A pendulum DateTime in the calendar zone, built cheaply (no ``pendulum.instance``)."""
        seconds, micro = divmod(us, _US)
        try:
            loc = _dt.datetime.fromtimestamp(seconds, self._zi)
        except (OverflowError, ValueError, OSError):
            raise _beyond_datetimes(us, "the result") from None
        return pendulum.DateTime(
            loc.year, loc.month, loc.day, loc.hour, loc.minute, loc.second, micro,
            tzinfo=self._ptz, fold=loc.fold,
        )

    def _local(self, us: int) -> _dt.datetime:
        seconds, micro = divmod(us, _US)
        try:
            return _dt.datetime.fromtimestamp(seconds, self._zi).replace(microsecond=micro)
        except (OverflowError, ValueError, OSError):
            raise _beyond_datetimes(us, "the instant") from None

    def _wall_us(self, ordinal: int, seconds: int) -> int:
        """The instant of a wall-clock time ``seconds`` after the midnight of day ``ordinal``.

        In a DST gap the wall time does not exist: it resolves to the instant of the jump. In a
        DST overlap it resolves to the first occurrence (``fold=0``).
        """
        days, seconds = divmod(seconds, DAY_SECONDS)
        ordinal += days
        try:
            day = _dt.date.fromordinal(ordinal)
        except (OverflowError, ValueError):
            raise CalendarRangeError(
                f"day {ordinal} (counting 0001-01-01 as day 1) is outside the years 1–9999 a "
                "date can hold; use a nearer date or fewer days"
            ) from None
        naive = _dt.datetime(
            day.year, day.month, day.day, seconds // 3600, seconds // 60 % 60, seconds % 60
        )
        zi = self._zi
        off0 = _offset_us(zi.utcoffset(naive))
        off1 = _offset_us(zi.utcoffset(naive.replace(fold=1)))
        base = ((ordinal - _EPOCH_ORD) * DAY_SECONDS + seconds) * _US
        t0, t1 = base - off0, base - off1
        if t0 <= t1:
            return t0  # normal time, or the earlier of two occurrences
        # Gap: the jump lies in (t1, t0]; find it to the second (transitions are whole seconds).
        lo, hi = t1 // _US, t0 // _US
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset_us(_dt.datetime.fromtimestamp(mid, zi).utcoffset()) == off0:
                lo = mid
            else:
                hi = mid
        return hi * _US

    # --- the schedule of one day ------------------------------------------------------------

    def _day_intervals(self, day: _dt.date) -> tuple[Interval, ...]:
        """Wall-clock intervals owned by ``day`` before partial closures."""
        if day in self._overrides:
            return self._overrides[day]
        if day in self._extra_holidays:
            return ()
        weekly = self._weekly[day.weekday()]
        if day in self._extra_workdays:
            return weekly or self._workday_hours
        if day in self._holiday_dates:
            return ()
        hol = self._hol
        if hol is not None:
            if day in hol:
                return ()
            if day in hol.weekend_workdays:
                return weekly or self._workday_hours
        return weekly

    def _closure_windows(self, day: _dt.date) -> list[tuple[int, int]]:
        ordinal = day.toordinal()
        return [
            (self._wall_us(ordinal, a), self._wall_us(ordinal, b))
            for a, b in self._closures.get(day, ())
        ]

    def _owned_us(self, day: _dt.date) -> list[tuple[int, int]]:
        """Absolute intervals owned by ``day`` after DST resolution and partial closures."""
        ordinal = day.toordinal()
        out: list[tuple[int, int]] = []
        for start, end in self._day_intervals(day):
            a, b = self._wall_us(ordinal, start), self._wall_us(ordinal, end)
            if b > a:  # an interval inside a DST gap vanishes
                out.append((a, b))
        if out and self._closures:
            holes = self._closure_windows(day)
            if out[-1][1] > self._wall_us(ordinal, DAY_SECONDS):
                holes += self._closure_windows(day + _dt.timedelta(days=1))
            out = _subtract(out, holes)
        return out

    # --- the lazily extended table ----------------------------------------------------------

    def _year(
        self, year: int
    ) -> tuple[list[tuple[int, int]], list[int], list[int], list[int]]:
        cached: tuple[list[tuple[int, int]], list[int], list[int], list[int]] | None = (
            self._years.get(year))
        if cached is not None:
            return cached
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise CalendarRangeError(
                f"year {year} is outside the years a calendar computes ({MIN_YEAR}–{MAX_YEAR}); "
                "use an instant inside them (only the 24×7 calendar has no such limit)"
            )
        if self._hol is not None:
            # Make-up workdays of a year may be announced with the next year's holidays.
            _ = _dt.date(year, 1, 1) in self._hol
            _ = _dt.date(year + 1, 1, 1) in self._hol if year < MAX_YEAR else None
        intervals: list[tuple[int, int]] = []
        workdays: list[int] = []
        closes: list[int] = []
        opens: list[int] = []
        first = _dt.date(year, 1, 1).toordinal()
        last = _dt.date(year, 12, 31).toordinal()
        for ordinal in range(first, last + 1):
            owned = self._owned_us(_dt.date.fromordinal(ordinal))
            if owned:
                intervals.extend(owned)
                workdays.append(ordinal)
                closes.append(owned[-1][1])
                opens.append(owned[0][0])
        result = (intervals, workdays, closes, opens)
        self._years[year] = result
        return result

    def _load(self, lo: int, hi: int) -> _Table:
        """Make the table cover local years ``lo..hi`` (at least) and return it."""
        table = self._table
        if table is not None:
            if table.lo <= lo and hi <= table.hi:
                return table
            lo, hi = min(lo, table.lo), max(hi, table.hi)
        if lo < MIN_YEAR or hi > MAX_YEAR:
            raise CalendarRangeError(
                f"years {lo}–{hi} reach outside the years a calendar computes "
                f"({MIN_YEAR}–{MAX_YEAR}); use an instant inside them (only the 24×7 calendar "
                "has no such limit)"
            )
        intervals: list[tuple[int, int]] = []
        workdays: list[int] = []
        closes: list[int] = []
        opens: list[int] = []
        for year in range(lo, hi + 1):
            ivs, wds, cls, ops = self._year(year)
            intervals.extend(ivs)
            workdays.extend(wds)
            closes.extend(cls)
            opens.extend(ops)
        new = _Table(lo, hi, _merge(intervals), workdays, closes, opens)
        object.__setattr__(self, "_table", new)  # a new snapshot, never mutated in place
        return new

    def _around(self, us: int) -> _Table:
        """The table, covering at least the UTC years before, of and after instant ``us``."""
        table = self._table
        if table is not None and table.safe_lo <= us < table.safe_hi:
            return table
        try:
            year = (_EPOCH_UTC + _dt.timedelta(microseconds=us)).year
        except OverflowError:
            raise _beyond_datetimes(us, "the instant") from None
        return self._load(*self._years_around(year, us))

    def _years_around(self, year: int, us: int) -> tuple[int, int]:
        """Local years ``year - 1 .. year + 1`` clamped to the supported years, so instants
        in the first and last supported years compute; an instant whose local year is outside
        them raises :class:`~servicewf.errors.CalendarRangeError`."""
        if MIN_YEAR < year < MAX_YEAR:
            return year - 1, year + 1
        local = self._local(us).year if MIN_YEAR - 1 <= year <= MAX_YEAR + 1 else year
        if not MIN_YEAR <= local <= MAX_YEAR:
            raise CalendarRangeError(
                f"year {local} is outside the years a calendar computes ({MIN_YEAR}–{MAX_YEAR});"
                " use an instant within them"
            )
        return max(year - 1, MIN_YEAR), min(year + 1, MAX_YEAR)

    def _no_more(self, table: _Table, forward: bool) -> bool:
        """True when extending the table further in that direction cannot find working time."""
        if (forward and table.hi >= MAX_YEAR) or (not forward and table.lo <= MIN_YEAR):
            return True
        if not self._recurring:
            span = self._dates_span
            if span is None:
                return True
            return table.hi > span[1] if forward else table.lo < span[0]
        if table.starts:
            edge = self._local(table.ends[-1] if forward else table.starts[0]).year
            return (table.hi - edge if forward else edge - table.lo) > _EMPTY_YEARS_LIMIT
        return table.hi - table.lo > _EMPTY_YEARS_LIMIT

    def _grow(self, table: _Table, forward: bool, need_us: int = 0) -> _Table:
        if self._no_more(table, forward):
            raise NoWorkingTime(
                f"the calendar has no working time {'after' if forward else 'before'} "
                f"{table.hi if forward else table.lo} (searched years {table.lo}–{table.hi})"
            )
        years = table.hi - table.lo + 1
        total = table.cumend[-1] - table.cum[0] if table.cum else 0
        step = 1 if total == 0 else need_us * years // total + 1
        step = max(1, min(step, 100))
        if forward:
            return self._load(table.lo, min(table.hi + step, MAX_YEAR))
        return self._load(max(table.lo - step, MIN_YEAR), table.hi)

    # --- queries --------------------------------------------------------------------------

    def is_working(self, moment: _dt.datetime) -> bool:
        """True when ``moment`` is inside working time (an interval's end is not)."""
        t = epoch_us(moment)
        if self._always:
            return True
        table = self._around(t)
        i = bisect.bisect_right(table.starts, t) - 1
        return i >= 0 and t < table.ends[i]

    def working_intervals(self, day: _dt.date) -> list[tuple[pendulum.DateTime, pendulum.DateTime]]:
        """The working intervals owned by ``day`` (after holidays, DST and closures).

        An overnight interval is listed under the day it starts on.
        """
        day = parse_date(day, "day")
        return [(self._out(a), self._out(b)) for a, b in self._owned_us(day)]

    def is_working_day(self, day: _dt.date) -> bool:
        """True when ``day`` owns some working time (a datetime is refused: pass its date)."""
        day = parse_date(day, "day")
        table = self._load(day.year, day.year)
        i = bisect.bisect_left(table.workdays, day.toordinal())
        return i < len(table.workdays) and table.workdays[i] == day.toordinal()

    def next_opening(self, moment: _dt.datetime) -> pendulum.DateTime:
        """``moment`` itself when inside working time, else the start of the next interval.

        Raises :class:`NoWorkingTime` when there is none.
        """
        return self._out(self.next_opening_us(epoch_us(moment)))

    def add(self, start: _dt.datetime, duration: _dt.timedelta) -> pendulum.DateTime:
        """``start`` plus ``duration`` of working time; a negative duration goes backward.

        Forward: counting starts at the next opening when ``start`` is outside working time,
        and a result landing exactly on a closing time stays there. ``add(s, 0)`` is ``s`` when
        working, else the next opening. Backward mirrors it: counting starts at the previous
        closing, and a result landing exactly on an opening stays there.
        Raises :class:`NoWorkingTime` when the calendar has no working time to count, and
        :class:`~servicewf.errors.CalendarRangeError` when ``start`` or the result lies outside
        the years the calendar computes or a datetime holds (1–9999).
        """
        return self._out(self.add_us(epoch_us(start), _td_us(duration)))

    def subtract(self, start: _dt.datetime, duration: _dt.timedelta) -> pendulum.DateTime:
        """The instant ``duration`` of working time before ``start`` (``add(start, -d)``)."""
        return self._out(self.add_us(epoch_us(start), -_td_us(duration)))

    def working_time(self, start: _dt.datetime, end: _dt.datetime) -> _dt.timedelta:
        """Working time between two instants; negative when ``end`` is before ``start``.

        Raises :class:`~servicewf.errors.CalendarRangeError` for an instant outside the years
        the calendar computes (a 24×7 calendar has no limit here).
        """
        return _dt.timedelta(microseconds=self.working_us(epoch_us(start), epoch_us(end)))

    # --- the same arithmetic on epoch microseconds -----------------------------------------
    #
    # For callers that keep instants as integers (the SLA clocks fold whole histories that
    # way): no datetime is built or read. Each method is the datetime method of the same name
    # (``add``, ``working_time``, ``next_opening``) with instants as ``int`` microseconds since
    # 1970-01-01T00:00:00Z and durations as ``int`` microseconds; the datetime methods are
    # these plus conversions, so both always agree.

    def next_opening_us(self, t_us: int) -> int:
        """:meth:`next_opening` in epoch microseconds.

        ``t_us`` itself when it is inside working time (an interval's start is inside, its end
        is not), else the start of the next working interval, so the result is never before
        ``t_us``. Epoch microseconds are absolute, so a DST change needs no special care: the
        intervals already sit at the instants their wall-clock times resolve to (see the DST
        rows of ``docs/calendar.md``).

        Raises :class:`NoWorkingTime` when there is no later working time,
        :class:`CalendarRangeError` beyond the supported years (not for a 24×7 calendar, which
        returns ``t_us``), and ``TypeError`` when ``t_us`` is not an ``int``.
        """
        if type(t_us) is not int:
            _refuse_non_int(t_us=t_us)
        if self._always:
            return t_us
        table = self._around(t_us)
        while True:
            i = bisect.bisect_right(table.starts, t_us) - 1
            if i >= 0 and t_us < table.ends[i]:
                return t_us
            if i + 1 < len(table.starts):
                return table.starts[i + 1]
            table = self._grow(table, True)

    def add_us(self, start_us: int, delta_us: int) -> int:
        """:meth:`add` in epoch microseconds: ``start_us`` plus ``delta_us`` of working time.

        ``delta_us > 0`` counts forward: from ``start_us`` when it is inside working time,
        else from the next opening; a result exactly on a closing time stays there.
        ``delta_us < 0`` counts backward, the mirror image: from the previous closing when
        ``start_us`` is outside working time; a result exactly on an opening stays there.
        ``delta_us == 0`` is :meth:`next_opening_us`. So ``add_us(s, d) >= s`` for ``d >= 0``
        and ``working_us(s, add_us(s, d)) == d`` for any ``d``. On a 24×7 calendar this is
        ``start_us + delta_us``.

        Raises :class:`NoWorkingTime` when there is no working time to count into,
        :class:`CalendarRangeError` beyond the supported years, ``TypeError`` for a non-``int``.
        """
        if type(start_us) is not int or type(delta_us) is not int:
            _refuse_non_int(start_us=start_us, delta_us=delta_us)
        t, d = start_us, delta_us
        if self._always:
            return t + d
        if d == 0:
            return self.next_opening_us(t)
        table = self._table
        if table is None or not table.safe_lo <= t < table.safe_hi:
            table = self._around(t)
        if d > 0:
            # The common case inlined (a call costs as much as the search itself).
            starts = table.starts
            i = bisect.bisect_right(starts, t) - 1
            if i < 0:
                w = d
            elif t < table.ends[i]:
                w = table.cum[i] + t - starts[i] + d
            else:
                w = table.cumend[i] + d
            cumend = table.cumend
            if cumend and cumend[-1] >= w:
                j = bisect.bisect_left(cumend, w)
                return table.ends[j] - (cumend[j] - w)
            while True:
                w = table.position(t) + d  # re-read after growing: the origin may move
                have = table.cumend[-1] if table.cumend else 0
                if have >= w and table.cumend:
                    break
                table = self._grow(table, True, w - have)
            j = bisect.bisect_left(table.cumend, w)
            return table.ends[j] - (table.cumend[j] - w)
        while True:
            w = table.position(t) + d  # re-read: growing backward moves the origin
            if table.cum and table.cum[0] <= w:
                break
            table = self._grow(table, False, (table.cum[0] if table.cum else 0) - w)
        j = bisect.bisect_right(table.cum, w) - 1
        return table.starts[j] + (w - table.cum[j])

    def working_us(self, start_us: int, end_us: int) -> int:
        """:meth:`working_time` in microseconds, between two epoch-microsecond instants.

        The working time inside ``[start_us, end_us)``; negative (minus the working time of
        ``[end_us, start_us)``) when ``end_us`` is before ``start_us``, and 0 when they are
        equal or no working time lies between. Instants outside working time count nothing
        themselves. On a 24×7 calendar this is ``end_us - start_us``.

        Raises :class:`CalendarRangeError` beyond the supported years, ``TypeError`` for a
        non-``int``. It never raises :class:`NoWorkingTime`: no working time is 0.
        """
        if type(start_us) is not int or type(end_us) is not int:
            _refuse_non_int(start_us=start_us, end_us=end_us)
        if self._always:
            return end_us - start_us
        self._around(start_us)
        table = self._around(end_us)  # extends the table read for start_us: one snapshot
        return table.position(end_us) - table.position(start_us)

    def add_working_days(
        self,
        start: _dt.datetime,
        n: int,
        *,
        cutoff: _dt.time | None = None,
        convention: str = "end_of_day",
    ) -> pendulum.DateTime:
        """``n`` working days from ``start`` under a named ``convention``.

        The conventions (worked examples in ``docs/calendar.md``, "Working days"); the
        *receipt day* is ``start``'s local date, ``n < 0`` counts backward:

        * ``"end_of_day"`` (the default): the closing time of the ``n``-th working day after
          the receipt day, which does not count ("within N working days of receipt").
          With ``cutoff``, a receipt on a working day before ``cutoff`` (local time, and
          before that day's closing) counts as day 1. ``n = 0``: the end of the receipt day
          (of the next working day when it is not one). ``n < 0``: the end of the
          ``|n|``-th working day before the receipt day; an instant that *is* a day's
          closing time (``24:00``, the end of an overnight shift) belongs to that day.
        * ``"same_time"`` (Zammad's ``biz``, the ``business_time`` gem): the same local time
          of day on the ``n``-th working day after the receipt day (a non-working receipt
          day first rolls forward to the next working day; backward, to the previous one),
          then rolled to working time (the next opening when that time is closed).
          ``n = 0``: the receipt time rolled to working time on the receipt day (or the next
          working day).
        * ``"start_day_inclusive"`` (Odoo's ``plan_days``): the receipt day counts as day 1
          when it is a working day whose working time is not over at ``start``; the result
          is the closing time of day ``n``. ``n = 0``: ``start`` rolled to working time
          (:meth:`next_opening`). ``n < 0``: the opening of the ``|n|``-th working day
          counted backward, day 1 being the last one with working time before ``start``.
        * ``"date"`` (workalendar's ``add_working_days``): date granularity, the ``n``-th
          working *date* after the receipt date (before it when ``n < 0``; the receipt date,
          or the next working date, when ``n = 0``); the result is that date's opening.
          :meth:`working_date` gives the date itself.

        Every result lies on a working day and is monotone in ``n``. ``cutoff`` is only for
        ``"end_of_day"`` with ``n >= 1``. Raises ``ValueError`` for an unknown convention or a
        non-integer ``n``, :class:`NoWorkingTime` when the calendar runs out of working days.
        """
        return self._out(self.add_working_days_us(epoch_us(start), n, cutoff=cutoff,
                                                  convention=convention))

    def add_working_days_us(
        self,
        t: int,
        n: int,
        *,
        cutoff: _dt.time | None = None,
        convention: str = "end_of_day",
    ) -> int:
        """:meth:`add_working_days` in epoch microseconds."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"n must be a whole number of working days, got {n!r}")
        if convention not in WORKING_DAY_CONVENTIONS:
            raise ValueError(
                f"unknown working-day convention {convention!r}; use one of "
                f"{', '.join(WORKING_DAY_CONVENTIONS)}"
            )
        if cutoff is not None and convention != "end_of_day":
            raise ValueError(f"cutoff= is for the 'end_of_day' convention, not {convention!r}")
        if type(t) is not int:
            _refuse_non_int(t=t)
        if convention == "start_day_inclusive" and n == 0:
            return self.next_opening_us(t)
        local = self._local(t)
        day = local.date().toordinal()
        table = self._load(*self._years_around(local.year, t))
        while True:
            k = self._workday_index(table, t, day, local, n, cutoff, convention)
            if 0 <= k < len(table.workdays):
                break
            forward = k >= 0
            if self._no_more(table, forward):
                raise NoWorkingTime(
                    f"the calendar has no working day {'after' if forward else 'before'} "
                    f"{table.hi if forward else table.lo}"
                )
            per_year = max(1, len(table.workdays) // (table.hi - table.lo + 1))
            missing = k - len(table.workdays) if forward else -k
            step = min(missing // per_year + 1, 100)
            if forward:
                table = self._load(table.lo, min(table.hi + step, MAX_YEAR))
            else:
                table = self._load(max(table.lo - step, MIN_YEAR), table.hi)
        if convention == "end_of_day":
            return table.closes[k]
        if convention == "date":
            return table.opens[k]
        if convention == "start_day_inclusive":
            return table.closes[k] if n > 0 else table.opens[k]
        # same_time: the receipt's wall-clock time on that day, rolled to working time.
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return self.next_opening_us(
            self._wall_us(table.workdays[k], seconds) + local.microsecond)

    @staticmethod
    def _workday_index(
        table: _Table,
        t: int,
        day: int,
        local: _dt.datetime,
        n: int,
        cutoff: _dt.time | None,
        convention: str,
    ) -> int:
        """The index in ``table.workdays`` of the working day a count lands on (may lie
        outside the table: the caller grows it and asks again)."""
        wd = table.workdays
        if convention == "same_time":
            anchor = bisect.bisect_left(wd, day) if n >= 0 else bisect.bisect_right(wd, day) - 1
            return anchor + n
        if convention == "start_day_inclusive":
            if n < 0:
                return bisect.bisect_left(table.opens, t) + n
            j = bisect.bisect_left(wd, day)
            if j < len(wd) and wd[j] == day and table.closes[j] <= t:
                j += 1
            return j + n - 1
        if n > 0:
            a = bisect.bisect_right(wd, day) - 1  # the receipt day, or the working day before
            if (
                cutoff is not None
                and a >= 0
                and wd[a] == day
                and local.time().replace(fold=0) < cutoff
                and t < table.closes[a]
            ):
                a -= 1
            return a + n
        if convention == "end_of_day":
            j = bisect.bisect_left(table.closes, t)
            if j < len(wd) and table.closes[j] == t:
                return j + n  # a day's closing instant belongs to that day
        return bisect.bisect_left(wd, day) + n

    def working_date(self, day: _dt.date, n: int) -> _dt.date:
        """The ``n``-th working date after ``day`` (before it when ``n < 0``; ``day`` itself,
        or the next working date, when ``n = 0``): workalendar's ``add_working_days``."""
        day = parse_date(day, "day")
        start = self._wall_us(day.toordinal(), 0)
        found = self._local(self.add_working_days_us(start, n, convention="date")).date()
        # The opening of a working date is on that date (an overnight shift starts on it).
        return found

    def window(
        self,
        start: _dt.datetime,
        earliest: _dt.timedelta | int,
        latest: _dt.timedelta | int,
    ) -> tuple[pendulum.DateTime, pendulum.DateTime]:
        """``(earliest, latest)`` instants of a goal window measured from ``start``.

        An ``int`` counts whole calendar days in the zone: ``earliest=15`` is the start (00:00)
        of the 15th day after ``start``'s local date, ``latest=30`` the end (24:00) of the 30th
        day. A ``timedelta`` is business time, as :meth:`add`. Raises ``ValueError`` when the
        window is empty (latest before earliest).
        """
        t = epoch_us(start)
        ordinal = self._local(t).date().toordinal()

        def bound(value: _dt.timedelta | int, end_of_day: bool, name: str) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, _dt.timedelta)):
                raise TypeError(f"{name}: expected days (int) or a timedelta, got {value!r}")
            if isinstance(value, int):
                return self._wall_us(ordinal + value + (1 if end_of_day else 0), 0)
            return self.add_us(t, _td_us(value))

        lo = bound(earliest, False, "earliest")
        hi = bound(latest, True, "latest")
        if hi < lo:
            raise ValueError("window: latest is before earliest")
        return self._out(lo), self._out(hi)

