"""Benchmark of servicewf business calendars.

Run: ``.venv/bin/python benchmarks/business_calendar.py [--quick]``. Prints ``BENCH`` lines and
exits non-zero when a target is missed or a comparison could not run (``SKIP``, e.g. pandas is
not installed). ``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): smaller sizes, and a missed timing
target is reported but not fatal (CI smoke run); a crash or a SKIP still is.

* ``calendar_span``: adding 2 years of business time must cost about what adding 1 hour does
  (ratio <= 3), on the China office calendar;
* ``calendar_vs_pandas``: servicewf must be at least 10x faster than pandas
  ``CustomBusinessHour`` on the same inputs (checked to agree on them first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable

import pendulum

from servicewf.calendar import BusinessCalendar, china_office

SPAN_TARGET = 3.0
PANDAS_TARGET = 10.0


def _best_per_call(run: Callable[[], int], repeats: int = 5) -> float:
    """Best-of-``repeats`` microseconds per call (``run`` returns how many calls it made)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        calls = run()
        best = min(best, (time.perf_counter() - t0) / calls * 1e6)
    return best


def _starts(rng: random.Random, tz: str, count: int) -> list[pendulum.DateTime]:
    out = []
    for _ in range(count):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
        out.append(
            pendulum.datetime(day.year, day.month, day.day, rng.randrange(24),
                              rng.randrange(60), rng.randrange(60), tz=tz)
        )
    return out


def bench_span(count: int = 2000) -> tuple[float, float]:
    """(µs per 1-hour add, µs per 2-year add) on the China office calendar."""
    cal = china_office()
    starts = _starts(random.Random(1), "Asia/Shanghai", count)
    hour = dt.timedelta(hours=1)
    two_years = dt.timedelta(hours=2 * 250 * 8)
    for s in starts:  # warm up: the lazily built table now covers every result
        cal.add(s, two_years)
    add = cal.add

    def run(d: dt.timedelta) -> Callable[[], int]:
        def go() -> int:
            for s in starts:
                add(s, d)
            return len(starts)
        return go

    return _best_per_call(run(hour)), _best_per_call(run(two_years))


def bench_vs_pandas(count: int = 300) -> tuple[float, float, int]:
    """(µs per call servicewf, µs per call pandas, number of inputs checked to agree)."""
    import pandas as pd

    cn = china_office()
    holidays = [
        d.isoformat()
        for d in (dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3 * 366))
        if d.weekday() < 5 and not cn.is_working_day(d)
    ]
    cal = BusinessCalendar.from_dict({
        "timezone": "UTC",
        "weekly": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": holidays,
    })
    rng = random.Random(2)
    hours = [rng.choice([1, 2, 4, 8, 16, 40, 100, 500, 2000]) for _ in range(count)]
    starts = _starts(rng, "UTC", len(hours))
    offsets = {
        n: pd.offsets.CustomBusinessHour(
            n=n, start="09:00", end="18:00", weekmask="Mon Tue Wed Thu Fri", holidays=holidays
        )
        for n in set(hours)
    }
    stamps = [pd.Timestamp(s.naive()) for s in starts]
    pairs = list(zip(starts, [dt.timedelta(hours=n) for n in hours], strict=True))
    pd_pairs = list(zip(stamps, [offsets[n] for n in hours], strict=True))

    for (s, d), (ts, off) in zip(pairs, pd_pairs, strict=True):
        ours = cal.add(cal.add(s, d), dt.timedelta(0))  # pandas moves closing to next opening
        theirs = ts + off
        if ours.naive() != theirs.to_pydatetime():
            raise AssertionError(f"disagree on {s} + {d}: servicewf {ours}, pandas {theirs}")

    add = cal.add

    def ours_run() -> int:
        for s, d in pairs:
            add(s, d)
        return len(pairs)

    def pandas_run() -> int:
        for ts, off in pd_pairs:
            ts + off
        return len(pd_pairs)

    return _best_per_call(ours_run, 7), _best_per_call(pandas_run, 3), len(pairs)


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks, print BENCH lines; return 0 when every target is met (quick mode:
    when both comparisons ran)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="smaller sizes, timing targets not fatal (CI smoke run)")
    args = parser.parse_args(argv)
    ok = True
    one_hour, two_years = bench_span(300 if args.quick else 2000)
    ratio = two_years / one_hour
    passed = ratio <= SPAN_TARGET
    ok &= passed
    print(f"china_office add 1h: {one_hour:.2f} µs/call, add 2y (4000 h): {two_years:.2f} µs/call")
    print(f"BENCH calendar_span ratio={ratio:.2f} target={SPAN_TARGET:g} "
          f"{'PASS' if passed else 'FAIL'}")
    try:
        import pandas  # noqa: F401
    except ImportError:
        # Not a pass: the comparison did not run.
        print("BENCH calendar_vs_pandas SKIP pandas is not installed")
        return 1
    ours, theirs, checked = bench_vs_pandas(100 if args.quick else 300)
    ratio = theirs / ours
    passed = ratio >= PANDAS_TARGET
    ok &= passed
    print(f"Mon-Fri 09-18 + holidays, {checked} inputs agree: servicewf {ours:.2f} µs/call, "
          f"pandas CustomBusinessHour {theirs:.2f} µs/call")
    print(f"BENCH calendar_vs_pandas ratio={ratio:.1f} target={PANDAS_TARGET:g} "
          f"{'PASS' if passed else 'FAIL'}")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
