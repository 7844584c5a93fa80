"""Compliance benchmark: the batch checker against pm4py, and the incremental checker in fire.

1. The same Declare model (every template both support: existence, absence, exactly one, init,
   responded existence, coexistence, not coexistence, response, precedence, succession,
   alternate response and precedence, chain response, precedence and succession; 27
   constraints) over the BPIC 2013 incidents log (7,554 cases, 65,533 events, from
   ``../shared/data/``): ``pm4py.conformance_declare`` on its DataFrame vs
   ``servicewf.compliance.check`` on the same log as servicewf histories (building either
   input is not timed). Both give per-case verdicts; servicewf also counts activations,
   fulfilments and violations per rule. ``BENCH compliance_vs_pm4py ratio=<pm4py time /
   servicewf time> target=5`` (PASS when ≥ 5). ``SKIP`` without pm4py or the log.
2. The incremental checker (:class:`~servicewf.compliance.ComplianceMonitor` with the built-in
   catalogue, C1–C15, retention and the SLA clocks) as an after-commit observer of every
   ``fire`` of complaints through the built-in stack (SLA clocks and obligations on a memory
   store), vs the same fires without it. ``BENCH compliance_incremental_fire ratio=<time with
   / time without> target=1.3`` (PASS when ≤ 1.3, as the other "at most" targets here).

    python benchmarks/compliance.py [--quick]

``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): the first 1,500 cases and fewer fires; a missed
target is printed but the exit status is 0 (CI smoke run: only a crash fails).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum

from servicewf import Actor, FrozenClock, MemoryStore
from servicewf.compliance import (
    Absence,
    AlternatePrecedence,
    AlternateResponse,
    ChainPrecedence,
    ChainResponse,
    ChainSuccession,
    Coexistence,
    ComplianceMonitor,
    Existence,
    History,
    Init,
    NotCoexistence,
    Precedence,
    RespondedExistence,
    Response,
    Rule,
    Succession,
    builtin_catalogue,
    builtin_environment,
    check,
)
from servicewf.events import Event, EventKind

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bpic2013_incidents.csv.gz"
if not DATA.exists():
    DATA = Path("/work/shared/data/bpic2013_incidents.csv.gz")

PAIRS: dict[str, type[Rule]] = {
    "responded_existence": RespondedExistence, "coexistence": Coexistence,
    "noncoexistence": NotCoexistence, "response": Response, "precedence": Precedence,
    "succession": Succession, "altresponse": AlternateResponse,
    "altprecedence": AlternatePrecedence, "chainresponse": ChainResponse,
    "chainprecedence": ChainPrecedence, "chainsuccession": ChainSuccession,
}
A, R, C, V = ("Accepted-In Progress", "Completed-Resolved", "Completed-Closed",
              "Accepted-Wait - Vendor")
MODEL: dict[str, dict[Any, dict[str, Any]]] = {
    "existence": {A: {}, C: {}}, "absence": {V: {}}, "exactly_one": {C: {}}, "init": {A: {}},
    **{t: {(A, R): {}, (R, C): {}} for t in PAIRS},
}
MODEL["noncoexistence"][(C, V)] = {}


def rules_of(model: dict[str, dict[Any, dict[str, Any]]]) -> list[Rule]:
    out: list[Rule] = []
    for template, items in model.items():
        for key in items:
            rid = f"{template}:{key}"
            if template == "existence":
                out.append(Existence(id=rid, activity=key))
            elif template == "absence":
                out.append(Absence(id=rid, activity=key))
            elif template == "exactly_one":
                out.append(Existence(id=rid, activity=key, at_most=1))
            elif template == "init":
                out.append(Init(id=rid, activity=key))
            else:
                out.append(PAIRS[template](id=rid, source=key[0], target=key[1]))
    return out


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def load(limit: int | None) -> tuple[list[History], Any]:
    import pandas as pd

    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        df = pd.read_csv(f, usecols=["SR Number", "Change Date+Time", "Activity"])
    df["ts"] = pd.to_datetime(df["Change Date+Time"], utc=True, format="ISO8601")
    df = df.sort_values(["SR Number", "ts"], kind="stable")
    if limit is not None:
        df = df[df["SR Number"].isin(df["SR Number"].drop_duplicates().iloc[:limit])]
    histories = []
    for cid, g in df.groupby("SR Number", sort=True):
        histories.append(History(str(cid), None, [
            Event(str(cid), i, pendulum.instance(ts.to_pydatetime(), tz=pendulum.UTC),
                  EventKind.TRANSITION, "r", "agent", str(a), None, str(a))
            for i, (a, ts) in enumerate(zip(g["Activity"], g["ts"], strict=True), 1)]))
    frame = pd.DataFrame({"case:concept:name": df["SR Number"].astype(str),
                          "concept:name": df["Activity"].astype(str),
                          "time:timestamp": df["ts"]})
    return histories, frame


def bench_vs_pm4py(limit: int | None) -> float | None:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pm4py's licence banner
            import pm4py
    except ImportError:
        print("BENCH compliance_vs_pm4py SKIP pm4py not installed (pip install pm4py: dev "
              "extra)")
        return None
    if not DATA.exists():
        print(f"BENCH compliance_vs_pm4py SKIP BPIC 2013 log not found at {DATA}")
        return None
    histories, frame = load(limit)
    rules = rules_of(MODEL)
    theirs = best_of(3, lambda: pm4py.conformance_declare(frame, MODEL))
    ours = best_of(3, lambda: check(histories, rules))
    report = check(histories, rules)
    ratio = theirs / ours
    print(f"BENCH compliance_vs_pm4py ratio={ratio:.2f} target=5 cases={report.cases} "
          f"peer_s={theirs:.3f} servicewf_s={ours:.3f} {'PASS' if ratio >= 5 else 'FAIL'}")
    return ratio


COMPLAINT_PATH = ["record", "classify", "confirm_classification", "acknowledge", "investigate",
                  "resolve", "give_feedback", "close", "follow_up", "archive"]


def _fires(n_cases: int, monitor: bool) -> float:
    from servicewf.processes.stack import builtin_stack
    from servicewf.testing import open_case, sample_data

    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))
    stack = builtin_stack(MemoryStore(), clock)
    engine = stack.engine
    if monitor:
        ComplianceMonitor(builtin_catalogue(), env=builtin_environment()).attach(engine)
    definition = engine.registry.get("complaint")
    roles = {"confirm_classification": Actor("zhao", "supervisor")}
    agent = Actor("wang", "agent")
    cases = [open_case(engine, "complaint") for _ in range(n_cases)]
    plans = [(t, sample_data(definition, t, clock.now()), roles.get(t, agent))
             for t in COMPLAINT_PATH]
    gc.collect()
    t0 = time.perf_counter()
    for case in cases:
        for trigger, data, actor in plans:
            case = engine.fire(case, trigger, actor=actor, data=data)
    return time.perf_counter() - t0


def bench_incremental(n_cases: int) -> float:
    # Alternated, best of five each: on a shared machine a burst of load then falls on both
    # sides alike instead of on whichever ran during it.
    base, with_monitor = float("inf"), float("inf")
    for _ in range(5):
        base = min(base, _fires(n_cases, False))
        with_monitor = min(with_monitor, _fires(n_cases, True))
    ratio = with_monitor / base
    per = base / (n_cases * len(COMPLAINT_PATH)) * 1e6
    print(f"BENCH compliance_incremental_fire ratio={ratio:.2f} target=1.3 "
          f"fire_us={per:.0f} {'PASS' if ratio <= 1.3 else 'FAIL'}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="smaller sizes, targets not fatal (CI smoke run)")
    args = parser.parse_args(argv)
    vs = bench_vs_pm4py(1500 if args.quick else None)
    inc = bench_incremental(20 if args.quick else 150)
    ok = (vs is None or vs >= 5) and inc <= 1.3
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
