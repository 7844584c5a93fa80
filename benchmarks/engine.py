"""Engine benchmark: servicewf vs bare ``transitions`` vs ``python-statemachine``.

One run, same five-step process, same machine. Prints transitions per second for each, the
ratio servicewf / bare transitions (target ≥ 1.0, failure below 0.5) and the memory per open
case (target ≤ 1 KB beyond the user's own data). Then times building a star-shaped definition
of 1k and 10k triggers plus its first ``available()`` answers (target: 10k ≤ 1 s, and 10k at
most 12 × 1k, i.e. linear; the interpreter's own objects are frozen out of the collector while
timing, so a full collection does not charge the library for the size of the heap).

    python benchmarks/engine.py [--quick]

``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): smaller sizes; a missed target is printed but the
exit status is 0 (CI smoke run: only a crash fails).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable

import pendulum

from servicewf import Actor, DefinitionBuilder, Engine, FrozenClock, Guard, MemoryStore

STEPS = ["received", "registered", "planned", "in_progress", "delivered", "closed"]
TRIGGERS = ["register", "plan", "start", "deliver", "close"]


def servicewf_definition():
    b = DefinitionBuilder("bench")
    for i, s in enumerate(STEPS):
        b.add_state(s, initial=i == 0, final=i == len(STEPS) - 1)
    b.add_guard(Guard("has_plan", lambda ctx: ctx.value("plan") is not None))
    for i, trig in enumerate(TRIGGERS):
        b.add_transition(trig, STEPS[i], STEPS[i + 1],
                         required=("plan",) if trig == "plan" else (),
                         conditions=("has_plan",) if trig == "start" else ())
    return b.build()


def best_of(runs: int, fn: Callable[[], float]) -> float:
    """Best (highest) rate of ``runs`` tries: the least disturbed by the shared machine."""
    return max(fn() for _ in range(runs))


def bench_servicewf(n_cases: int) -> float:
    clock = FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC"))
    engine = Engine(MemoryStore(), clock, [servicewf_definition()])
    actor = Actor("u1", "agent")
    cases = [engine.open("bench", actor=actor) for _ in range(n_cases)]
    plan = {"plan": "p"}
    empty: dict[str, object] = {}
    fire = engine.fire
    gc.collect()
    t0 = time.perf_counter()
    for case in cases:
        for trig in TRIGGERS:
            case = fire(case, trig, actor=actor, data=plan if trig == "plan" else empty)
    elapsed = time.perf_counter() - t0
    return n_cases * len(TRIGGERS) / elapsed


def bench_transitions(n_cases: int) -> float:
    from transitions import Machine

    class Model:
        the_plan = "p"

        def has_plan(self) -> bool:
            return self.the_plan is not None

    model = Model()
    machine = Machine(model=model, states=STEPS, initial=STEPS[0], auto_transitions=False)
    for i, trig in enumerate(TRIGGERS):
        machine.add_transition(trig, STEPS[i], STEPS[i + 1],
                               conditions=["has_plan"] if trig == "start" else None)
    calls = [getattr(model, t) for t in TRIGGERS]
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n_cases):
        model.state = STEPS[0]
        for call in calls:
            call()
    elapsed = time.perf_counter() - t0
    return n_cases * len(TRIGGERS) / elapsed


def bench_statemachine(n_cases: int) -> float:
    from statemachine import State, StateMachine

    class Bench(StateMachine):
        received = State(initial=True)
        registered = State()
        planned = State()
        in_progress = State()
        delivered = State()
        closed = State(final=True)
        register = received.to(registered)
        plan = registered.to(planned)
        start = planned.to(in_progress, cond="has_plan")
        deliver = in_progress.to(delivered)
        close = delivered.to(closed)

        def has_plan(self) -> bool:
            return True

    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n_cases):
        sm = Bench()
        for trig in TRIGGERS:
            sm.send(trig)
    elapsed = time.perf_counter() - t0
    return n_cases * len(TRIGGERS) / elapsed


def star_definition(n_triggers: int):
    """One hub, ``n_triggers`` triggers ``t_i`` each going hub → ``leaf_i`` and back, and one
    ``finish`` to the final state: the shape whose compile used to be O(states × triggers)."""
    b = DefinitionBuilder("star")
    b.add_state("hub", initial=True)
    b.add_state("done", final=True)
    for i in range(n_triggers):
        b.add_state(f"leaf_{i}")
    b.add_transition("finish", "hub", "done")
    for i in range(n_triggers):
        b.add_transition(f"t_{i}", "hub", f"leaf_{i}")
        b.add_transition(f"t_{i}", f"leaf_{i}", "hub")
    return b


def definition_compile_seconds(n_triggers: int) -> float:
    """Seconds to build a ``star_definition`` and answer the first ``available()`` on a case
    in the hub (every trigger allowed) and on one in a leaf (all but one refused)."""
    builder = star_definition(n_triggers)
    clock = FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC"))
    actor = Actor("u1", "agent")
    # The interpreter's own objects (modules, the builder above) are frozen out of the
    # collector: a full collection triggered inside the timed part then walks only what the
    # library allocated there, not a heap whose size has nothing to do with the triggers
    # (without this, 10k triggers cross CPython's full-collection threshold and 1k do not).
    gc.collect()
    gc.freeze()
    try:
        t0 = time.perf_counter()
        engine = Engine(MemoryStore(), clock, [builder.build()])
        case = engine.open("star", actor=actor)
        engine.available(case, actor)
        engine.available(engine.fire(case, "t_0", actor=actor), actor)
        return time.perf_counter() - t0
    finally:
        gc.unfreeze()


def memory_per_open_case(n_cases: int) -> float:
    """Bytes retained per opened case (case snapshot, opening event, store entries)."""
    clock = FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC"))
    engine = Engine(MemoryStore(), clock, [servicewf_definition()],
                    id_factory=iter(f"case-{i:08d}" for i in range(10**9)).__next__)
    actor = Actor("u1", "agent")
    engine.open("bench", actor=actor)  # warm caches (compiled machine, registry)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(n_cases):
        engine.open("bench", actor=actor)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return total / n_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="smaller sizes, targets not fatal (CI smoke run)")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else 20_000
    runs = 3
    ours = best_of(runs, lambda: bench_servicewf(n))
    bare = best_of(runs, lambda: bench_transitions(n))
    psm = best_of(runs, lambda: bench_statemachine(n // 4))
    mem = memory_per_open_case(n)
    ratio = ours / bare
    print(f"servicewf fire (guard, data, audit event, memory store): {ours:12,.0f} transitions/s")
    print(f"bare transitions (shared machine, bound model):          {bare:12,.0f} transitions/s")
    print(f"python-statemachine (send):                              {psm:12,.0f} transitions/s")
    print(f"ratio servicewf/python-statemachine: {ours / psm:.2f}")
    print(f"memory per open case: {mem:,.0f} bytes (case, opening event, store entries)")
    ok_speed = ratio >= 1.0
    ok_mem = mem <= 1024
    print(f"BENCH engine_vs_transitions ratio={ratio:.2f} target=1.0 "
          f"{'PASS' if ok_speed else 'FAIL'}")
    print(f"BENCH engine_memory_per_case ratio={mem / 1024:.2f} target=1.0 "
          f"{'PASS' if ok_mem else 'FAIL'}")
    t1k = min(definition_compile_seconds(1_000) for _ in range(runs + 2))
    t10k = min(definition_compile_seconds(10_000) for _ in range(runs + 2))
    ok_compile = t10k <= 1.0
    ok_scaling = t10k / t1k <= 12
    print(f"definition compile + first available(), star of 1k / 10k triggers: "
          f"{t1k:.3f} s / {t10k:.3f} s")
    print(f"BENCH definition_compile_10k ratio={t10k / 1.0:.2f} target=1 "
          f"{'PASS' if ok_compile else 'FAIL'}")
    print(f"BENCH definition_compile_scaling ratio={t10k / t1k:.2f} target=12 "
          f"{'PASS' if ok_scaling else 'FAIL'}")
    return 0 if (ok_speed and ok_mem and ok_compile and ok_scaling) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
