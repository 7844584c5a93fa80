"""Compiling a definition and answering ``available()`` scale linearly with its size."""

from __future__ import annotations

import time

import pendulum
import pytest

from servicewf import Actor, DefinitionBuilder, Engine, FrozenClock, MemoryStore, TriggerNotAllowed
from servicewf.definition import ProcessDefinition
from servicewf.definition._machine import LISTING_LIMIT

ACTOR = Actor("u1", "agent")


def star(n: int, *, pairs: bool = False) -> ProcessDefinition:
    """A hub with ``n`` triggers ``t_i`` to ``leaf_i`` and back (or ``back_i`` with pairs)."""
    b = DefinitionBuilder("star").add_state("hub", initial=True).add_state("done", final=True)
    for i in range(n):
        b.add_state(f"leaf_{i}")
    b.add_transition("finish", "hub", "done")
    for i in range(n):
        b.add_transition(f"t_{i}", "hub", f"leaf_{i}")
        b.add_transition(f"back_{i}" if pairs else f"t_{i}", f"leaf_{i}", "hub")
    return b.build()


def engine_for(definition: ProcessDefinition) -> Engine:
    return Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC")),
                  [definition])


def test_triggers_by_state_matches_the_transitions_machine() -> None:
    d = (DefinitionBuilder("p").add_state("a", initial=True).add_state("b").add_state("c")
         .add_state("x", final=True)
         .add_transition("go", "a", "b").add_transition("go", "b", "c")
         .add_transition("stay", ["b", "c"], "=").add_transition("end", "c", "x")
         .add_transition("cancel", "*", "x").build())
    compiled = d.compiled
    for s in d.states:
        assert compiled.triggers_by_state[s.id] == tuple(compiled.machine.get_triggers(s.id))
    assert compiled.origins_by_trigger["cancel"] == ("*",)
    assert compiled.origins_by_trigger["go"] == ("a", "b")


def test_refusal_lists_a_bounded_number_of_names() -> None:
    """From the hub of a 2×30-trigger star, each ``back_i`` is refused; the message names at
    most ``LISTING_LIMIT`` of the 31 triggers allowed there (before: all of them, so refusing
    n triggers built n messages of n names), and ``allowed`` still holds them all."""
    engine = engine_for(star(30, pairs=True))
    case = engine.open("star", actor=ACTOR)
    with pytest.raises(TriggerNotAllowed) as info:
        engine.fire(case, "back_0", actor=ACTOR)
    assert len(info.value.allowed) == 31
    assert f"and {31 - LISTING_LIMIT} more" in str(info.value)
    assert "t_29" not in str(info.value)
    options = engine.available(case, ACTOR)
    assert sum(o.allowed for o in options) == 31


@pytest.mark.slow
def test_ten_thousand_triggers_compile_and_answer_quickly() -> None:
    """Before the fix this took about 45 s (``Machine.get_triggers`` per state and a scan of
    every transition per refusal, both O(states × triggers)); now about 0.5 s. The bound is
    generous so a loaded machine does not make it flaky."""
    t0 = time.perf_counter()
    d = star(10_000, pairs=True)
    engine = engine_for(d)
    case = engine.open("star", actor=ACTOR)
    assert sum(o.allowed for o in engine.available(case, ACTOR)) == 10_001
    leaf = engine.fire(case, "t_0", actor=ACTOR)
    assert [o.trigger for o in engine.available(leaf, ACTOR) if o.allowed] == ["back_0"]
    assert time.perf_counter() - t0 < 10


def test_trap_check_is_one_search_not_one_per_final_state() -> None:
    """A ring of open states, each with its own final exit: a backward search per final state
    walked the whole ring again for each (3000 states: several seconds; now milliseconds)."""
    import time

    from servicewf import DefinitionBuilder

    n = 3000
    b = DefinitionBuilder("ring")
    for i in range(n):
        b.add_state(f"s_{i}", initial=i == 0)
        b.add_state(f"end_{i}", final=True)
        b.add_transition("next", f"s_{i}", f"s_{(i + 1) % n}")
        b.add_transition("stop", f"s_{i}", f"end_{i}")
    t0 = time.perf_counter()
    definition = b.build()
    assert time.perf_counter() - t0 < 1.0
    assert len(definition.states) == 2 * n
