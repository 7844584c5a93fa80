from __future__ import annotations

import pytest

from servicewf import (
    DefinitionBuilder,
    Guard,
    InvalidDefinition,
    ProcessDefinition,
    State,
    Transition,
)


def build(states: list[State], transitions: list[Transition], guards=()) -> ProcessDefinition:
    return ProcessDefinition("p", 1, states, transitions, guards)


def problems_of(states, transitions, guards=()) -> tuple[str, ...]:
    with pytest.raises(InvalidDefinition) as info:
        build(states, transitions, guards)
    return info.value.problems


def test_valid_definition_builds_and_compiles_once():
    d = build([State("a", initial=True), State("b", final=True)], [Transition("go", "a", "b")])
    assert d.compiled is d.compiled
    assert d.compiled.options("go", "a")[0].dest == "b"
    assert d.initial.id == "a"


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        [State("a"), State("b", final=True), State("Bad")],
        [Transition("x", "zz", "b"), Transition("y", "b", "nowhere")],
    )
    text = "\n".join(problems)
    assert "exactly one initial state is needed, found 0" in text
    assert "source 'zz' is not a declared state" in text
    assert "destination 'nowhere' is not a declared state" in text
    assert "leaves final state 'b'" in text
    assert "state id 'Bad' is not a snake_case identifier" in text
    assert len(problems) >= 5


def test_two_initial_states():
    problems = problems_of(
        [State("a", initial=True), State("b", initial=True), State("c", final=True)],
        [Transition("go", ("a", "b"), "c")],
    )
    assert any("found 2: a, b" in p for p in problems)


def test_unreachable_states_and_unreachable_final():
    problems = problems_of(
        [State("a", initial=True), State("b"), State("c", final=True), State("d", final=True)],
        [Transition("go", "a", "c"), Transition("more", "b", "d")],
    )
    assert "state 'b' is unreachable from 'a'" in problems
    assert "final state 'd' is unreachable from 'a'" in problems


def test_trap_without_exit_and_trap_cycle():
    problems = problems_of(
        [State("a", initial=True), State("b"), State("c"), State("d"), State("z", final=True)],
        [
            Transition("go", "a", ("b")),
            Transition("loop", "b", "c"),
            Transition("back", "c", "b"),
            Transition("stuck", "a", "d"),
            Transition("end", "a", "z"),
        ],
    )
    assert "state 'b' is a trap: it cannot reach any final state" in problems
    assert "state 'd' is a trap: it has no transition out" in problems


def test_no_final_state():
    problems = problems_of([State("a", initial=True), State("b")], [Transition("go", "a", "b")])
    assert any("no state is final" in p for p in problems)


def test_ambiguous_transitions_are_refused_unless_guards_or_roles_differ():
    states = [State("a", initial=True), State("b", final=True), State("c", final=True)]
    g = Guard("g", lambda ctx: True)
    problems = problems_of(states, [Transition("go", "a", "b"), Transition("go", "a", "c")])
    assert any("have the same guards and roles" in p for p in problems)
    # a guard tells them apart
    build(states, [Transition("go", "a", "b", conditions="g"), Transition("go", "a", "c")], [g])
    # disjoint roles tell them apart
    build(states, [Transition("go", "a", "b", roles="agent"),
                   Transition("go", "a", "c", roles="manager")])
    # overlapping roles do not
    problems = problems_of(states, [Transition("go", "a", "b", roles=("agent", "manager")),
                                    Transition("go", "a", "c", roles="manager")])
    assert any("same guards and roles" in p for p in problems)


def test_unknown_guard_and_bad_version():
    with pytest.raises(InvalidDefinition) as info:
        ProcessDefinition("p", 0, [State("a", initial=True), State("b", final=True)],
                          [Transition("go", "a", "b", unless="missing")])
    assert "guard 'missing' is not defined" in str(info.value)
    assert "version must be a positive integer" in str(info.value)


def test_wildcard_source_expands_to_non_final_states():
    d = (DefinitionBuilder("p").add_state("a", initial=True).add_state("b")
         .add_state("c", final=True).add_state("x", final=True)
         .add_transition("go", "a", "b").add_transition("end", "b", "c")
         .add_transition("cancel", "*", "x").build())
    assert d.compiled.options("cancel", "a") and d.compiled.options("cancel", "b")
    assert not d.compiled.options("cancel", "c")
    assert d.compiled.triggers_by_state["c"] == ()


def test_error_message_says_what_to_do():
    with pytest.raises(InvalidDefinition, match="fix these and build it again"):
        build([State("a", initial=True)], [])
