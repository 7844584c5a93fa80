"""The clocks as a pure fold over a case's history.

:class:`BoundPolicy` is a policy compiled for one definition and one set of calendars: it
knows, per (state entered, state left, trigger), which clocks react, so the per-event cost of
a history replay is a dictionary lookup for most events. The processor and :func:`recompute`
run the very same :meth:`BoundPolicy.apply`, which is why the incrementally maintained state
always equals a recomputation.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

import pendulum

from servicewf._trusted import trusted_constructor
from servicewf.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from servicewf.clock import epoch_us
from servicewf.definition import ProcessDefinition
from servicewf.errors import GoalUndefined, InvalidPolicy
from servicewf.events import Event, EventKind
from servicewf.sla.measure import ABSOLUTE, CalendarMeasure
from servicewf.sla.policy import Policy
from servicewf.sla.spec import (
    MISSING,
    ClockSpec,
    DueField,
    GoalTable,
    Measure,
    On,
    Target,
    target_from_dict,
)
from servicewf.sla.state import (
    BREACHED,
    CANCELLED,
    IDLE,
    MET,
    NO_GOAL,
    PAUSED,
    RUNNING,
    STOPPED,
    TOO_EARLY,
    ClockState,
    ClockStates,
    Cycle,
)

__all__ = ["BUILTIN_CALENDARS", "CASE_CALENDAR", "BoundPolicy", "recompute"]

CASE_CALENDAR = "case"
"""The calendar name a clock gives to use the case's own calendar (``Policy.case_calendar``)."""

BUILTIN_CALENDARS: Mapping[str, BusinessCalendar] = {"24x7": TWENTY_FOUR_SEVEN}
"""Calendars every policy may name without supplying them."""

_OPENED = EventKind.OPENED
_TRANSITION = EventKind.TRANSITION
_WARNING = EventKind.CLOCK_WARNING
_BREACHED = EventKind.CLOCK_BREACHED
_EXTENDED = EventKind.CLOCK_EXTENDED
_ESCALATED = EventKind.ESCALATED

# Which conditions of a clock an event matches (bit flags, precomputed per event key).
_START, _STOP, _CANCEL, _REOPEN, _PAUSE, _RESUME = 1, 2, 4, 8, 16, 32
_PAUSE_STATE_CHANGE = 64  # enters or leaves one of the clock's pause states
_IN_PAUSE_STATE = 128  # the case ends the event in one of them


class _Cond:
    """An :class:`On` as three frozensets (``None`` is never a member)."""

    __slots__ = ("enter", "leave", "trigger")

    def __init__(self, on: On | None) -> None:
        self.enter = frozenset(on.enter) if on else frozenset()
        self.leave = frozenset(on.leave) if on else frozenset()
        self.trigger = frozenset(on.trigger) if on else frozenset()

    def __call__(self, entering: str | None, leaving: str | None, trig: str | None) -> bool:
        return entering in self.enter or leaving in self.leave or trig in self.trigger


class _Clock:
    """A clock spec compiled: conditions as sets, its measures resolved."""

    __slots__ = ("alert", "cancel", "case_calendar", "data_conds", "dynamic", "earliest",
                 "index", "m", "m_cal", "pause", "pause_in", "reopen", "resume", "spec", "start",
                 "static", "stop")

    def __init__(self, index: int, spec: ClockSpec, m_cal: Measure) -> None:
        self.index = index
        self.spec = spec
        self.m_cal = m_cal
        self.m: Measure = ABSOLUTE if spec.absolute else m_cal
        self.case_calendar = spec.calendar == CASE_CALENDAR
        self.earliest = spec.earliest
        self.start = _Cond(spec.start)
        self.stop = _Cond(spec.stop)
        self.cancel = _Cond(spec.cancel)
        self.reopen = _Cond(spec.reopen)
        self.pause = _Cond(spec.pause)
        self.resume = _Cond(spec.resume)
        self.pause_in = frozenset(spec.pause_in)
        self.dynamic = False
        self.static: Target | None = None  # set when no data can change the target
        self.alert = spec.warn is not None and spec.warn.business_hours_only
        self.data_conds = tuple(
            (bit, fc)
            for bit, on in ((_START, spec.start), (_STOP, spec.stop), (_CANCEL, spec.cancel),
                            (_REOPEN, spec.reopen), (_PAUSE, spec.pause),
                            (_RESUME, spec.resume))
            if on is not None
            for fc in on.data)


# A clock's mutable state during a fold is a plain list of its ClockState's fields (``_Run``):
# thawing is ``list(state)`` and freezing ``tuple.__new__(ClockState, run)``, both in C, where
# an object with 23 attributes cost a Python-level copy in and out per touched clock.
# ``adjustments`` and ``past`` stay tuples (rarely appended to), so freezing copies nothing.
_Run: TypeAlias = "list[Any]"  # in ClockState field order
_FIELDS = ClockState._fields
_CYCLE = _FIELDS.index("cycle")
_STATUS = _FIELDS.index("status")
_OUTCOME = _FIELDS.index("outcome")
_STARTED = _FIELDS.index("started")
_TARGET = _FIELDS.index("target")
_BASE = _FIELDS.index("base")
_DEADLINE = _FIELDS.index("deadline")
_EARLIEST = _FIELDS.index("earliest")
_PAUSED = _FIELDS.index("paused")
_PAUSE_SINCE = _FIELDS.index("pause_since")
_HELD = _FIELDS.index("held")
_STOPPED = _FIELDS.index("stopped")
_WARNED = _FIELDS.index("warned")
_IS_BREACHED = _FIELDS.index("breached")
_BREACH_RECORDED = _FIELDS.index("breach_recorded")
_EARLY_ATTEMPTS = _FIELDS.index("early_attempts")
_EXTENSIONS = _FIELDS.index("extensions")
_ADJUSTMENTS = _FIELDS.index("adjustments")
_PAST = _FIELDS.index("past")
_PAUSED_CAL = _FIELDS.index("paused_calendar")
_PAUSED_BUS = _FIELDS.index("paused_business")
_CAL = _FIELDS.index("calendar")
# What _start writes: every field after the name, in this order.
_NEW_CYCLE_FIELDS = (
    "cycle", "status", "outcome", "started", "target", "base", "deadline", "earliest",
    "paused", "pause_since", "held", "stopped", "warned", "breached", "breach_recorded",
    "early_attempts", "extensions", "adjustments", "past", "paused_calendar",
    "paused_business", "calendar")
if _FIELDS[1:] != _NEW_CYCLE_FIELDS:  # pragma: no cover - a changed ClockState
    raise ImportError("ClockState's fields changed: update _NEW_CYCLE_FIELDS and _start")
# How one clock reacts to one event: (handler, clock, its index, flags, the statuses in
# which it changes nothing); the handler is BoundPolicy._clock_event, or for an event that
# only starts or only stops the clock (most) _start or _stop themselves, which do what
# _clock_event would (see _handler, _idle).
_Handler: TypeAlias = "Callable[[BoundPolicy, _Clock, _Run, int, int, _Fold], object]"
_Hits: TypeAlias = "tuple[tuple[_Handler, _Clock, int, int, frozenset[str]], ...]"
_new_state = tuple.__new__
_DateTime = pendulum.DateTime
_UTC = pendulum.UTC
_name_of = operator.itemgetter(_FIELDS.index("name"))
_new_states = trusted_constructor(ClockStates)


class _Fold:
    """The whole mutable fold state of one case.

    The case data is merged only when something reads it (:meth:`data`: a clock starting on
    a goal or calendar chosen by data, a retarget, an escalation): most events' data is read
    by nothing, and merging a read-only mapping into a dict goes key by key in Python's
    generic way. ``pending`` holds the events' data in order; merged in that order into a
    copy of the data before them, it gives what updating a dict event by event gave.
    """

    __slots__ = ("_merged", "base", "changed", "origs", "pending", "runs", "seen", "state",
                 "tier")

    def __init__(self, origs: Sequence[ClockState], state: str | None, tier: str | None,
                 data: Mapping[str, Any], seen: dict[str, Any] | None = None) -> None:
        # A clock stays its ClockState in ``runs`` until an event touches it; ``origs`` keeps
        # the states the fold began with, so an unchanged clock freezes to the same object.
        self.origs = origs
        self.runs: list[_Run | ClockState] = list(origs)
        self.state = state
        self.tier = tier
        self.base = data
        self.pending: list[Mapping[str, Any]] = []
        self._merged: dict[str, Any] | None = None
        self.seen = seen if seen is not None else {}  # condition fields' last values
        self.changed: list[int] = []  # positions of the clocks _freeze found changed

    def data(self) -> dict[str, Any]:
        """The case data as the events so far left it (one dict, updated in place)."""
        merged = self._merged
        if merged is None:
            merged = self._merged = dict(self.base)
        pending = self.pending
        if pending:
            for d in pending:
                merged.update(d)
            pending.clear()
        return merged


def _until(events: Iterable[Event], until: int) -> Iterator[Event]:
    """``events`` up to the first one after ``until`` (epoch µs)."""
    for e in events:
        if epoch_us(e.at) > until:
            return
        yield e


def _idle(flags: int) -> frozenset[str]:
    """The statuses of a cycle in which the reaction to an event with ``flags`` (by
    _handler's handler) changes nothing of it, whatever its other fields: a running or
    paused cycle reacts only to a stop, cancel, resume, pause or pause-state change; a
    stopped one to a reopening or a start, an idle one to a start (see _clock_event, _start,
    _stop). Statuses named nowhere here (a decoded value's) always go to the handler."""
    only = flags & ~_IN_PAUSE_STATE
    if only == _START:
        return frozenset((RUNNING, PAUSED))
    if only == _STOP:
        return frozenset((IDLE, STOPPED))
    idle = set()
    if not flags & (_STOP | _CANCEL | _RESUME | _PAUSE | _PAUSE_STATE_CHANGE):
        idle |= {RUNNING, PAUSED}
    if not flags & (_REOPEN | _START):
        idle |= {IDLE, STOPPED}
    return frozenset(idle)


def _handler(flags: int) -> _Handler:
    """What runs a clock's reaction to an event with ``flags``: _start or _stop when the
    event only starts or only stops it (they check the status as _clock_event does), so most
    reactions are one call."""
    only = flags & ~_IN_PAUSE_STATE
    if only == _START:
        return BoundPolicy._start
    if only == _STOP:
        return BoundPolicy._stop
    return BoundPolicy._clock_event


class BoundPolicy:
    """A policy compiled for one definition and a set of named calendars.

    Binding validates that every state and trigger the policy names exists in the definition
    and that every calendar it names is supplied (``InvalidPolicy`` lists every problem).
    """

    def __init__(
        self,
        policy: Policy,
        definition: ProcessDefinition,
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        cals = {**BUILTIN_CALENDARS, **(calendars or {})}
        problems = policy.problems_with(definition)
        named: set[str] = set()
        for c in policy.enabled:
            choice = policy.case_calendar_of(c) if c.calendar == CASE_CALENDAR else None
            if choice is not None:
                named |= choice.names()
        for name in sorted(named - set(cals)):
            problems.append(
                f"case_calendar names calendar {name!r}, which was not supplied "
                f"(supplied: {', '.join(sorted(cals))})")
        for c in policy.enabled:
            if c.calendar == CASE_CALENDAR and policy.case_calendar_of(c) is not None:
                continue
            if c.calendar not in cals:
                problems.append(
                    f"clock {c.name!r} names calendar {c.calendar!r}, which was not supplied "
                    f"(supplied: {', '.join(sorted(cals))})"
                )
        if problems:
            raise InvalidPolicy(
                f"SLA policy {policy.name!r} does not fit {definition.name} "
                f"v{definition.version}: " + "; ".join(problems)
            )
        self.policy = policy
        self.definition = definition
        self.calendars = cals
        measures: dict[str, CalendarMeasure] = {}
        self._measures = measures
        self.clocks: list[_Clock] = []
        self.by_name: dict[str, _Clock] = {}
        self.key_map: dict[str, list[int]] = {}
        self.any_data: list[int] = []
        for i, spec in enumerate(policy.enabled):
            # A clock on the case's calendar is compiled with the default one (or 24×7); each
            # cycle resolves its own (``_CAL`` of its run).
            name = spec.calendar
            choice = policy.case_calendar_of(spec) if name == CASE_CALENDAR else None
            if choice is not None:
                name = choice.default or "24x7"
            clock = _Clock(i, spec, self.measure(name))
            keys = policy.target_keys(spec)
            if keys is None:
                self.any_data.append(i)
                clock.dynamic = True
            elif keys:
                clock.dynamic = True
                for k in keys:
                    self.key_map.setdefault(k, []).append(i)
            if (not clock.dynamic and not isinstance(spec.target, (GoalTable, DueField))
                    and type(policy).select_target is Policy.select_target):
                clock.static = spec.target
            self.clocks.append(clock)
            self.by_name[spec.name] = clock
        self.escalate_triggers = frozenset(policy.escalate_triggers)
        # Extension transitions of this definition (a preset may name triggers a trimmed
        # definition lacks; those are ignored).
        self.extend_triggers = frozenset(
            t for t, _ in policy.extend_triggers if t in definition.triggers)
        self._empty = self.empty()
        self._special_triggers = self.extend_triggers | self.escalate_triggers
        self._key_set = frozenset(self.key_map)
        self._data_clocks = tuple(c for c in self.clocks if c.data_conds)
        self._cond_fields = frozenset(fc.field for c in self._data_clocks
                                      for _, fc in c.data_conds)
        self._names = tuple(c.spec.name for c in self.clocks)
        # Nothing reads an event's data as it is written (no data condition, no goal chosen
        # by data): _run then only queues it (what _written would do), without the call.
        self._plain_writes = not self._cond_fields and not self.any_data and not self._key_set
        self._hits: dict[tuple[str | None, str, str | None], _Hits] = {}
        self._next_cache: dict[int, tuple[ClockState, tuple[str, int] | None]] = {}

    def measure(self, calendar: str) -> CalendarMeasure:
        """The (shared) measure of calendar ``calendar``."""
        m = self._measures.get(calendar)
        if m is None:
            m = self._measures[calendar] = CalendarMeasure(self.calendars[calendar])
        return m

    def measures_of(self, clock: str, state: ClockState) -> tuple[Measure, Measure]:
        """``(measure, calendar measure)`` of a clock's cycle (its own calendar, or the case
        calendar the cycle started on)."""
        c = self.by_name[clock]
        return self._ms(c, state.calendar)

    def _ms(self, c: _Clock, cal: str | None) -> tuple[Measure, Measure]:
        if cal is None or c.spec.calendar != CASE_CALENDAR:
            return c.m, c.m_cal
        m_cal = self.measure(cal)
        return (ABSOLUTE if c.spec.absolute else m_cal), m_cal

    def _calendar_of(self, c: _Clock, data: Mapping[str, Any]) -> str | None:
        if c.spec.calendar != CASE_CALENDAR:
            return None
        name = self.policy.calendar_for(c.spec, data)
        if name not in self.calendars:
            choice = self.policy.case_calendar_of(c.spec)
            default = choice.default if choice is not None else None
            if default is None:
                raise GoalUndefined(
                    f"clock {c.spec.name!r} of policy {self.policy.name!r}: the case names a "
                    "calendar the SLA was not given; supply a known calendar name, or give "
                    "the CaseCalendar a default")
            name = default
        return name

    def timezone_of(self, clock: str, state: ClockState) -> str:
        """The zone a clock's instants are shown in."""
        c = self.by_name[clock]
        cal = state.calendar if state.calendar is not None else (
            c.spec.calendar if c.spec.calendar in self.calendars else None)
        if cal is None:
            return c.m_cal.calendar.timezone if isinstance(c.m_cal, CalendarMeasure) else "UTC"
        return self.calendars[cal].timezone

    # --- state in and out ------------------------------------------------------------------

    def empty(self) -> ClockStates:
        """The state of a case before its first event."""
        return ClockStates(self.policy.name, None, None,
                           tuple(ClockState(c.spec.name) for c in self.clocks))

    def _thaw(self, states: ClockStates, data: Mapping[str, Any]) -> _Fold:
        clocks = states.clocks
        # The names in one C-level pass (a fold's own output is in policy order: the common
        # case); otherwise matched by name.
        if tuple(map(_name_of, clocks)) == self._names:
            origs: Sequence[ClockState] = clocks
        else:
            by_name = {c.name: c for c in clocks}
            origs = [by_name.get(c.spec.name) or ClockState(c.spec.name) for c in self.clocks]
        return _Fold(origs, states.state, states.tier, data, dict(states.fields))

    def _freeze(self, fold: _Fold) -> ClockStates:
        clocks = list(fold.origs)
        changed = fold.changed
        for i, r in enumerate(fold.runs):
            if type(r) is not ClockState:
                new: ClockState = _new_state(ClockState, r)
                # Most events touch few clocks: keeping the unchanged ones as the same objects
                # lets the processor reuse their plain data and timers (identity caches).
                if new != clocks[i]:
                    clocks[i] = new
                    changed.append(i)
        # ``seen`` is the fold's own new dict: the converter's copy would only repeat it.
        return _new_states(self.policy.name, fold.state, fold.tier, tuple(clocks), fold.seen)

    @staticmethod
    def _touch(fold: _Fold, i: int) -> _Run:
        """The mutable run of clock ``i``: a clock stays its frozen state until an event
        touches it (most events touch few clocks)."""
        r = fold.runs[i]
        if type(r) is ClockState:
            r = fold.runs[i] = list(r)
        return r  # type: ignore[return-value]

    # --- the fold --------------------------------------------------------------------------

    def fold(
        self,
        events: Iterable[Event],
        states: ClockStates | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        until: int | None = None,
    ) -> ClockStates:
        """Apply ``events`` to ``states`` (the empty state when ``None``).

        ``data`` is the case data before the events (accumulated from them when replaying a
        whole history). Events after ``until`` (epoch µs) are ignored.
        """
        if states is None:
            fold = _Fold(self._empty.clocks, None, None, data or {})
        else:
            fold = self._thaw(states, data or {})
        if until is None:
            self._run(fold, events)
        else:
            self._run(fold, _until(events, until))
        return self._freeze(fold)

    def fold_changed(
        self, events: Iterable[Event], states: ClockStates, *, data: Mapping[str, Any]
    ) -> tuple[ClockStates, list[int] | None]:
        """:meth:`fold` of ``events`` over ``states``, and the positions of the clocks it
        changed: every other clock of the result is the very object of ``states`` at the same
        position (``None`` when ``states`` is not in this binding's clock order, so positions
        do not correspond)."""
        fold = self._thaw(states, data)
        self._run(fold, events)
        out = self._freeze(fold)
        return out, (fold.changed if fold.origs is states.clocks else None)

    def _run(self, fold: _Fold, events: Iterable[Event]) -> None:
        """Apply ``events`` to ``fold``.

        The per-event step is written out here with the binding's constants as locals (not a
        method per event reading them from ``self``): most events touch no clock, so this
        loop is what a history replay pays per event, and it runs once per event of every
        recomputation. It does what ``fold_reference.py`` (tests/sla) did event by event, in
        the same order: the data's condition fields, the clocks' reactions, a re-selected
        goal, an extension, an escalation; ``test_fold_reference.py`` compares the two.
        """
        hits = self._hits
        special = self._special_triggers
        runs = fold.runs
        state = fold.state
        plain_writes = self._plain_writes
        pending = fold.pending  # (one list for the fold's life: data() clears it in place)
        for e in events:
            kind = e.kind
            if kind is not _TRANSITION and kind is not _OPENED:
                self._recorded(fold, e)
                continue
            trig = e.trigger
            state = e.dest
            try:
                reacting = hits[e.source, state, trig]
            except KeyError:
                reacting = self._reacting(e.source, state, trig)
            data = e.data
            if data and not plain_writes:
                self._written(fold, e, reacting, data, state)
            elif reacting:
                if data:
                    pending.append(data)  # _written's only step for such a binding
                # _react, written out: a call less per event that moves a clock. A clock
                # in a status its reaction does not change is passed over (most reactions
                # of an import: a reopening trigger while the clock runs, a stop once it
                # stopped), and the instant converted only for a clock that reacts.
                at = None
                for handler, c, i, flags, idle in reacting:
                    r = runs[i]  # thawed here rather than by _touch: a call less
                    if r[_STATUS] in idle:
                        continue
                    if at is None:
                        at = epoch_us(e.at)
                    if type(r) is ClockState:
                        r = runs[i] = list(r)
                    handler(self, c, r, at, flags, fold)  # type: ignore[arg-type]
                if at is None:
                    moment = e.at
                    if type(moment) is not _DateTime or moment.tzinfo is not _UTC:
                        # Converted all the same (it may refuse the instant, as it would
                        # have); a pendulum UTC instant always converts.
                        epoch_us(moment)
            elif data:
                pending.append(data)
            if trig in special:
                self._special(fold, trig, data)
        fold.state = state

    def _written(self, fold: _Fold, e: Event, reacting: _Hits, data: Mapping[str, Any],
                 dest: str) -> None:
        """The rest of a transition that writes ``data``: the clocks whose data conditions it
        matches react too, and the goals that depend on it are selected again."""
        # (An empty set is tested first: isdisjoint walks every key of the data.)
        if self._cond_fields and not self._cond_fields.isdisjoint(data):
            reacting = self._with_data(fold, reacting, data, dest)
        fold.pending.append(data)
        at = None
        if reacting:
            # The instant is converted only when a clock reacts.
            at = epoch_us(e.at)
            self._react(fold, reacting, at)
        if self.any_data or (self._key_set and not self._key_set.isdisjoint(data)):
            self._retarget(fold, data, at, e)

    def _react(self, fold: _Fold, reacting: _Hits, at: int) -> None:
        runs = fold.runs
        for handler, c, i, flags, _ in reacting:
            r = runs[i]
            if type(r) is ClockState:
                r = runs[i] = list(r)
            handler(self, c, r, at, flags, fold)  # type: ignore[arg-type]

    def _reacting(self, source: str | None, dest: str, trig: str | None) -> _Hits:
        """The clocks a (source, dest, trigger) event touches, with which of their conditions
        match (bit flags), computed once per distinct key."""
        moved = source != dest
        entering = dest if moved else None
        leaving = source if moved else None
        out: list[tuple[_Handler, _Clock, int, int, frozenset[str]]] = []
        for c in self.clocks:
            flags = 0
            for bit, cond in ((_START, c.start), (_STOP, c.stop), (_CANCEL, c.cancel),
                              (_REOPEN, c.reopen), (_PAUSE, c.pause), (_RESUME, c.resume)):
                if cond(entering, leaving, trig):
                    flags |= bit
            if entering in c.pause_in or leaving in c.pause_in:
                flags |= _PAUSE_STATE_CHANGE
            if flags:
                if dest in c.pause_in:
                    flags |= _IN_PAUSE_STATE
                out.append((_handler(flags), c, c.index, flags, _idle(flags)))
        found = tuple(out)
        self._hits[(source, dest, trig)] = found
        return found

    def _recorded(self, fold: _Fold, e: Event) -> None:
        """An event that moves no state: a recorded warning, breach, extension, escalation."""
        kind = e.kind
        if kind is _WARNING or kind is _BREACHED or kind is _EXTENDED:
            clock = self.by_name.get(e.data.get("clock", ""))
            if clock is None:
                return
            run = self._touch(fold, clock.index)
            if e.data.get("cycle", run[_CYCLE]) != run[_CYCLE]:
                return  # a late event of an earlier cycle does not touch this one
            if kind is _WARNING:
                run[_WARNED] = True
            elif kind is _BREACHED:
                run[_IS_BREACHED] = True
                run[_BREACH_RECORDED] = True
            elif run[_STATUS] == RUNNING or run[_STATUS] == PAUSED:
                # As for an extend transition: a stopped cycle's deadline was the one judged.
                self._extend(clock, run, target_from_dict(e.data["by"]))
            return
        if kind is _ESCALATED:
            tier = e.data.get("tier")
            if tier is not None:
                fold.tier = str(tier)

    def _special(self, fold: _Fold, trig: str, data: Mapping[str, Any]) -> None:
        """A transition whose trigger extends a clock or escalates the case (or both)."""
        if trig in self.extend_triggers:
            self._extend_by_transition(fold, trig, data)
        if trig in self.escalate_triggers:
            named = data.get("tier")
            if named is not None:
                fold.tier = str(named)
            else:
                current = fold.tier or self.policy.initial_tier(fold.data())
                fold.tier = self.policy.next_tier(current) or current

    def _with_data(self, fold: _Fold, reacting: _Hits, data: Mapping[str, Any],
                   dest: str) -> _Hits:
        """``reacting`` plus the clocks whose data conditions the event's writes match; the
        condition fields' values are remembered for the next event's ``changed``."""
        # The values before the event, as the fold saw them (the processor's case data is
        # already the data after the command).
        seen = fold.seen
        cond_fields = self._cond_fields
        before: dict[str, Any] = {}
        for k in data:
            if k in cond_fields:
                before[k] = seen.get(k, MISSING)
                seen[k] = data[k]
        extra: dict[int, int] = {}
        for c in self._data_clocks:
            flags = 0
            for bit, fc in c.data_conds:
                f = fc.field
                if f in before and fc.matches(data[f], before[f]):
                    flags |= bit
            if flags:
                extra[c.index] = flags
        if not extra:
            return reacting
        merged = {i: flags for _, _, i, flags, _ in reacting}
        for i, flags in extra.items():
            if dest in self.clocks[i].pause_in:
                flags |= _IN_PAUSE_STATE
            merged[i] = merged.get(i, 0) | flags
        return tuple((_handler(merged[i]), self.clocks[i], i, merged[i], _idle(merged[i]))
                     for i in sorted(merged))

    def extension_of(self, trigger: str, data: Mapping[str, Any]) -> tuple[str, Target] | None:
        """The ``(clock, target)`` an extension transition makes (``None``: none, or a clock
        this binding does not run). Raises ``InvalidPolicy`` for data the policy cannot read."""
        if trigger not in self.extend_triggers:
            return None
        found = self.policy.extension_from(trigger, data)
        if found is None or found[0] not in self.by_name:
            return None
        return found

    def _extend_by_transition(self, fold: _Fold, trigger: str, data: Mapping[str, Any]) -> None:
        try:
            found = self.extension_of(trigger, data)
        except InvalidPolicy:
            return  # the processor refuses such a command; an old history just lacks it
        if found is None:
            return
        clock = self.by_name[found[0]]
        run = self._touch(fold, clock.index)
        if run[_STATUS] == RUNNING or run[_STATUS] == PAUSED:
            self._extend(clock, run, found[1])

    def _extend(self, clock: _Clock, run: _Run, by: Target) -> None:
        run[_ADJUSTMENTS] += (by,)
        run[_EXTENSIONS] += 1
        if run[_DEADLINE] is not None:
            m = clock.m if run[_CAL] is None else self._ms(clock, run[_CAL])[0]
            run[_DEADLINE] = by.extend(m, run[_DEADLINE])

    def _clock_event(self, c: _Clock, run: _Run, at: int, flags: int, fold: _Fold) -> None:
        status = run[_STATUS]
        if status in (RUNNING, PAUSED):
            if flags & _STOP and self._stop(c, run, at, flags, fold):
                if flags & _START:
                    # Stop and start on one event: a recurring obligation (a progress update
                    # every N hours) whose next cycle begins where this one was met.
                    self._start(c, run, at, flags, fold)
                return
            if flags & _CANCEL:
                self._close_pause(c, run, at)
                run[_STATUS] = STOPPED
                run[_OUTCOME] = CANCELLED
                run[_STOPPED] = at
                return
            if flags & _RESUME:
                run[_HELD] = False
            if flags & _PAUSE:
                run[_HELD] = True
            if flags & (_RESUME | _PAUSE | _PAUSE_STATE_CHANGE):
                self._set_paused(c, run, at, run[_HELD] or bool(flags & _IN_PAUSE_STATE))
            return
        if status == STOPPED and run[_OUTCOME] != CANCELLED and flags & _REOPEN:
            since = run[_STOPPED] if run[_STOPPED] is not None else at
            self._paused_between(c, run, since, at)
            run[_STATUS] = RUNNING
            run[_OUTCOME] = None
            run[_STOPPED] = None
            run[_HELD] = False
            self._set_paused(c, run, at, bool(flags & _IN_PAUSE_STATE))
            return
        if flags & _START:
            self._start(c, run, at, flags, fold)

    def _start(self, c: _Clock, run: _Run, at: int, flags: int, fold: _Fold) -> None:
        """Start a new cycle at ``at`` (in a pause state when ``flags`` says so); a running or
        paused cycle goes on (as _clock_event does for an event that only starts)."""
        status = run[_STATUS]
        if status in (RUNNING, PAUSED):
            return
        in_pause = flags & _IN_PAUSE_STATE
        past = run[_PAST]
        if status == STOPPED:
            past += (self._record(c, run, at),)
        # The data only when the calendar or the goal depends on it (see _Fold).
        if c.case_calendar:
            cal = self._calendar_of(c, fold.data())
            m, m_cal = (c.m, c.m_cal) if cal is None else self._ms(c, cal)
        else:
            cal, m, m_cal = None, c.m, c.m_cal
        target = c.static if c.static is not None else self.policy.select_target(
            c.spec, fold.data())
        deadline = None if target is None else target.apply(m, at)
        earliest = c.earliest
        # A new cycle: every field but the name, the cycle number and the past set at once
        # (one slice assignment in ClockState field order, checked at import against
        # _NEW_CYCLE_FIELDS) rather than field by field.
        run[1:] = (
            run[_CYCLE] + 1, PAUSED if in_pause else RUNNING, None, at, target,
            deadline, deadline,
            None if earliest is None else earliest.apply(
                ABSOLUTE if earliest.absolute else m_cal, at),
            0, at if in_pause else None, False, None, False, False, False, 0, 0, (), past,
            0, 0, cal)

    def _record(self, c: _Clock, run: _Run, at: int) -> Cycle:
        """The record of the finished cycle of ``run``."""
        started = run[_STARTED] if run[_STARTED] is not None else at
        stopped = run[_STOPPED]
        elapsed_cal = elapsed_bus = None
        if stopped is not None:
            m_cal = c.m_cal if run[_CAL] is None else self._ms(c, run[_CAL])[1]
            elapsed_cal = stopped - started - run[_PAUSED_CAL]
            elapsed_bus = m_cal.working(started, stopped) - run[_PAUSED_BUS]
        return Cycle(run[_CYCLE], started, stopped, run[_DEADLINE], run[_OUTCOME],
                     run[_IS_BREACHED], elapsed_cal, elapsed_bus, run[_PAUSED_CAL],
                     run[_PAUSED_BUS])

    def _stop(self, c: _Clock, run: _Run, at: int, flags: int, fold: _Fold) -> bool:
        """Stop the cycle at ``at``; ``False`` when an early stop is ignored, or when no cycle
        runs (as _clock_event does for an event that only stops)."""
        status = run[_STATUS]
        if status != RUNNING and status != PAUSED:
            return False
        earliest = run[_EARLIEST]
        if earliest is not None and at < earliest:
            if c.spec.early == "ignore":
                run[_EARLY_ATTEMPTS] += 1
                return False
            self._close_pause(c, run, at)
            run[_OUTCOME] = TOO_EARLY
        else:
            if status == PAUSED:
                self._close_pause(c, run, at)
            deadline = run[_DEADLINE]  # after the pause closed: it may have moved
            if run[_IS_BREACHED] or (deadline is not None and at > deadline):
                run[_IS_BREACHED] = True
                run[_OUTCOME] = BREACHED
            elif deadline is None:
                run[_OUTCOME] = NO_GOAL
            else:
                run[_OUTCOME] = MET
        run[_STATUS] = STOPPED
        run[_STOPPED] = at
        return True

    def _paused_between(self, c: _Clock, run: _Run, since: int, at: int) -> None:
        """Count ``[since, at)`` as paused: in the clock's measure (shifting the deadline),
        in calendar time and in business time."""
        if run[_CAL] is None:
            m, m_cal = c.m, c.m_cal
        else:
            m, m_cal = self._ms(c, run[_CAL])
        run[_PAUSED_CAL] += at - since
        business = m_cal.working(since, at)
        run[_PAUSED_BUS] += business
        self._shift(m, run, business if m is m_cal else m.working(since, at))

    @staticmethod
    def _shift(m: Measure, run: _Run, paused: int) -> None:
        if paused <= 0:
            return  # nothing counted while paused: the deadline stays (even at a closing time)
        run[_PAUSED] += paused
        run[_ADJUSTMENTS] += (paused,)
        if run[_DEADLINE] is not None:
            run[_DEADLINE] = m.add(run[_DEADLINE], paused)

    def _close_pause(self, c: _Clock, run: _Run, at: int) -> None:
        if run[_STATUS] == PAUSED and run[_PAUSE_SINCE] is not None:
            self._paused_between(c, run, run[_PAUSE_SINCE], at)
            run[_PAUSE_SINCE] = None
            run[_STATUS] = RUNNING

    def _set_paused(self, c: _Clock, run: _Run, at: int, paused: bool) -> None:
        if paused and run[_STATUS] == RUNNING:
            run[_STATUS] = PAUSED
            run[_PAUSE_SINCE] = at
        elif not paused and run[_STATUS] == PAUSED:
            self._close_pause(c, run, at)

    def _retarget(self, fold: _Fold, changed: Mapping[str, Any], at: int | None,
                  e: Event) -> None:
        """Re-select the goals of the running clocks whose goal the written ``changed`` may
        change; ``at`` is the event's instant when already converted (``None``: only a goal
        switched from now needs it)."""
        touched: set[int] = set(self.any_data)
        for key in changed:
            hit = self.key_map.get(key)
            if hit:
                touched.update(hit)
        for i in sorted(touched):
            peek = fold.runs[i]
            if peek[_STATUS] != RUNNING and peek[_STATUS] != PAUSED:
                continue
            run = self._touch(fold, i)
            c = self.clocks[i]
            mode = c.spec.goal_change
            if mode == "keep" and run[_TARGET] is not None:
                continue  # the goal the cycle started with stays
            target = self.policy.select_target(c.spec, fold.data())
            if target == run[_TARGET]:
                continue
            m = c.m if run[_CAL] is None else self._ms(c, run[_CAL])[0]
            run[_TARGET] = target
            if mode == "switch_from_now" and run[_TARGET] is not None:
                # The new goal counts from the change: pauses before it no longer matter.
                if at is None:
                    at = epoch_us(e.at)
                paused_now = run[_STATUS] == PAUSED
                if paused_now:
                    self._close_pause(c, run, at)
                run[_ADJUSTMENTS] = ()
                run[_BASE] = run[_DEADLINE] = None if target is None else target.apply(m, at)
                if paused_now:
                    run[_STATUS] = PAUSED
                    run[_PAUSE_SINCE] = at
                continue
            # Re-measured from the original start; pauses and extensions are replayed.
            run[_BASE] = run[_DEADLINE] = None if target is None else target.apply(
                m, run[_STARTED] if run[_STARTED] is not None else 0)
            if run[_DEADLINE] is not None:
                d = run[_DEADLINE]
                for adj in run[_ADJUSTMENTS]:
                    d = (m.add(d, adj) if adj > 0 else d) if isinstance(adj, int) \
                        else adj.extend(m, d)
                run[_DEADLINE] = d

    # --- derived instants ------------------------------------------------------------------

    def warning_at(self, clock: str, state: ClockState) -> int | None:
        """When the warning of the running cycle falls due (µs), before any deferral."""
        c = self.by_name[clock]
        warn = c.spec.warn
        if warn is None or state.deadline is None or state.started is None:
            return None
        m = c.m if state.calendar is None else self._ms(c, state.calendar)[0]
        candidates: list[int] = []
        if warn.fraction is not None:
            budget = m.working(state.started, state.deadline) - state.paused
            if budget > 0:
                candidates.append(m.add(state.deadline, -round(budget * (1 - warn.fraction))))
        if warn.lead is not None:
            candidates.append(m.add(state.deadline, -(warn.lead // _dt.timedelta(microseconds=1))))
        return min(candidates) if candidates else None

    def alert_time(self, clock: str, t: int, state: ClockState | None = None) -> int:
        """``t`` deferred to the next opening of the clock's calendar when its warnings are
        for business hours only."""
        c = self.by_name[clock]
        if not c.alert:
            return t
        m_cal = c.m_cal if state is None or state.calendar is None else self._ms(
            c, state.calendar)[1]
        return m_cal.next_opening(t)

    def next_action(self, clock: str, state: ClockState) -> tuple[str, int] | None:
        """The clock's next due action, ``("warning"|"breach", due µs)``, or ``None``."""
        if state.status != RUNNING:
            return None
        # A pure function of the (immutable) state: cached by identity, as the fold keeps
        # unchanged clocks as the same objects.
        cache = self._next_cache
        hit = cache.get(id(state))
        if hit is not None and hit[0] is state:
            return hit[1]
        found = self._next_action(clock, state)
        if len(cache) > 50_000:
            cache.clear()
        cache[id(state)] = (state, found)
        return found

    def _next_action(self, clock: str, state: ClockState) -> tuple[str, int] | None:
        if state.status != RUNNING:
            return None
        if state.deadline is None or state.breach_recorded:
            return None
        if not state.warned and not state.breached:
            w = self.warning_at(clock, state)
            if w is not None and w < state.deadline:
                w = self.alert_time(clock, w, state)
                if w < state.deadline:
                    return ("warning", w)
        # A deadline is met up to and including its instant: breached only after it.
        return ("breach", state.deadline + 1)


def recompute(
    policy: Policy | BoundPolicy,
    calendars: Mapping[str, BusinessCalendar] | None,
    history: Sequence[Event],
    now: _dt.datetime | None = None,
    *,
    definition: ProcessDefinition | None = None,
) -> ClockStates:
    """The clocks of a case from its history alone: a pure function.

    ``policy`` is a :class:`Policy` (then ``definition`` is required to bind it) or an
    already :class:`BoundPolicy` (``calendars`` is then ignored). Events after ``now`` are
    ignored, so the clocks can be read as they stood at any past instant. The result equals
    what :class:`~servicewf.sla.SLA` maintained incrementally, so replaying a changed policy
    or calendar over old histories is a "repair".
    """
    if isinstance(policy, BoundPolicy):
        bound = policy
    else:
        if definition is None:
            raise TypeError("recompute() of a Policy needs definition=...; or pass a "
                            "BoundPolicy")
        bound = BoundPolicy(policy, definition, calendars)
    return bound.fold(history, until=None if now is None else epoch_us(now))
