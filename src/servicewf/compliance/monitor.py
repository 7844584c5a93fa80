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

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.clock import epoch_us
from servicewf.compliance.incremental import Folder
from servicewf.compliance.rules import Environment, Outcome, Rule, Verdict
from servicewf.compliance.trace import Trace
from servicewf.storage.base import Store, WriteSet

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = ["Alert", "ComplianceMonitor"]

_MAX_CASES = 10_000
_PVIO = Verdict.POSSIBLY_VIOLATED
_VIO = Verdict.VIOLATED


@attrs.frozen
class Alert:
    """A rule turned possibly violated or violated on a case, after event ``seq``."""

    case_id: str
    process: str
    seq: int
    outcome: Outcome


class _Plan:
    """The rules of one process, and which of them each activity can change."""

    __slots__ = ("always", "rules", "touch")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        always: list[int] = []
        by_act: dict[str, set[int]] = {}
        for k, r in enumerate(rules):
            relevant = r.relevant()
            if relevant is None:
                always.append(k)
            else:
                for a in relevant:
                    by_act.setdefault(a, set()).add(k)
        self.always = tuple(always)
        self.touch = {a: tuple(sorted(ks | set(always))) for a, ks in by_act.items()}

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

    __slots__ = ("complete", "folders", "plan", "trace", "verdicts", "version")

    def __init__(self, plan: _Plan, trace: Trace, version: int) -> None:
        self.plan = plan
        self.trace = trace
        self.folders: list[Folder] = [r.folder() for r in plan.rules]
        self.verdicts: list[Verdict | None] = [None] * len(plan.rules)
        self.version = version
        self.complete = False


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
        complete = self._complete(case)
        trace.complete = complete
        trace.as_of_us = epoch_us(case.updated_at)
        trace.sla = case.extensions.get("sla")
        plan = st.plan
        if start == 0 or complete or complete != st.complete:
            touched: tuple[int, ...] | range = range(len(plan.rules))
        else:
            touched = plan.touched(trace.acts, start)
        st.complete = complete
        folders, verdicts = st.folders, st.verdicts
        alerts: list[Alert] = []
        for k in touched:
            f = folders[k]
            f.fold(trace, start, env)
            v = f.verdict(trace, env)
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

    def _complete(self, case: Any) -> bool:
        """Whether the case is in a final state of its definition (no registry: never)."""
        key = (case.process, case.definition_version)
        finals = self._finals.get(key)
        if finals is None:
            registry = self.env.registry
            if registry is None:
                return False
            definition = registry.get(*key)
            finals = self._finals[key] = frozenset(s.id for s in definition.states if s.final)
        return case.state in finals

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
