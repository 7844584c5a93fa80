"""ProcessDefinition: a named, versioned, validated state machine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from servicewf._frozen import names_tuple
from servicewf._gc import collector_paused
from servicewf.definition._machine import CompiledMachine
from servicewf.definition.model import Guard, Labels, State, Transition
from servicewf.definition.validation import definition_problems
from servicewf.errors import InvalidDefinition
from servicewf.events import RECORDABLE_KINDS

if TYPE_CHECKING:
    from servicewf.definition.builder import DefinitionBuilder

__all__ = ["ProcessDefinition"]


def _guard_map(value: Mapping[str, Guard] | Iterable[Guard]) -> Mapping[str, Guard]:
    if isinstance(value, Mapping):
        return dict(value)
    return {g.name: g for g in value}


def _states(value: Iterable[State]) -> tuple[State, ...]:
    return tuple(value)


def _transitions(value: Iterable[Transition]) -> tuple[Transition, ...]:
    return tuple(value)


def _recorders(
    value: Mapping[str, str | Iterable[str]]
) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({str(getattr(k, "value", k)): names_tuple(v) for k, v in value.items()})


# RECORDABLE_KINDS (from servicewf.events, kept importable here): the event kinds a definition
# may let roles ``record()`` (``recorders``): ``note``, ``clock_extended`` and kinds registered
# ``recordable=True``. The engine appends ``opened``, ``transition`` and ``migrated`` itself;
# warnings, breaches, escalations, obligation events and registered system kinds come only
# from the library's system actor.

DEFAULT_RECORDERS: Mapping[str, tuple[str, ...]] = MappingProxyType({"note": ()})
"""Who may ``record()`` what unless a definition says otherwise: notes, by any role."""

DEFAULT_MIGRATORS: tuple[str, ...] = ("admin",)
"""Roles that may migrate cases to a version unless it says otherwise (``system`` always
may)."""


@attrs.frozen(eq=False)
class ProcessDefinition:
    """A process: named, versioned, with states, transitions and the guards they name.

    Building one validates it: every problem is reported at once in one
    :class:`~servicewf.errors.InvalidDefinition`. A definition is immutable; use
    :meth:`derive` to make a changed copy and :meth:`to_dict` / :meth:`from_dict` for plain
    data. It compiles to one shared ``transitions`` machine, whatever the number of cases.

    ``intake`` names the data a case must be opened with and ``intake_guards`` the guards its
    opening must pass (the initial state's "required data on entry").

    Permissions beyond the transitions' ``roles``:

    - ``owned_fields``: when true, every command writes only the data fields it owns: a
      transition its ``required`` and ``writes``, an opening its ``intake`` and
      ``intake_writes``. Anything else is refused, so a later step cannot overwrite what an
      earlier one decided (an approved scope, a tier).
    - ``recorders``: which roles may ``record()`` which event kinds (``{"note": ()}`` by
      default: notes by anyone; an empty tuple means any role). Only ``note``,
      ``clock_extended`` and kinds registered with ``recordable=True``
      (:func:`~servicewf.events.register_event_kind`) can be granted.
    - ``migrators``: the roles that may migrate cases *to* this version (``("admin",)`` by
      default); the library's ``system`` actor always may.
    """

    name: str
    version: int
    states: tuple[State, ...] = attrs.field(converter=_states)
    transitions: tuple[Transition, ...] = attrs.field(converter=_transitions)
    guards: Mapping[str, Guard] = attrs.field(factory=dict, converter=_guard_map)
    labels: Labels | None = None
    description: str = ""
    intake: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    intake_guards: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    owned_fields: bool = False
    intake_writes: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    recorders: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=lambda: dict(DEFAULT_RECORDERS), converter=_recorders)
    migrators: tuple[str, ...] = attrs.field(default=DEFAULT_MIGRATORS, converter=names_tuple)

    def __attrs_post_init__(self) -> None:
        with collector_paused():  # a few objects per transition, no cycles: see servicewf._gc
            problems = definition_problems(self.name, self.states, self.transitions,
                                           self.guards)
        for f in (*self.intake, *self.intake_writes):
            if not isinstance(f, str) or not f.isidentifier():
                problems.append(f"intake field {f!r} is not a valid field name")
        for t in self.transitions:
            for f in t.writes:
                if not isinstance(f, str) or not f.isidentifier():
                    problems.append(f"transition {t.trigger!r} writes {f!r}, which is not a "
                                    "valid field name")
        for kind, roles in self.recorders.items():
            if kind not in RECORDABLE_KINDS:
                problems.append(
                    f"recorders names {kind!r}: only {', '.join(sorted(RECORDABLE_KINDS))} "
                    "may be granted (system events come from the sweep's system actor alone)")
            if not all(isinstance(r, str) and r for r in roles):
                problems.append(f"recorders of {kind!r} must be role names")
        if not all(isinstance(r, str) and r for r in self.migrators):
            problems.append("migrators must be role names")
        for g in self.intake_guards:
            if g not in self.guards:
                problems.append(f"intake guard {g!r} is not defined")
        if not isinstance(self.version, int) or self.version < 1:
            problems.insert(0, f"version must be a positive integer, got {self.version!r}")
        if problems:
            raise InvalidDefinition(self.name, problems)

    # --- lookups --------------------------------------------------------------------------

    @cached_property
    def compiled(self) -> CompiledMachine:
        """The shared machine (built once, on first use)."""
        # Compiling allocates a few objects per transition, none in a reference cycle, all
        # long-lived: see servicewf._gc (a 10k-trigger definition compiled four times slower,
        # and super-linearly, with the collector on).
        with collector_paused():
            return CompiledMachine(self.states, self.transitions, self.guards)

    @cached_property
    def _states_by_id(self) -> Mapping[str, State]:
        return {s.id: s for s in self.states}

    @property
    def initial(self) -> State:
        """The initial state."""
        return next(s for s in self.states if s.initial)

    def state(self, state_id: str) -> State:
        """The state with id ``state_id`` (``KeyError`` naming the known ids otherwise)."""
        try:
            return self._states_by_id[state_id]
        except KeyError:
            known = ", ".join(self._states_by_id)
            raise KeyError(
                f"process {self.name!r} has no state {state_id!r}; known: {known}"
            ) from None

    def has_state(self, state_id: str) -> bool:
        """True when ``state_id`` is a state of this definition."""
        return state_id in self._states_by_id

    def is_final(self, state_id: str) -> bool:
        """True when ``state_id`` is a final state."""
        return self.state(state_id).final

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger, in declaration order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @property
    def key(self) -> tuple[str, int]:
        """``(name, version)``: how stores and registries refer to this definition."""
        return (self.name, self.version)

    # --- plain data and derivation --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/TOML/YAML-able); guards appear by name only."""
        from servicewf.definition.data import definition_to_dict

        return definition_to_dict(self)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], guards: Mapping[str, Guard] | Iterable[Guard] = ()
    ) -> ProcessDefinition:
        """Load plain data (validated against :data:`DEFINITION_SCHEMA`); ``guards`` supplies
        the callables the data names."""
        from servicewf.definition.data import definition_from_dict

        return definition_from_dict(data, guards)

    def derive(
        self, *, name: str | None = None, version: int | None = None
    ) -> DefinitionBuilder:
        """A builder starting from this definition; ``.build()`` validates the result.

        By default the derived definition keeps the name and gets the next version.
        """
        from servicewf.definition.builder import DefinitionBuilder

        return DefinitionBuilder.from_definition(
            self, name=name, version=self.version + 1 if version is None else version
        )

    def __repr__(self) -> str:
        return (
            f"<ProcessDefinition {self.name} v{self.version}: {len(self.states)} states, "
            f"{len(self.transitions)} transitions>"
        )
