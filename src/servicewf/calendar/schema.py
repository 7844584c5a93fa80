"""The plain-data form of a business calendar: its JSON Schema and the field parsers.

The schema checks the *shape* of a calendar description; :func:`parse_time`,
:func:`parse_date` and :func:`parse_day` do the semantic checks the schema cannot express
(real dates, overlapping intervals, ``end == start``...). Every error names the offending field.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from servicewf.errors import InvalidCalendar

__all__ = [
    "CALENDAR_SCHEMA",
    "DAY_SECONDS",
    "WEEKDAYS",
    "DateLike",
    "Interval",
    "IntervalLike",
    "TimeLike",
    "format_date",
    "format_interval",
    "format_time",
    "parse_date",
    "parse_day",
    "parse_time",
]

DAY_SECONDS = 86_400
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

TimeLike = str | _dt.time
DateLike = str | _dt.date
IntervalLike = Sequence[TimeLike]
Interval = tuple[int, int]
"""A working interval of one day in seconds after that day's midnight (wall clock).

``start`` is in ``[0, 86400)``; ``end`` is in ``(start, start + 86400]``. An ``end`` above
86400 is an overnight interval that finishes the next morning at ``end - 86400``.
"""

_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00(:00)?)$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

_TIME: dict[str, Any] = {"type": "string", "pattern": _TIME_PATTERN}
_DATE: dict[str, Any] = {"type": "string", "pattern": _DATE_PATTERN}
_INTERVAL: dict[str, Any] = {
    "type": "array",
    "description": "[start, end]; end < start means an overnight interval ending next day",
    "prefixItems": [_TIME, _TIME],
    "minItems": 2,
    "maxItems": 2,
}
_DAY: dict[str, Any] = {"type": "array", "items": _INTERVAL}

CALENDAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://servicewf.invalid/schemas/calendar.json",
    "title": "servicewf business calendar",
    "type": "object",
    "required": ["timezone"],
    "additionalProperties": False,
    "properties": {
        "timezone": {"type": "string", "minLength": 1, "description": "IANA zone name"},
        "weekly": {
            "type": "object",
            "description": "working intervals per weekday; a missing weekday is closed",
            "additionalProperties": False,
            "properties": {day: _DAY for day in WEEKDAYS},
        },
        "holidays": {
            "description": "public holidays: a country of the `holidays` package, or dates",
            "oneOf": [
                {
                    "type": "object",
                    "required": ["country"],
                    "additionalProperties": False,
                    "properties": {
                        "country": {"type": "string", "minLength": 2},
                        "subdiv": {"type": ["string", "null"]},
                        "dates": {"type": "array", "items": _DATE},
                    },
                },
                {"type": "array", "items": _DATE},
            ],
        },
        "extra_holidays": {
            "type": "array",
            "items": {
                "oneOf": [
                    _DATE,
                    {
                        "type": "object",
                        "required": ["date"],
                        "additionalProperties": False,
                        "properties": {"date": _DATE, "from": _TIME, "to": _TIME},
                    },
                ]
            },
        },
        "extra_workdays": {"type": "array", "items": _DATE},
        "workday_hours": {
            "description": "schedule of an extra or make-up workday whose weekday is closed",
            **_DAY,
        },
        "overrides": {
            "type": "object",
            "description": "date -> its own intervals (replaces everything else that day)",
            "propertyNames": {"pattern": _DATE_PATTERN},
            "additionalProperties": _DAY,
        },
    },
}
"""JSON Schema (draft 2020-12) of :meth:`BusinessCalendar.from_dict` input."""


def parse_time(value: object, field: str) -> int:
    """Seconds after midnight of ``"HH:MM"``, ``"HH:MM:SS"``, ``"24:00"`` or a ``time``."""
    if isinstance(value, _dt.time):
        if value.microsecond or value.tzinfo is not None:
            raise InvalidCalendar(f"{field}: {value!r} must be a whole-second naive time")
        return value.hour * 3600 + value.minute * 60 + value.second
    if not isinstance(value, str):
        raise InvalidCalendar(f"{field}: expected a time 'HH:MM', got {value!r}")
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(len(p) == 2 and p.isdigit() for p in parts):
        raise InvalidCalendar(f"{field}: {value!r} is not a time 'HH:MM' or 'HH:MM:SS'")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    total = h * 3600 + m * 60 + s
    if m > 59 or s > 59 or total > DAY_SECONDS:
        raise InvalidCalendar(f"{field}: {value!r} is not a time of day (00:00 to 24:00)")
    return total


def parse_date(value: object, field: str) -> _dt.date:
    """A ``date`` from ``"YYYY-MM-DD"`` or a ``date`` (a ``datetime`` is refused)."""
    if isinstance(value, _dt.datetime):
        raise InvalidCalendar(f"{field}: expected a date, got the datetime {value!r}")
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidCalendar(f"{field}: expected a date 'YYYY-MM-DD', got {value!r}")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidCalendar(f"{field}: {value!r} is not a real date 'YYYY-MM-DD'") from None


def parse_interval(value: object, field: str) -> Interval:
    """One ``[start, end]`` pair; ``end < start`` is overnight, ``end == start`` is refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise InvalidCalendar(f"{field}: expected a pair [start, end], got {value!r}")
    start = parse_time(value[0], f"{field}[0]")
    end = parse_time(value[1], f"{field}[1]")
    if start == DAY_SECONDS:
        raise InvalidCalendar(f"{field}: 24:00 can only end an interval, not start one")
    if end == start:
        raise InvalidCalendar(
            f"{field}: start equals end ({value[0]!r}); use ['00:00', '24:00'] for a whole day"
        )
    if end < start:
        end += DAY_SECONDS  # overnight: ends the next morning (00:00 means 24:00)
    return (start, end)


def parse_day(value: object, field: str) -> tuple[Interval, ...]:
    """A day's intervals, sorted; overlapping intervals are refused (touching ones are fine)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidCalendar(f"{field}: expected a list of [start, end] pairs, got {value!r}")
    parsed = sorted(parse_interval(item, f"{field}[{i}]") for i, item in enumerate(value))
    for a, b in itertools.pairwise(parsed):
        if b[0] < a[1]:
            raise InvalidCalendar(
                f"{field}: intervals {format_interval(a)} and {format_interval(b)} overlap"
            )
    return tuple(parsed)


def parse_weekly(value: Mapping[Any, Any] | None, field: str = "weekly") -> tuple[
    tuple[Interval, ...], ...
]:
    """Seven days of intervals (Monday first); keys are ``"mon"``... or ints 0 (Mon) to 6."""
    days: list[tuple[Interval, ...]] = [() for _ in WEEKDAYS]
    if value is None:
        return tuple(days)
    if not isinstance(value, Mapping):
        raise InvalidCalendar(f"{field}: expected a mapping weekday -> intervals")
    for key, intervals in value.items():
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
            index = key
        elif isinstance(key, str) and key.lower()[:3] in WEEKDAYS:
            index = WEEKDAYS.index(key.lower()[:3])
        else:
            raise InvalidCalendar(f"{field}: unknown weekday {key!r} (use mon..sun or 0..6)")
        days[index] = parse_day(intervals, f"{field}.{WEEKDAYS[index]}")
    for index, today in enumerate(days):
        tomorrow = days[(index + 1) % 7]
        if today and tomorrow and today[-1][1] - DAY_SECONDS > tomorrow[0][0]:
            raise InvalidCalendar(
                f"{field}.{WEEKDAYS[index]}: overnight interval {format_interval(today[-1])} "
                f"runs into {WEEKDAYS[(index + 1) % 7]}'s {format_interval(tomorrow[0])}"
            )
    return tuple(days)


def format_time(seconds: int) -> str:
    """``"HH:MM"`` (or ``"HH:MM:SS"`` when seconds are not zero) of seconds after midnight."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"


def format_interval(interval: Interval) -> list[str]:
    """The ``[start, end]`` strings of an interval (an overnight end is the next day's time)."""
    start, end = interval
    return [format_time(start), format_time(end if end <= DAY_SECONDS else end - DAY_SECONDS)]


def format_date(day: _dt.date) -> str:
    """ISO ``YYYY-MM-DD``."""
    return day.isoformat()
