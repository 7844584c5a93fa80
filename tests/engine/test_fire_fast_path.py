"""plan_fire takes a lone, unguarded, open transition without _decide; it must decide
exactly as _decide does. Random commands run on two engines: one as shipped, one whose
compiled machine hands every lone candidate twice (so plan_fire always goes to _decide, which
takes the first). Same cases, same events, same refusals with the same messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import (
    Actor,
    CommandRefused,
    DefinitionBuilder,
    Engine,
    FrozenClock,
    Guard,
    MemoryStore,
)
from servicewf.definition import CompiledMachine, ProcessDefinition
from tests.helpers import START


def _definition(owned: bool) -> ProcessDefinition:
    b = (DefinitionBuilder("fast", 1)
         .add_state("a", initial=True).add_state("b").add_state("c")
         .add_state("z", final=True)
         .add_guard(Guard("ok", lambda ctx: ctx.value("ok") is True))
         .add_transition("go", "a", "b")                                  # lone, open
         .add_transition("stay", ["a", "b"], "=", writes=("note",))        # lone, stays
         .add_transition("boss", "b", "c", roles="supervisor")            # lone, roles
         .add_transition("need", "a", "c", required="x", writes=("x",))   # lone, required
         .add_transition("check", "b", "c", conditions="ok", writes=("ok",))  # guarded
         .add_transition("fork", "c", "a", conditions="ok", writes=("ok",))   # two candidates
         .add_transition("fork", "c", "b", writes=("ok",))
         .add_transition("end", "*", "z", writes=("x",)))
    if owned:
        b.own_fields()
    return b.build()


DATA = st.fixed_dictionaries({}, optional={"x": st.sampled_from(["v", ""]),
                                           "ok": st.booleans(), "note": st.just("n")})
COMMANDS = st.lists(st.tuples(st.sampled_from(["go", "stay", "boss", "need", "check", "fork",
                                               "end", "nope"]),
                              st.sampled_from(["agent", "supervisor"]), DATA,
                              st.none() | st.just("why")), max_size=12)


def _run(definition: ProcessDefinition, commands: Any) -> list[Any]:
    clock = FrozenClock(START)
    engine = Engine(MemoryStore(), clock, [definition])
    case = engine.open("fast", actor=Actor("u", "agent"), case_id="c1")
    out: list[Any] = []
    for trigger, role, data, comment in commands:
        clock.advance(seconds=1)
        try:
            case = engine.fire(case, trigger, actor=Actor("u", role), data=data,
                               comment=comment)
            out.append(("ok", case))
        except CommandRefused as refused:
            out.append(("refused", type(refused), str(refused)))
    return [*out, engine.history("c1")]


@pytest.mark.parametrize("owned", [False, True])
@settings(max_examples=120, deadline=None)
@given(commands=COMMANDS)
def test_the_inline_decision_equals_decide(owned: bool, commands: Any) -> None:
    definition = _definition(owned)
    shipped = _run(definition, commands)
    original = CompiledMachine.candidates

    def doubled(self: CompiledMachine, trigger: str, state: str) -> Any:
        found = original(self, trigger, state)
        return found * 2 if len(found) == 1 else found

    mp = pytest.MonkeyPatch()
    mp.setattr(CompiledMachine, "candidates", doubled)
    try:
        slow = _run(_definition(owned), commands)
    finally:
        mp.undo()
    assert shipped == slow
