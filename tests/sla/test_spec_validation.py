"""What a clock spec refuses and how it reads (each test pins a behaviour a surviving mutant
broke)."""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf.errors import InvalidPolicy
from servicewf.sla import BusinessHours, ClockHours, ClockSpec, On, Until, Warn


@pytest.mark.parametrize("hours,minutes", [(0, 0), (-1, 0), (0, -5)])
def test_business_hours_must_be_positive(hours: float, minutes: float) -> None:
    with pytest.raises(InvalidPolicy, match="positive"):
        BusinessHours(hours, minutes=minutes)
    assert BusinessHours(0, minutes=1).micros == 60_000_000


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_a_warning_fraction_lies_strictly_between_0_and_1(fraction: float) -> None:
    with pytest.raises(InvalidPolicy, match="between 0 and 1"):
        Warn(fraction=fraction)
    assert Warn(fraction=0.99).fraction == 0.99


@pytest.mark.parametrize("name", ["", "bad name", "x-y", "*"])
def test_a_clock_needs_an_identifier_name(name: str) -> None:
    spec = ClockSpec(name, start=On(enter="a"), stop=On(enter="b"), target=ClockHours(1))
    assert any("must be a non-empty identifier" in p for p in spec.problems())
    good = ClockSpec("first_response", start=On(enter="a"), stop=On(enter="b"),
                     target=ClockHours(1))
    assert good.problems() == []


def test_until_needs_an_aware_instant() -> None:
    with pytest.raises(InvalidPolicy, match="aware"):
        Until.of(dt.datetime(2026, 3, 2, 9))
    with pytest.raises(InvalidPolicy, match="aware"):
        Until.of("2026-03-02T09:00:00")

    class NoOffset(dt.tzinfo):  # a zone that cannot say its offset is no zone at all
        def utcoffset(self, moment: dt.datetime | None) -> None:
            return None

    with pytest.raises(InvalidPolicy, match="aware"):
        Until.of(dt.datetime(2026, 3, 2, 9, tzinfo=NoOffset()))
    assert Until.of("2026-03-02T09:00:00+08:00") == Until.of(
        dt.datetime(2026, 3, 2, 1, tzinfo=dt.timezone.utc))


def test_clock_hours_read_as_days_hours_or_minutes() -> None:
    assert [str(ClockHours(days=30)), str(ClockHours(24)), str(ClockHours(minutes=30)),
            str(ClockHours(days=1, hours=2))] == ["30 d", "24 h", "30 min", "26 h"]
    assert ClockHours(days=1).micros == 86_400_000_000


def test_replacing_an_unknown_clock_is_refused() -> None:
    from servicewf.errors import UnknownClock
    from servicewf.processes.presets import complaint_telecom

    policy = complaint_telecom()
    with pytest.raises(UnknownClock, match="no clock 'resolution'"):
        policy.replace_clock("resolution", enabled=False)
    assert not policy.replace_clock("resolve", enabled=False).clock("resolve").enabled
