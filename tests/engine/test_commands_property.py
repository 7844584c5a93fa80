"""Hypothesis: random command sequences on a valid definition.

Refused commands change nothing; sequence numbers stay contiguous; replaying the history
reproduces the case.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Actor, CommandRefused, Engine, FrozenClock, MemoryStore, replay
from tests.helpers import START, ticket_definition

DEFINITION = ticket_definition()
ROLES = ["agent", "supervisor", "guest"]
DATA = st.fixed_dictionaries(
    {},
    optional={
        "request_type": st.sampled_from(["repair", ""]),
        "plan": st.sampled_from(["p1", "", None]),
        "approved": st.booleans(),
        "reason": st.sampled_from(["dup", ""]),
    },
)
COMMANDS = st.lists(
    st.tuples(st.sampled_from([*DEFINITION.triggers, "bogus"]), st.sampled_from(ROLES), DATA,
              st.integers(0, 3600), st.booleans()),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(COMMANDS)
def test_random_commands_keep_the_invariants(commands):
    clock = FrozenClock(START)
    engine = Engine(MemoryStore(), clock, [DEFINITION])
    case = engine.open("ticket", actor=Actor("u", "agent"))
    accepted = 1
    for trigger, role, data, wait, use_stale in commands:
        clock.advance(seconds=wait)
        stored = engine.get(case.id)
        history = engine.history(case.id)
        target = case if use_stale else stored
        try:
            case = engine.fire(target, trigger, actor=Actor("u", role), data=data)
            accepted += 1
        except CommandRefused:
            assert engine.get(case.id) == stored
            assert engine.history(case.id) == history
            case = stored
    events = engine.history(case.id)
    assert [e.seq for e in events] == list(range(1, accepted + 1))
    assert replay(DEFINITION, events) == engine.get(case.id) == case
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
