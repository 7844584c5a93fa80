"""The sweep: record what fell due (warnings, breaches, obligations) and run the actions.

Workers share a store safely: each claims due timers with a lease
(``Store.claim_due_timers``), re-reads the case, asks the handler that owns the timer's name
prefix (the SLA for ``sla:*``; others, such as the recurring obligations, plug in as
:class:`TimerHandler`) what is due at ``now``, and records it through the engine (one
versioned write each). A write that lost a race (``StaleVersion``) is retried on the reloaded
case, which re-decides from scratch, so a warning or breach is recorded at most once per clock
cycle. Sweeping again for the same ``now`` finds nothing to do.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import epoch_us, from_epoch_us
from servicewf.errors import (
    CommandRefused,
    CorruptRecord,
    StaleVersion,
    TimeOutOfOrder,
    UnknownProcess,
)
from servicewf.events import EventKind
from servicewf.sla.processor import SLA, TIMER_PREFIX
from servicewf.sla.state import ClockView
from servicewf.storage.base import replace_timers

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.sla._fold import BoundPolicy

__all__ = ["ActionContext", "SweepEvent", "SweepReport", "Sweeper", "TimerHandler", "sweep"]


@attrs.frozen
class SweepEvent:
    """What a listener hears: ``kind`` is ``"warning"``, ``"breach"`` or ``"escalated"`` for
    SLA clocks; other handlers add their own kinds (e.g. ``"obligation_due"``)."""

    kind: str
    case: Case
    clock: str
    data: Any = None


Listener = Callable[[SweepEvent], None]


@attrs.define
class SweepReport:
    """What one sweep did."""

    timers: int = 0
    cases: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    retries: int = 0
    skipped: dict[str, str] = attrs.field(factory=dict)
    """Cases the sweep could not read (a corrupt row, an unknown process or version), with
    why; their timers stay due and are reported again by the next sweep."""
    counts: dict[str, int] = attrs.field(factory=dict)
    """What other handlers recorded, by name (e.g. ``{"obligation_due": 3}``)."""

    def count(self, what: str, n: int = 1) -> None:
        """Add ``n`` to ``counts[what]`` (for handlers other than the SLA)."""
        self.counts[what] = self.counts.get(what, 0) + n


class TimerHandler(Protocol):
    """Settles the due timers whose names start with :attr:`timer_prefix`.

    ``settle`` is called once per claimed case with the case freshly read; it records what
    is due at ``ctx.now`` through ``ctx.engine`` (whose processors reset the case's timers,
    ending the lease) and returns whether it wrote anything. When it wrote nothing it must
    reset its own timers (:func:`~servicewf.storage.base.replace_timers`, which keeps other
    subsystems' timers), or the lease lapses and the timer is claimed again. A
    ``StaleVersion`` it raises makes the sweeper re-read the case and call it again.
    """

    timer_prefix: str

    def settle(self, ctx: ActionContext, case: Case) -> bool: ...


class ActionContext:
    """What a policy's ``on_warning`` / ``on_breach`` (and every :class:`TimerHandler`)
    receive: the engine, the SLA (``None`` in a sweep without one), ``now``, and helpers that
    record events as the system actor."""

    def __init__(self, engine: Engine, sla: SLA | None, now: _dt.datetime,
                 report: SweepReport, listeners: Sequence[Listener],
                 actor: Actor = SYSTEM) -> None:
        self.engine = engine
        self.sla = sla
        self.now = now
        self.actor = actor
        self.report = report
        self.listeners = listeners

    def record(self, case: Case, kind: EventKind, data: dict[str, Any],
               comment: str | None = None) -> Case:
        """Append a non-moving event to ``case`` (through the processors)."""
        return self.engine.record(case, kind, actor=self.actor, data=data, comment=comment)

    def notify(self, kind: str, case: Case, clock: str, data: Any = None) -> None:
        """Call every listener (integrator hooks: mail, chat, a ticket comment...)."""
        for listener in self.listeners:
            listener(SweepEvent(kind, case, clock, data))

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
                fired = self.engine.fire(case, trigger, actor=self.actor,
                                         data={"tier": tier, "reason": reason},
                                         comment=f"automatic escalation: {reason}")
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

    def settle(self, ctx: ActionContext, case: Case) -> bool:
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
                    case = policy.on_warning(ctx, case, self._view(bound, case, name, ctx))
                else:
                    case = ctx.record(case, EventKind.CLOCK_BREACHED, data,
                                      comment=f"{name} breached")
                    ctx.report.breaches += 1
                    ctx.notify("breach", case, name, data)
                    case = policy.on_breach(ctx, case, self._view(bound, case, name, ctx))
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


class Sweeper:
    """Processes the due timers of an engine's store: the SLA clocks and, through
    ``handlers``, any other :class:`TimerHandler` (e.g. recurring obligations).

    ``sla`` may be ``None`` when only other handlers run. ``owner`` names this worker in
    timer leases (a random id by default); ``lease`` is how long a claimed timer is reserved;
    ``batch`` how many timers one claim takes. Listeners are called after every recorded
    warning, breach, escalation and whatever the other handlers announce. A timer whose
    prefix no handler owns is left alone (its lease lapses), so a sweeper never settles what
    it does not understand.
    """

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
    ) -> None:
        self.engine = engine
        self.sla = sla
        self.owner = owner or f"sla-sweeper-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.batch = batch
        self.listeners = list(listeners)
        self.max_retries = max_retries
        all_handlers: list[TimerHandler] = [] if sla is None else [_SLAHandler(sla)]
        all_handlers += handlers
        prefixes = [h.timer_prefix for h in all_handlers]
        for i, p in enumerate(prefixes):
            if not p or any(p.startswith(q) or q.startswith(p) for q in prefixes[:i]):
                raise ValueError(f"timer prefixes must be non-empty and distinct: {prefixes}")
        if not all_handlers:
            raise ValueError("a Sweeper needs an SLA or at least one handler")
        self.handlers: tuple[TimerHandler, ...] = tuple(all_handlers)

    def _handler_of(self, timer_name: str) -> TimerHandler | None:
        for h in self.handlers:
            if timer_name.startswith(h.timer_prefix):
                return h
        return None

    def run(self, now: _dt.datetime | None = None, *, limit: int | None = None) -> SweepReport:
        """Process every due timer up to ``now`` (the engine clock's now by default), at most
        ``limit`` timers."""
        clock_now = self.engine.clock.now()
        if now is None:
            now = clock_now
        elif now > clock_now:
            # The events it records are stamped by the engine clock: acting as of a later
            # instant would stamp breaches before the deadlines they report.
            raise TimeOutOfOrder(
                f"sweep asked to act as of {now.isoformat()}, ahead of the engine clock "
                f"({clock_now.isoformat()}); advance the clock instead (FrozenClock.set / "
                "advance) or run without now=")
        report = SweepReport()
        ctx = ActionContext(self.engine, self.sla, now, report, self.listeners)
        seen: set[tuple[str, str]] = set()
        store = self.engine.store
        while limit is None or report.timers < limit:
            n = self.batch if limit is None else min(self.batch, limit - report.timers)
            claimed = store.claim_due_timers(now, owner=self.owner, lease=self.lease, limit=n)
            fresh = [t for t in claimed if (t.case_id, t.name) not in seen]
            if not fresh:
                break
            cases: dict[str, dict[int, TimerHandler]] = {}
            for t in fresh:
                seen.add((t.case_id, t.name))
                handler = self._handler_of(t.name)
                if handler is None:
                    continue  # another subsystem's timer; its lease lapses on its own
                report.timers += 1
                cases.setdefault(t.case_id, {})[id(handler)] = handler
            for case_id, handlers in cases.items():
                # one settlement per case and handler deals with all its due timers
                self._settle_case(case_id, list(handlers.values()), ctx)
            if len(claimed) < n:
                break
        return report

    def _settle_case(self, case_id: str, handlers: list[TimerHandler],
                     ctx: ActionContext) -> None:
        pending = list(handlers)
        for _ in range(self.max_retries):
            try:
                case = self.engine.get(case_id)
                self.engine.registry.get(case.process, case.definition_version)
            except (CorruptRecord, UnknownProcess) as unreadable:
                # One bad row must not stop the sweep of every other case.
                ctx.report.skipped[case_id] = str(unreadable)
                return
            try:
                while pending:
                    pending[0].settle(ctx, case)
                    pending.pop(0)
                    if pending:
                        case = self.engine.get(case_id)
                ctx.report.cases += 1
                return
            except StaleVersion:
                ctx.report.retries += 1
        raise StaleVersion(
            f"case {case_id!r} kept changing during the sweep ({self.max_retries} tries); "
            "its timers stay due and the next sweep retries it",
            case_id=case_id, expected=-1, actual=None,
        )


def sweep(engine: Engine, sla: SLA | None, now: _dt.datetime | None = None, *,
          limit: int | None = None, listeners: Sequence[Listener] = (),
          handlers: Sequence[TimerHandler] = ()) -> SweepReport:
    """One sweep with a fresh :class:`Sweeper` (see there)."""
    return Sweeper(engine, sla, listeners=listeners, handlers=handlers).run(now, limit=limit)
