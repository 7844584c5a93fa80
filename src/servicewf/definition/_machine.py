"""The compiled form of a definition: a lookup table, and one ``transitions`` machine on demand.

Why not bind cases to the machine as ``transitions`` models? Its binding sets attributes on the
model (frozen and slotted classes refuse that), ``add_model`` costs O(n) per case and about
3 KB each, and restoring a stored state through it fires callbacks. So the engine keeps one
model-less ``transitions.Machine`` per definition as the structural source of truth (its
states, events and per-source transition lists) and compiles from it a lookup table that the
engine evaluates itself against immutable cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from transitions import Machine

from servicewf._trusted import trusted_constructor
from servicewf.definition.model import STAY, Guard, State, Transition
from servicewf.definition.validation import expand_sources

__all__ = ["LISTING_LIMIT", "Candidate", "CompiledMachine"]

LISTING_LIMIT = 20
"""How many names a refusal message lists before it says how many more there are."""


def _listing(names: Sequence[str]) -> str:
    if len(names) <= LISTING_LIMIT:
        return ", ".join(names)
    shown = ", ".join(names[:LISTING_LIMIT])
    return f"{shown} and {len(names) - LISTING_LIMIT} more"


@attrs.frozen(slots=True)
class Candidate:
    """A transition prepared for the engine's hot path: roles as a set (``None`` = any role)
    and guards resolved to ``(guard, must_pass)`` pairs in evaluation order."""

    transition: Transition
    dest: str
    roles: frozenset[str] | None
    checks: tuple[tuple[Guard, bool], ...]
    required: tuple[str, ...]


# Built for every (trigger, source) of a definition from values the compile made itself.
_candidate = trusted_constructor(Candidate)


class CompiledMachine:
    """Per-definition lookup: ``options(trigger, state)`` → candidate transitions in order."""

    __slots__ = (
        "_candidates", "_exits_text", "_initial", "_machine", "_origins_text", "_states",
        "_table", "origins_by_trigger", "triggers_by_state",
    )

    def __init__(
        self,
        states: Sequence[State],
        transitions: Sequence[Transition],
        guards: Mapping[str, Guard] | None = None,
    ) -> None:
        self._initial = next(s.id for s in states if s.initial)
        self._states = tuple(states)
        self._machine: Machine | None = None
        # One pass over the transitions builds the candidates by trigger and source directly
        # (tuples grown by concatenation: almost every entry holds one candidate). The table
        # of bare transitions that options() and the machine read is derived from it on first
        # use: building both up front (and an intermediate of lists) was half of a large
        # definition's compile, and memory that a 10k-trigger compile paid for in cache misses.
        known = guards or {}
        make = _candidate
        candidates: dict[str, dict[str, tuple[Candidate, ...]]] = {}
        for t in transitions:
            per = candidates.get(t.trigger)
            if per is None:
                per = candidates[t.trigger] = {}
            roles = frozenset(t.roles) if t.roles else None
            checks: tuple[tuple[Guard, bool], ...] = (
                tuple((known[g], True) for g in t.conditions if g in known)
                + tuple((known[g], False) for g in t.unless if g in known)
                if t.conditions or t.unless else ())
            stays = t.dest == STAY
            for src in expand_sources(t, states):
                c = make(t, src if stays else t.dest, roles, checks, t.required)
                found = per.get(src)
                per[src] = (c,) if found is None else (*found, c)
        self._candidates: Mapping[str, Mapping[str, tuple[Candidate, ...]]] = candidates
        self._table: Mapping[str, Mapping[str, tuple[Transition, ...]]] | None = None
        # Which triggers leave each state, in declaration order: one pass over the table (the
        # same lists as ``Machine.get_triggers(state)``, which scans every event for each
        # state it is asked about: O(states × triggers), 134 s for a 10k-trigger star).
        by_state: dict[str, list[str]] = {s.id: [] for s in states}
        for trig, per_source in candidates.items():
            for src in per_source:
                if src in by_state:
                    by_state[src].append(trig)
        self.triggers_by_state: Mapping[str, tuple[str, ...]] = {
            sid: tuple(trigs) for sid, trigs in by_state.items()
        }
        # The source states each trigger is declared with (``"*"`` as written), sorted: what a
        # ``TriggerNotAllowed`` refusal cites, computed once rather than on every refusal.
        origins: dict[str, set[str]] = {}
        for t in transitions:
            origins.setdefault(t.trigger, set()).update(t.sources)
        self.origins_by_trigger: Mapping[str, tuple[str, ...]] = {
            trig: tuple(sorted(srcs)) for trig, srcs in origins.items()
        }
        # Refusal messages quote these lists; bounded, so refusing all 10k triggers of a state
        # (as ``Engine.available`` may) does not build 10k messages of 10k names each.
        self._exits_text = {sid: _listing(ts) for sid, ts in self.triggers_by_state.items()}
        self._origins_text = {trig: _listing(os) for trig, os in self.origins_by_trigger.items()}

    @property
    def machine(self) -> Machine:
        """The definition as one model-less ``transitions.Machine`` (built on first use: the
        engine evaluates the table above and never needs it; building it for every compile
        cost a third of a large definition's compile time)."""
        if self._machine is None:
            machine = Machine(model=None, states=[s.id for s in self._states],
                              initial=self._initial, auto_transitions=False,
                              ignore_invalid_triggers=False)
            for trig, per_source in self.table.items():
                for src, ts in per_source.items():
                    for t in ts:
                        machine.add_transition(trig, src, t.target(src))
            self._machine = machine
        return self._machine

    @property
    def table(self) -> Mapping[str, Mapping[str, tuple[Transition, ...]]]:
        """The transitions by trigger and source state, in declaration order (derived from
        the candidates on first use)."""
        if self._table is None:
            self._table = {trig: {src: tuple(c.transition for c in cs)
                                  for src, cs in per.items()}
                           for trig, per in self._candidates.items()}
        return self._table

    def exits_text(self, state: str) -> str:
        """The triggers leaving ``state``, comma-separated and cut after
        :data:`LISTING_LIMIT` names (``""`` when none): for messages."""
        return self._exits_text.get(state, "")

    def origins_text(self, trigger: str) -> str:
        """The source states ``trigger`` is declared with, like :meth:`exits_text`."""
        return self._origins_text.get(trigger, "")

    def has_trigger(self, trigger: str) -> bool:
        """True when some transition of the definition uses ``trigger``."""
        return trigger in self._candidates

    def candidates(self, trigger: str, state: str) -> tuple[Candidate, ...]:
        """Like :meth:`options`, prepared for evaluation (``()`` when none)."""
        per_source = self._candidates.get(trigger)
        if per_source is None:
            return ()
        return per_source.get(state, ())

    def options(self, trigger: str, state: str) -> tuple[Transition, ...]:
        """The transitions ``trigger`` may take from ``state``, in declaration order."""
        per_source = self.table.get(trigger)
        if per_source is None:
            return ()
        return per_source.get(state, ())
