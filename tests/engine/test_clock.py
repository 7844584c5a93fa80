from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from servicewf import Clock, FrozenClock, SystemClock
from servicewf.clock import as_utc


def test_frozen_clock_moves_only_when_told():
    c = FrozenClock(pendulum.datetime(2026, 9, 25, 16, 30, tz="Asia/Shanghai"))
    assert c.now() == pendulum.datetime(2026, 9, 25, 8, 30, tz="UTC")
    assert c.now() == c.now()
    assert c.advance(hours=2, minutes=1) == pendulum.datetime(2026, 9, 25, 10, 31, tz="UTC")
    c.set(pendulum.datetime(2020, 1, 1, tz="UTC"))
    assert c.now().year == 2020
    with pytest.raises(ValueError):
        c.advance(seconds=-1)
    assert isinstance(c, Clock) and isinstance(SystemClock(), Clock)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        FrozenClock(dt.datetime(2026, 1, 1))
    assert as_utc(dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))).hour == 0


def test_library_never_reads_the_wall_clock():
    """Only clock.SystemClock may read the wall clock (and the CLI, which picks the clock)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "src" / "servicewf"
    pattern = re.compile(r"(pendulum\.now|datetime\.now|datetime\.utcnow|time\.time\(|"
                         r"date\.today|pendulum\.today)")
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in ("clock.py", "cli.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []
