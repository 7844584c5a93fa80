"""The floor of ``BENCH sla_fire_7_clocks``: the least work a fire through the SLA processor
of the benchmark's 7-clock policy must do, against a plain fire.

Not a target: a measurement that says whether the 2× of issue #15 is reachable in Python.
It runs the benchmark's fires once through the SLA processor with the calendar's µs API
recorded (``add_us``, ``working_us``, ``next_opening_us``: the deadlines, the elapsed business
time of finished cycles and pauses, the warnings of the touched clocks), counts the clocks
each fire touches and the timers it builds, then times, per fire:

- ``plain``: ``engine.fire`` without the processor (the benchmark's baseline);
- ``calendar``: replaying the recorded calendar calls (nothing cheaper computes a business
  deadline);
- ``timers``: building the fire's new ``Timer`` values (instant, payload) as the processor
  does, with the trusted constructor;
- ``encode``: the plain data of each touched clock (a 23-key frozen dict, the stored form
  every reader of ``case.extensions["sla"]`` reads), by the processor's own encoder.

and prints ``FLOOR`` lines: plain + calendar + timers (no stored clocks at all), and with
the stored form of the touched clocks, each as a ratio to the plain fire.

    python tools/sla_fire_floor.py [N]
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pendulum

from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf._trusted import trusted_constructor
from servicewf.calendar import BusinessCalendar, china_office
from servicewf.clock import from_epoch_us
from servicewf.sla import SLA
from servicewf.sla.processor import _frozen_clock
from servicewf.sla.state import ClockState
from servicewf.storage.base import Timer

# The benchmark's own policy (benchmarks/sla.py): this is a measurement beside it, with no
# target of its own, so it lives in tools/ rather than among the BENCH scripts.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from sla import _seven_clocks

PATH = ["work", "note", "wait", "work", "note", "note", "wait", "work", "finish"]
START = pendulum.datetime(2026, 3, 2, 1, tz="UTC")
AGENT = Actor("a", "agent")


def best(fn: Callable[[], None], repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return min(out)


def fire_time(n: int, processors: list[SLA], repeat: int = 3) -> float:
    """The best time of the benchmark's fires of ``n`` open cases (the opens not timed)."""
    definition, _ = _seven_clocks()
    out = []
    for _ in range(repeat):
        clock = FrozenClock(START)
        engine = Engine(MemoryStore(), clock, [definition], processors=processors)
        cases = [engine.open("ticket", actor=AGENT, data={"level": "high"}) for _ in range(n)]
        gc.collect()
        t = time.process_time()
        for step, trig in enumerate(PATH):
            clock.set(START.add(minutes=37 * (step + 1)))
            for i, case in enumerate(cases):
                cases[i] = engine.fire(case, trig, actor=AGENT)
        out.append(time.process_time() - t)
    return min(out)


def record(n: int) -> tuple[list[tuple[Callable[..., int], tuple[Any, ...]]], int, int, int]:
    """The calendar calls, touched clocks and new timers of ``n`` cases' fires (the opens
    excluded: only what ``engine.fire`` does)."""
    calls: list[tuple[Callable[..., int], tuple[Any, ...]]] = []
    recording = [False]
    originals = {name: getattr(BusinessCalendar, name)
                 for name in ("add_us", "working_us", "next_opening_us")}

    def spy(fn: Callable[..., int]) -> Callable[..., int]:
        def wrapped(self: BusinessCalendar, *args: int) -> int:
            if recording[0]:
                calls.append((fn, (self, *args)))
            return fn(self, *args)
        return wrapped

    for name, fn in originals.items():
        setattr(BusinessCalendar, name, spy(fn))
    touched = timers = 0
    try:
        definition, policy = _seven_clocks()
        sla = SLA([policy], {"office": china_office()})
        clock = FrozenClock(START)
        engine = Engine(MemoryStore(), clock, [definition], processors=[sla])
        cases = [engine.open("ticket", actor=AGENT, data={"level": "high"}) for _ in range(n)]
        recording[0] = True
        for step, trig in enumerate(PATH):
            clock.set(START.add(minutes=37 * (step + 1)))
            for i, case in enumerate(cases):
                before = sla.states(case).clocks
                old = {t.name: t for t in engine.store.timers(case.id)}
                cases[i] = engine.fire(case, trig, actor=AGENT)
                after = sla.states(cases[i]).clocks
                touched += sum(1 for a, b in zip(before, after, strict=True) if a != b)
                timers += sum(1 for t in engine.store.timers(case.id) if old.get(t.name) != t)
    finally:
        for name, fn in originals.items():
            setattr(BusinessCalendar, name, fn)
    return calls, touched, timers, n * len(PATH)


_new_timer = trusted_constructor(Timer)


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1_000
    calls, touched, new_timers, count = record(n)
    plain = fire_time(n, []) / count
    _, policy = _seven_clocks()
    with_sla = fire_time(n, [SLA([policy], {"office": china_office()})]) / count

    def replay() -> None:
        for fn, args in calls:
            fn(*args)
    cal = best(replay) / count

    due = 1_772_414_000_000_000
    k = new_timers

    def build_timers() -> None:
        for i in range(k):
            _new_timer("c0000001", "sla:resolve", from_epoch_us(due + i), "ticket",
                       MappingProxyType({"clock": "resolve", "cycle": 1, "action": "breach",
                                         "deadline": due + i}))
    tim = best(build_timers) / count

    state = ClockState("resolve", 1, "running", None, due, None, due, due, None)

    def encode() -> None:
        for _ in range(touched):
            _frozen_clock(state, None, None)  # the processor's own encoder
    enc = best(encode) / count

    print(f"{count:,} fires; per fire: {len(calls) / count:.2f} calendar calls, "
          f"{touched / count:.2f} touched clocks, {new_timers / count:.2f} new timers")
    print(f"plain fire        {plain * 1e6:7.2f} µs")
    print(f"fire with 7 clocks {with_sla * 1e6:6.2f} µs  (ratio {with_sla / plain:.2f})")
    print(f"calendar calls    {cal * 1e6:7.2f} µs")
    print(f"new timers        {tim * 1e6:7.2f} µs")
    print(f"stored clocks     {enc * 1e6:7.2f} µs")
    floor = plain + cal + tim
    print(f"FLOOR sla_fire_7_clocks without_stored_clocks ratio={floor / plain:.2f}")
    print(f"FLOOR sla_fire_7_clocks with_stored_clocks ratio={(floor + enc) / plain:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
