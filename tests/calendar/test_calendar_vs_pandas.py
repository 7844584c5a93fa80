"""Differential tests against pandas ``CustomBusinessHour`` on calendars it can express.

pandas moves a result that lands exactly on a closing time to the next opening, while
servicewf keeps it at the closing time; the comparison applies that one documented difference
(``add(result, 0)``).
"""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf.calendar import BusinessCalendar

pd = pytest.importorskip("pandas")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PANDAS_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@st.composite
def setups(draw: st.DrawFn) -> tuple[list[int], int, int, list[dt.date]]:
    weekmask = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
    open_q = draw(st.integers(0, 90))  # quarter hours
    close_q = draw(st.integers(open_q + 4, 95))  # pandas cannot say 24:00
    base = dt.date(2026, 1, 1)
    hols = draw(st.lists(st.integers(0, 700).map(lambda n: base + dt.timedelta(days=n)),
                         max_size=30, unique=True))
    return weekmask, open_q, close_q, sorted(hols)


def _hhmm(q: int) -> str:
    return f"{q // 4:02d}:{q % 4 * 15:02d}"


@settings(max_examples=40, deadline=None)
@given(
    setups(),
    st.lists(
        st.tuples(st.integers(0, 365 * 24 * 60), st.integers(1, 300), st.booleans()),
        min_size=1,
        max_size=5,
    ),
)
def test_add_agrees_with_pandas(
    setup: tuple[list[int], int, int, list[dt.date]],
    cases: list[tuple[int, int, bool]],
) -> None:
    weekmask, open_q, close_q, hols = setup
    start_s, end_s = _hhmm(open_q), _hhmm(close_q)
    cal = BusinessCalendar.from_dict({
        "timezone": "UTC",
        "weekly": {DAYS[d]: [[start_s, end_s]] for d in weekmask},
        "holidays": [h.isoformat() for h in hols],
    })
    for minute, hours, backward in cases:
        start = pendulum.datetime(2026, 1, 1).add(minutes=minute)
        n = -hours if backward else hours
        offset = pd.offsets.CustomBusinessHour(
            n=n, start=start_s, end=end_s,
            weekmask=" ".join(PANDAS_DAYS[d] for d in weekmask),
            holidays=hols,
        )
        theirs = (pd.Timestamp(start.naive()) + offset).to_pydatetime()
        ours = cal.add(start, dt.timedelta(hours=n))
        if not backward:
            ours = cal.add(ours, dt.timedelta(0))  # pandas' closing-time convention
            assert ours.naive() == theirs
        else:
            # Backward, pandas may answer the previous closing time where servicewf answers
            # the opening after it: the same point of working time, no work in between.
            mapped = pendulum.instance(theirs, tz="UTC")
            assert mapped <= ours
            assert cal.working_time(mapped, ours) == dt.timedelta(0)
            assert ours.naive() == theirs or not cal.is_working(mapped)
