"""Business calendars: exact business-time arithmetic in any IANA zone.

See ``docs/calendar.md`` for the conventions (closing time, overnight shifts, DST, working days).
"""

from __future__ import annotations

from servicewf.calendar.core import (
    MAX_YEAR,
    MIN_YEAR,
    WORKING_DAY_CONVENTIONS,
    BusinessCalendar,
)
from servicewf.calendar.presets import CHINA_OFFICE, TWENTY_FOUR_SEVEN, china_office
from servicewf.calendar.schema import CALENDAR_SCHEMA, WEEKDAYS

__all__ = [
    "CALENDAR_SCHEMA",
    "CHINA_OFFICE",
    "MAX_YEAR",
    "MIN_YEAR",
    "TWENTY_FOUR_SEVEN",
    "WEEKDAYS",
    "WORKING_DAY_CONVENTIONS",
    "BusinessCalendar",
    "china_office",
]
