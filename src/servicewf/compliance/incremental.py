"""Rules in incremental form: per-case running state folded one event at a time.

The incremental checker (:class:`~servicewf.compliance.monitor.ComplianceMonitor`) keeps one
:class:`Folder` per rule and case. After a command it folds only the new events into the
folders of the rules they can change (:meth:`~servicewf.compliance.rules.Rule.relevant`) and
asks for the :meth:`Folder.verdict`, which builds no :class:`Outcome`; the outcome itself,
equal to :meth:`Rule.evaluate <servicewf.compliance.rules.Rule.evaluate>` on the same history
(a property test compares them over random histories for every template), is built only when
someone reads it (an alert, :meth:`ComplianceMonitor.verdicts`).

- rules that judge each activation once (:attr:`Rule.stable <servicewf.compliance.rules.Rule.
  stable>`: data, role and handler-tier rules) keep their activations, fulfilments and
  violations and judge the new events only;
- a precedence keeps whether its source happened yet;
- an all-of keeps its parts' folders;
- a retention rule keeps each archive's minimum date and whether one failed (a later purge
  before that date fails it);
- an SLA clock rule keeps the clock state it last read from the case's SLA record and judges
  again only when that record's entry for its clock changed (or a running deadline passed);
- any other rule is evaluated again on the case's trace when a relevant event arrives, the
  case's completeness changes or (for rules about time) at every command.

Every folder's state depends only on the events folded in; whether the case is complete and
the instant of the verdict are read from the :class:`~servicewf.compliance.trace.Trace` when a
verdict is asked for, as the batch checker reads them.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from servicewf.clock import _years_after, epoch_us, local_date_us
from servicewf.compliance.rules import (
    AllOf,
    DataRule,
    Environment,
    HandlerTier,
    Outcome,
    Precedence,
    Retention,
    RoleRule,
    Rule,
    SlaClock,
    Verdict,
    _combine,
    _date_of,
    _judge,
)
from servicewf.compliance.trace import Trace
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
)

if TYPE_CHECKING:
    from servicewf.compliance.rules import Condition

__all__ = ["Folder", "folder_for"]

_SAT = Verdict.SATISFIED
_VIO = Verdict.VIOLATED
_PSAT = Verdict.POSSIBLY_SATISFIED
_PVIO = Verdict.POSSIBLY_VIOLATED


class Folder:
    """One rule's running state on one case."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        """Take in the events of ``trace`` from position ``start`` on (the new ones; the
        earlier ones were folded before)."""

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        """The rule's verdict on everything folded so far (cheap: no outcome is built)."""
        return self.outcome(trace, env).verdict

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        """:meth:`fold` then :meth:`verdict` (one call per rule and command)."""
        self.fold(trace, start, env)
        return self.verdict(trace, env)

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        """The rule's outcome, equal to ``rule.evaluate(trace, env)``."""
        raise NotImplementedError


class _Again(Folder):
    """Any rule: evaluated again on the trace when something that can change it happened."""

    __slots__ = ("dirty", "key", "out", "relevant")

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.relevant = rule.relevant()
        self.dirty = True
        self.out: Outcome | None = None
        self.key: tuple[bool, int | None] | None = None

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        if self.dirty:
            return
        relevant = self.relevant
        # On a complete case any event counts (a rule may judge at the last event).
        if relevant is None or trace.complete:
            self.dirty = True
            return
        acts = trace.acts
        for i in range(start, len(acts)):
            if acts[i] in relevant:
                self.dirty = True
                return

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        # Rules about time (relevant() is None) also depend on the instant of the verdict.
        key = (trace.complete, trace.as_of_us if self.relevant is None else None)
        out = self.out
        if out is None or self.dirty or key != self.key:
            out = self.out = self.rule.evaluate(trace, env)
            self.key = key
            self.dirty = False
        return out


class _Stable(Folder):
    """A rule that judges each activation once, from the activation's event and the ones
    before it (data, role and handler-tier rules): the new events are judged, the rest kept."""

    __slots__ = ("act", "ful", "names", "vio", "when", "why")

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        self.names = frozenset(rule.activity)  # type: ignore[attr-defined]
        self.when: tuple[Condition, ...] = getattr(rule, "when", ())
        self.act: list[int] = []
        self.ful: list[int] = []
        self.vio: list[int] = []
        self.why = ""

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        self.step(trace, start, env)

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        acts, names = trace.acts, self.names
        if start == len(acts) - 1:  # one new event (a command): judge it, if it activates
            if acts[start] in names and (not self.when or all(
                    c.holds(trace, start) for c in self.when)):
                self.act.append(start)
                problem = self.rule.judge(trace, start, env)  # type: ignore[attr-defined]
                if problem is None:
                    self.ful.append(start)
                else:
                    self.vio.append(start)
                    self.why = self.why or problem
        elif any(acts[i] in names for i in range(start, len(acts))):
            act, ful, vio, why = self.rule.scan(trace, start, env)  # type: ignore[attr-defined]
            self.act += act
            self.ful += ful
            if vio:
                self.vio += vio
                self.why = self.why or why
        if self.vio:
            return _VIO
        return _SAT if trace.complete else _PSAT

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        if self.vio:
            return _VIO
        return _SAT if trace.complete else _PSAT

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        return _judge(self.rule, trace, self.act, self.ful, self.vio, [], self.why)


class _Precedence(Folder):
    """B only after A: whether (and where) the first A happened; every B is judged when it
    comes (before the first A, or at it: violated; after it: fulfilled)."""

    __slots__ = ("act", "first", "ful", "vio")

    def __init__(self, rule: Precedence) -> None:
        super().__init__(rule)
        self.first: int | None = None
        self.act: list[int] = []
        self.ful: list[int] = []
        self.vio: list[int] = []

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        rule = self.rule
        assert isinstance(rule, Precedence)
        source, target = rule.source, rule.target
        when: tuple[Condition, ...] = rule.when
        acts = trace.acts
        for i in range(start, len(acts)):
            a = acts[i]
            if a in target and (not when or all(c.holds(trace, i) for c in when)):
                self.act.append(i)
                (self.vio if self.first is None else self.ful).append(i)
            if self.first is None and a in source:
                self.first = i

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        if self.vio:
            return _VIO
        return _SAT if trace.complete else _PSAT

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        self.fold(trace, start, env)
        if self.vio:
            return _VIO
        return _SAT if trace.complete else _PSAT

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        rule = self.rule
        assert isinstance(rule, Precedence)
        why = ""
        if self.vio:
            why = (f"{'/'.join(rule.target)} at #{trace.seqs[self.vio[0]]} without "
                   f"{'/'.join(rule.source)} before it")
        return _judge(rule, trace, self.act, self.ful, self.vio, [], why)


class _AllOf(Folder):
    """A conjunction: its parts' folders."""

    __slots__ = ("parts",)

    def __init__(self, rule: AllOf) -> None:
        super().__init__(rule)
        self.parts = tuple(p.folder() for p in rule.parts)

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        for p in self.parts:
            p.fold(trace, start, env)

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        return _conjunction([p.verdict(trace, env) for p in self.parts], trace.complete)

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        return _conjunction([p.step(trace, start, env) for p in self.parts], trace.complete)

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        return _combine(self.rule, trace, *(p.outcome(trace, env) for p in self.parts))


def _conjunction(verdicts: list[Verdict], complete: bool) -> Verdict:
    """An all-of's verdict from its parts', as rules._combine and _judge give it: any part
    violated → violated; any pending (a part possibly violated) → possibly violated, violated
    once complete; all parts satisfied (settled) or a complete case → satisfied."""
    if _VIO in verdicts:
        return _VIO
    if _PVIO in verdicts:
        return _VIO if complete else _PVIO
    if complete or all(v is _SAT for v in verdicts):
        return _SAT
    return _PSAT


class _Clock(Folder):
    """An SLA clock rule: its verdict read from the case's SLA record (the entry of its clock,
    as the SLA processor stored it), judged again only when that entry changed, a deadline
    passed or the case's completeness changed; the outcome is built only when read."""

    __slots__ = ("anchored", "bound", "entry", "key", "n", "out", "seen")

    def __init__(self, rule: SlaClock) -> None:
        super().__init__(rule)
        self.entry: Any = None
        self.key: tuple[Any, ...] | None = None
        self.out: Outcome | None = None
        self.seen: tuple[Any, bool, bool, Verdict] | None = None
        self.anchored = False
        self.n = 0
        self.bound: bool | None = None

    def _bound(self, trace: Trace, env: Environment) -> bool:
        """Whether the rule reads a clock at all (an SLA and a policy for the process)."""
        if self.bound is None:
            if env.sla is None or env.registry is None or trace.process is None:
                self.bound = False
            else:
                definition = env.registry.get(trace.process)
                self.bound = env.sla.bind(definition) is not None
        return self.bound

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        return self.verdict(trace, env)  # nothing to fold: the SLA record is the state

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        rule = self.rule
        assert isinstance(rule, SlaClock)
        entry = trace.clock_entry(rule.clock)
        if entry is None or not trace.events or not (
                self.bound if self.bound is not None else self._bound(trace, env)):
            return self.outcome(trace, env).verdict
        deadline = entry.get("deadline")
        late = False
        if isinstance(deadline, int):
            end = trace.as_of_us
            late = (end if end is not None else trace.end_us()) > deadline
        seen = self.seen
        if seen is not None and seen[0] is entry and seen[1] is late and \
                seen[2] is trace.complete:
            return seen[3]
        v = _clock_verdict(entry, trace.end_us(), trace.complete)
        self.seen = (entry, late, trace.complete, v)
        return v

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        rule = self.rule
        assert isinstance(rule, SlaClock)
        entry = trace.clock_entry(rule.clock)
        if entry is None:  # the rule folds the history itself: it depends on all of it
            key: tuple[Any, ...] = (None, len(trace), trace.end_us(), trace.complete)
        else:
            if entry is not self.entry and entry != self.entry:
                self.entry = entry
                self.out = None
            # The instant of the verdict matters only through "past the deadline".
            deadline = entry.get("deadline")
            key = (isinstance(deadline, int) and trace.end_us() > deadline, trace.complete)
        out = self.out
        if out is None or key != self.key or (not self.anchored and len(trace) != self.n):
            out = self.out = self.rule.evaluate(trace, env)
            self.key = key
            self.n = len(trace)
            self.anchored = entry is not None and _anchored(entry, trace)
        return out


class _Retention(Folder):
    """A retention rule: each archive's verdict is settled when it happens (kept long enough,
    or not) except that a later purge before its minimum date violates it; the folder keeps
    every archive's minimum date and whether it failed. The outcome is the rule's own
    evaluation, built only when read."""

    __slots__ = ("bad", "marks")

    def __init__(self, rule: Retention) -> None:
        super().__init__(rule)
        self.marks: list[Any] = []  # the minimum date of every archive folded so far
        self.bad = False

    def fold(self, trace: Trace, start: int, env: Environment) -> None:
        if self.bad:
            return  # violated stays violated: an archive's failure is never undone
        rule = self.rule
        assert isinstance(rule, Retention)
        acts = trace.acts
        tz = None
        for i in range(start, len(acts)):
            a = acts[i]
            archive, purge = a in rule.activity, a in rule.purge
            if not (archive or purge):
                continue
            if tz is None:
                tz = env.calendar(rule.calendar).tz
            # As Retention.evaluate: the event's date in the calendar's zone.
            # The instant alone when no rule indexed them up to this event.
            times = trace._times
            day = local_date_us(times[i] if times is not None and i < len(times)
                                else epoch_us(trace.events[i].at), tz)
            if purge and any(day < m for m in self.marks):  # a purge of an earlier archive
                self.bad = True
                return
            if archive:
                minimum = _years_after(day, rule.years)
                value = trace.value_at(rule.field, i)
                until = _date_of(value) if value is not None else None
                if not ((value is None and not rule.required) or (
                        until is not None and until >= minimum)):
                    self.bad = True
                    return
                self.marks.append(minimum)

    def verdict(self, trace: Trace, env: Environment) -> Verdict:
        if self.bad:
            return _VIO
        return _SAT if trace.complete else _PSAT

    def step(self, trace: Trace, start: int, env: Environment) -> Verdict:
        self.fold(trace, start, env)
        return self.verdict(trace, env)

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        return self.rule.evaluate(trace, env)


# The outcomes and states the verdict tests, as tuples built once (not at every call).
_NO_GOAL = (CANCELLED, NO_GOAL)
_FAILED = (BREACHED, TOO_EARLY)
_OPEN = (RUNNING, PAUSED)
_NO_OUTCOME = (None, CANCELLED, NO_GOAL)
_ENTRY = operator.itemgetter("past", "status", "started", "deadline", "breached", "outcome")
"""The fields of a clock's stored entry a verdict reads (sla.state.ClockState.to_dict), in one
call: an SLA record's entries are FrozenDicts, whose ``get`` is a slow generic method call."""


def _clock_verdict(entry: Any, end_us: int, complete: bool) -> Verdict:
    """The verdict :meth:`SlaClock.evaluate <servicewf.compliance.rules.SlaClock.evaluate>`
    gives for a clock's stored entry, read from the plain data without building the outcome
    (the same cases in the same order; the property tests compare the two)."""
    try:
        past, status, started, deadline, breached, outcome = _ENTRY(entry)
    except KeyError:  # an entry without every field (plain data written elsewhere)
        past, status = entry.get("past"), entry.get("status", IDLE)
        started, deadline = entry.get("started"), entry.get("deadline")
        breached, outcome = entry.get("breached", False), entry.get("outcome")
    violated = pending = False
    for cyc in past or ():
        # sla.state.Cycle.to_list: number, started, stopped, deadline, outcome, breached...
        done, late = cyc[4], cyc[5]
        if done in _NO_GOAL and not late:
            continue
        if late or done in _FAILED:
            violated = True
    if status in _OPEN and started is not None and deadline is not None:
        if breached or end_us > deadline:
            violated = True
        else:
            pending = True
    elif status == STOPPED and started is not None and (
            breached or outcome not in _NO_OUTCOME) and \
            not (outcome == MET and not breached):
        violated = True
    if violated:
        return _VIO
    if pending:
        return _PVIO  # a running clock stays pending on a complete case (keep_pending)
    return _SAT if complete else _PSAT


def _anchored(entry: Any, trace: Trace) -> bool:
    """Whether every cycle of a clock entry started at or before the trace's last event: the
    events they are placed at then stay where they are when events are appended."""
    last = trace.time_us(len(trace) - 1) if len(trace) else 0
    started = entry.get("started")
    if started is not None and started > last:
        return False
    # A past cycle is stored as a list (sla.state.Cycle.to_list): its start is item 1.
    return all(c[1] <= last for c in entry.get("past") or ())


def folder_for(rule: Rule) -> Folder:
    """A fresh incremental form of ``rule`` for one case."""
    if isinstance(rule, AllOf):
        return _AllOf(rule)
    if type(rule) in (DataRule, RoleRule, HandlerTier):
        return _Stable(rule)
    if type(rule) is Precedence:
        return _Precedence(rule)
    if type(rule) is SlaClock:
        return _Clock(rule)
    if type(rule) is Retention:
        return _Retention(rule)
    return _Again(rule)
