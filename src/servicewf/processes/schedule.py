"""Recurring obligations in the sweep: timers, reminders, met and missed periods.

:class:`Obligations` is both an engine :class:`~servicewf.engine.CaseProcessor` and a sweep
:class:`~servicewf.scheduler.TimerHandler`::

    obligations = Obligations()
    engine = Engine(store, clock, builtin_registry(), processors=[sla, obligations])
    Sweeper(engine, sla, handlers=[obligations]).run()

As a processor it folds every new event of an ``obligation`` case into a small state kept in
``case.extensions["obligation"]`` and gives the case one timer (``"obl:next"``): the next
instant the sweep has something to do. As a handler it settles that timer: it records an
``obligation_due`` event for every period that has ended (``status`` ``"met"`` or
``"missed"``) and, once per period, a ``"due_soon"`` reminder when the period is not met a
lead time before it ends.

Every period's outcome is recorded, met ones included, so a compliance report reads the
history alone, and the state stays small: it only keeps the periods not yet settled that
have a completion, the highest settled period and the highest reminded one. Everything is
decided from the ``now`` the sweep passes in, never from the wall clock.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf.case import Case
from servicewf.clock import as_utc
from servicewf.definition import ProcessDefinition
from servicewf.events import Event, EventKind
from servicewf.plain import freeze_trusted
from servicewf.processes.cadence import Cadence, period_bounds, period_index
from servicewf.processes.common import parse_instant
from servicewf.processes.obligation import NAME, ObligationError, obligation_start
from servicewf.storage.base import Store, Timer, replace_timers

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.scheduler import SweepContext

__all__ = [
    "DEFAULT_LEADS",
    "EXTENSION_KEY",
    "TIMER_NAME",
    "TIMER_PREFIX",
    "DueObligation",
    "ObligationState",
    "ObligationStatus",
    "Obligations",
]

TIMER_PREFIX = "obl:"
TIMER_NAME = "obl:next"
"""The one timer of an obligation case."""
EXTENSION_KEY = "obligation"

MET, MISSED, DUE_SOON = "met", "missed", "due_soon"

DEFAULT_LEADS: Mapping[Cadence, _dt.timedelta] = {
    Cadence.WEEKLY: _dt.timedelta(days=1),
    Cadence.TWICE_MONTHLY: _dt.timedelta(days=3),
    Cadence.MONTHLY: _dt.timedelta(days=5),
    Cadence.QUARTERLY: _dt.timedelta(days=14),
    Cadence.HALF_YEARLY: _dt.timedelta(days=30),
}
"""How long before a period ends an unmet obligation is reminded ("due soon")."""


@attrs.frozen
class ObligationState:
    """What :class:`Obligations` keeps in ``case.extensions["obligation"]``.

    ``settled`` is the highest period whose outcome is recorded (periods that were over when
    the obligation was opened count as settled: they were never owed); ``met`` the later
    periods that already have a completion; ``reminded`` the highest period with a due-soon
    reminder; ``ended_at`` when the obligation was ended (ISO instant). The counters count the
    recorded events.
    """

    settled: int
    met: tuple[int, ...] = ()
    reminded: int = -1
    ended_at: str | None = None
    met_count: int = 0
    missed_count: int = 0
    reminder_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"settled": self.settled, "met": list(self.met), "reminded": self.reminded,
                "ended_at": self.ended_at, "met_count": self.met_count,
                "missed_count": self.missed_count, "reminder_count": self.reminder_count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObligationState:
        """The inverse of :meth:`to_dict`."""
        return cls(int(data["settled"]), tuple(int(k) for k in data.get("met", ())),
                   int(data.get("reminded", -1)), data.get("ended_at"),
                   int(data.get("met_count", 0)), int(data.get("missed_count", 0)),
                   int(data.get("reminder_count", 0)))

    @property
    def ended(self) -> pendulum.DateTime | None:
        """``ended_at`` as an instant."""
        return None if self.ended_at is None else parse_instant(self.ended_at)


@attrs.frozen
class ObligationStatus:
    """Where an obligation stands at ``now`` (see :meth:`Obligations.status`).

    ``period``, ``period_start``, ``next_due`` describe the current period (``None`` once the
    obligation ended); ``reminder_at`` is when it is reminded if still unmet. ``missed`` are
    the due instants of missed periods: those the sweep has not recorded yet, preceded by the
    recorded ones when the history was given; ``met_count`` and ``missed_count`` count every
    period, recorded or not.
    """

    case_id: str
    kind: str
    subject: str
    cadence: Cadence
    now: pendulum.DateTime
    active: bool
    period: int | None
    period_start: pendulum.DateTime | None
    next_due: pendulum.DateTime | None
    current_met: bool
    reminder_at: pendulum.DateTime | None
    missed: tuple[pendulum.DateTime, ...]
    met_count: int
    missed_count: int


@attrs.frozen
class DueObligation:
    """An obligation whose current period ends within a horizon and is not met yet."""

    case_id: str
    process: str
    period: int
    due: pendulum.DateTime


@attrs.frozen
class _Plan:
    """An obligation's cadence, start and zone, parsed once per call."""

    cadence: Cadence
    start: _dt.date | pendulum.DateTime
    tz: str

    def bounds(self, k: int) -> tuple[pendulum.DateTime, pendulum.DateTime]:
        return period_bounds(self.cadence, self.start, k, tz=self.tz)

    def index(self, instant: _dt.datetime) -> int:
        return period_index(self.cadence, self.start, instant, tz=self.tz)

    def local(self, instant: pendulum.DateTime) -> str:
        return instant.in_timezone(self.tz).isoformat()


class Obligations:
    """Recurring obligations as an engine processor and a sweep handler.

    ``leads`` overrides :data:`DEFAULT_LEADS` per cadence (a zero lead turns the reminder
    off); ``processes`` names the processes handled (``"obligation"`` and any derived
    definition under another name). Cases of other processes are left alone.
    """

    timer_prefix = TIMER_PREFIX

    def __init__(
        self,
        leads: Mapping[Cadence | str, _dt.timedelta] | None = None,
        *,
        processes: Iterable[str] = (NAME,),
    ) -> None:
        merged = dict(DEFAULT_LEADS)
        for cadence, lead in (leads or {}).items():
            if lead < _dt.timedelta(0):
                raise ValueError(f"lead for {cadence} is negative ({lead}); give a duration "
                                 "of zero (no reminder) or more")
            merged[Cadence(cadence)] = lead
        self.leads: dict[Cadence, _dt.timedelta] = merged
        self.processes = frozenset(processes)

    # --- state ---------------------------------------------------------------------------

    @staticmethod
    def _plan(case: Case) -> _Plan:
        cadence, start, tz = obligation_start(case.data)
        return _Plan(cadence, start, tz)

    def state(self, case: Case) -> ObligationState:
        """The state stored with ``case`` (a fresh one when it has none yet)."""
        stored = case.extensions.get(EXTENSION_KEY)
        if stored:
            return ObligationState.from_dict(stored)
        return self._initial(self._plan(case), case.opened_at)

    @staticmethod
    def _initial(plan: _Plan, opened_at: _dt.datetime) -> ObligationState:
        # Periods that were over when the obligation was opened were never owed.
        return ObligationState(settled=max(-1, plan.index(opened_at) - 1))

    def fold(self, definition: ProcessDefinition, case: Case, events: Sequence[Event],
             prior: ObligationState | None = None, *, plan: _Plan | None = None
             ) -> ObligationState:
        """``prior`` (else the state of a case opened at ``case.opened_at``) with ``events``
        folded in. The same fold serves each command and a recomputation from the history."""
        plan = plan or self._plan(case)
        state = prior if prior is not None else self._initial(plan, case.opened_at)
        for e in events:
            if e.kind is EventKind.OPENED:
                state = self._initial(plan, e.at)
            elif e.kind is EventKind.TRANSITION:
                if definition.is_final(e.dest):
                    state = attrs.evolve(state, ended_at=as_utc(e.at).isoformat())
                elif e.trigger == "fulfil":
                    given = e.data.get("fulfilled_at")
                    when = e.at if given is None else parse_instant(given)
                    k = -1 if when is None else plan.index(when)
                    # A completion in a period already settled does not change its outcome;
                    # the fulfil event keeps it in the audit log.
                    if k > state.settled and k not in state.met:
                        state = attrs.evolve(state, met=tuple(sorted((*state.met, k))))
            elif e.kind is EventKind.OBLIGATION_DUE:
                state = self._fold_due(state, e.data)
        return state

    @staticmethod
    def _fold_due(state: ObligationState, data: Mapping[str, Any]) -> ObligationState:
        k = int(data["period"])
        status = data.get("status")
        if status in (MET, MISSED) and k > state.settled:
            return attrs.evolve(
                state, settled=k, met=tuple(m for m in state.met if m > k),
                met_count=state.met_count + (status == MET),
                missed_count=state.missed_count + (status == MISSED))
        if status == DUE_SOON and k > state.reminded:
            return attrs.evolve(state, reminded=k, reminder_count=state.reminder_count + 1)
        return state

    # --- the processor -------------------------------------------------------------------

    def process(
        self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
    ) -> tuple[Case, Sequence[Timer] | None]:
        """Fold ``events`` into the obligation's state and give its timer (CaseProcessor)."""
        if definition.name not in self.processes:
            return case, None
        stored = case.extensions.get(EXTENSION_KEY)
        prior = ObligationState.from_dict(stored) if stored else None
        plan = self._plan(case)
        state = self.fold(definition, case, events, prior, plan=plan)
        # Built here from checked values: frozen without a second check (see freeze_trusted).
        frozen = freeze_trusted(state.to_dict())
        case = attrs.evolve(case, extensions={**case.extensions, EXTENSION_KEY: frozen})
        return case, self.timers_of(case, state, plan=plan)

    def _next(self, plan: _Plan, state: ObligationState
              ) -> tuple[str, int, pendulum.DateTime, pendulum.DateTime] | None:
        """``(action, period, when, due)``: what the sweep does next, or ``None``."""
        k = state.settled + 1
        begin, due = plan.bounds(k)
        ended = state.ended
        if ended is not None:
            # Periods that ended before the obligation did are still settled; later ones
            # were never owed.
            return ("settle", k, due, due) if due <= ended else None
        lead = self.leads[plan.cadence]
        if lead and k not in state.met and state.reminded < k:
            remind = max(begin, due - lead)
            if remind < due:
                return DUE_SOON, k, remind, due
        return "settle", k, due, due

    def timers_of(self, case: Case, state: ObligationState, *, plan: _Plan | None = None
                  ) -> list[Timer]:
        """The case's ``obl:`` timer for ``state`` (none once ended and settled)."""
        plan = plan or self._plan(case)
        step = self._next(plan, state)
        if step is None:
            return []
        action, k, when, due = step
        return [Timer(case.id, TIMER_NAME, when, case.process,
                      {"action": action, "period": k, "due": plan.local(due),
                       "met": k in state.met})]

    # --- the sweep handler ---------------------------------------------------------------

    def settle(self, ctx: SweepContext, case: Case) -> bool:
        """Record what is due at ``ctx.now`` on ``case`` (TimerHandler): the outcome of every
        period that has ended and is not settled yet, then a due-soon reminder for the
        current period if it is unmet, not reminded yet, and within its lead. Decides from
        the case as given, so a retry after a lost race records nothing twice."""
        engine = ctx.engine
        if case.process not in self.processes:
            self._reset_timers(engine.store, case, [])
            return False
        if self not in engine.processors:
            raise ValueError("these Obligations are not a processor of the engine; pass "
                             "processors=[..., obligations] to Engine()")
        try:
            plan = self._plan(case)
        except ObligationError as exc:
            ctx.report.skipped[case.id] = str(exc)
            return False
        now = as_utc(ctx.now)
        kind = str(case.data.get("kind", ""))
        acted = False
        state = self.state(case)
        while True:
            k = state.settled + 1
            begin, due = plan.bounds(k)
            ended = state.ended
            if due > now or (ended is not None and due > ended):
                break
            status = MET if k in state.met else MISSED
            data = {"period": k, "start": plan.local(begin), "due": plan.local(due),
                    "status": status}
            case = ctx.record(case, EventKind.OBLIGATION_DUE, data,
                              comment=f"period {k} ({data['start']} to {data['due']}) {status}")
            after = self.state(case)
            if after.settled < k:  # the fold must have moved on, or this would loop
                raise RuntimeError(f"obligation {case.id!r}: period {k} was recorded but not "
                                   "settled; is this Obligations the engine's processor?")
            state = after
            acted = True
            ctx.report.count(f"obligation_{status}")
            if status == MISSED:
                ctx.notify("obligation_missed", case, kind, data)
        step = self._next(plan, state)
        if step is not None and step[0] == DUE_SOON and step[2] <= now < step[3]:
            k = step[1]
            begin, due = plan.bounds(k)
            data = {"period": k, "start": plan.local(begin), "due": plan.local(due),
                    "status": DUE_SOON}
            case = ctx.record(case, EventKind.OBLIGATION_DUE, data,
                              comment=f"period {k} due {data['due']}, not met yet")
            acted = True
            ctx.report.count("obligation_due_soon")
            ctx.notify("obligation_due_soon", case, kind, data)
        if not acted:
            self._reset_timers(engine.store, case, self.timers_of(case, state, plan=plan))
        return acted

    @staticmethod
    def _reset_timers(store: Store, case: Case, mine: Sequence[Timer]) -> None:
        replace_timers(store, case.id, TIMER_PREFIX, mine)

    # --- queries -------------------------------------------------------------------------

    def status(self, case: Case, now: _dt.datetime,
               history: Sequence[Event] | None = None) -> ObligationStatus:
        """Where the obligation ``case`` stands at ``now``, from its stored state (periods
        the sweep has not settled yet are judged from the completions it knows). With
        ``history`` (``engine.history(case.id)``), ``missed`` also lists the recorded
        misses."""
        plan = self._plan(case)
        state = self.state(case)
        at = as_utc(now)
        ended = state.ended
        horizon = at if ended is None else min(at, ended)
        # Periods that are over at the horizon and not settled yet: judged here.
        last_closed = plan.index(horizon) - 1
        pending_met = pending_missed = 0
        pending: list[pendulum.DateTime] = []
        for k in range(state.settled + 1, last_closed + 1):
            if k in state.met:
                pending_met += 1
            else:
                pending_missed += 1
                pending.append(plan.bounds(k)[1])
        recorded: list[pendulum.DateTime] = []
        if history is not None:
            for e in history:
                if e.kind is EventKind.OBLIGATION_DUE and e.data.get("status") == MISSED:
                    when = parse_instant(e.data.get("due"))
                    if when is not None:
                        recorded.append(as_utc(when))
        period = period_start = next_due = reminder = None
        current_met = False
        if ended is None:
            period = max(0, plan.index(at))
            period_start, next_due = plan.bounds(period)
            current_met = period in state.met
            lead = self.leads[plan.cadence]
            if lead:
                reminder = max(period_start, next_due - lead)
        return ObligationStatus(
            case.id, str(case.data.get("kind", "")), str(case.data.get("subject", "")),
            plan.cadence, at, ended is None, period, period_start, next_due, current_met,
            reminder, (*recorded, *pending), state.met_count + pending_met,
            state.missed_count + pending_missed)

    @staticmethod
    def due_within(store: Store, now: _dt.datetime, within: _dt.timedelta) -> list[DueObligation]:
        """Obligations whose current period ends at or before ``now + within`` and is not met
        (overdue ones the sweep has not settled included), soonest first, from the timers."""
        horizon = as_utc(now) + within
        out: list[DueObligation] = []
        for t in store.due_timers(horizon):
            if not t.name.startswith(TIMER_PREFIX) or t.payload.get("met"):
                continue
            due = parse_instant(t.payload.get("due"))
            if due is not None and due <= horizon:
                out.append(DueObligation(t.case_id, t.process, int(t.payload["period"]),
                                         as_utc(due)))
        out.sort(key=lambda d: (d.due, d.case_id))
        return out

    def recompute(self, engine: Engine, case: Case | str) -> ObligationState:
        """The state of a stored obligation recomputed from its whole history."""
        current = engine.get(case) if isinstance(case, str) else case
        definition = engine.registry.get(current.process, current.definition_version)
        return self.fold(definition, current, engine.history(current.id))
