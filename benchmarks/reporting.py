"""Reporting benchmark: the KPI set of ``servicewf.reporting`` against the same KPIs written by
hand with pandas.

The log: the default demo's audit log (600 cases on the China office calendar; quick mode 120),
copied with new case ids and shifted by whole weeks until it holds 1,000,000 events (quick mode:
40,000). Both sides start from the same list of ``Event`` values:

* servicewf: :func:`servicewf.reporting.compute` (one pass over the log, the SLA fold per
  case, every KPI; the per-cycle rows left out);
* pandas: the events into a DataFrame, then every KPI by hand (``tests/reporting/
  pandas_kpis.py``: the very code the tests check the package against, value for value).

``BENCH reporting_vs_pandas ratio=<pandas seconds / servicewf seconds> target=1``; the two
results are compared first (attainment counts per clock), so both did the same work. Without
pandas the comparison is ``SKIP`` (a failure outside quick mode).

    python benchmarks/reporting.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pendulum

from servicewf.calendar import china_office
from servicewf.clock import epoch_us
from servicewf.demo import TZ, run_demo
from servicewf.events import Event
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.reporting import case_index, compute
from servicewf.storage.sql import SQLStore

TARGET = 1.0
WEEK = pendulum.duration(weeks=1)


def demo_log(cases: int) -> tuple[list[Event], dict[str, tuple[str, int]], pendulum.DateTime]:
    """The demo's log (``cases`` cases), its case index and the end of the run."""
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{folder}/demo.db"
        summary = run_demo(cases=cases, db=db)
        store = SQLStore(db)
        try:
            return [e.event for e in store.read_log()], case_index(store), summary.simulated_to
        finally:
            store.close()


def _shift_data(data: Any, weeks: int) -> Any:
    due = data.get("due") if data else None
    if not isinstance(due, str):
        return data
    moved = pendulum.parse(due).add(weeks=weeks)  # type: ignore[union-attr]
    return {**data, "due": moved.isoformat()}


def grow(log: list[Event], index: dict[str, tuple[str, int]], size: int
         ) -> tuple[list[Event], dict[str, tuple[str, int]], int]:
    """Copies of ``log`` (new case ids, every copy one week later) up to ``size`` events;
    returns the events, their index and the number of weeks the copies span."""
    events: list[Event] = []
    cases: dict[str, tuple[str, int]] = {}
    copy = 0
    while len(events) < size:
        shift = WEEK * copy
        for e in log:
            cid = f"{e.case_id}~{copy}"
            events.append(Event(cid, e.seq, e.at + shift, e.kind, e.actor_id, e.role, e.trigger,
                                e.source, e.dest, _shift_data(e.data, copy), e.comment))
            if len(events) >= size:
                break
        cases.update({f"{cid}~{copy}": entry for cid, entry in index.items()})
        copy += 1
    return events, cases, copy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="small sizes; a missed target is not fatal")
    args = parser.parse_args(argv)
    size = 40_000 if args.quick else 1_000_000
    try:
        import pandas  # noqa: F401
    except ImportError:
        print("BENCH reporting_vs_pandas SKIP pandas is not installed")
        return 0 if args.quick else 1
    # The hand-written peer lives with the tests that check the package against it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reporting import pandas_kpis

    log, index, end = demo_log(120 if args.quick else 600)
    events, cases, weeks = grow(log, index, size)
    as_of = end + WEEK * weeks
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    calendar = china_office()
    calendar.working_us(epoch_us(end) - 10**12, epoch_us(as_of))  # build the years' tables

    gc.collect()
    t0 = time.perf_counter()
    report = compute(events, cases=cases, sla=sla, registry=registry, as_of=as_of, tz=TZ,
                     cycles=False)
    ours = time.perf_counter() - t0

    gc.collect()
    t0 = time.perf_counter()
    frame = pandas_kpis.frame_from_events(events, cases)
    theirs_kpis = pandas_kpis.kpis(frame, calendar=calendar, as_of=epoch_us(as_of), lo=None,
                                   hi=epoch_us(as_of), tz=TZ)
    theirs = time.perf_counter() - t0

    mine = {(r.process, r.clock): (r.met, r.breached, r.cancelled) for r in report.attainment
            if r.by == "all"}
    att = theirs_kpis["attainment"]
    peer = {(r["process"], r["clock"]): (r["met"], r["breached"], r["cancelled"])
            for r in att[att["by"] == "all"].to_dict("records")}
    if mine != peer:
        print("the two computations disagree: servicewf", mine, "pandas", peer)
        return 1
    ratio = theirs / ours
    ok = ratio >= TARGET
    print(f"{len(events)} events, {len(cases)} cases: servicewf {ours:.2f} s "
          f"({len(events) / ours:,.0f} events/s), pandas by hand {theirs:.2f} s")
    print(f"BENCH reporting_vs_pandas ratio={ratio:.2f} target={TARGET:g} events={len(events)} "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
