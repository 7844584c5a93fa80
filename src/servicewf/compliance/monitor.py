"""The incremental checker: an after-commit observer that keeps every rule's running state per
case (:mod:`~servicewf.compliance.incremental`), folds in the events of each command, and
raises an :class:`Alert` when a rule turns "possibly violated" (an open case that does not
comply yet: a response not given, a deadline ahead) or "violated".

>>> monitor = ComplianceMonitor(builtin_catalogue(), env=builtin_environment(),
...                             on_alert=alerts.append)
>>> monitor.attach(engine)

It runs after the write (it cannot stop a command, and a command refused before the write never
reaches it), so an alert is never raised for something that did not happen. A case's state is
kept for the version it was folded to: a write planned against exactly that version (the next
events in sequence) is folded in; any other (a version written elsewhere, a cache that lost the
case) makes it read the case's history from the store up to the write's version and fold it
anew. The cache is bounded; :meth:`ComplianceMonitor.forget` drops a case's state (call it
when a transaction around a command rolled back after the observer ran).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from servicewf._frozen import FrozenDict
from servicewf.clock import epoch_us
from servicewf.compliance.incremental import Folder
from servicewf.compliance.rules import Environment, Outcome, Rule, SlaClock, Verdict
from servicewf.compliance.trace import Trace
from servicewf.storage.base import Store, WriteSet

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = ["Alert", "ComplianceMonitor"]

_MAX_CASES = 10_000
_PVIO = Verdict.POSSIBLY_VIOLATED
_VIO = Verdict.VIOLATED
_MAPPINGS = (dict, FrozenDict, MappingProxyType)


@attrs.frozen
class Alert:
    """A rule turned possibly violated or violated on a case, after event ``seq``."""

    case_id: str
    process: str
    seq: int
    outcome: Outcome


def _moved(old: Any, new: Any) -> list[str] | None:
    """The clocks whose entry in the SLA record is not the very entry it was at the last
    command (the SLA processor keeps an unchanged clock's entry); ``None``: the entries
    cannot be compared (any clock may have moved)."""
    if old is None or new is None or len(old) != len(new):
        return None
    moved: list[str] = []
    for a, b in zip(old, new, strict=True):
        if a is not b:
            name = b.get("name")
            if name != a.get("name"):
                return None
            moved.append(name)
    return moved


def _next_due(entries: Any, now_us: int) -> int | None:
    """The earliest deadline among the clock entries not passed at ``now_us``."""
    found = [d for e in entries or () if type(d := e.get("deadline")) is int and d >= now_us]
    return min(found) if found else None


class _Plan:
    """The rules of one process, and which of them each activity can change."""

    __slots__ = ("always", "clock_by_name", "clocks", "rules", "touch")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        always: list[int] = []
        by_act: dict[str, set[int]] = {}
        # SLA clock rules: judged when the SLA record's clock entries changed (ComplianceMonitor)
        self.clocks = tuple(k for k, r in enumerate(rules) if type(r) is SlaClock)
        by_name: dict[str, tuple[int, ...]] = {}
        for k in self.clocks:
            name = rules[k].clock  # type: ignore[attr-defined]
            by_name[name] = (*by_name.get(name, ()), k)
        self.clock_by_name = by_name
        for k, r in enumerate(rules):
            relevant = r.relevant()
            if k in self.clocks:
                continue
            if relevant is None:
                always.append(k)
            else:
                for a in relevant:
                    by_act.setdefault(a, set()).add(k)
        self.always = tuple(always)
        self.touch = {a: tuple(sorted(ks | set(always))) for a, ks in by_act.items()}

    def uncovered(self, entries: Any) -> tuple[int, ...]:
        """The clock rules whose clock has no entry among ``entries`` (they fold the history
        themselves, so any command can change them)."""
        names = {e.get("name") for e in entries or ()
                 if type(e) in _MAPPINGS or isinstance(e, Mapping)}
        return tuple(k for k in self.clocks if self.rules[k].clock not in names)  # type: ignore[attr-defined]

    def touched(self, acts: list[str], start: int) -> tuple[int, ...]:
        """The rules the activities from ``start`` on can change."""
        if len(acts) - start == 1:
            return self.touch.get(acts[start], self.always)
        found: set[int] = set(self.always)
        for a in acts[start:]:
            found.update(self.touch.get(a, ()))
        return tuple(sorted(found))


class _CaseState:
    """What the monitor keeps of one case: its trace, each rule's folder and last verdict,
    the version folded to and whether the case was complete then."""

    __slots__ = ("complete", "due", "entries", "folders", "plan", "trace", "uncovered",
                 "verdicts", "version")

    def __init__(self, plan: _Plan, trace: Trace, version: int) -> None:
        self.plan = plan
        self.trace = trace
        self.folders: list[Folder] = [r.folder() for r in plan.rules]
        self.verdicts: list[Verdict | None] = [None] * len(plan.rules)
        self.version = version
        self.complete = False
        self.entries: Any = None  # the SLA record's clock entries at the last command
        self.uncovered: tuple[int, ...] = ()  # clock rules without an entry among them
        self.due: int | None = None  # the earliest of the entries' deadlines still ahead


class ComplianceMonitor:
    """Checks ``rules`` on every case a command changes, after the command committed.

    ``on_alert`` receives each :class:`Alert` (a rule whose verdict became possibly violated
    or violated); an exception it raises surfaces as the engine's ``ObserverFailed`` with the
    command standing. :meth:`verdicts` gives a case's current outcomes.
    """

    def __init__(self, rules: Iterable[Rule], *, env: Environment | None = None,
                 on_alert: Callable[[Alert], None] | None = None,
                 store: Store | None = None) -> None:
        self.rules = list(rules)
        self.env = env if env is not None else Environment()
        self.on_alert = on_alert
        self.store = store
        self._cases: dict[str, _CaseState] = {}
        self._plans: dict[str, _Plan] = {}
        self._finals: dict[tuple[str, int], frozenset[str]] = {}

    def attach(self, engine: Engine) -> ComplianceMonitor:
        """Register as an after-commit observer of ``engine`` (and read from its store)."""
        if self.store is None:
            self.store = engine.store
        if self.env.registry is None:
            self.env = attrs.evolve(self.env, registry=engine.registry)
        # The bound method: the engine names an observer by its __qualname__ (an instance
        # has none, and its repr would be built on every command).
        engine.hooks.after_commit()(self.__call__)
        return self

    def __call__(self, write: WriteSet) -> None:
        """The observer: fold the committed events in and judge the rules they can change."""
        case = write.case
        new = write.events
        st = self._cases.get(case.id)
        if st is not None and new and st.version == write.expected_version and \
                new[0].seq == st.version + 1:
            trace = st.trace
            start = len(trace)
            trace.extend(new)
            self._cases.pop(case.id)  # kept in order of the last write (the bound drops
            self._cases[case.id] = st  # the case written longest ago first)
        else:
            st = self._load(case, write, st)
            trace = st.trace
            start = 0
        st.version = case.version
        env = self.env
        key = (case.process, case.definition_version)
        finals = self._finals.get(key)
        complete = (case.state in finals) if finals is not None else self._complete(key,
                                                                                    case.state)
        before_us = trace.as_of_us
        trace.complete = complete
        times = trace._times
        if times is not None and new and case.updated_at is new[-1].at:
            now_us = times[-1]  # the command's own instant, converted by extend()
        else:
            now_us = epoch_us(case.updated_at)
        trace.as_of_us = now_us
        raw: Any = case.extensions.get("sla")
        trace.sla = raw
        plan = st.plan
        everything = start == 0 or complete or complete != st.complete
        st.complete = complete
        if everything:
            touched: Sequence[int] = range(len(plan.rules))
        elif start == len(trace) - 1:  # one new event: the rules its activity can change
            touched = plan.touch.get(trace.acts[start], plan.always)
        else:
            touched = plan.touched(trace.acts, start)
        if plan.clocks:
            # A clock rule reads its clock's entry in the SLA record: the same entry, no
            # deadline passed since the last command and the same completeness leave its
            # verdict as it was. A rule whose clock has no entry folds the history itself.
            entries = raw.get("clocks") if type(raw) in _MAPPINGS else None
            due = st.due  # the earliest deadline not passed at the last command
            moved = None if everything or before_us is None or now_us < before_us or (
                due is not None and due < now_us) else _moved(st.entries, entries)
            if moved is None:
                if not everything:
                    touched = (*touched, *plan.clocks)
                st.uncovered = plan.uncovered(entries)
                st.due = _next_due(entries, now_us)
            elif moved or st.uncovered:
                extra = st.uncovered
                by_name = plan.clock_by_name
                for name in moved:
                    extra += by_name.get(name, ())
                touched = (*touched, *extra)
                if moved:
                    st.due = _next_due(entries, now_us)
            st.entries = entries
        folders, verdicts = st.folders, st.verdicts
        alerts: list[Alert] = []
        for k in touched:
            f = folders[k]
            v = f.step(trace, start, env)
            if v is not verdicts[k]:
                verdicts[k] = v
                if v is _PVIO or v is _VIO:
                    alerts.append(Alert(case.id, case.process, trace.seqs[-1],
                                        f.outcome(trace, env)))
        if alerts and self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)

    def verdicts(self, case_id: str) -> dict[str, Outcome]:
        """The outcomes of the case's rules after the last command this monitor saw."""
        st = self._cases.get(case_id)
        if st is None:
            return {}
        return {r.id: f.outcome(st.trace, self.env)
                for r, f in zip(st.plan.rules, st.folders, strict=True)}

    def forget(self, case_id: str | None = None) -> None:
        """Drop the state kept for ``case_id`` (every case: ``None``); the next command on it
        reads its history from the store."""
        if case_id is None:
            self._cases.clear()
        else:
            self._cases.pop(case_id, None)

    def _plan(self, process: str) -> _Plan:
        plan = self._plans.get(process)
        if plan is None:
            plan = self._plans[process] = _Plan([r for r in self.rules
                                                 if r.applies_to(process)])
        return plan

    def _complete(self, key: tuple[str, int], state: str) -> bool:
        """Whether ``state`` is final in the definition ``key`` (no registry: never)."""
        registry = self.env.registry
        if registry is None:
            return False
        definition = registry.get(*key)
        finals = self._finals[key] = frozenset(s.id for s in definition.states if s.final)
        return state in finals

    def _load(self, case: Any, write: WriteSet, old: _CaseState | None) -> _CaseState:
        """A fresh state of the case: its history up to the version the write was planned
        against (read from the store, unless the write starts the case) and the write's
        events."""
        new = write.events
        if new and new[0].seq == 1:
            events = list(new)
        elif self.store is not None:
            # The history the write was planned against, and the write's own events.
            events = [e for e in self.store.history(case.id)
                      if e.seq <= write.expected_version]
            events += new
        else:
            events = list(new)  # no store: only what it saw (documented)
        st = _CaseState(self._plan(case.process),
                        Trace(case.id, case.process, events, complete=False, as_of_us=None),
                        case.version)
        if old is not None and old.plan is st.plan:
            st.verdicts = list(old.verdicts)  # alert on changes only, as before the reload
            st.complete = old.complete
        self._cases.pop(case.id, None)
        self._cases[case.id] = st
        if len(self._cases) > _MAX_CASES:
            del self._cases[next(iter(self._cases))]  # the case written longest ago
        return st
