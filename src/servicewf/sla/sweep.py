"""The SLA clocks on the scheduler: record warnings and breaches, run the breach actions.

The loop itself (leased claims, quarantine, batches, stopping, passes) is
:class:`servicewf.scheduler.Scheduler`; this module plugs the SLA into it as two
:class:`~servicewf.scheduler.TimerHandler` values (:func:`sla_handlers`): the clocks'
timers (``sla:*``) and the pending breach actions (``sla-breach:*``). :class:`Sweeper` is a
scheduler with both already plugged in (the SLA's sweep, as before the scheduler existed),
and :class:`ActionContext` is what a policy's ``on_warning`` / ``on_breach`` receive.

For each claimed case the SLA handler asks the policy what is due at ``now`` and records it
through the engine (one versioned write each). A write that lost a race (``StaleVersion``)
is retried on the reloaded case, which re-decides from scratch, so a warning or breach is
recorded at most once per clock cycle. Sweeping again for the same ``now`` finds nothing.

What makes a breach's action exactly-once when a worker may die anywhere:

- the breach of a clock and its breach action (the policy's ``on_breach``: the escalation)
  are two writes. The breach's write-set also writes a *pending breach action* timer,
  ``sla-breach:<clock>:<cycle>:``, due one lease later (as if leased to the writer); the
  escalation's write-set deletes it. A worker killed between the two leaves the timer, and
  a sweep claims it once the lease has passed and runs the action (two workers acting on it
  at once are serialized by the case version: the loser re-reads and finds it done);
  killed after the escalation's commit, the timer is gone with it. Before acting on
  such a timer the history is read as well: an escalation already recorded for that clock
  after that breach only drops the timer. So each breach escalates exactly once.

The rest (claims leased, quarantine of what cannot be processed, database errors) is the
scheduler's: see :mod:`servicewf.scheduler`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import as_utc, epoch_us, from_epoch_us
from servicewf.errors import CommandRefused, CorruptRecord, StaleVersion
from servicewf.events import EventKind
from servicewf.scheduler import (
    Listener,
    Scheduler,
    SweepContext,
    SweepEvent,
    SweepReport,
    TimerHandler,
)
from servicewf.sla.policy import Policy
from servicewf.sla.processor import SLA, TIMER_PREFIX
from servicewf.sla.state import ClockView
from servicewf.storage.base import Timer, WriteSet, replace_timers

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.sla._fold import BoundPolicy

__all__ = ["BREACH_PREFIX", "ActionContext", "Listener", "SweepEvent", "SweepReport", "Sweeper",
           "TimerHandler", "breach_timer_name", "sla_handlers", "sweep"]

BREACH_PREFIX = "sla-breach:"
"""Name prefix of the pending breach-action timers (see the module's docstring)."""


def breach_timer_name(clock: str, cycle: int) -> str:
    """The pending breach-action timer of ``clock``'s ``cycle``. It ends with ``:`` so no
    such name starts with another (clock names are identifiers), and it can be replaced on
    its own as a write-set owner prefix."""
    return f"{BREACH_PREFIX}{clock}:{cycle}:"


class ActionContext(SweepContext):
    """What a policy's ``on_warning`` / ``on_breach`` receive: the scheduler's
    :class:`~servicewf.scheduler.SweepContext` (the engine, ``now``, the report, helpers
    that record events as the system actor) with the SLA (``None`` in a sweep without one)
    and :meth:`escalate`."""

    def __init__(self, engine: Engine, sla: SLA | None, now: _dt.datetime,
                 report: SweepReport, listeners: Sequence[Listener],
                 actor: Actor = SYSTEM) -> None:
        super().__init__(engine, now, report, listeners, actor)
        self.sla = sla
        self._clears: str | None = None
        """The pending breach-action timer the next write deletes (see the module)."""

    @classmethod
    def over(cls, ctx: SweepContext, sla: SLA) -> ActionContext:
        """``ctx`` seen by the SLA's handlers: itself when it already is this SLA's action
        context, else a new one sharing its engine, ``now``, report, listeners and lease."""
        if isinstance(ctx, cls) and ctx.sla is sla:
            return ctx
        view = cls(ctx.engine, sla, ctx.now, ctx.report, ctx.listeners, ctx.actor)
        view.lease = ctx.lease
        return view

    def record(self, case: Case, kind: EventKind, data: dict[str, Any],
               comment: str | None = None) -> Case:
        """Append a non-moving event to ``case`` (through the processors)."""
        if self._clears is None:
            return self.engine.record(case, kind, actor=self.actor, data=data, comment=comment)
        return self.commit(self.engine.plan_record(
            self.engine._current(case), kind, actor=self.actor, data=data, comment=comment))

    def commit(self, write: WriteSet) -> Case:
        """Commit a write-set planned by the engine. While a breach action runs, the first
        write also deletes that action's pending timer, atomically with the action itself."""
        name = self._clears
        if name is not None:
            write = attrs.evolve(write, timers={**write.timers, name: ()})
        case = self.engine.commit(write)
        self._clears = None
        return case

    def escalate(self, case: Case, *, clock: str, reason: str) -> Case:
        """Move ``case`` one tier up the policy's ladder; at the top tier nothing happens.

        When the process has one of the policy's ``escalate_triggers`` and the system may
        fire it now, the escalation *is* that transition (``data={"tier", "reason"}``), so the
        process's own rules see the new tier (e.g. the complaint's C9 handler check). Otherwise
        (no such trigger, or not from this state) an ``escalated`` event records it
        (``data={"clock", "from", "tier", "reason"}``) and the new tier lives in the clocks'
        state (``sla.states(case).tier``).
        """
        if self.sla is None:
            raise ValueError("escalate() needs a sweep with an SLA")
        policy = self.sla.policies[case.process]
        current = self.sla.states(case).tier or policy.initial_tier(case.data)
        nxt = policy.next_tier(current)
        if nxt is None:
            return case
        data: dict[str, Any] = {"clock": clock, "from": current, "tier": nxt, "reason": reason}
        escalated = self._fire_escalation(case, policy.escalate_triggers, nxt, reason)
        if escalated is None:
            case = self.record(case, EventKind.ESCALATED, data, comment=reason)
        else:
            case, data["trigger"] = escalated
        self.report.escalations += 1
        self.notify("escalated", case, clock, data)
        return case

    def _fire_escalation(self, case: Case, triggers: Sequence[str], tier: str,
                         reason: str) -> tuple[Case, str] | None:
        definition = self.engine.registry.get(case.process, case.definition_version)
        for trigger in triggers:
            if not definition.compiled.options(trigger, case.state):
                continue
            try:
                fired = self.commit(self.engine.plan_fire(
                    self.engine._current(case), trigger, actor=self.actor,
                    data={"tier": tier, "reason": reason},
                    comment=f"automatic escalation: {reason}"))
            except StaleVersion:
                raise
            except CommandRefused:
                continue  # a process rule says not now: the escalated event records it
            return fired, trigger
        return None


class _SLAHandler:
    """The SLA clocks as a timer handler: records warnings and breaches, runs the policy."""

    timer_prefix = TIMER_PREFIX

    def __init__(self, sla: SLA) -> None:
        self.sla = sla

    def settle(self, ctx: SweepContext, case: Case) -> bool:
        ctx = ActionContext.over(ctx, self.sla)
        engine = ctx.engine
        definition = engine.registry.get(case.process, case.definition_version)
        bound = self.sla.bind(definition)
        if bound is None:
            # No policy any more: drop the stale SLA timers, keep everyone else's.
            replace_timers(engine.store, case.id, TIMER_PREFIX, ())
            return False
        policy = bound.policy
        now = epoch_us(ctx.now)
        acted = False
        states = self.sla.states(case)
        done: set[tuple[str, int, str]] = set()
        for name in [c.spec.name for c in bound.clocks]:
            while True:
                s = states[name]
                action = bound.next_action(name, s)
                if action is None or action[1] > now:
                    break
                # A warning once the deadline has passed is noise: breach directly.
                overdue = s.deadline is not None and s.deadline < now
                kind = "breach" if overdue else action[0]
                if (name, s.cycle, kind) in done:
                    break  # never record the same thing twice, whatever a custom fold says
                done.add((name, s.cycle, kind))
                data = {"clock": name, "cycle": s.cycle, "deadline":
                        None if s.deadline is None else from_epoch_us(s.deadline).isoformat(),
                        "target": None if s.target is None else str(s.target)}
                if kind == "warning":
                    case = ctx.record(case, EventKind.CLOCK_WARNING, data,
                                      comment=f"{name} due soon")
                    ctx.report.warnings += 1
                    ctx.notify("warning", case, name, data)
                    if type(policy).on_warning is not Policy.on_warning:
                        # (Policy's own returns the case as it is: no view to build.)
                        case = policy.on_warning(ctx, case, self._view(bound, case, name, ctx))
                else:
                    # The breach and the pending breach action, in one write-set.
                    pending = breach_timer_name(name, s.cycle)
                    write = engine.plan_record(engine._current(case), EventKind.CLOCK_BREACHED,
                                               actor=ctx.actor, data=data,
                                               comment=f"{name} breached")
                    write = attrs.evolve(write, timers={**write.timers, pending: (Timer(
                        case.id, pending, as_utc(ctx.now) + ctx.lease, case.process,
                        {"clock": name, "cycle": s.cycle, "action": "on_breach"}),)})
                    case = engine.commit(write)
                    ctx.report.breaches += 1
                    ctx.notify("breach", case, name, data)
                    case = _run_breach_action(ctx, self.sla, bound, case, name, s.cycle,
                                              recovering=False)
                states = self.sla.states(case)
                acted = True
        if not acted:
            # A timer with nothing due (stale after a policy change): reset the case's SLA
            # timers from its clocks, which also ends the lease.
            replace_timers(engine.store, case.id, TIMER_PREFIX,
                           self.sla.timers_of(bound, case.id, states))
        return acted

    def _view(self, bound: BoundPolicy, case: Case, name: str, ctx: ActionContext) -> ClockView:
        return self.sla._view(bound, self.sla.states(case)[name], epoch_us(ctx.now))


def _run_breach_action(ctx: ActionContext, sla: SLA, bound: BoundPolicy, case: Case,
                       clock: str, cycle: int, *, recovering: bool = True) -> Case:
    """Run the policy's ``on_breach`` for ``clock``'s ``cycle`` and delete its pending timer:
    with the action's first write when it writes through ``ctx`` (atomic: both or neither),
    else afterwards (then an action killed half-way runs again: at least once).
    ``recovering``: the timer was found by a sweep (not just written by this one), so the
    history is checked first for an escalation already recorded."""
    pending = breach_timer_name(clock, cycle)
    if recovering and _breach_action_done(ctx.engine, bound, case.id, clock, cycle):
        replace_timers(ctx.engine.store, case.id, pending, ())
        return case
    policy = bound.policy
    if type(policy).on_breach is Policy.on_breach and not policy._escalates_on_breach(clock):
        # Policy's own on_breach would return the case as it is: only the timer goes.
        replace_timers(ctx.engine.store, case.id, pending, ())
        return case
    view = sla._view(bound, sla.states(case)[clock], epoch_us(ctx.now))
    ctx._clears = pending
    try:
        case = bound.policy.on_breach(ctx, case, view)
    finally:
        left = ctx._clears
        ctx._clears = None
    if left is not None:
        replace_timers(ctx.engine.store, case.id, pending, ())
    return case


def _breach_action_done(engine: Engine, bound: BoundPolicy, case_id: str, clock: str,
                        cycle: int) -> bool:
    """True when the history shows an escalation for ``clock`` after its ``cycle``'s breach
    (the escalated event names the clock; an escalate transition gives it in its reason)."""
    history = engine.history(case_id)
    breach = None
    for e in history:
        if (e.kind is EventKind.CLOCK_BREACHED and e.data.get("clock") == clock
                and e.data.get("cycle") == cycle):
            breach = e.seq
    if breach is None:
        return False
    triggers = set(bound.policy.escalate_triggers)
    for e in history[breach:]:
        if e.kind is EventKind.ESCALATED and e.data.get("clock") == clock:
            return True
        if (e.trigger in triggers and e.actor_id == SYSTEM.id
                and e.data.get("reason") == f"{clock} breached"):
            return True
    return False


class _BreachActionHandler:
    """Settles pending breach-action timers left by a worker that died after a breach."""

    timer_prefix = BREACH_PREFIX

    def __init__(self, sla: SLA) -> None:
        self.sla = sla

    def settle(self, ctx: SweepContext, case: Case) -> bool:
        ctx = ActionContext.over(ctx, self.sla)
        engine = ctx.engine
        pending = [t for t in engine.store.timers(case.id) if t.name.startswith(BREACH_PREFIX)
                   and t.due <= ctx.now]
        definition = engine.registry.get(case.process, case.definition_version)
        bound = self.sla.bind(definition)
        acted = False
        for t in pending:
            if bound is None:
                replace_timers(engine.store, case.id, t.name, ())
                continue
            clock, cycle = t.payload.get("clock"), t.payload.get("cycle")
            if clock not in {c.spec.name for c in bound.clocks} or not isinstance(cycle, int):
                raise CorruptRecord(f"pending breach action {t.name!r} of case {case.id!r} "
                                    f"names no clock of the policy: {dict(t.payload)!r}",
                                    case_id=case.id)
            before = case.version
            case = _run_breach_action(ctx, self.sla, bound, case, clock, cycle)
            acted = acted or case.version != before
        return acted


def sla_handlers(sla: SLA) -> tuple[TimerHandler, TimerHandler]:
    """The SLA's two :class:`~servicewf.scheduler.TimerHandler` values for a scheduler: the
    clocks' timers (``sla:*``: warnings, breaches) and the pending breach actions
    (``sla-breach:*``, see the module). Plug both in:
    ``Scheduler(engine).add(*sla_handlers(sla))``."""
    return _SLAHandler(sla), _BreachActionHandler(sla)


class Sweeper(Scheduler):
    """A :class:`~servicewf.scheduler.Scheduler` with the SLA clocks plugged in: the SLA's
    handlers (:func:`sla_handlers`) first, then ``handlers`` (any other
    :class:`~servicewf.scheduler.TimerHandler`, e.g. recurring obligations). Every handler
    receives an :class:`ActionContext` carrying ``sla``.

    ``sla`` may be ``None`` when only other handlers run. ``owner`` names this worker in
    timer leases (a random id by default); ``lease`` is how long a claimed timer is reserved;
    ``batch`` how many timers one claim takes. Listeners are called after every recorded
    warning, breach, escalation and whatever the other handlers announce. What cannot be
    processed is quarantined with a back-off of ``backoff`` (the lease by default); see
    :class:`~servicewf.scheduler.Scheduler`.
    """

    default_owner = "sla-sweeper"

    def __init__(
        self,
        engine: Engine,
        sla: SLA | None,
        *,
        owner: str | None = None,
        lease: _dt.timedelta = _dt.timedelta(minutes=5),
        batch: int = 1000,
        listeners: Sequence[Listener] = (),
        max_retries: int = 10,
        handlers: Sequence[TimerHandler] = (),
        backoff: _dt.timedelta | None = None,
        settle_in_batches: bool = True,
    ) -> None:
        all_handlers = [*(() if sla is None else sla_handlers(sla)), *handlers]
        if not all_handlers:
            raise ValueError("a Sweeper needs an SLA or at least one handler")
        super().__init__(engine, all_handlers, owner=owner, lease=lease, batch=batch,
                         listeners=listeners, max_retries=max_retries, backoff=backoff,
                         settle_in_batches=settle_in_batches)
        self.sla = sla

    def context(self, now: _dt.datetime, report: SweepReport, *, engine: Engine | None = None,
                listeners: Sequence[Listener] | None = None) -> ActionContext:
        ctx = ActionContext(engine or self.engine, self.sla, now, report,
                            self.listeners if listeners is None else listeners)
        ctx.lease = self.lease
        return ctx


def sweep(engine: Engine, sla: SLA | None, now: _dt.datetime | None = None, *,
          limit: int | None = None, listeners: Sequence[Listener] = (),
          handlers: Sequence[TimerHandler] = ()) -> SweepReport:
    """One sweep with a fresh :class:`Sweeper` (see there)."""
    return Sweeper(engine, sla, listeners=listeners, handlers=handlers).run(now, limit=limit)
