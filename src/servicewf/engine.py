"""The engine: open cases, fire triggers, explain what is allowed, replay histories.

Every command is atomic. The engine checks it (trigger, state, role, required data, guards),
computes the new case value and its audit event, runs the integrator hooks and the case
processors, then writes everything with one store call guarded by the version it read. A
command refused at any step raises a specific :class:`~servicewf.errors.CommandRefused` and
has changed nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import Clock
from servicewf.context import CommandContext, TransitionContext
from servicewf.definition import Guard, ProcessDefinition, Registry, Transition
from servicewf.errors import (
    CommandRefused,
    DataMissing,
    GuardFailed,
    HookFailed,
    MigrationRefused,
    RoleNotPermitted,
    TriggerNotAllowed,
    UnknownTrigger,
)
from servicewf.events import Event, EventKind
from servicewf.hooks import Hooks
from servicewf.storage.base import Store, Timer

__all__ = ["CaseProcessor", "Engine", "TriggerOption", "replay"]


class CaseProcessor(Protocol):
    """An extension that derives state from the history as it grows (the SLA clocks, say).

    ``process`` is called inside every command, after the hooks and before the write, with
    the case as it will be stored and the events being appended. It returns the case to store
    (typically with updated ``extensions``) and the case's timers (``None`` leaves them as
    they are). Raising aborts the command.
    """

    def process(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> tuple[Case, Sequence[Timer] | None]: ...


@attrs.frozen
class TriggerOption:
    """One trigger as seen by an actor now: where it leads, whether it may fire, and if not,
    the refusal it would get. ``requires`` lists the data it needs supplied."""

    trigger: str
    dest: str | None
    allowed: bool
    requires: tuple[str, ...] = ()
    refusal: CommandRefused | None = attrs.field(default=None, eq=False)

    @property
    def reason(self) -> str | None:
        """Why it may not fire (``None`` when allowed)."""
        return None if self.refusal is None else str(self.refusal)


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, (str, list, tuple, dict, set)) and not value)


def _new_id() -> str:
    return uuid.uuid4().hex


class Engine:
    """Runs cases of registered definitions against a store, on an injected clock.

    >>> engine = Engine(MemoryStore(), FrozenClock(start), [my_definition])
    >>> case = engine.open("my_process", actor=Actor("u1", "agent"), data={...})
    >>> case = engine.fire(case, "register", actor=Actor("u1", "agent"), data={...})
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        definitions: Registry | Iterable[ProcessDefinition] = (),
        *,
        hooks: Hooks | None = None,
        processors: Sequence[CaseProcessor] = (),
        id_factory: Callable[[], str] = _new_id,
    ) -> None:
        self.store = store
        self.clock = clock
        self.registry = definitions if isinstance(definitions, Registry) else Registry(definitions)
        self.hooks = hooks if hooks is not None else Hooks()
        self.processors: list[CaseProcessor] = list(processors)
        self._new_id = id_factory

    # --- commands -------------------------------------------------------------------------

    def open(
        self,
        process: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        case_id: str | None = None,
        version: int | None = None,
        comment: str | None = None,
    ) -> Case:
        """Open a case of ``process`` (latest version unless ``version``) in its initial state.

        The opening is the case's first event (``seq`` 1, ``kind`` ``opened``). The
        definition's ``intake`` fields must be supplied (``DataMissing``) and its
        ``intake_guards`` must pass (``GuardFailed``); a refused opening stores nothing.
        """
        definition = self.registry.get(process, version)
        now = self.clock.now()
        cid = case_id if case_id is not None else self._new_id()
        supplied = dict(data or {})
        initial = definition.initial.id
        case = Case(cid, definition.name, definition.version, initial, 1, now, now, supplied)
        if definition.intake or definition.intake_guards:
            self._check_intake(CommandContext(case, definition, "open", actor, supplied, now,
                                              comment))
        event = Event(cid, 1, now, EventKind.OPENED, actor.id, actor.role, None, None, initial,
                      case.data, comment)
        case, timers = self._process(definition, case, (event,))
        self.store.create(case, (event,), timers or ())
        return case

    def fire(
        self,
        case: Case | str,
        trigger: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> Case:
        """Fire ``trigger`` on ``case`` as ``actor`` with ``data``; return the new case.

        Given a :class:`Case`, the command is guarded by that case's version: if the stored case
        moved on since, :class:`~servicewf.errors.StaleVersion` is raised. Given an id, the
        latest stored case is used.
        """
        current = self.store.load(case) if isinstance(case, str) else case
        definition = self.registry.get(current.process, current.definition_version)
        command = CommandContext(current, definition, trigger, actor, data or {},
                                 self.clock.now(), comment)
        transition = self._decide(command)
        return self._commit(command, transition)

    def record(
        self,
        case: Case | str,
        kind: EventKind,
        *,
        actor: Actor = SYSTEM,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
        trigger: str | None = None,
    ) -> Case:
        """Append an event that does not move the case (a note, an SLA warning...).

        It goes through the processors and the same versioned write as a transition.
        """
        if kind in (EventKind.OPENED, EventKind.TRANSITION):
            raise ValueError(f"record() cannot append {kind.value!r} events; use open()/fire()")
        current = self.store.load(case) if isinstance(case, str) else case
        definition = self.registry.get(current.process, current.definition_version)
        now = self.clock.now()
        event = Event(current.id, current.version + 1, now, kind, actor.id, actor.role, trigger,
                      current.state, current.state, data or {}, comment)
        after = attrs.evolve(current, version=event.seq, updated_at=now)
        after, timers = self._process(definition, after, (event,))
        self.store.append(after, (event,), expected_version=current.version, timers=timers)
        return after

    def migrate(
        self,
        case: Case | str,
        to_version: int,
        *,
        actor: Actor,
        comment: str | None = None,
    ) -> Case:
        """Move an open case to another registered version of its process (audited).

        The case keeps its state, data and history; a ``migrated`` event records the versions.
        Refused with :class:`~servicewf.errors.MigrationRefused` when the case is final or its
        state does not exist in the target version, and with ``StaleVersion`` when the case
        moved on since it was read.
        """
        current = self.store.load(case) if isinstance(case, str) else case
        source = self.registry.get(current.process, current.definition_version)
        target = self.registry.get(current.process, to_version)
        if target.version == source.version:
            raise MigrationRefused(
                f"case {current.id!r} already runs under {source.name} v{source.version}"
            )
        if source.is_final(current.state):
            raise MigrationRefused(
                f"case {current.id!r} is closed (final state {current.state!r}); only open "
                "cases are migrated"
            )
        if not target.has_state(current.state):
            raise MigrationRefused(
                f"case {current.id!r} is in state {current.state!r}, which {target.name} "
                f"v{target.version} does not have; move it to a state both versions share "
                "first, or keep it on its version"
            )
        now = self.clock.now()
        event = Event(current.id, current.version + 1, now, EventKind.MIGRATED, actor.id,
                      actor.role, None, current.state, current.state,
                      {"from_version": source.version, "to_version": target.version}, comment)
        after = attrs.evolve(current, definition_version=target.version, version=event.seq,
                             updated_at=now)
        after, timers = self._process(target, after, (event,))
        self.store.append(after, (event,), expected_version=current.version, timers=timers)
        return after

    def available(self, case: Case | str, actor: Actor) -> list[TriggerOption]:
        """Every trigger of the case's process with whether ``actor`` may fire it now.

        Guards are evaluated against the case as it is, with no data supplied; a trigger that
        needs data is listed with ``requires`` and is allowed if the rest passes.
        """
        current = self.store.load(case) if isinstance(case, str) else case
        definition = self.registry.get(current.process, current.definition_version)
        now = self.clock.now()
        options: list[TriggerOption] = []
        for trigger in definition.triggers:
            command = CommandContext(current, definition, trigger, actor, {}, now)
            try:
                t = self._decide(command, check_data=False)
            except CommandRefused as refusal:
                candidates = definition.compiled.options(trigger, current.state)
                dest = candidates[0].target(current.state) if candidates else None
                needs = candidates[0].required if candidates else ()
                options.append(TriggerOption(trigger, dest, False, needs, refusal))
            else:
                options.append(TriggerOption(trigger, t.target(current.state), True, t.required))
        return options

    def history(self, case_id: str) -> list[Event]:
        """The case's audit log."""
        return self.store.history(case_id)

    def get(self, case_id: str) -> Case:
        """The latest stored case."""
        return self.store.load(case_id)

    # --- internals ------------------------------------------------------------------------

    def _decide(self, command: CommandContext, *, check_data: bool = True) -> Transition:
        definition, case, trigger = command.definition, command.case, command.trigger
        compiled = definition.compiled
        candidates = compiled.candidates(trigger, case.state)
        if not candidates:
            if not compiled.has_trigger(trigger):
                raise UnknownTrigger(
                    f"process {definition.name!r} has no trigger {trigger!r}; known triggers: "
                    f"{', '.join(definition.triggers)}",
                    case_id=case.id, trigger=trigger,
                )
            here = compiled.triggers_by_state.get(case.state, ())
            raise TriggerNotAllowed(
                f"case {case.id!r} is in state {case.state!r}, where {trigger!r} is not "
                f"allowed (it applies in: {compiled.origins_text(trigger)}); allowed here: "
                f"{compiled.exits_text(case.state) or 'nothing (final state)'}",
                case_id=case.id, trigger=trigger, state=case.state, allowed=here,
            )
        role = command.actor.role
        first_refusal: CommandRefused | None = None
        permitted = False
        for c in candidates:
            if c.roles is not None and role not in c.roles:
                continue
            permitted = True
            refusal = self._check_guards(command, c.checks) if c.checks else None
            if refusal is not None:
                first_refusal = first_refusal or refusal
                continue
            if check_data and c.required:
                data = command.data
                missing = [f for f in c.required if not _present(data.get(f))]
                if missing:
                    raise DataMissing(
                        f"{trigger!r} needs data that was not supplied: {', '.join(missing)}; "
                        "supply them in data={...}",
                        case_id=case.id, trigger=trigger, missing=missing,
                    )
            return c.transition
        if not permitted:
            roles = sorted({r for c in candidates for r in c.roles or ()})
            raise RoleNotPermitted(
                f"role {role!r} may not fire {trigger!r} in state {case.state!r}; ask someone "
                f"with role {' or '.join(repr(r) for r in roles)}",
                case_id=case.id, trigger=trigger, role=role, allowed=roles,
            )
        assert first_refusal is not None
        raise first_refusal

    def _check_intake(self, command: CommandContext) -> None:
        definition = command.definition
        missing = [f for f in definition.intake if not _present(command.data.get(f))]
        if missing:
            raise DataMissing(
                f"opening a {definition.name} case needs data that was not supplied: "
                f"{', '.join(missing)}; supply them in data={{...}}",
                case_id=None, trigger="open", missing=missing,
            )
        checks = tuple((definition.guards[g], True) for g in definition.intake_guards)
        refusal = self._check_guards(command, checks)
        if refusal is not None:
            refusal.case_id = None
            raise refusal

    @staticmethod
    def _check_guards(
        command: CommandContext, checks: tuple[tuple[Guard, bool], ...]
    ) -> GuardFailed | None:
        for g, expected in checks:
            if g(command) is not expected:
                rule = f" [{g.rule}]" if g.rule else ""
                what = g.explain or (f"guard {g.name!r} " + ("failed" if expected else "held"))
                return GuardFailed(
                    f"{command.trigger!r} refused on case {command.case.id!r}{rule}: {what}",
                    case_id=command.case.id, trigger=command.trigger, guard=g.name, rule=g.rule,
                )
        return None

    def _commit(self, command: CommandContext, transition: Transition) -> Case:
        before = command.case
        dest = transition.target(before.state)
        now = command.now
        supplied = command.data
        data = MappingProxyType({**before.data, **supplied}) if supplied else before.data
        seq = before.version + 1
        after = Case(before.id, before.process, before.definition_version, dest, seq,
                     before.opened_at, now, data, before.extensions)
        event = Event(before.id, seq, now, EventKind.TRANSITION, command.actor.id,
                      command.actor.role, command.trigger, before.state, dest, supplied,
                      command.comment)
        if self.hooks:
            context = TransitionContext(command, transition, before, after, event)
            for name, hook in self.hooks.selected(context):
                try:
                    hook(context)
                except Exception as exc:
                    raise HookFailed(
                        f"hook {name} raised {type(exc).__name__}: {exc}; the command "
                        f"{command.trigger!r} was not applied",
                        case_id=before.id, trigger=command.trigger, hook=name,
                    ) from exc
        timers: Sequence[Timer] | None = None
        if self.processors:
            after, timers = self._process(command.definition, after, (event,))
        self.store.append(after, (event,), expected_version=before.version, timers=timers)
        return after

    def _process(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> tuple[Case, Sequence[Timer] | None]:
        timers: Sequence[Timer] | None = None
        for processor in self.processors:
            case, produced = processor.process(definition, case, events)
            if produced is not None:
                timers = produced if timers is None else [*timers, *produced]
        return case, timers


def replay(
    definition: ProcessDefinition,
    events: Sequence[Event],
    *,
    registry: Registry | None = None,
) -> Case:
    """Rebuild a case from its history alone, checking every step against its definition.

    ``definition`` is the version the case was opened under. A history that crosses
    ``migrated`` events needs ``registry`` to look the later versions up. Fires no hook and
    no processor. Raises ``ValueError`` when the history does not fit (a gap in sequence
    numbers, a transition the definition in force does not have).
    """
    if not events or events[0].kind is not EventKind.OPENED:
        raise ValueError("a history starts with an 'opened' event")
    first = events[0]
    if first.dest != definition.initial.id:
        raise ValueError(f"history opens in {first.dest!r}, not {definition.initial.id!r}")
    state = first.dest
    data: dict[str, Any] = dict(first.data)
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq or event.case_id != first.case_id:
            raise ValueError(f"event {event.seq} of {event.case_id!r} breaks the sequence")
        if event.kind is EventKind.TRANSITION:
            trigger = event.trigger or ""
            dests = {t.target(state) for t in definition.compiled.options(trigger, state)}
            if event.source != state or event.dest not in dests:
                raise ValueError(
                    f"event {event.seq}: {trigger!r} from {event.source!r} to {event.dest!r} "
                    f"does not fit {definition.name} v{definition.version} in state {state!r}"
                )
            state = event.dest
            data.update(event.data)
        elif event.kind is EventKind.MIGRATED:
            if registry is None:
                raise ValueError(
                    f"event {event.seq} migrates the case to v{event.data.get('to_version')}; "
                    "pass registry= holding every version to replay it"
                )
            definition = registry.get(definition.name, int(event.data["to_version"]))
            if not definition.has_state(state):
                raise ValueError(f"event {event.seq}: v{definition.version} has no {state!r}")
    last = events[-1]
    return Case(first.case_id, definition.name, definition.version, state, last.seq, first.at,
                last.at, data)
