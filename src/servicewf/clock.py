"""Injected time.

The library never reads the wall clock by itself: every component that needs "now" takes a
:class:`Clock`. Production code passes :class:`SystemClock`; tests pass :class:`FrozenClock`
and move it explicitly, so deadlines, warnings and sweeps are deterministic.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol, runtime_checkable

import pendulum

__all__ = ["Clock", "FrozenClock", "SystemClock", "as_utc"]


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
