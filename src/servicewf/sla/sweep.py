"""The sweep: record what fell due (warnings, breaches) and run the policies' actions.

Workers share a store safely: each claims due ``sla:*`` timers with a lease
(``Store.claim_due_timers``), re-reads the case, decides from its clocks what is due at
``now``, and records it through the engine (one versioned write each). A write that lost a
race (``StaleVersion``) is retried on the reloaded case, which re-decides from scratch, so a
warning or breach is recorded at most once per clock cycle. Sweeping again for the same
``now`` finds nothing to do.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.case import SYSTEM, Actor, Case
from servicewf.errors import CorruptRecord, StaleVersion, UnknownProcess
from servicewf.events import EventKind
from servicewf.sla.measure import from_us, to_us
from servicewf.sla.processor import SLA, TIMER_PREFIX
from servicewf.sla.state import ClockView

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.sla.fold import BoundPolicy

__all__ = ["ActionContext", "SweepEvent", "SweepReport", "Sweeper", "sweep"]


@attrs.frozen
class SweepEvent:
    """What a listener hears: ``kind`` is ``"warning"``, ``"breach"`` or ``"escalated"``."""

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


class ActionContext:
    """What a policy's ``on_warning`` / ``on_breach`` receive: the engine, the SLA, ``now``,
    and helpers that record events as the system actor."""

    def __init__(self, engine: Engine, sla: SLA, now: _dt.datetime, report: SweepReport,
                 listeners: Sequence[Listener], actor: Actor = SYSTEM) -> None:
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
        """Move ``case`` one tier up the policy's ladder with an ``escalated`` event
        (``data={"clock", "from", "tier", "reason"}``); at the top tier nothing happens."""
        policy = self.sla.policies[case.process]
        current = self.sla.states(case).tier or policy.initial_tier(case.data)
        nxt = policy.next_tier(current)
        if nxt is None:
            return case
        data = {"clock": clock, "from": current, "tier": nxt, "reason": reason}
        case = self.record(case, EventKind.ESCALATED, data, comment=reason)
        self.report.escalations += 1
        self.notify("escalated", case, clock, data)
        return case


class Sweeper:
    """Processes due SLA timers of an engine's store.

    ``owner`` names this worker in timer leases (a random id by default); ``lease`` is how
    long a claimed timer is reserved; ``batch`` how many timers one claim takes. Listeners
    are called after every recorded warning, breach and escalation.
    """

    def __init__(
        self,
        engine: Engine,
        sla: SLA,
        *,
        owner: str | None = None,
        lease: _dt.timedelta = _dt.timedelta(minutes=5),
        batch: int = 1000,
        listeners: Sequence[Listener] = (),
        max_retries: int = 10,
    ) -> None:
        self.engine = engine
        self.sla = sla
        self.owner = owner or f"sla-sweeper-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.batch = batch
        self.listeners = list(listeners)
        self.max_retries = max_retries

    def run(self, now: _dt.datetime | None = None, *, limit: int | None = None) -> SweepReport:
        """Process every due SLA timer up to ``now`` (the engine clock's now by default), at
        most ``limit`` timers."""
        now = self.engine.clock.now() if now is None else now
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
            cases: dict[str, None] = {}
            for t in fresh:
                seen.add((t.case_id, t.name))
                if not t.name.startswith(TIMER_PREFIX):
                    continue  # another subsystem's timer; its lease lapses on its own
                report.timers += 1
                cases[t.case_id] = None
            for case_id in cases:  # one settlement per case handles all its due clocks
                self._settle_case(case_id, ctx)
            if len(claimed) < n:
                break
        return report

    def _settle_case(self, case_id: str, ctx: ActionContext) -> None:
        for _ in range(self.max_retries):
            try:
                case = self.engine.get(case_id)
                self.engine.registry.get(case.process, case.definition_version)
            except (CorruptRecord, UnknownProcess) as unreadable:
                # One bad row must not stop the sweep of every other case.
                ctx.report.skipped[case_id] = str(unreadable)
                return
            try:
                self._settle(case, ctx)
                ctx.report.cases += 1
                return
            except StaleVersion:
                ctx.report.retries += 1
        raise StaleVersion(
            f"case {case_id!r} kept changing during the sweep ({self.max_retries} tries); "
            "its timers stay due and the next sweep retries it",
            case_id=case_id, expected=-1, actual=None,
        )

    def _settle(self, case: Case, ctx: ActionContext) -> None:
        definition = self.engine.registry.get(case.process, case.definition_version)
        bound = self.sla.bind(definition)
        if bound is None:
            return
        policy = bound.policy
        now = to_us(ctx.now)
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
                        None if s.deadline is None else from_us(s.deadline).isoformat(),
                        "target": None if s.target is None else str(s.target)}
                if kind == "warning":
                    case = ctx.record(case, EventKind.CLOCK_WARNING, data,
                                      comment=f"{name} due soon")
                    ctx.report.warnings += 1
                    ctx.notify("warning", case, name, data)
                    case = policy.on_warning(ctx, case, self._view(bound, case, name, ctx))
                    states = self.sla.states(case)
                else:
                    case = ctx.record(case, EventKind.CLOCK_BREACHED, data,
                                      comment=f"{name} breached")
                    ctx.report.breaches += 1
                    ctx.notify("breach", case, name, data)
                    case = policy.on_breach(ctx, case, self._view(bound, case, name, ctx))
                    states = self.sla.states(case)
                acted = True
        if not acted:
            # A timer with nothing due (stale after a policy change): reset the case's timers
            # from its clocks, which also ends the lease.
            self.engine.store.set_timers(case.id, self.sla.timers_of(bound, case.id, states))

    def _view(self, bound: BoundPolicy, case: Case, name: str, ctx: ActionContext) -> ClockView:
        return self.sla._view(bound, self.sla.states(case)[name], to_us(ctx.now))


def sweep(engine: Engine, sla: SLA, now: _dt.datetime | None = None, *,
          limit: int | None = None, listeners: Sequence[Listener] = ()) -> SweepReport:
    """One sweep with a fresh :class:`Sweeper` (see there)."""
    return Sweeper(engine, sla, listeners=listeners).run(now, limit=limit)
