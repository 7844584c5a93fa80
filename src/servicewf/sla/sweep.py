"""The sweep: record what fell due (warnings, breaches, obligations) and run the actions.

Workers share a store safely: each claims due timers with a lease
(``Store.claim_due_timers``), re-reads the case, asks the handler that owns the timer's name
prefix (the SLA for ``sla:*``; others, such as the recurring obligations, plug in as
:class:`TimerHandler`) what is due at ``now``, and records it through the engine (one
versioned write each). A write that lost a race (``StaleVersion``) is retried on the reloaded
case, which re-decides from scratch, so a warning or breach is recorded at most once per clock
cycle. Sweeping again for the same ``now`` finds nothing to do.

A worker may die anywhere (``SIGKILL``, a dropped connection). What makes that safe:

- a claimed timer is only leased: until it is settled it stays in the store, and the lease
  lapses for the next worker;
- the breach of a clock and its breach action (the policy's ``on_breach``: the escalation)
  are two writes. The breach's write-set also writes a *pending breach action* timer,
  ``sla-breach:<clock>:<cycle>:``, due one lease later (as if leased to the writer); the
  escalation's write-set deletes it. A worker killed between the two leaves the timer, and
  a sweep claims it once the lease has passed and runs the action (two workers acting on it
  at once are serialized by the case version: the loser re-reads and finds it done);
  killed after the escalation's commit, the timer is gone with it. Before acting on
  such a timer the history is read as well: an escalation already recorded for that clock
  after that breach only drops the timer. So each breach escalates exactly once;
- what cannot be processed (a row that does not decode, an unreadable case, a timer no
  handler owns, a handler that raises) is quarantined: set aside with a back-off that
  doubles at each attempt, reported in :attr:`SweepReport.quarantined` and listed by
  ``Store.quarantined_timers()``, while the sweep goes on with the rest.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import as_utc, epoch_us, from_epoch_us
from servicewf.errors import (
    CaseNotFound,
    CommandRefused,
    CorruptRecord,
    StaleVersion,
    StorageError,
    TimeOutOfOrder,
    UnknownProcess,
)
from servicewf.events import EventKind
from servicewf.sla.processor import SLA, TIMER_PREFIX
from servicewf.sla.state import ClockView
from servicewf.storage.base import QuarantinedTimer, Timer, WriteSet, replace_timers

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.sla._fold import BoundPolicy

__all__ = ["BREACH_PREFIX", "ActionContext", "SweepEvent", "SweepReport", "Sweeper",
           "TimerHandler", "breach_timer_name", "sweep"]

log = logging.getLogger("servicewf.sweep")

BREACH_PREFIX = "sla-breach:"
"""Name prefix of the pending breach-action timers (see the module's docstring)."""


def breach_timer_name(clock: str, cycle: int) -> str:
    """The pending breach-action timer of ``clock``'s ``cycle``. It ends with ``:`` so no
    such name starts with another (clock names are identifiers), and it can be replaced on
    its own as a write-set owner prefix."""
    return f"{BREACH_PREFIX}{clock}:{cycle}:"


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
    quarantined: list[QuarantinedTimer] = attrs.field(factory=list)
    """Timers set aside by this sweep (with why, the attempts and until when); the store
    lists all of them (``store.quarantined_timers()``)."""
    stopped: bool = False
    """True when the sweep stopped on its ``stop`` event before the backlog was done."""

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
        self._clears: str | None = None
        self.lease = _dt.timedelta(0)
        """The sweeper's lease: a pending breach action falls due one lease after the breach
        (the worker that wrote it acts at once; another one only if it died)."""

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

    def settle(self, ctx: ActionContext, case: Case) -> bool:
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


class Sweeper:
    """Processes the due timers of an engine's store: the SLA clocks and, through
    ``handlers``, any other :class:`TimerHandler` (e.g. recurring obligations).

    ``sla`` may be ``None`` when only other handlers run. ``owner`` names this worker in
    timer leases (a random id by default); ``lease`` is how long a claimed timer is reserved;
    ``batch`` how many timers one claim takes. Listeners are called after every recorded
    warning, breach, escalation and whatever the other handlers announce.

    A timer this sweeper cannot process is quarantined (see the module's docstring) with a
    back-off of ``backoff`` (the lease by default) doubled at each attempt: a timer whose
    prefix no handler owns too, so a sweeper never settles what it does not understand and
    such timers do not hold up the ones due after them. Database errors
    (:class:`~servicewf.errors.StorageError`) are not the timer's fault: they end the sweep
    (the worker loop retries) and quarantine nothing.
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
        backoff: _dt.timedelta | None = None,
    ) -> None:
        self.engine = engine
        self.backoff = lease if backoff is None else backoff
        self.sla = sla
        self.owner = owner or f"sla-sweeper-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.batch = batch
        self.listeners = list(listeners)
        self.max_retries = max_retries
        all_handlers: list[TimerHandler] = ([] if sla is None else
                                            [_SLAHandler(sla), _BreachActionHandler(sla)])
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

    def run(self, now: _dt.datetime | None = None, *, limit: int | None = None,
            stop: threading.Event | None = None) -> SweepReport:
        """Process every due timer up to ``now`` (the engine clock's now by default), at most
        ``limit`` timers. When ``stop`` is set the sweep ends after the current batch (its
        claimed timers are settled first), whatever the backlog (``report.stopped``)."""
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
        ctx.lease = self.lease
        seen: set[tuple[str, str]] = set()
        store = self.engine.store
        while limit is None or report.timers < limit:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            n = self.batch if limit is None else min(self.batch, limit - report.timers)
            corrupt: list[QuarantinedTimer] = []
            claimed = store.claim_due_timers(now, owner=self.owner, lease=self.lease, limit=n,
                                             on_corrupt=corrupt.append)
            report.quarantined += corrupt
            fresh = [t for t in claimed if (t.case_id, t.name) not in seen]
            if not fresh and not corrupt:
                break
            cases: dict[str, dict[int, tuple[TimerHandler, list[Timer]]]] = {}
            for t in fresh:
                seen.add((t.case_id, t.name))
                handler = self._handler_of(t.name)
                if handler is None:
                    self._quarantine(t.case_id, [t], "no handler of this sweeper owns the "
                                     "timer's name prefix", ctx)
                    continue
                report.timers += 1
                cases.setdefault(t.case_id, {}).setdefault(id(handler), (handler, []))[1] \
                    .append(t)
            for case_id, handlers in cases.items():
                # one settlement per case and handler deals with all its due timers
                self._settle_case(case_id, list(handlers.values()), ctx)
            if len(claimed) + len(corrupt) < n:
                break
        return report

    def _quarantine(self, case_id: str, timers: Sequence[Timer], reason: str,
                    ctx: ActionContext) -> None:
        for t in timers:
            try:
                q = self.engine.store.quarantine_timer(case_id, t.name, now=ctx.now,
                                                       reason=reason, backoff=self.backoff)
            except NotImplementedError:  # a store of its own without quarantine
                log.warning("timer %r of case %r cannot be processed (%s); its lease lapses",
                            t.name, case_id, reason)
                continue
            if q is not None:
                ctx.report.quarantined.append(q)
                log.warning("quarantined timer %r of case %r (attempt %d, until %s): %s",
                            q.name, q.case_id, q.attempts, q.until.isoformat(), q.reason)

    def _settle_case(self, case_id: str, handlers: list[tuple[TimerHandler, list[Timer]]],
                     ctx: ActionContext) -> None:
        pending = list(handlers)
        for _ in range(self.max_retries):
            try:
                case = self.engine.get(case_id)
                self.engine.registry.get(case.process, case.definition_version)
            except (CorruptRecord, UnknownProcess) as unreadable:
                # One bad row must not stop the sweep of every other case.
                ctx.report.skipped[case_id] = str(unreadable)
                self._quarantine(case_id, [t for _, ts in pending for t in ts],
                                 str(unreadable), ctx)
                return
            try:
                while pending:
                    handler, timers = pending[0]
                    try:
                        handler.settle(ctx, case)
                    except StaleVersion:
                        raise
                    except (CorruptRecord, CaseNotFound, UnknownProcess,
                            CommandRefused) as failed:
                        # CorruptRecord and CaseNotFound are StorageErrors, but about this
                        # case's rows: retrying the whole sweep would meet them again.
                        self._quarantine(case_id, timers, f"{type(failed).__name__}: "
                                         f"{failed}", ctx)
                    except StorageError:
                        raise  # the database, not the timer: the worker loop retries
                    except Exception as failed:  # a handler's (or a policy's) own bug
                        log.exception("timer handler %s failed on case %r",
                                      type(handler).__name__, case_id)
                        self._quarantine(case_id, timers, f"{type(failed).__name__}: "
                                         f"{failed}", ctx)
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
