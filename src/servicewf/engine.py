"""The engine: open cases, fire triggers, explain what is allowed, replay histories.

A command runs as a pipeline. The engine *plans* it: it acts on the stored case (never on a
value the caller changed), checks it (identifiers, plain data, time, trigger, state, role,
guards, required and owned data), computes the new case and its audit event, runs the
integrator's before-commit hooks and the case processors, and collects all of it in one
:class:`~servicewf.storage.base.WriteSet`. The store then applies the write-set atomically,
guarded by the version the plan was made against; only after that do the after-commit
observers see it. A command refused at any step raises a specific
:class:`~servicewf.errors.CommandRefused` and has changed nothing.
"""

from __future__ import annotations

import copy
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

import attrs
import pendulum

from servicewf._gc import collector_paused
from servicewf._trusted import trusted_constructor
from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import Clock
from servicewf.context import CommandContext, TransitionContext
from servicewf.definition import (
    STAY,
    Candidate,
    Guard,
    ProcessDefinition,
    Registry,
    Transition,
)
from servicewf.errors import (
    CaseMismatch,
    CommandRefused,
    DataMissing,
    EventNotRecordable,
    FieldNotOwned,
    GuardFailed,
    HistoryMismatch,
    HookFailed,
    InvalidIdentifier,
    InvalidProcessor,
    MigrationRefused,
    ObserverFailed,
    RoleNotPermitted,
    StaleVersion,
    TimeOutOfOrder,
    TriggerNotAllowed,
    UnknownTrigger,
)
from servicewf.events import ENGINE_KINDS, SYSTEM_KINDS, Event, EventKind, Kind, known_kinds
from servicewf.events import event_kind as lookup_kind
from servicewf.hooks import Hooks, observer_name
from servicewf.plain import check_comment, check_identifier, check_stored, plain_data
from servicewf.storage.base import _NO_TIMERS, OutboxMessage, Store, Timer, WriteSet

__all__ = ["CaseProcessor", "Engine", "MessageRule", "TriggerOption", "replay"]


class CaseProcessor(Protocol):
    """An extension that derives state from the history as it grows (the SLA clocks, say).

    ``process`` is called inside every command, after the hooks and before the write, with
    the case as it will be stored and the events being appended. It returns the case to store
    (typically with updated ``extensions``) and its timers: ``None`` leaves them as they are,
    a list replaces the timers under the processor's :attr:`timer_prefix` (and only those:
    other processors' timers on the case are kept). Raising aborts the command.
    """

    timer_prefix: str
    """The timer-name prefix this processor owns (``"sla:"``); its timers start with it."""

    def process(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> tuple[Case, Sequence[Timer] | None]: ...


class MessageRule(Protocol):
    """A producer of outbox messages (customer notices, staff alerts), run by the engine while
    planning every command, after the processors, with the same arguments they get (the case
    as it will be stored and the events being appended).

    The messages it returns go into the command's write-set (:attr:`WriteSet.outbox`): they
    are written with the case or not at all, and delivered afterwards by a dispatcher
    (:mod:`servicewf.outbox`). Raising aborts the command.
    """

    def __call__(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> Iterable[OutboxMessage]: ...


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


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_KNOWN_CASES = 10_000
_UNSET = object()  # no value yet (None is one a caller may pass)

# Cases, events and write-sets built inside a command hold values the command has checked and
# frozen already: their converters would only confirm that (see servicewf._trusted).
_case = trusted_constructor(Case)
_event = trusted_constructor(Event)
_write_set = trusted_constructor(WriteSet)
_option = trusted_constructor(TriggerOption)  # available() builds one per trigger


class Engine:
    """Runs cases of registered definitions against a store, on an injected clock.

    >>> engine = Engine(MemoryStore(), FrozenClock(start), [my_definition])
    >>> case = engine.open("my_process", actor=Actor("u1", "agent"), data={...})
    >>> case = engine.fire(case, "register", actor=Actor("u1", "agent"), data={...})

    Every command is planned (``plan_open``, ``plan_fire``, ``plan_record``,
    ``plan_migrate`` return the :class:`~servicewf.storage.base.WriteSet` without writing
    it) and then committed: the store applies the write-set atomically, and the
    after-commit observers of :attr:`hooks` see it.
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
        messages: Sequence[MessageRule] = (),
    ) -> None:
        self.store = store
        self.clock = clock
        self.registry = definitions if isinstance(definitions, Registry) else Registry(definitions)
        self.hooks = hooks if hooks is not None else Hooks()
        self.processors: list[CaseProcessor] = list(processors)
        self.messages: list[MessageRule] = list(messages)
        """The outbox message rules (see :class:`MessageRule`), run after the processors."""
        self._new_id = id_factory
        self._check_timer_owners(self.processors)
        # The cases this engine wrote or read, by id: a case handed back that *is* the one
        # remembered needs no read to be trusted (the store's version check still guards the
        # write). A plain dict bounded to the most recent ids (a WeakValueDictionary cost a
        # third of a fire); forgetting a case only costs one read. An OrderedDict, because
        # dropping a plain dict's first key leaves a hole that every later next(iter(...))
        # walks past: with the cache full, each command paid a scan of thousands of holes.
        self._known: OrderedDict[str, Case] = OrderedDict()
        self._actors: set[Actor] = set()
        # (actor id, role) pairs that passed _check_actor (plan_history's cache, bounded).
        self._checked_pairs: set[tuple[str, str]] = set()
        self._last_actor: Actor | None = None
        self._checked_data: dict[int, Mapping[str, Any]] = {}  # plan_history's, by id

    @staticmethod
    def _check_timer_owners(processors: Sequence[CaseProcessor]) -> None:
        owners: list[str | None] = []
        for p in processors:
            prefix = getattr(p, "timer_prefix", None)
            if prefix is not None and (not isinstance(prefix, str) or not prefix):
                raise InvalidProcessor(f"processor {type(p).__name__} declares timer_prefix "
                                       f"{prefix!r}; it must be a non-empty text")
            for other in owners:
                if prefix and other and (prefix.startswith(other) or other.startswith(prefix)):
                    raise InvalidProcessor(
                        f"processors own overlapping timer prefixes {other!r} and {prefix!r}; "
                        "give each a prefix no other one starts with")
            owners.append(prefix)

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
        return self.commit(self.plan_open(process, actor=actor, data=data, case_id=case_id,
                                           version=version, comment=comment))

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
        moved on since, :class:`~servicewf.errors.StaleVersion` is raised; if it is not the
        stored case at that version (changed by the caller), :class:`CaseMismatch`. Given an
        id, the latest stored case is used.
        """
        try:  # _current's first test, inline: a fire on the case the engine returned
            current = case if (type(case) is Case and self._known.get(case.id) is case) \
                else None
        except TypeError:  # an unhashable id in a case built by hand: _current refuses it
            current = None
        return self.commit(self.plan_fire(current or self._current(case), trigger,
                                          actor=actor, data=data, comment=comment))

    def record(
        self,
        case: Case | str,
        kind: EventKind | str,
        *,
        actor: Actor = SYSTEM,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
        trigger: str | None = None,
    ) -> Case:
        """Append an event that does not move the case (a note, an SLA extension...).

        Who may record which kind is declared by the definition (``recorders``); warnings,
        breaches, escalations and obligation events come only from the system actor. It
        goes through the processors and the same versioned write as a transition.
        """
        return self.commit(self.plan_record(self._current(case), kind, actor=actor,
                                             data=data, comment=comment, trigger=trigger))

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
        Only the roles the target version names in ``migrators`` (and the system actor) may
        migrate (:class:`RoleNotPermitted`). Refused with
        :class:`~servicewf.errors.MigrationRefused` when the case is final or its state does
        not exist in the target version, and with ``StaleVersion`` when the case moved on
        since it was read.
        """
        return self.commit(self.plan_migrate(self._current(case), to_version, actor=actor,
                                              comment=comment))

    def available(self, case: Case | str, actor: Actor) -> list[TriggerOption]:
        """Every trigger of the case's process with whether ``actor`` may fire it now.

        Guards are evaluated against the case as it is, with no data supplied; a trigger that
        needs data is listed with ``requires`` and is allowed if the rest passes.
        """
        current = self._current(case)
        self._check_actor(actor, current.id)
        definition = self.registry.get(current.process, current.definition_version)
        now = self.clock.now()
        options: list[TriggerOption] = []
        # One option (and maybe a refusal) per trigger, no cycles: see servicewf._gc.
        with collector_paused():
            self._options(current, definition, actor, now, options)
        return options

    def _options(self, current: Case, definition: ProcessDefinition, actor: Actor,
                 now: pendulum.DateTime, options: list[TriggerOption]) -> None:
        for trigger in definition.triggers:
            try:
                t, _ = self._decide(current, definition, trigger, actor, _EMPTY, now,
                                    check_data=False)
            except CommandRefused as refusal:
                # Kept as a value, not re-raised: without its traceback it does not keep the
                # decision's frame (and everything in it) alive for each refused trigger.
                refusal.__traceback__ = None
                candidates = definition.compiled.candidates(trigger, current.state)
                dest = candidates[0].dest if candidates else None
                needs = candidates[0].required if candidates else ()
                options.append(_option(trigger, dest, False, needs, refusal))
            else:
                options.append(_option(trigger, t.target(current.state), True, t.required,
                                       None))

    def history(self, case_id: str) -> list[Event]:
        """The case's audit log."""
        return self.store.history(check_identifier(case_id, "case id"))

    def with_store(self, store: Store) -> Engine:
        """This engine (the same registry, processors, hooks, message rules and clock) over
        ``store``, remembering none of this engine's cases: e.g. the scheduler's engine over
        a store that collects a batch of write-sets before applying them together."""
        other = copy.copy(self)
        other.store = store
        other._known = OrderedDict()
        return other

    def get(self, case_id: str) -> Case:
        """The latest stored case."""
        return self._current(case_id)

    # --- planning ---------------------------------------------------------------------------

    def plan_open(
        self,
        process: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        case_id: str | None = None,
        version: int | None = None,
        comment: str | None = None,
    ) -> WriteSet:
        """Check an opening and return what it would write (nothing is written)."""
        definition = self.registry.get(process, version)
        cid = check_identifier(case_id if case_id is not None else self._new_id(), "case id")
        self._check_actor(actor, None)
        supplied = plain_data(data, trigger="open")
        if comment is not None:
            check_comment(comment, case_id=cid, trigger="open")
        now = self.clock.now()
        initial = definition.initial.id
        case = Case(cid, definition.name, definition.version, initial, 1, now, now, supplied)
        if definition.intake or definition.intake_guards or definition.owned_fields:
            self._check_intake(CommandContext(case, definition, "open", actor, supplied, now,
                                              comment))
        event = Event(cid, 1, now, EventKind.OPENED, actor.id, actor.role, None, None, initial,
                      supplied, comment)
        return self._write(definition, case, event, 0)

    def plan_fire(
        self,
        current: Case,
        trigger: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> WriteSet:
        """Check firing ``trigger`` on the stored case ``current`` and return what it would
        write, after the before-commit hooks and the processors ran (nothing is written)."""
        # The common case inline (a command runs this path once): the actor checked already,
        # no data, the clock ahead of the case.
        if actor is not self._last_actor:
            self._check_actor(actor, current.id)
        supplied = plain_data(data, case_id=current.id, trigger=trigger) if data else _EMPTY
        if comment is not None:
            check_comment(comment, case_id=current.id, trigger=trigger)
        definition = self.registry.get(current.process, current.definition_version)
        now = self.clock.now()
        if now < current.updated_at:
            raise self._out_of_order(current, now)
        candidates = definition.compiled.candidates(trigger, current.state)
        only: Candidate | None
        if len(candidates) == 1:
            # The common command inline: one transition, open to the actor's role, with no
            # guard, no required data and no owned-fields check to make — exactly the case in
            # which _decide returns its transition without a check (a test holds them equal).
            only = candidates[0]
            if (only.checks or only.required or (supplied and definition.owned_fields)
                    or (only.roles is not None and actor.role not in only.roles)):
                only = None
        else:
            only = None
        if only is not None:
            transition, command, dest = only.transition, None, only.dest
        else:
            transition, command = self._decide(current, definition, trigger, actor, supplied,
                                               now, comment)
            dest = transition.dest
            if dest == STAY:
                dest = current.state
        before = current
        merged = MappingProxyType({**before.data, **supplied}) if supplied else before.data
        seq = before.version + 1
        after = _case(before.id, before.process, before.definition_version, dest, seq,
                      before.opened_at, now, merged, before.extensions)
        event = _event(before.id, seq, now, EventKind.TRANSITION, actor.id, actor.role, trigger,
                       before.state, dest, supplied, comment)
        hooks = self.hooks
        # The hook lists read directly: Hooks.__bool__ is a call, in every command.
        if hooks._before or hooks._before_commit or hooks._enter:
            if command is None:
                command = CommandContext(current, definition, trigger, actor, supplied, now,
                                         comment)
            context = TransitionContext(command, transition, before, after, event)
            for name, hook in self.hooks.selected(context):
                try:
                    hook(context)
                except Exception as exc:
                    raise HookFailed(
                        f"hook {name} raised {type(exc).__name__}; the command {trigger!r} "
                        "was not applied (the hook's error is this error's __cause__)",
                        case_id=before.id, trigger=trigger, hook=name,
                    ) from exc
        if self.processors or self.messages:
            return self._write(definition, after, event, before.version)
        return _write_set(after, (event,), before.version, _NO_TIMERS, (), True)  # as _write

    def plan_record(
        self,
        current: Case,
        kind: EventKind | str,
        *,
        actor: Actor = SYSTEM,
        data: Mapping[str, Any] | None = None,
        comment: str | None = None,
        trigger: str | None = None,
    ) -> WriteSet:
        """Check recording an event of ``kind`` on ``current`` and return what it would
        write (nothing is written)."""
        self._check_actor(actor, current.id)
        definition = self.registry.get(current.process, current.definition_version)
        event_kind = self._recordable(kind, current.id)
        self._check_recorder(definition, event_kind, actor, current.id)
        if trigger is not None:
            check_identifier(trigger, "trigger", case_id=current.id)
        supplied = plain_data(data, case_id=current.id)
        check_comment(comment, case_id=current.id)
        now = self._now(current)
        event = Event(current.id, current.version + 1, now, event_kind, actor.id, actor.role,
                      trigger, current.state, current.state, supplied, comment)
        after = attrs.evolve(current, version=event.seq, updated_at=now)
        return self._write(definition, after, event, current.version)

    def plan_migrate(
        self,
        current: Case,
        to_version: int,
        *,
        actor: Actor,
        comment: str | None = None,
    ) -> WriteSet:
        """Check migrating ``current`` to ``to_version`` and return what it would write."""
        self._check_actor(actor, current.id)
        check_comment(comment, case_id=current.id)
        source = self.registry.get(current.process, current.definition_version)
        target = self.registry.get(current.process, to_version)
        if actor != SYSTEM and actor.role not in target.migrators:
            raise RoleNotPermitted(
                f"role {actor.role!r} may not migrate cases to {target.name} "
                f"v{target.version}; ask someone with role "
                f"{' or '.join(repr(r) for r in target.migrators) or 'system'}",
                case_id=current.id, trigger=None, role=actor.role,
                allowed=target.migrators, action="migrate",
            )
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
        now = self._now(current)
        event = Event(current.id, current.version + 1, now, EventKind.MIGRATED, actor.id,
                      actor.role, None, current.state, current.state,
                      {"from_version": source.version, "to_version": target.version}, comment)
        after = attrs.evolve(current, definition_version=target.version, version=event.seq,
                             updated_at=now)
        return self._write(target, after, event, current.version)

    # --- import mode: history from another system ----------------------------------------

    def judge(
        self,
        case: Case,
        trigger: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        at: pendulum.DateTime,
    ) -> tuple[Transition | None, CommandRefused | None]:
        """How a live command would have fared: the transition ``trigger`` takes from
        ``case`` for ``actor`` with ``data`` at the instant ``at``, or the refusal it would
        get (graph, role, guards, required and owned data). Writes nothing and reads no clock:
        history import (:meth:`plan_history`) judges each imported fact with it."""
        definition = self.registry.get(case.process, case.definition_version)
        try:
            # A read-only mapping is what frozen_mapping/plain_data hand out (checked when
            # frozen); anything else is checked here.
            supplied = (data if type(data) is MappingProxyType else
                        plain_data(data, case_id=case.id, trigger=trigger)) if data else _EMPTY
            transition, _ = self._decide(case, definition, trigger, actor, supplied, at)
        except CommandRefused as refusal:
            refusal.__traceback__ = None
            return None, refusal
        return transition, None

    def plan_history(self, case: Case, events: Sequence[Event],
                     expected_version: int = 0) -> WriteSet:
        """Import mode: the write-set of ``events``, facts that happened in another system,
        appended to ``case`` (``expected_version`` 0: the write creates it).

        The only path that takes historical instants: instead of the engine clock, the
        events' own instants are used; they must not go backwards (from the stored case's
        last change on). Events are facts, not commands: whether each fitted the definition
        is judged beforehand (:meth:`judge`) and deviations are recorded as events of their
        own; here the engine checks what every write must hold (identifiers, a contiguous
        sequence from ``expected_version``, a registered definition holding the case's state
        or naming it as it stands, aware non-decreasing instants) and runs the case
        processors over all the events at once, so SLA clocks are folded from the
        historical instants. Message rules do not run: customers are not notified of the
        past. The live commands still refuse a clock that goes backwards.
        """
        check_identifier(case.id, "case id")
        definition = self.registry.get(case.process, case.definition_version)
        if not events:
            raise HistoryMismatch("an import writes at least one event", case_id=case.id)
        previous = self._current(case.id).updated_at if expected_version else None
        checked = self._checked_data
        if len(checked) > 20_000:
            checked.clear()
        checked_pairs = self._checked_pairs
        case_id = case.id
        opened = EventKind.OPENED
        # An event naming the same actor and role, or holding the same data mapping, as the
        # one before it passed the same check already (events of a case repeat both).
        last_actor: object = _UNSET
        last_role: object = _UNSET
        last_data: Mapping[str, Any] | None = None
        for offset, event in enumerate(events, start=1):
            seq = expected_version + offset
            if event.case_id != case_id or event.seq != seq:
                raise HistoryMismatch(
                    f"imported event {event.seq} of {event.case_id!r} breaks the sequence of "
                    f"case {case_id!r} (expected event {seq})", case_id=case_id, seq=event.seq)
            if (seq == 1) != (event.kind is opened):
                raise HistoryMismatch(
                    f"imported event {seq} of {case_id!r}: a case's first event, and only "
                    "it, is its opening", case_id=case_id, seq=seq)
            actor_id, role = event.actor_id, event.role
            if actor_id is not last_actor or role is not last_role:
                pair = (actor_id, role)
                if pair not in checked_pairs:  # an import names the same people often
                    self._check_actor(Actor(*pair), case_id)
                    if len(checked_pairs) < 10_000:
                        checked_pairs.add(pair)
                last_actor, last_role = actor_id, role
            if previous is not None and event.at < previous:
                raise TimeOutOfOrder(
                    f"imported event {seq} of {case.id!r} is dated {event.at.isoformat()}, "
                    f"before the case's previous event ({previous.isoformat()}); sort the "
                    "case's events by time", case_id=case.id)
            previous = event.at
            # The plain-data check the store would run, once per distinct data mapping (an
            # import shares one mapping between rows with equal data): the write-set can then
            # be marked checked. The cache holds the mappings, so an id is not reused.
            data = event.data
            if data and data is not last_data and checked.get(id(data)) is not data:
                check_stored(data, "imported event data")
                checked[id(data)] = data
            last_data = data
            if event.comment is not None:
                check_comment(event.comment, case_id=case.id)
        if checked.get(id(case.data)) is not case.data:  # (often one of the events' mappings)
            check_stored(case.data, "imported case data")
        last = events[-1]
        if case.version != last.seq or case.updated_at != last.at:
            raise HistoryMismatch(
                f"the imported case {case.id!r} is at version {case.version}, not at its "
                f"last event {last.seq} (or not at that event's instant)",
                case_id=case.id, seq=last.seq)
        # The processors see the whole imported batch in one call (they fold any number of
        # events); one write-set: the case, its events and timers go in atomically.
        expected = expected_version
        batch = tuple(events)
        timers: dict[str, tuple[Timer, ...]] = {}
        for processor in self.processors:
            case, produced = processor.process(definition, case, batch)
            if produced is not None:
                timers[processor.timer_prefix] = tuple(produced)
        # (WriteSet's own fields, no converter: the trusted constructor builds the same.)
        if timers:
            return _write_set(case, batch, expected, MappingProxyType(timers), (), True)
        return _write_set(case, batch, expected, _NO_TIMERS, (), True)

    # --- committing -----------------------------------------------------------------------

    def commit(self, write: WriteSet) -> Case:
        """Apply a write-set planned by this engine's ``plan_*`` methods (one atomic store
        call), then tell the after-commit observers; return the case as stored.

        Between planning and committing, a subsystem may replace what it derives itself (its
        extension state, the timers under its own prefix), as ``SLA.repair`` does; the store
        still refuses a write-set planned against a version that moved on."""
        self.store.append(write)
        case = write.case
        known = self._known  # _remember, inline: it runs in every command
        known[case.id] = case
        if len(known) > _KNOWN_CASES:
            known.popitem(last=False)
        if self.hooks._observers:
            self._observe(write)
        return case

    def commit_many(self, writes: Sequence[WriteSet]) -> list[Case]:
        """Apply write-sets planned by this engine in one store call
        (:meth:`~servicewf.storage.base.Store.append_all`: one transaction on the SQL
        stores), then tell the after-commit observers of each; return the cases as stored.
        History import commits its batches so."""
        self.store.append_all(writes)
        for write in writes:
            self._remember(write.case)
            self._observe(write)
        return [write.case for write in writes]

    def _observe(self, write: WriteSet) -> None:
        """Tell the after-commit observers about ``write``, which is committed: an observer
        that raises becomes :class:`ObserverFailed` (the command stands)."""
        if not self.hooks.has_observers:
            return
        for observer in self.hooks.observing(write):
            try:
                observer(write)
            except Exception as exc:
                # Named only here: building every observer's name in every command cost
                # as much as a cheap observer.
                name = observer_name(observer)
                case = write.case
                raise ObserverFailed(
                    f"observer {name} raised {type(exc).__name__} after case {case.id!r} "
                    "was committed; the command stands (its case is this error's .case)",
                    case=case, observer=name,
                ) from exc

    def _write(
        self, definition: ProcessDefinition, case: Case, event: Event, expected: int
    ) -> WriteSet:
        """The write-set of one command: the processors' derivations, timers by owner."""
        events = (event,)
        timers: dict[str, tuple[Timer, ...]] = {}
        for processor in self.processors:
            case, produced = processor.process(definition, case, events)
            if produced is None:
                continue
            owner = getattr(processor, "timer_prefix", None)
            if not owner or not isinstance(owner, str):
                raise InvalidProcessor(
                    f"processor {type(processor).__name__} returned timers but declares no "
                    "timer_prefix; set timer_prefix to the name prefix its timers use")
            # Checked here too, not only at start: processors may be added afterwards.
            if owner in timers or any(owner.startswith(o) or o.startswith(owner)
                                      for o in timers):
                raise InvalidProcessor(
                    f"two processors own overlapping timer prefixes ({owner!r}); give each "
                    "a prefix no other one starts with")
            timers[owner] = tuple(produced)
        # Every value here was checked on its way in: command data by plain_data, anything
        # a processor returns by the Case/Timer converters, messages by OutboxMessage's.
        outbox = self._outbox(definition, case, events) if self.messages else ()
        if timers or outbox:
            return _write_set(case, events, expected, MappingProxyType(timers), outbox, True)
        return _write_set(case, events, expected, _NO_TIMERS, (), True)

    # --- outbox messages (the only way messages reach a store: in a write-set) --------------

    def _outbox(self, definition: ProcessDefinition, case: Case,
                events: tuple[Event, ...]) -> tuple[OutboxMessage, ...]:
        out: list[OutboxMessage] = []
        for rule in self.messages:
            for message in rule(definition, case, events):
                if not isinstance(message, OutboxMessage):
                    raise InvalidProcessor(
                        f"message rule {getattr(rule, '__qualname__', rule)!r} returned a "
                        f"{type(message).__name__}; it returns OutboxMessage values")
                out.append(message)
        return tuple(out)

    # --- checks -----------------------------------------------------------------------------

    def _current(self, case: Case | str) -> Case:
        """The stored truth for ``case``: the case itself when it is the one this engine last
        wrote or read, else the stored snapshot, which the handed case must equal."""
        if type(case) is Case or isinstance(case, Case):
            try:
                if self._known.get(case.id) is case:
                    return case
            except TypeError:  # an unhashable id in a case built by hand
                check_identifier(case.id, "case id")
            stored = self.store.load(check_identifier(case.id, "case id"))
            if stored is case:  # a store that keeps values (MemoryStore) hands back the same
                self._remember(case)
                return case
            if stored.version != case.version:
                raise StaleVersion.for_case(case.id, case.version, stored.version)
            if stored != case:
                raise CaseMismatch(
                    f"the case value handed for {case.id!r} differs from the stored case at "
                    f"version {case.version}; commands act on the stored case only: pass the "
                    "case the engine returned (or its id) and supply changes as data",
                    case_id=case.id,
                )
        else:
            stored = self.store.load(check_identifier(case, "case id"))
        self._remember(stored)
        return stored

    def _remember(self, case: Case) -> None:
        known = self._known
        known[case.id] = case
        if len(known) > _KNOWN_CASES:
            known.popitem(last=False)  # the oldest id first in, first out

    def _check_actor(self, actor: Actor, case_id: str | None) -> None:
        if actor is self._last_actor or actor in self._actors:
            self._last_actor = actor
            return
        if not isinstance(actor, Actor):
            raise InvalidIdentifier(
                f"the actor must be an Actor(id, role), not {type(actor).__name__}",
                what="actor", case_id=case_id)
        check_identifier(actor.id, "actor id", case_id=case_id)
        check_identifier(actor.role, "role", case_id=case_id)
        if len(self._actors) < 10_000:  # a cache of checked actors, bounded
            self._actors.add(actor)

    def _now(self, current: Case) -> pendulum.DateTime:
        now = self.clock.now()
        if now < current.updated_at:
            raise self._out_of_order(current, now)
        return now

    @staticmethod
    def _out_of_order(current: Case, now: pendulum.DateTime) -> TimeOutOfOrder:
        # The refusal names the very reading that was refused (a second reading could differ).
        return TimeOutOfOrder(
            f"the engine clock reads {now.isoformat()}, before case {current.id!r} was "
            f"last changed ({current.updated_at.isoformat()}); events would be out of "
            "order. Fix the clock (a FrozenClock moved backwards?) and retry",
            case_id=current.id,
        )

    @staticmethod
    def _recordable(kind: EventKind | str, case_id: str) -> Kind:
        try:
            event_kind = lookup_kind(kind)
        except ValueError:
            raise EventNotRecordable(
                f"there is no event kind {kind!r}; known kinds: "
                f"{', '.join(known_kinds())} (a subsystem adds one with register_event_kind)",
                case_id=case_id) from None
        if event_kind in ENGINE_KINDS:
            raise EventNotRecordable(
                f"record() cannot append {event_kind.value!r} events; use open(), fire() or "
                "migrate()", case_id=case_id)
        return event_kind

    @staticmethod
    def _check_recorder(
        definition: ProcessDefinition, kind: Kind, actor: Actor, case_id: str
    ) -> None:
        if actor == SYSTEM:
            return
        if kind in SYSTEM_KINDS:
            allowed: tuple[str, ...] = (SYSTEM.role,)
        else:
            roles = definition.recorders.get(kind.value)
            if roles is not None and (not roles or actor.role in roles):
                return
            allowed = roles or (SYSTEM.role,)
        raise RoleNotPermitted(
            f"role {actor.role!r} may not record {kind.value!r} events on {definition.name} "
            f"cases; " + ("only the system actor records them (the sweep)"
                          if kind in SYSTEM_KINDS else
                          f"roles allowed: {', '.join(allowed)} (the definition's recorders)"),
            case_id=case_id, trigger=None, role=actor.role, allowed=allowed,
            action="record", kind=kind.value,
        )

    def _decide(
        self, case: Case, definition: ProcessDefinition, trigger: str, actor: Actor,
        data: Mapping[str, Any], now: pendulum.DateTime, comment: str | None = None, *,
        check_data: bool = True,
    ) -> tuple[Transition, CommandContext | None]:
        """The transition ``trigger`` takes, and the guards' context if one was built (only
        guarded transitions need it: building it costs as much as the rest of a decision)."""
        command: CommandContext | None = None
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
        role = actor.role
        first_refusal: CommandRefused | None = None
        permitted = False
        for c in candidates:
            if c.roles is not None and role not in c.roles:
                continue
            permitted = True
            if c.checks:
                if command is None:
                    command = CommandContext(case, definition, trigger, actor, data, now,
                                             comment)
                refusal = self._check_guards(command, c.checks)
                if refusal is not None:
                    first_refusal = first_refusal or refusal
                    continue
            if check_data:
                if c.required and not all(_present(data.get(f)) for f in c.required):
                    missing = [f for f in c.required if not _present(data.get(f))]
                    if missing:
                        raise DataMissing(
                            f"{trigger!r} needs data that was not supplied: "
                            f"{', '.join(missing)}; supply them in data={{...}}",
                            case_id=case.id, trigger=trigger, missing=missing,
                        )
                if data and definition.owned_fields:
                    self._check_owned(data, c.transition.owned, case.id, trigger)
            return c.transition, command
        if not permitted:
            roles = sorted({r for c in candidates for r in c.roles or ()})
            raise RoleNotPermitted(
                f"role {role!r} may not fire {trigger!r} in state {case.state!r}; ask someone "
                f"with role {' or '.join(repr(r) for r in roles)}",
                case_id=case.id, trigger=trigger, role=role, allowed=roles,
            )
        assert first_refusal is not None
        raise first_refusal

    @staticmethod
    def _check_owned(
        data: Mapping[str, Any], owned: frozenset[str], case_id: str | None, trigger: str
    ) -> None:
        foreign = sorted(f for f in data if f not in owned)
        if foreign:
            may = ", ".join(sorted(owned)) or "no data"
            raise FieldNotOwned(
                f"{trigger!r} does not own {', '.join(foreign)}: in this process each field "
                f"is written only by the commands that own it ({trigger!r} writes: {may}); "
                "fire the command that sets it, or leave it out",
                case_id=case_id, trigger=trigger, fields=foreign,
            )

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
        refusal = self._check_guards(command, checks) if checks else None
        if refusal is not None:
            refusal.case_id = None
            raise refusal
        if definition.owned_fields and command.data:
            self._check_owned(command.data,
                              frozenset((*definition.intake, *definition.intake_writes)),
                              None, "open")

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
                    explanation=what,
                )
        return None


def replay(
    definition: ProcessDefinition,
    events: Sequence[Event],
    *,
    registry: Registry | None = None,
) -> Case:
    """Rebuild a case from its history alone, checking every step against its definition.

    ``definition`` is the version the case was opened under. A history that crosses
    ``migrated`` events needs ``registry`` to look the later versions up. Fires no hook and
    no processor. Raises :class:`~servicewf.errors.HistoryMismatch` (a ``ValueError``) naming
    the case and the event when the history does not fit (a gap in sequence numbers, a
    transition the definition in force does not have).
    """
    if not events or events[0].kind is not EventKind.OPENED:
        raise HistoryMismatch("a history starts with an 'opened' event",
                              case_id=events[0].case_id if events else None)
    first = events[0]
    if first.dest != definition.initial.id:
        raise HistoryMismatch(
            f"history opens in {first.dest!r}, not {definition.initial.id!r}",
            case_id=first.case_id, seq=first.seq,
        )
    state = first.dest
    data: dict[str, Any] = dict(first.data)
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq or event.case_id != first.case_id:
            raise HistoryMismatch(
                f"event {event.seq} of {event.case_id!r} breaks the sequence",
                case_id=first.case_id, seq=event.seq,
            )
        if event.kind is EventKind.TRANSITION:
            trigger = event.trigger or ""
            dests = {t.target(state) for t in definition.compiled.options(trigger, state)}
            if event.source != state or event.dest not in dests:
                raise HistoryMismatch(
                    f"event {event.seq}: {trigger!r} from {event.source!r} to {event.dest!r} "
                    f"does not fit {definition.name} v{definition.version} in state {state!r}",
                    case_id=first.case_id, seq=event.seq,
                )
            state = event.dest
            data.update(event.data)
        elif event.kind is EventKind.MIGRATED:
            if registry is None:
                raise HistoryMismatch(
                    f"event {event.seq} migrates the case to v{event.data.get('to_version')}; "
                    "pass registry= holding every version to replay it",
                    case_id=first.case_id, seq=event.seq,
                )
            definition = registry.get(definition.name, int(event.data["to_version"]))
            if not definition.has_state(state):
                raise HistoryMismatch(f"event {event.seq}: v{definition.version} has no {state!r}",
                                      case_id=first.case_id, seq=event.seq)
    last = events[-1]
    return Case(first.case_id, definition.name, definition.version, state, last.seq, first.at,
                last.at, data)
