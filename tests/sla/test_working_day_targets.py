"""WorkingDays targets name a working-day convention (issue #15): the clock's deadline is the
calendar's answer under that convention, and the choice survives plain data."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from servicewf.clock import epoch_us
from servicewf.errors import InvalidPolicy
from servicewf.sla import WorkingDays, target_from_dict
from servicewf.sla.measure import CalendarMeasure
from servicewf.sla.spec import WORKING_DAY_CONVENTIONS
from tests.sla.helpers import CALENDARS


@pytest.mark.parametrize("convention", WORKING_DAY_CONVENTIONS)
@pytest.mark.parametrize("n", [0, 1, 3])
def test_a_target_applies_its_convention(convention: str, n: int) -> None:
    cal = CALENDARS["office"]
    m = CalendarMeasure(cal)
    target = WorkingDays(n, convention=convention)
    for start in (pendulum.datetime(2026, 9, 25, 10, 30, tz=cal.timezone),
                  pendulum.datetime(2026, 9, 26, 11, tz=cal.timezone),
                  pendulum.datetime(2026, 9, 28, 20, tz=cal.timezone)):
        expected = epoch_us(cal.add_working_days(start, n, convention=convention))
        assert target.apply(m, epoch_us(start)) == expected
        # twice: the memo answers the same
        assert target.apply(m, epoch_us(start)) == expected
    assert target_from_dict(target.to_dict()) == target


def test_the_default_convention_keeps_its_plain_data() -> None:
    assert WorkingDays(2).to_dict() == {"kind": "working_days", "n": 2}
    assert WorkingDays(2, convention="date").to_dict() == {
        "kind": "working_days", "n": 2, "convention": "date"}


def test_refusals_name_the_rule() -> None:
    with pytest.raises(InvalidPolicy, match="at least 0"):
        WorkingDays(-1)
    with pytest.raises(InvalidPolicy, match="unknown convention"):
        WorkingDays(1, convention="calendar_days")
    with pytest.raises(InvalidPolicy, match="cutoff is for the 'end_of_day'"):
        WorkingDays(1, cutoff=dt.time(12), convention="same_time")
