"""The SLA as an engine extension: the case processor, the extension command, the queries.

>>> sla = SLA([my_policy], {"office": china_office()})   # presets: servicewf.processes.presets
>>> engine = Engine(store, clock, [complaint], processors=[sla])
>>> sla.clocks(engine.get(case_id), now)          # elapsed, remaining, deadlines...
>>> sla.extend(engine, case, clock="resolve", by=WorkingDays(2), actor=agent,
...            reason="parts on order", notice="phoned the customer")
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf._frozen import FrozenDict, FrozenList
from servicewf._trusted import trusted_constructor
from servicewf.calendar import BusinessCalendar
from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import epoch_us, from_epoch_us
from servicewf.definition import ProcessDefinition
from servicewf.errors import ExtensionConditionsUnmet, GoalUndefined, InvalidPolicy
from servicewf.events import Event, EventKind
from servicewf.plain import freeze_trusted
from servicewf.sla._fold import BoundPolicy
from servicewf.sla.combined import combine
from servicewf.sla.policy import ExtensionRequest, Policy
from servicewf.sla.spec import Target, target_from_dict
from servicewf.sla.state import PAUSED, STOPPED, ClockState, ClockStates, ClockView
from servicewf.storage.base import Store, Timer

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = ["SLA", "TIMER_PREFIX", "Breaching", "escalated_tier"]

TIMER_PREFIX = "sla:"
"""Timer names of the SLA clocks are ``"sla:<clock>"``."""

EXTENSION_KEY = "sla"
_ONE_US = _dt.timedelta(microseconds=1)


@attrs.frozen
class Breaching:
    """A running clock whose deadline falls before a horizon."""

    case_id: str
    process: str
    clock: str
    deadline: pendulum.DateTime


def escalated_tier(case: Case) -> str | None:
    """The escalation tier the SLA clocks of ``case`` recorded (automatic escalations and the
    policy's escalate triggers), or ``None`` when it was never escalated or has no clocks.

    Process rules that depend on the tier (e.g. the complaint's handler check) read it, so an
    escalation recorded while the process could not take its own ``escalate`` trigger still
    counts.
    """
    stored = case.extensions.get(EXTENSION_KEY)
    tier = stored.get("tier") if isinstance(stored, Mapping) else None
    return tier if isinstance(tier, str) else None


def _td(us: int) -> _dt.timedelta:
    return _dt.timedelta(microseconds=us)


class SLA:
    """The SLA clocks of every process that has a policy.

    Register it as an engine processor (``Engine(..., processors=[sla])``): inside every
    command it folds the new events into ``case.extensions["sla"]`` and replaces the case's
    ``sla:*`` timers with the next due warning or breach of each running clock.

    ``calendars`` maps the names clocks use to calendars; ``"24x7"`` is always available.
    """

    def __init__(
        self,
        policies: Iterable[Policy] | Mapping[str, Policy],
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        items = list(policies.values()) if isinstance(policies, Mapping) else list(policies)
        # Several policies of one process (a customer SLA and OLAs) run as one combined
        # policy: the first given is the primary (its ladder and tiers are the case's).
        by_process: dict[str, list[Policy]] = {}
        for p in items:
            by_process.setdefault(p.process, []).append(p)
        self.policies: dict[str, Policy] = {
            process: combine(group) for process, group in by_process.items()}
        self.calendars: dict[str, BusinessCalendar] = dict(calendars or {})
        self._bound: dict[tuple[str, int], BoundPolicy] = {}

    timer_prefix = TIMER_PREFIX
    """The timers this processor owns (``"sla:<clock>"``)."""

    # --- binding ---------------------------------------------------------------------------

    def bind(self, definition: ProcessDefinition) -> BoundPolicy | None:
        """The policy of ``definition`` compiled for it (``None`` when it has none).

        Raises :class:`~servicewf.errors.InvalidPolicy` when the policy names states,
        triggers or calendars the definition or the SLA does not have.
        """
        bound = self._bound.get(definition.key)
        if bound is None:
            policy = self.policies.get(definition.name)
            if policy is None:
                return None
            bound = self._bound[definition.key] = BoundPolicy(policy, definition, self.calendars)
        return bound

    def validate(self, definitions: Iterable[ProcessDefinition]) -> None:
        """Bind every policy to its definition now, so a bad name fails at start-up."""
        for d in definitions:
            self.bind(d)

    def _bound_for(self, engine: Engine, case: Case) -> BoundPolicy:
        definition = engine.registry.get(case.process, case.definition_version)
        bound = self.bind(definition)
        if bound is None:
            raise InvalidPolicy(f"no SLA policy for process {case.process!r}; give one to SLA()")
        return bound

    # --- the processor ---------------------------------------------------------------------

    def process(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> tuple[Case, Sequence[Timer] | None]:
        """Fold ``events`` into the case's clocks and compute its timers (CaseProcessor)."""
        bound = self.bind(definition)
        if bound is None:
            return case, None
        prior = case.extensions.get(EXTENSION_KEY)
        memo = _memo_of(prior) if prior else None
        states = memo.states if memo is not None else (self._decode(prior) if prior else None)
        self._check_extensions(bound, case, states, events)
        # The data after the command: folding the events' data into it changes nothing, and
        # it is the data the events saw (the engine passes one event per command).
        try:
            if memo is not None:
                # Only the clocks the events changed are encoded and timed again.
                new, changed = bound.fold_changed(events, memo.states, data=case.data)
            else:
                new, changed = bound.fold(events, states, data=case.data), None
        except GoalUndefined as refused:
            # select_target knows the data, not the command: name it for the caller.
            if refused.case_id is None:
                refused.case_id = case.id
            if refused.trigger is None and events:
                refused.trigger = events[-1].trigger
            raise
        frozen = self._encode(new, memo, changed)
        timers = self._timers_for(bound, case.id, new, memo, changed)
        frozen._memo._timers = (bound, case.id, timers)
        # Built from the case's own fields, all frozen already: the converters would only walk
        # them again.
        case = _new_case(case.id, case.process, case.definition_version, case.state,
                         case.version, case.opened_at, case.updated_at, case.data,
                         MappingProxyType({**case.extensions, EXTENSION_KEY: frozen}))
        return case, [t for t in timers if t is not None]

    # The stored plain data carries its decoding (``FrozenDict._memo``, a :class:`_Stored`):
    # the engine hands back the extension it stored, so the next command neither decodes it
    # nor re-encodes, re-times or re-checks the clocks the event did not touch (the fold keeps
    # them as the same ClockState objects). The memo lives and dies with the stored value: it
    # can only describe the very data it hangs on, never a write that did not commit, and a
    # mapping read back from a SQL store has none (it is decoded, then memoised again).

    @staticmethod
    def _decode(prior: Any) -> ClockStates:
        memo = _memo_of(prior)
        if memo is not None:
            return memo.states
        return ClockStates.from_dict(prior)

    def _encode(self, states: ClockStates, memo: _Stored | None,
                changed: Sequence[int] | None = None) -> FrozenDict:
        """``states.to_dict()`` frozen (without a second check: built here from checked
        values, see ``freeze_trusted``), reusing the plain data of every clock ``memo`` (the
        prior stored value's) already holds as the same object. ``changed``: the positions of
        the only clocks of ``states`` that are not those of ``memo`` (see
        ``BoundPolicy.fold_changed``); ``None`` when unknown."""
        old = memo.states.clocks if memo is not None else ()
        old_data = memo.clocks if memo is not None else ()
        if changed is not None:  # (given with a memo only: positions in it)
            clocks = list(old_data)
            new = states.clocks
            for i in changed:
                clocks[i] = _frozen_clock(new[i], old[i], old_data[i])
        else:
            clocks = []
            for i, c in enumerate(states.clocks):
                if i < len(old) and old[i] is c:
                    clocks.append(old_data[i])
                    continue
                prev = old[i] if i < len(old) and old[i].name == c.name else None
                clocks.append(_frozen_clock(c, prev, old_data[i] if prev is not None else None))
        frozen_clocks = FrozenList(clocks)
        out: dict[str, Any] = {"v": 1, "policy": states.policy, "state": states.state,
                               "tier": states.tier, "clocks": frozen_clocks}
        if states.fields:
            if memo is not None and memo.fields is not None and memo.states.fields == \
                    states.fields:
                out["fields"] = memo.fields
            else:
                out["fields"] = freeze_trusted(dict(states.fields))
        frozen = FrozenDict(out)
        frozen._memo = _Stored(states, frozen_clocks, out.get("fields"), memo)
        return frozen

    def _check_extensions(self, bound: BoundPolicy, case: Case, states: ClockStates | None,
                          events: Sequence[Event]) -> None:
        """Refuse an extension the policy's rule does not allow (the command is then not
        written): the same conditions as :meth:`extend`, whether the extension is a process
        transition or a ``clock_extended`` event recorded by hand."""
        extended, transition = EventKind.CLOCK_EXTENDED, EventKind.TRANSITION
        triggers = bound.extend_triggers
        for e in events:
            kind = e.kind
            if kind is extended:
                self._check_recorded_extension(bound, case, states, e)
                continue
            if kind is not transition or e.trigger not in triggers:
                continue
            try:
                found = bound.extension_of(e.trigger, e.data)
            except InvalidPolicy as bad:
                raise ExtensionConditionsUnmet(str(bad), case_id=case.id,
                                               missing=("new_deadline",)) from None
            if found is None:
                continue
            clock, by = found
            state = (states or bound.empty())[clock]
            notice = e.data.get("customer_notification") or e.data.get("notice")
            request = ExtensionRequest(clock, by, e.actor_id, e.role, e.data.get("reason"),
                                       notice)
            missing = bound.policy.extension_problems(bound.policy.clock(clock), state, request)
            if missing:
                raise ExtensionConditionsUnmet(
                    f"{e.trigger!r} of case {case.id!r} extends clock {clock!r}, refused by "
                    f"policy {bound.policy.name!r}; it needs: " + "; ".join(missing),
                    case_id=case.id, missing=missing,
                )

    def timers_of(self, bound: BoundPolicy, case_id: str, states: ClockStates) -> list[Timer]:
        """The ``sla:*`` timers for ``states``: the next action of each running clock."""
        return [t for t in self._timers_for(bound, case_id, states, None) if t is not None]

    @staticmethod
    def _timers_for(bound: BoundPolicy, case_id: str, states: ClockStates,
                    memo: _Stored | None, changed: Sequence[int] | None = None,
                    ) -> list[Timer | None]:
        """The timer of each clock of ``states`` (``None``: nothing due), the timers ``memo``
        holds for clocks it kept as they were (same object, same binding, same case);
        ``changed`` as for :meth:`_encode`."""
        old: tuple[ClockState, ...] = ()
        old_timers: Sequence[Timer | None] = ()
        if memo is not None and memo._timers is not None:
            by, cid, old_timers = memo._timers
            if by is bound and cid == case_id:
                old = memo.states.clocks
                if changed is not None:  # (always, with this binding's memo)
                    out = list(old_timers)
                    clocks = states.clocks
                    for i in changed:
                        out[i] = _timer_of(bound, case_id, clocks[i])
                    return out
        out = []
        for i, s in enumerate(states.clocks):
            if i < len(old) and old[i] is s:
                out.append(old_timers[i])
                continue
            out.append(_timer_of(bound, case_id, s))
        return out

    @staticmethod
    def _check_recorded_extension(bound: BoundPolicy, case: Case, states: ClockStates | None,
                                  e: Event) -> None:
        def refuse(missing: list[str]) -> ExtensionConditionsUnmet:
            return ExtensionConditionsUnmet(
                f"clock_extended on case {case.id!r} refused by policy "
                f"{bound.policy.name!r}; it needs: " + "; ".join(missing),
                case_id=case.id, missing=missing)

        clock = e.data.get("clock")
        if not isinstance(clock, str) or clock not in bound.by_name:
            raise refuse([f"a clock of the policy in data['clock'] "
                          f"({', '.join(bound.by_name)})"])
        raw = e.data.get("by")
        try:
            if not isinstance(raw, Mapping):
                raise TypeError("not a mapping")
            by = target_from_dict(raw)
        except (KeyError, TypeError, ValueError, InvalidPolicy):
            raise refuse(["the extension in data['by'] (a target's plain data, e.g. "
                          "WorkingDays(2).to_dict())"]) from None
        state = (states or bound.empty())[clock]
        if e.data.get("cycle", state.cycle) != state.cycle:
            raise refuse([f"the clock's current cycle ({state.cycle}) in data['cycle']"])
        notified = e.data.get("customer_notified_at")
        request = ExtensionRequest(
            clock, by, e.actor_id, e.role, e.data.get("reason"), e.data.get("notice"),
            None if notified is None else from_epoch_us(0))
        missing = bound.policy.extension_problems(bound.policy.clock(clock), state, request)
        if missing:
            raise refuse(missing)

    # --- reading ---------------------------------------------------------------------------

    def states(self, case: Case) -> ClockStates:
        """The clocks as stored with ``case`` (empty when it has none yet)."""
        prior = case.extensions.get(EXTENSION_KEY)
        if prior:
            return self._decode(prior)
        policy = self.policies.get(case.process)
        return ClockStates(policy.name if policy else "", case.state, None, ())

    def recompute(self, engine: Engine, case: Case | str,
                  now: _dt.datetime | None = None) -> ClockStates:
        """The clocks of a stored case recomputed from its history (optionally as of
        ``now``), with the current policy and calendars."""
        current = engine.get(case) if isinstance(case, str) else case
        bound = self._bound_for(engine, current)
        return bound.fold(engine.history(current.id),
                          until=None if now is None else epoch_us(now))

    def repair(self, engine: Engine, case: Case | str, *, actor: Actor = SYSTEM) -> Case:
        """Replace the stored clocks of a case with a recomputation from its history.

        Use it after changing a policy or a calendar. When the clocks differ, a ``note``
        event (``data={"sla_repair": <policy>}``) is appended with the new clocks and timers
        in one write; otherwise nothing is written. Other processors do not run.
        """
        current = engine.get(case) if isinstance(case, str) else case
        bound = self._bound_for(engine, current)
        fresh = bound.fold(engine.history(current.id))
        if current.extensions.get(EXTENSION_KEY) == fresh.to_dict():
            return current
        # An audited command like any other: the engine checks the actor may record notes
        # and the clock, and the note, the recomputed clocks and the SLA timers are one
        # write-set (the case's other timers are kept).
        write = engine.plan_record(current, EventKind.NOTE, actor=actor,
                                   data={"sla_repair": bound.policy.name},
                                   comment="SLA clocks recomputed")
        repaired = attrs.evolve(write.case, extensions={**write.case.extensions,
                                                        EXTENSION_KEY: fresh.to_dict()})
        return engine.commit(attrs.evolve(write, case=repaired, timers=MappingProxyType({
            **write.timers, TIMER_PREFIX: tuple(self.timers_of(bound, current.id, fresh))})))

    def view(self, engine: Engine, case: Case, clock: str,
             now: _dt.datetime) -> ClockView:
        """One clock of ``case`` read at ``now``."""
        bound = self._bound_for(engine, case)
        return self._view(bound, self.states(case)[clock], epoch_us(now))

    def clocks(self, engine: Engine, case: Case | str, now: _dt.datetime) -> list[ClockView]:
        """Every clock of ``case`` read at ``now``: elapsed, remaining, paused, breached,
        deadline and warning instants."""
        current = engine.get(case) if isinstance(case, str) else case
        bound = self._bound_for(engine, current)
        t = epoch_us(now)
        return [self._view(bound, s, t) for s in self.states(current).clocks]

    def remaining(self, engine: Engine, case: Case | str, clock: str,
                  now: _dt.datetime) -> _dt.timedelta | None:
        """Business time left on ``clock`` at ``now`` (negative when overdue)."""
        current = engine.get(case) if isinstance(case, str) else case
        return self.view(engine, current, clock, now).remaining

    def _view(self, bound: BoundPolicy, s: ClockState, now: int) -> ClockView:
        m = bound.measures_of(s.name, s)[0]
        tz = bound.timezone_of(s.name, s)

        def dt(us: int | None) -> pendulum.DateTime | None:
            return None if us is None else from_epoch_us(us, tz)

        elapsed = paused = 0
        remaining: int | None = None
        if s.started is not None:
            end = s.stopped if s.status == STOPPED and s.stopped is not None else max(
                now, s.started)
            paused = s.paused
            if s.status == PAUSED and s.pause_since is not None:
                paused += m.working(s.pause_since, max(end, s.pause_since))
            elapsed = max(0, m.working(s.started, end) - paused)
            if s.deadline is not None and s.running:
                remaining = m.working(now, s.deadline)
        overdue = s.running and s.status != PAUSED and s.deadline is not None and now > s.deadline
        warn = bound.warning_at(s.name, s) if s.running else None
        return ClockView(
            name=s.name, cycle=s.cycle, status=s.status, outcome=s.outcome,
            target=None if s.target is None else str(s.target),
            started_at=dt(s.started), deadline=dt(s.deadline), earliest=dt(s.earliest),
            warning_at=dt(None if warn is None else bound.alert_time(s.name, warn, s)),
            stopped_at=dt(s.stopped), elapsed=_td(elapsed),
            remaining=None if remaining is None else _td(remaining), paused=_td(paused),
            is_paused=s.status == PAUSED, breached=s.breached or overdue,
            breach_recorded=s.breach_recorded, warned=s.warned, extensions=s.extensions,
            past=s.past,
        )

    def breaching_within(
        self, store: Store, now: _dt.datetime, within: _dt.timedelta,
        *, process: str | None = None,
    ) -> list[Breaching]:
        """Running clocks whose deadline is at or before ``now + within`` (already overdue
        ones included, unless their breach was recorded), soonest first, from the timers."""
        horizon = epoch_us(now) + within // _ONE_US
        out: list[Breaching] = []
        for t in store.due_timers(from_epoch_us(horizon), process=process):
            if not t.name.startswith(TIMER_PREFIX):
                continue
            deadline = t.payload.get("deadline")
            if isinstance(deadline, int) and deadline <= horizon:
                out.append(Breaching(t.case_id, t.process, str(t.payload["clock"]),
                                     from_epoch_us(deadline)))
        out.sort(key=lambda b: (b.deadline, b.case_id, b.clock))
        return out

    # --- the extension command -------------------------------------------------------------

    def extend(
        self,
        engine: Engine,
        case: Case | str,
        *,
        clock: str,
        by: Target,
        actor: Actor,
        reason: str | None = None,
        notice: str | Mapping[str, Any] | None = None,
        customer_notified_at: _dt.datetime | None = None,
    ) -> Case:
        """Extend ``clock`` of ``case`` by ``by``, audited.

        When the policy maps one of the process's triggers to this clock
        (``Policy.extend_triggers``, e.g. the complaint's ``extend``) and the case offers it
        now, the extension is that transition, fired by ``actor`` with ``reason``,
        ``customer_notification`` and ``new_deadline`` (the current deadline moved by
        ``by``), so the process's own rules (C14) and its data see it. Otherwise a
        ``clock_extended`` event records it. Either way the policy's conditions are checked
        first (by default a reason and a recorded customer notification); an unmet condition
        raises :class:`~servicewf.sla.ExtensionConditionsUnmet` (an ``ExtensionRefused``)
        naming every missing item, and nothing is written.
        """
        if self not in engine.processors:
            raise ValueError("this SLA is not a processor of the engine; pass "
                             "processors=[sla] to Engine()")
        current = engine.get(case) if isinstance(case, str) else case
        bound = self._bound_for(engine, current)
        spec = bound.policy.clock(clock)
        state = self.states(current)[clock]
        request = ExtensionRequest(clock, by, actor.id, actor.role, reason, notice,
                                   customer_notified_at)
        missing = bound.policy.extension_problems(spec, state, request)
        trigger = self._extend_trigger(bound, current, clock)
        if trigger is not None and state.deadline is None and not missing:
            missing = [f"a deadline to extend (clock {clock!r} has no goal yet; the process "
                       "must first supply what selects it, e.g. classify the case)"]
        if missing:
            raise ExtensionConditionsUnmet(
                f"extension of clock {clock!r} on case {current.id!r} refused; it needs: "
                + "; ".join(missing),
                case_id=current.id, missing=missing,
            )
        notified = (None if customer_notified_at is None
                    else from_epoch_us(epoch_us(customer_notified_at)).isoformat())
        if trigger is not None and state.deadline is not None:
            new_deadline = by.extend(bound.measures_of(clock, state)[0], state.deadline)
            told: str | dict[str, Any]
            if notice:
                told = notice if isinstance(notice, str) else dict(notice)
            else:
                told = f"customer notified at {notified}"
            return engine.fire(current, trigger, actor=actor, comment=reason, data={
                "reason": reason, "customer_notification": told,
                "new_deadline": from_epoch_us(new_deadline,
                                              bound.timezone_of(clock, state)).isoformat(),
            })
        data: dict[str, Any] = {"clock": clock, "cycle": state.cycle, "by": by.to_dict(),
                                "reason": reason}
        if notice:
            data["notice"] = notice if isinstance(notice, str) else dict(notice)
        if notified is not None:
            data["customer_notified_at"] = notified
        return engine.record(current, EventKind.CLOCK_EXTENDED, actor=actor, data=data,
                             comment=reason)

    @staticmethod
    def _extend_trigger(bound: BoundPolicy, case: Case, clock: str) -> str | None:
        """The process trigger that extends ``clock`` from the case's state, if any."""
        for trigger, target_clock in bound.policy.extend_triggers:
            if (target_clock == clock and trigger in bound.extend_triggers
                    and bound.definition.compiled.options(trigger, case.state)):
                return trigger
        return None


_new_case = trusted_constructor(Case)
_new_timer = trusted_constructor(Timer)
_NO_ITEMS = FrozenList()


class _Stored:
    """What a stored SLA extension value was built from (its ``FrozenDict._memo``): the
    clocks, their plain data in order, the frozen ``fields``, and once computed the timers
    of each clock as ``(binding, case id, timers)``."""

    __slots__ = ("_prior", "_texts", "_timers", "clocks", "fields", "states")

    def __init__(self, states: ClockStates, clocks: FrozenList,
                 fields: FrozenDict | None, prior: _Stored | None = None) -> None:
        self.states = states
        self.clocks = clocks
        self.fields = fields
        self._timers: tuple[BoundPolicy, str, list[Timer | None]] | None = None
        # The JSON text of each clock once a store encoded it (json_text), and until then
        # the prior value's clocks and texts, whose texts serve the clocks kept as the same
        # objects. Only the prior's two lists are held, never the prior itself: a chain of
        # memos would keep every earlier value of the case alive.
        self._texts: list[str] | None = None
        self._prior: tuple[FrozenList, list[str]] | None = (
            None if prior is None or prior._texts is None else (prior.clocks, prior._texts))

    def json_text(self, value: FrozenDict, dumps: Callable[[Any], str]) -> str:
        """``dumps(value)`` for the stored value this memo hangs on (see
        ``storage._codec.dumps_extensions``): the same text, with the text of every clock
        the prior stored value had as the very same object taken from its memo, so a
        command encodes only the clocks it changed."""
        texts = self._texts
        if texts is None:
            old_clocks, old_texts = self._prior or ((), [])
            self._prior = None
            texts = [old_texts[i] if i < len(old_clocks) and old_clocks[i] is c else dumps(c)
                     for i, c in enumerate(self.clocks)]
            self._texts = texts
        # The other items (a few scalars and the fields) by two calls, those before the
        # clocks and those after, in the value's own order.
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        side = before
        for key, item in value.items():
            if key == "clocks":
                side = after
            else:
                side[key] = item
        clocks = '"clocks":[' + ",".join(texts) + "]"
        head = dumps(before)[:-1] + "," if before else "{"
        return head + clocks + ("," + dumps(after)[1:] if after else "}")


def _timer_of(bound: BoundPolicy, case_id: str, s: ClockState) -> Timer | None:
    """The timer of clock ``s`` (its next action), ``None`` when nothing is due.

    Uncached: ``s`` is new (a clock the event changed), so an identity cache would only keep
    it alive."""
    action = bound._next_action(s.name, s)
    if action is None:
        return None
    kind, due = action
    # The payload is built here from ints and names, the instant by from_epoch_us: frozen and
    # checked as they are.
    return _new_timer(case_id, TIMER_PREFIX + s.name, from_epoch_us(due),
                      bound.definition.name,
                      MappingProxyType({"clock": s.name, "cycle": s.cycle, "action": kind,
                                        "deadline": s.deadline}))


def _memo_of(value: Any) -> _Stored | None:
    memo = getattr(value, "_memo", None) if type(value) is FrozenDict else None
    return memo if type(memo) is _Stored else None


_CLOCK_FIELDS = (
    "name", "cycle", "status", "outcome", "started", "target", "base", "deadline", "earliest",
    "paused", "pause_since", "held", "stopped", "warned", "breached", "breach_recorded",
    "early_attempts", "extensions", "adjustments", "past", "paused_calendar",
    "paused_business", "calendar")
if ClockState._fields != _CLOCK_FIELDS:  # pragma: no cover - a changed ClockState
    raise ImportError("ClockState's fields changed: update _CLOCK_FIELDS and _frozen_clock")

_targets: dict[int, tuple[Target, FrozenDict]] = {}


def _frozen_target(t: Target) -> FrozenDict:
    """``t.to_dict()`` frozen; targets are few (the policies' own objects, mostly) and
    immutable, so each is frozen once (by identity; bounded)."""
    hit = _targets.get(id(t))
    if hit is not None and hit[0] is t:
        return hit[1]
    frozen: FrozenDict = freeze_trusted(t.to_dict())
    if len(_targets) > 1_000:
        _targets.clear()
    _targets[id(t)] = (t, frozen)
    return frozen


def _frozen_clock(c: ClockState, prev: ClockState | None, prev_data: Any) -> FrozenDict:
    """``c.to_dict()`` frozen (the same keys in the same order), reusing the finished cycles
    of ``prev_data`` (the plain data of ``prev``, the clock before the event) that ``c``
    still holds: a clock's past only grows."""
    past: Any = _NO_ITEMS
    if c.past:
        if prev is not None and prev.past is c.past:
            past = prev_data["past"]
        else:
            kept = prev_data["past"] if prev is not None else ()
            old = prev.past if prev is not None else ()
            items = []
            for j, cyc in enumerate(c.past):
                items.append(kept[j] if j < len(old) and old[j] is cyc else FrozenList(cyc))
            past = FrozenList(items)
    # The fields unpacked at once (in ClockState order, checked at import) into one dict
    # literal: cheaper than 23 attribute reads, or a zip of names and values.
    (name, cycle, status, outcome, started, target, base, deadline, earliest, paused,
     pause_since, held, stopped, warned, breached, breach_recorded, early_attempts,
     extensions, adjustments, _, paused_calendar, paused_business, calendar) = c
    if not adjustments:
        plain_adjustments: Any = _NO_ITEMS
    elif prev is not None and prev.adjustments is adjustments:
        plain_adjustments = prev_data["adjustments"]  # a pause or a stop keeps them
    else:
        plain_adjustments = FrozenList([a if isinstance(a, int) else _frozen_target(a)
                                        for a in adjustments])
    return FrozenDict({
        "name": name, "cycle": cycle, "status": status, "outcome": outcome,
        "started": started, "target": None if target is None else _frozen_target(target),
        "base": base, "deadline": deadline, "earliest": earliest, "paused": paused,
        "pause_since": pause_since, "held": held, "stopped": stopped, "warned": warned,
        "breached": breached, "breach_recorded": breach_recorded,
        "early_attempts": early_attempts, "extensions": extensions,
        "adjustments": plain_adjustments, "past": past, "paused_calendar": paused_calendar,
        "paused_business": paused_business, "calendar": calendar,
    })
