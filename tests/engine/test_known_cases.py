"""The engine's bounded memory of recent cases stays O(1) per command once it is full."""

from __future__ import annotations

import time

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


def test_remembering_past_the_bound_costs_no_more_than_filling(monkeypatch) -> None:
    # With a plain dict, evicting the oldest id (next(iter(d)) after deletions at the front)
    # walked every earlier hole: remembering past the bound cost ~N/2 steps each.
    monkeypatch.setattr(engine_module, "_KNOWN_CASES", 20_000)
    engine = _engine()
    at = engine.open("p", actor=Actor("u", "agent")).opened_at
    engine._known.clear()
    remember = engine._remember

    def seconds(ids: range) -> float:
        made = [Case(f"c{i}", "p", 1, "a", 1, at, at) for i in ids]
        t0 = time.perf_counter()
        for case in made:
            remember(case)
        return time.perf_counter() - t0

    filling = seconds(range(0, 20_000))
    evicting = seconds(range(20_000, 60_000)) / 2
    assert len(engine._known) == 20_000
    assert evicting < 4 * filling, (filling, evicting)
    assert next(iter(engine._known)) == "c40000"  # first in, first out
