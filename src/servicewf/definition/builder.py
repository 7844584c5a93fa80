"""DefinitionBuilder: compose a definition step by step, or derive one from another.

Integrators derive their own variant of a built-in process without copying it::

    mine = (
        complaint_definition().derive()
        .relabel_state("closed", en="Closed by customer")
        .update_transition("close", roles=("supervisor",))
        .add_guard(my_guard).update_transition("resolve", conditions=("my_guard",))
        .build()
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.definition.model import Guard, Labels, State, Transition

if TYPE_CHECKING:
    from servicewf.definition.process import ProcessDefinition

__all__ = ["DefinitionBuilder"]


class DefinitionBuilder:
    """Mutable staging area for a :class:`ProcessDefinition`; nothing is checked until
    :meth:`build`, which reports every problem at once. Methods return the builder."""

    def __init__(self, name: str, version: int = 1, *, description: str = "") -> None:
        self.name = name
        self.version = version
        self.description = description
        self.labels: Labels | None = None
        self.states: list[State] = []
        self.transitions: list[Transition] = []
        self.guards: dict[str, Guard] = {}
        self.intake: tuple[str, ...] = ()
        self.intake_guards: tuple[str, ...] = ()
        self.intake_writes: tuple[str, ...] = ()
        self.owned_fields = False
        self.recorders: dict[str, tuple[str, ...]] = {"note": ()}
        self.migrators: tuple[str, ...] = ("admin",)

    @classmethod
    def from_definition(
        cls, definition: ProcessDefinition, *, name: str | None = None, version: int
    ) -> DefinitionBuilder:
        """A builder holding a copy of ``definition``'s parts."""
        b = cls(name or definition.name, version, description=definition.description)
        b.labels = definition.labels
        b.states = list(definition.states)
        b.transitions = list(definition.transitions)
        b.guards = dict(definition.guards)
        b.intake = definition.intake
        b.intake_guards = definition.intake_guards
        b.intake_writes = definition.intake_writes
        b.owned_fields = definition.owned_fields
        b.recorders = dict(definition.recorders)
        b.migrators = definition.migrators
        return b

    # --- states ---------------------------------------------------------------------------

    def add_state(
        self,
        id: str,
        labels: Labels | str | None = None,
        *,
        final: bool = False,
        initial: bool = False,
        description: str = "",
    ) -> DefinitionBuilder:
        """Add a state (``labels`` may be a :class:`Labels` or an English string)."""
        self.states.append(State(id, labels, final=final, initial=initial, description=description))
        return self

    def remove_state(self, id: str) -> DefinitionBuilder:
        """Remove a state and every transition into it; it is dropped from other sources."""
        self._state_index(id)
        self.states = [s for s in self.states if s.id != id]
        kept: list[Transition] = []
        for t in self.transitions:
            if t.dest == id:
                continue
            if id in t.sources:
                rest = tuple(s for s in t.sources if s != id)
                if not rest:
                    continue
                t = attrs.evolve(t, sources=rest)
            kept.append(t)
        self.transitions = kept
        return self

    def update_state(self, id: str, **changes: Any) -> DefinitionBuilder:
        """Change fields of a state (``final``, ``initial``, ``labels``, ``description``)."""
        i = self._state_index(id)
        self.states[i] = attrs.evolve(self.states[i], **changes)
        return self

    def relabel_state(
        self, id: str, *, en: str | None = None, zh_hant: str | None = None,
        zh_hans: str | None = None,
    ) -> DefinitionBuilder:
        """Change some labels of a state, keeping the others."""
        i = self._state_index(id)
        old = self.states[i].labels or Labels(en=id)
        new = Labels(
            en=old.en if en is None else en,
            zh_hant=old.zh_hant if zh_hant is None else zh_hant,
            zh_hans=old.zh_hans if zh_hans is None else zh_hans,
        )
        self.states[i] = attrs.evolve(self.states[i], labels=new)
        return self

    # --- transitions ----------------------------------------------------------------------

    def add_transition(
        self,
        trigger: str,
        sources: str | Iterable[str],
        dest: str,
        *,
        conditions: str | Iterable[str] = (),
        unless: str | Iterable[str] = (),
        required: str | Iterable[str] = (),
        roles: str | Iterable[str] = (),
        labels: Labels | str | None = None,
        description: str = "",
        writes: str | Iterable[str] = (),
    ) -> DefinitionBuilder:
        """Add a transition (see :class:`Transition` for the meaning of each field)."""
        self.transitions.append(
            Transition(
                trigger, sources, dest, conditions=conditions, unless=unless,
                required=required, roles=roles, labels=labels, description=description,
                writes=writes,
            )
        )
        return self

    def remove_transition(self, trigger: str, source: str | None = None) -> DefinitionBuilder:
        """Remove the transitions on ``trigger`` (only from ``source`` when given)."""
        matched = self._matching(trigger, source)
        keep: list[Transition] = []
        for t in self.transitions:
            if t in matched:
                if source is not None and len(t.sources) > 1:
                    keep.append(attrs.evolve(t, sources=tuple(s for s in t.sources if s != source)))
                continue
            keep.append(t)
        self.transitions = keep
        return self

    def update_transition(
        self, trigger: str, source: str | None = None, **changes: Any
    ) -> DefinitionBuilder:
        """Change fields (``conditions``, ``unless``, ``required``, ``roles``, ``labels``,
        ``dest``, ``sources``...) of every transition on ``trigger`` (from ``source``)."""
        matched = self._matching(trigger, source)
        self.transitions = [attrs.evolve(t, **changes) if t in matched else t
                            for t in self.transitions]
        return self

    def set_intake(
        self, required: Iterable[str] = (), *, guards: Iterable[str] = (),
        writes: Iterable[str] | None = None,
    ) -> DefinitionBuilder:
        """The data a case must be opened with, the guards its opening must pass, and (when
        given) the further fields an opening may supply."""
        self.intake = tuple(required)
        self.intake_guards = tuple(guards)
        if writes is not None:
            self.intake_writes = tuple(writes)
        return self

    def own_fields(self, owned: bool = True) -> DefinitionBuilder:
        """Make every command write only the fields it owns (see
        :attr:`ProcessDefinition.owned_fields`)."""
        self.owned_fields = owned
        return self

    def allow_record(self, kind: str, *roles: str) -> DefinitionBuilder:
        """Let ``roles`` (any role when none) ``record()`` events of ``kind``."""
        self.recorders[str(getattr(kind, "value", kind))] = tuple(roles)
        return self

    # --- guards ---------------------------------------------------------------------------

    def add_guard(self, *guards: Guard) -> DefinitionBuilder:
        """Register guards (replacing same-named ones)."""
        for g in guards:
            self.guards[g.name] = g
        return self

    def remove_guard(self, name: str) -> DefinitionBuilder:
        """Unregister a guard; transitions still naming it make :meth:`build` fail."""
        if name not in self.guards:
            raise KeyError(f"no guard {name!r}; known: {', '.join(self.guards) or 'none'}")
        del self.guards[name]
        return self

    def build(self) -> ProcessDefinition:
        """Validate and return the definition (raises ``InvalidDefinition`` listing every
        problem)."""
        from servicewf.definition.process import ProcessDefinition

        return ProcessDefinition(
            self.name, self.version, self.states, self.transitions, self.guards,
            labels=self.labels, description=self.description, intake=self.intake,
            intake_guards=self.intake_guards, owned_fields=self.owned_fields,
            intake_writes=self.intake_writes, recorders=self.recorders,
            migrators=self.migrators,
        )

    # --- helpers --------------------------------------------------------------------------

    def _state_index(self, id: str) -> int:
        for i, s in enumerate(self.states):
            if s.id == id:
                return i
        raise KeyError(f"no state {id!r}; known: {', '.join(s.id for s in self.states)}")

    def _matching(self, trigger: str, source: str | None) -> list[Transition]:
        found = [t for t in self.transitions
                 if t.trigger == trigger and (source is None or source in t.sources)]
        if not found:
            where = f" from {source!r}" if source else ""
            raise KeyError(f"no transition {trigger!r}{where} to change")
        return found
