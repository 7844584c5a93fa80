"""Injected time.

The library never reads the wall clock by itself: every component that needs "now" takes a
:class:`Clock`. Production code passes :class:`SystemClock`; tests pass :class:`FrozenClock`
and move it explicitly, so deadlines, warnings and sweeps are deterministic.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol, runtime_checkable

import pendulum

__all__ = ["Clock", "FrozenClock", "SystemClock", "as_utc", "epoch_us", "from_epoch_us",
           "local_date_us"]

_US = 1_000_000
_EPOCH_ORD = _dt.date(1970, 1, 1).toordinal()
_EPOCH_UTC = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_US = _dt.timedelta(microseconds=1)
_UTC = _dt.timezone.utc
_PUTC = pendulum.UTC


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` returning an aware :class:`pendulum.DateTime`."""

    def now(self) -> pendulum.DateTime:
        """The current instant (aware)."""
        ...


def as_utc(moment: _dt.datetime) -> pendulum.DateTime:
    """Return ``moment`` as an aware pendulum ``DateTime`` in UTC.

    Raises :class:`ValueError` for a naive datetime: an instant without a zone is ambiguous and
    the library refuses to guess one.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()} given where an instant is needed; "
            "attach a zone, e.g. pendulum.datetime(..., tz='Asia/Shanghai')"
        )
    utc = moment.astimezone(_dt.timezone.utc)
    return pendulum.DateTime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond,
        tzinfo=pendulum.UTC,
    )


def epoch_us(moment: _dt.datetime) -> int:
    """Exact integer microseconds since 1970-01-01T00:00:00Z of an aware datetime.

    The one conversion of an instant to epoch microseconds (the SLA clocks, the calendar's µs
    API, the stores' due-time index and SQL columns all use it). Raises :class:`ValueError`
    for a naive datetime (as :func:`as_utc` does) and :class:`TypeError` for a non-datetime.
    """
    tz = getattr(moment, "tzinfo", None)
    if tz is _PUTC or tz is _UTC:
        # Instants are UTC almost always: read the fields (pendulum's UTC answers utcoffset()
        # in Python, slowly). Exact integer arithmetic, no timedelta built.
        return ((moment.toordinal() - _EPOCH_ORD) * 86_400 + moment.hour * 3600
                + moment.minute * 60 + moment.second) * _US + moment.microsecond
    if not isinstance(moment, _dt.datetime):
        raise TypeError(f"expected an aware datetime, got {type(moment).__name__}")
    if tz is None or moment.utcoffset() is None:
        as_utc(moment)  # raises the library's ValueError with its advice
    # The stdlib subtraction: pendulum's own would build a slower ``Interval``.
    return _dt.datetime.__sub__(moment, _EPOCH_UTC) // _ONE_US


def from_epoch_us(
    us: int, tz: str | pendulum.Timezone | pendulum.FixedTimezone | None = None
) -> pendulum.DateTime:
    """The instant ``us`` (epoch microseconds) as an aware pendulum ``DateTime``: in UTC, or
    in ``tz`` (a pendulum zone or an IANA name) when given. The inverse of :func:`epoch_us`."""
    seconds, micro = divmod(us, _US)
    days, rest = divmod(seconds, 86_400)
    day = _dt.date.fromordinal(days + _EPOCH_ORD)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    out = pendulum.DateTime(day.year, day.month, day.day, hour, minute, second, micro,
                            tzinfo=_PUTC)
    return out if tz is None else out.in_timezone(tz)



def local_date_us(us: int, tz: _dt.tzinfo) -> _dt.date:
    """The calendar date of the instant ``us`` (epoch microseconds) in the zone ``tz``: the
    date of ``from_epoch_us(us, tz)``, by stdlib arithmetic (no pendulum value is built: a
    rule that dates every archive of a log calls it once per event)."""
    return (_EPOCH_UTC + _dt.timedelta(microseconds=us)).astimezone(tz).date()


def _years_after(day: _dt.date, years: int) -> _dt.date:
    """The same day ``years`` later (a retention floor); 29 February falls on 28 February in
    a year without it."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class SystemClock:
    """The real wall clock, in UTC. The only place the library reads it."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now(pendulum.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that stands still until a test moves it.

    >>> clock = FrozenClock(pendulum.datetime(2026, 9, 30, 16, 30, tz="Asia/Shanghai"))
    >>> clock.advance(hours=2)
    """

    __slots__ = ("_now",)

    def __init__(self, start: _dt.datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> pendulum.DateTime:
        return self._now

    def set(self, moment: _dt.datetime) -> None:
        """Jump to ``moment``; going backwards is allowed (a test may need it)."""
        self._now = as_utc(moment)

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> pendulum.DateTime:
        """Move forward by an absolute duration and return the new instant."""
        delta = _dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if delta < _dt.timedelta(0):
            raise ValueError("advance() only moves forward; use set() to go back")
        self._now = as_utc(self._now + delta)
        return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"
