"""Benchmark of the default demo (``servicewf demo``) and of its sweep claims on SQLite.

Run: ``.venv/bin/python benchmarks/demo.py [--quick]``. Prints ``BENCH`` lines and exits
non-zero when a target is missed. ``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): 120 cases
instead of 600, and a missed target is reported but not fatal.

* ``demo_default``: the default demo's wall time against the 10 s target (ratio = seconds/10);
* ``demo_claim_share``: the share of that time spent in ``SQLStore.claim_due_timers`` (the
  sweep's claim, run every simulated quarter hour; before its statement was built once per
  store, building it on each call took 15-55 % of the demo), target at most 0.35;
* ``claim_statement``: one claim with the statement built once against one that builds the
  same statement again on each call, in the same run (ratio = cached / rebuilt, target 0.8).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from typing import Any

import pendulum

from servicewf.demo import run_demo
from servicewf.storage.sql import SQLStore

DEMO_TARGET_S = 10.0
CLAIM_SHARE_TARGET = 0.35
STATEMENT_TARGET = 0.8


def demo_times(cases: int) -> tuple[float, float]:
    """(wall seconds of the demo, seconds of it inside claim_due_timers)."""
    spent = [0.0]
    original = SQLStore.claim_due_timers

    def timed(self: SQLStore, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    SQLStore.claim_due_timers = timed  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        run_demo(cases=cases)
        return time.perf_counter() - t0, spent[0]
    finally:
        SQLStore.claim_due_timers = original  # type: ignore[method-assign]


def claim_statement_ratio(claims: int) -> float:
    """Per-claim time with the cached statement / with the statement rebuilt each call."""
    with tempfile.TemporaryDirectory() as folder:
        store = SQLStore(f"sqlite:///{folder}/claims.db")
        try:
            now = pendulum.datetime(2026, 1, 1, tz="UTC")
            lease = dt.timedelta(minutes=5)

            def run() -> float:
                t0 = time.perf_counter()
                for _ in range(claims):
                    store.claim_due_timers(now, owner="bench", lease=lease, limit=100)
                return time.perf_counter() - t0

            cached = min(run() for _ in range(3))
            built = store._claim_query  # the same statement, built afresh on every call

            def rebuild(by_process: bool) -> Any:
                return built(by_process)

            store._q_claim = _Rebuilding(rebuild)  # type: ignore[assignment]
            rebuilt = min(run() for _ in range(3))
            return cached / rebuilt
        finally:
            store.close()


class _Rebuilding(dict[bool, Any]):
    """A stand-in for the statement cache that builds the statement on every lookup."""

    def __init__(self, build: Any) -> None:
        super().__init__()
        self._build = build

    def __getitem__(self, key: bool) -> Any:
        return self._build(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="small sizes; a missed target is not fatal")
    args = parser.parse_args(argv)
    cases = 120 if args.quick else 600
    wall, claiming = demo_times(cases)
    share = claiming / wall
    ratio = claim_statement_ratio(50 if args.quick else 300)
    ok_demo = wall <= DEMO_TARGET_S
    ok_share = share <= CLAIM_SHARE_TARGET
    ok_statement = ratio <= STATEMENT_TARGET
    print(f"demo, {cases} cases on SQLite: {wall:.1f} s, of which claiming {claiming:.2f} s")
    print(f"BENCH demo_default ratio={wall / DEMO_TARGET_S:.2f} target=1 seconds={wall:.1f} "
          f"{'PASS' if ok_demo else 'FAIL'}")
    print(f"BENCH demo_claim_share ratio={share:.3f} target={CLAIM_SHARE_TARGET} "
          f"{'PASS' if ok_share else 'FAIL'}")
    print(f"BENCH claim_statement ratio={ratio:.2f} target={STATEMENT_TARGET} "
          f"{'PASS' if ok_statement else 'FAIL'}")
    return 0 if (ok_demo and ok_share and ok_statement) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
