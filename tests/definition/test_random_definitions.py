"""Hypothesis: the validator accepts exactly the valid definitions.

The oracle below restates the rules with a different algorithm (transitive closure by
repeated squaring of a boolean matrix) so the two implementations check each other.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Guard, InvalidDefinition, ProcessDefinition, State, Transition

NAMES = [f"s{i}" for i in range(6)]
GUARDS = {"g1": Guard("g1", lambda ctx: True), "g2": Guard("g2", lambda ctx: False)}


@st.composite
def raw_definitions(draw):
    n = draw(st.integers(1, 6))
    ids = NAMES[:n]
    flags = draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=n, max_size=n))
    states = [State(i, initial=ini, final=fin) for i, (ini, fin) in zip(ids, flags, strict=False)]
    pool = [*ids, "ghost"]
    transitions = draw(st.lists(
        st.builds(
            lambda trig, src, dest, cond: Transition(trig, src, dest, conditions=cond),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(pool),
            st.sampled_from(pool),
            st.sampled_from([(), ("g1",), ("g2",)]),
        ),
        max_size=10,
    ))
    return states, transitions


def closure(ids, edges):
    reach = {a: {a} | {b for (x, b) in edges if x == a} for a in ids}
    changed = True
    while changed:
        changed = False
        for a in ids:
            new = set().union(*(reach[b] for b in reach[a] if b in reach))
            if not new <= reach[a]:
                reach[a] |= new
                changed = True
    return reach


def oracle_valid(states, transitions) -> bool:
    ids = [s.id for s in states]
    if len(set(ids)) != len(ids):
        return False
    initials = [s.id for s in states if s.initial]
    finals = {s.id for s in states if s.final}
    if len(initials) != 1 or not finals or any(s.initial and s.final for s in states):
        return False
    for t in transitions:
        if t.sources[0] not in ids or t.dest not in ids or t.sources[0] in finals:
            return False
    for i, a in enumerate(transitions):
        for b in transitions[i + 1:]:
            if (a.trigger, a.sources) == (b.trigger, b.sources) and a.conditions == b.conditions:
                return False
    edges = {(t.sources[0], t.dest) for t in transitions}
    reach = closure(ids, edges)
    if set(ids) - reach[initials[0]]:
        return False
    return all(s.final or reach[s.id] & finals for s in states)


@settings(max_examples=400)
@given(raw_definitions())
def test_validator_accepts_exactly_the_valid_definitions(raw):
    states, transitions = raw
    try:
        ProcessDefinition("p", 1, states, transitions, GUARDS)
        accepted = True
    except InvalidDefinition:
        accepted = False
    assert accepted == oracle_valid(states, transitions)
