"""The engine's bounded memory of recent cases stays O(1) per command once it is full."""

from __future__ import annotations

import time
from collections import OrderedDict

import pendulum

from servicewf import Actor, Case, DefinitionBuilder, Engine, FrozenClock, MemoryStore
from servicewf import engine as engine_module


def _engine() -> Engine:
    b = DefinitionBuilder("p")
    b.add_state("a", initial=True)
    b.add_state("z", final=True)
    b.add_transition("go", "a", "z")
    return Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC")),
                  [b.build()])


def test_remembering_past_the_bound_costs_o1(monkeypatch) -> None:
    # With a plain dict, evicting the oldest id (next(iter(d)) after deletions at the front)
    # walked every earlier hole: each command on a full cache paid a scan of ~N/2 slots. The
    # yardstick is a bounded FIFO written out by hand, timed on the same cases in the same
    # run (the machine may be shared): the engine's may cost a function call more, not 20×.
    cap = 20_000
    monkeypatch.setattr(engine_module, "_KNOWN_CASES", cap)
    engine = _engine()
    at = engine.open("p", actor=Actor("u", "agent")).opened_at
    made = [Case(f"c{i}", "p", 1, "a", 1, at, at) for i in range(3 * cap)]
    remember = engine._remember

    def ours() -> float:
        engine._known.clear()
        for case in made[:cap]:
            remember(case)
        t0 = time.perf_counter()
        for case in made[cap:]:
            remember(case)
        return time.perf_counter() - t0

    def yardstick() -> float:
        fifo: OrderedDict[str, Case] = OrderedDict()
        for case in made[:cap]:
            fifo[case.id] = case
        t0 = time.perf_counter()
        for case in made[cap:]:
            fifo[case.id] = case
            if len(fifo) > cap:
                fifo.popitem(last=False)
        return time.perf_counter() - t0

    best_ours = min(ours() for _ in range(3))
    best_yardstick = min(yardstick() for _ in range(3))
    assert len(engine._known) == cap
    assert next(iter(engine._known)) == f"c{2 * cap}"  # first in, first out
    assert best_ours < 6 * best_yardstick, (best_ours, best_yardstick)
