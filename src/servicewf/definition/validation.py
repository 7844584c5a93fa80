"""Build-time validation of a process definition.

Every check runs and every problem is reported, so an integrator fixes a definition in one go.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

from servicewf.definition.model import ANY_STATE, STAY, Guard, State, Transition, is_identifier

__all__ = ["definition_problems"]


def definition_problems(
    name: str,
    states: Sequence[State],
    transitions: Sequence[Transition],
    guards: Mapping[str, Guard],
) -> list[str]:
    """Return every problem of the definition (empty when it is valid).

    Checks: identifiers are snake_case and unique; exactly one initial state; every referenced
    state and guard exists; every state is reachable from the initial one; from every non-final
    state some final state can be reached (no traps); no transition leaves a final state; no two
    transitions on the same trigger and source are indistinguishable (same guards and
    overlapping roles).
    """
    problems: list[str] = []
    if not is_identifier(name):
        problems.append(f"process name {name!r} is not a snake_case identifier")

    ids: set[str] = set()
    for state in states:
        if not is_identifier(state.id):
            problems.append(f"state id {state.id!r} is not a snake_case identifier")
        if state.id in ids:
            problems.append(f"state {state.id!r} is declared twice")
        ids.add(state.id)
        if state.final and state.initial:
            problems.append(f"state {state.id!r} is both initial and final")
    finals = {s.id for s in states if s.final}
    initials = [s.id for s in states if s.initial]
    if len(initials) != 1:
        problems.append(
            f"exactly one initial state is needed, found {len(initials)}"
            + (f": {', '.join(initials)}" if initials else "")
        )
    if not finals:
        problems.append("no state is final; mark at least one state final=True")

    for key, g in guards.items():
        if key != g.name:
            problems.append(f"guard registered as {key!r} is named {g.name!r}")

    # Lists, not sets, of the states each state leads to (a repeat only costs a look in
    # _reach): a set per state, and a list per (trigger, source) below, were most of the
    # memory a large definition's validation took, paid for in cache misses.
    edges: dict[str, list[str]] = defaultdict(list)
    # The first transition of each (trigger, source), and every further one where there are
    # several (the only ones that can be indistinguishable).
    first: dict[tuple[str, str], Transition] = {}
    more: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        where = f"transition {t.trigger!r}"
        if not is_identifier(t.trigger):
            problems.append(f"{where}: trigger is not a snake_case identifier")
        if not t.sources:
            problems.append(f"{where}: has no source state")
        if t.dest != STAY and t.dest not in ids:
            problems.append(f"{where}: destination {t.dest!r} is not a declared state")
        for guard_name in (*t.conditions, *t.unless):
            if guard_name not in guards:
                problems.append(f"{where}: guard {guard_name!r} is not defined")
        for f in t.required:
            if not f or not f.isidentifier():
                problems.append(f"{where}: required field {f!r} is not a valid field name")
        sources = expand_sources(t, states)
        for src in t.sources:
            if src != ANY_STATE and src not in ids:
                problems.append(f"{where}: source {src!r} is not a declared state")
            elif src in finals:
                problems.append(
                    f"{where}: leaves final state {src!r}; a final state accepts no trigger"
                )
        stays = t.dest == STAY
        for src in sources:
            if src in ids:
                edges[src].append(src if stays else t.dest)
                pair = (t.trigger, src)
                seen = first.setdefault(pair, t)
                if seen is not t:
                    more.setdefault(pair, [seen]).append(t)

    for (trigger, src) in first if more else ():  # declaration order of the first ones
        group = more.get((trigger, src))
        if group is None:
            continue
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if _indistinguishable(a, b):
                    problems.append(
                        f"transitions {trigger!r} from {src!r} to {a.target(src)!r} and "
                        f"{b.target(src)!r} have the same guards and roles; add a guard "
                        "(conditions/unless) or disjoint roles that tell them apart"
                    )

    if len(initials) == 1 and initials[0] in ids:
        reachable = _reach({initials[0]}, edges)
        for state in states:
            if state.id not in reachable:
                kind = "final state" if state.final else "state"
                problems.append(f"{kind} {state.id!r} is unreachable from {initials[0]!r}")
    reverse: dict[str, list[str]] = defaultdict(list)
    for src, dests in edges.items():
        for d in dests:
            reverse[d].append(src)
    # One search from every final state at once: a search per final state would walk the
    # shared part of the graph again for each (quadratic for a star of final leaves).
    can_finish = _reach(finals, reverse)
    for state in states:
        if not state.final and state.id not in can_finish:
            leaves = any(d != state.id for d in edges.get(state.id, ()))
            way = "cannot reach any final state" if leaves else "has no transition out"
            problems.append(f"state {state.id!r} is a trap: it {way}")
    return problems


def expand_sources(t: Transition, states: Sequence[State]) -> tuple[str, ...]:
    """The concrete source states of ``t``: ``"*"`` expands to every non-final state."""
    if ANY_STATE not in t.sources:
        return t.sources
    out = [s.id for s in states if not s.final]
    out += [s for s in t.sources if s != ANY_STATE and s not in out]
    return tuple(out)


def _indistinguishable(a: Transition, b: Transition) -> bool:
    same_guards = set(a.conditions) == set(b.conditions) and set(a.unless) == set(b.unless)
    roles_overlap = not a.roles or not b.roles or bool(set(a.roles) & set(b.roles))
    return same_guards and roles_overlap


def _reach(starts: set[str], edges: Mapping[str, list[str]]) -> set[str]:
    """Every state reachable from any of ``starts`` along ``edges`` (the starts included)."""
    seen = set(starts)
    todo = deque(starts)
    while todo:
        for nxt in edges.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
