"""The compiled machine builds its candidates in one pass and derives the table of bare
transitions from them on first use: both agree, per trigger and source, with a plain
restatement over the definition's transitions (``"*"`` expanded, declaration order)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import ANY_STATE, STAY, State, Transition
from servicewf.definition import CompiledMachine

from .test_random_definitions import GUARDS, valid_definition


def _expected(
    states: list[State], transitions: list[Transition],
) -> dict[str, dict[str, list[Transition]]]:
    open_ids = [s.id for s in states if not s.final]
    out: dict[str, dict[str, list[Transition]]] = {}
    for t in transitions:
        sources = list(t.sources)
        if ANY_STATE in sources:
            sources = open_ids + [s for s in t.sources if s != ANY_STATE and s not in open_ids]
        for src in sources:
            out.setdefault(t.trigger, {}).setdefault(src, []).append(t)
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_candidates_and_table_agree_with_the_transitions(seed: int, star: bool) -> None:
    states, transitions = valid_definition(random.Random(seed))
    if star:  # a "*" transition, with an explicit source beside it
        open_ids = [s.id for s in states if not s.final]
        final = next(s.id for s in states if s.final)
        transitions = [*transitions, Transition("abort", (ANY_STATE, open_ids[0]), final)]
    compiled = CompiledMachine(states, transitions, GUARDS)
    expected = _expected(states, transitions)
    assert list(compiled.table) == list(expected)
    for trig, per in expected.items():
        assert list(compiled.table[trig]) == list(per)
        for src, ts in per.items():
            assert compiled.options(trig, src) == tuple(ts)
            cands = compiled.candidates(trig, src)
            assert [c.transition for c in cands] == ts
            for c, t in zip(cands, ts, strict=True):
                assert c.dest == (src if t.dest == STAY else t.dest) == t.target(src)
                assert c.required == t.required
                assert c.roles == (frozenset(t.roles) if t.roles else None)
                assert c.checks == (tuple((GUARDS[g], True) for g in t.conditions)
                                    + tuple((GUARDS[g], False) for g in t.unless))
    assert compiled.options("no such trigger", states[0].id) == ()
    assert compiled.candidates("no such trigger", states[0].id) == ()
    assert not compiled.has_trigger("no such trigger")
