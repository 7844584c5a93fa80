"""The plain-data form: schema, canonical dumping, presets."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pendulum

from servicewf.calendar import (
    CALENDAR_SCHEMA,
    CHINA_OFFICE,
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    china_office,
)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(CALENDAR_SCHEMA)
    validator = jsonschema.Draft202012Validator(CALENDAR_SCHEMA)
    assert list(validator.iter_errors(CHINA_OFFICE)) == []
    assert validator.is_valid(TWENTY_FOUR_SEVEN.to_dict())
    # The schema does reject things: a missing zone, a bad weekday, a malformed time.
    assert not validator.is_valid({"weekly": {"mon": [["09:00", "17:00"]]}})
    assert not validator.is_valid({"timezone": "UTC", "weekly": {"monday": []}})
    assert not validator.is_valid({"timezone": "UTC", "weekly": {"mon": [["9am", "17:00"]]}})


def test_full_example_round_trips() -> None:
    data = {
        "timezone": "Asia/Shanghai",
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "fri": [["22:00", "06:00"]]},
        "holidays": {"country": "CN"},
        "extra_holidays": ["2026-12-24", {"date": "2026-12-31", "from": "12:00", "to": "18:00"}],
        "extra_workdays": ["2026-10-11"],
        "workday_hours": [["10:00", "15:30:30"]],
        "overrides": {"2026-12-30": [["09:00", "12:00"]]},
    }
    cal = BusinessCalendar.from_dict(data)
    dumped = cal.to_dict()
    assert dumped["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert dumped["weekly"]["fri"] == [["22:00", "06:00"]]
    assert dumped["weekly"]["sun"] == []
    assert dumped["extra_holidays"] == data["extra_holidays"]
    assert dumped["workday_hours"] == [["10:00", "15:30:30"]]
    assert BusinessCalendar.from_dict(dumped) == cal
    assert cal != BusinessCalendar.from_dict({**data, "extra_workdays": []})
    assert "Asia/Shanghai" in repr(cal)


def test_canonical_forms() -> None:
    a = BusinessCalendar(
        "UTC",
        {0: [(dt.time(22), "00:00")], "Tuesday": [("09:00:00", "24:00:00")]},
        extra_holidays=[{"date": dt.date(2026, 1, 2)}, {"date": "2026-01-05", "from": "10:00"}],
        holiday_dates=["2026-01-01", "2026-01-01"],
    )
    assert a.to_dict() == {
        "timezone": "UTC",
        "weekly": {
            "mon": [["22:00", "24:00"]],
            "tue": [["09:00", "24:00"]],
            "wed": [], "thu": [], "fri": [], "sat": [], "sun": [],
        },
        "holidays": ["2026-01-01"],
        "extra_holidays": ["2026-01-02", {"date": "2026-01-05", "from": "10:00", "to": "24:00"}],
    }


def test_presets() -> None:
    assert TWENTY_FOUR_SEVEN.timezone == "UTC"
    assert BusinessCalendar.always_open() == TWENTY_FOUR_SEVEN
    assert china_office() is china_office()
    assert china_office().to_dict()["holidays"] == {"country": "CN"}
    s = pendulum.datetime(2026, 9, 28, 9, tz="Asia/Shanghai")
    assert china_office().working_time(s, s.add(days=1)) == dt.timedelta(hours=8)
