"""Ready-made calendars."""

from __future__ import annotations

import functools
from typing import Any

from servicewf.calendar.core import BusinessCalendar

__all__ = ["CHINA_OFFICE", "TWENTY_FOUR_SEVEN", "china_office"]

TWENTY_FOUR_SEVEN = BusinessCalendar.always_open("UTC")
"""Always open, in UTC: business time is plain absolute time."""

_OFFICE_DAY = [["09:00", "12:00"], ["13:00", "18:00"]]

CHINA_OFFICE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "weekly": {day: _OFFICE_DAY for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "CN"},
}
"""Plain-data form of :func:`china_office` (a starting point to copy and adapt)."""


@functools.cache
def china_office() -> BusinessCalendar:
    """Asia/Shanghai, Mon–Fri 09:00–12:00 and 13:00–18:00, CN public holidays and 调休 days.

    China's make-up weekend workdays (调休) use the weekday office hours. The instance is shared,
    so its lazily built tables are too (calendars are immutable).
    """
    return BusinessCalendar.from_dict(CHINA_OFFICE)
