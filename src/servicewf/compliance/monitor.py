"""The incremental checker: an after-commit observer that re-checks a case's rules after every
command and raises an :class:`Alert` when a rule turns "possibly violated" (an open case that
does not comply yet: a response not given, a deadline ahead) or "violated".

>>> monitor = ComplianceMonitor(builtin_catalogue(), env=builtin_environment(),
...                             on_alert=alerts.append)
>>> monitor.attach(engine)

It runs after the write (it cannot stop a command, and a command refused before the write never
reaches it), so an alert is never raised for something that did not happen. It keeps the
histories of the cases it saw (a bounded cache) and reads a history from the store only when
it has not seen the case's previous events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from servicewf.clock import epoch_us
from servicewf.compliance.rules import (
    AllOf,
    Environment,
    Outcome,
    Rule,
    SlaClock,
    Verdict,
    clock_entry,
    default_reason,
)
from servicewf.compliance.trace import Trace, activity
from servicewf.events import Event
from servicewf.storage.base import Store, WriteSet

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = ["Alert", "ComplianceMonitor"]

_MAX_CASES = 10_000
_V = TypeVar("_V")
_ALERTING = (Verdict.POSSIBLY_VIOLATED, Verdict.VIOLATED)


@attrs.frozen
class Alert:
    """A rule turned possibly violated or violated on a case, after event ``seq``."""

    case_id: str
    process: str
    seq: int
    outcome: Outcome


def _stable(rule: Rule) -> bool:
    return rule.stable or (isinstance(rule, AllOf) and rule.prefix_stable)


def _extend(old: Outcome, new: Outcome, complete: bool) -> Outcome:
    """``old`` (up to the previous event) with the activations ``new`` judged since."""
    if not new.activations:
        return old
    vio = old.violations + new.violations
    pend = old.pending + new.pending
    if vio:
        verdict = Verdict.VIOLATED
    elif pend:
        verdict = Verdict.POSSIBLY_VIOLATED
    elif complete:
        verdict = Verdict.SATISFIED
    else:
        verdict = Verdict.POSSIBLY_SATISFIED
    act = old.activations + new.activations
    if old.violations:
        reason = old.reason
    elif new.violations or new.pending:
        reason = new.reason
    else:
        reason = default_reason(len(act), 0, 0)
    return Outcome(old.rule, old.case_id, verdict, act,
                   old.fulfilments + new.fulfilments, vio, pend, reason)


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
        self._traces: dict[str, Trace] = {}
        self._verdicts: dict[str, dict[str, Outcome]] = {}
        self._by_process: dict[str, list[Rule]] = {}
        self._relevant: dict[str, frozenset[str] | None] = {}
        self._complete: dict[str, bool] = {}
        self._sla: dict[str, Any] = {}

    def attach(self, engine: Engine) -> ComplianceMonitor:
        """Register as an after-commit observer of ``engine`` (and read from its store)."""
        if self.store is None:
            self.store = engine.store
        if self.env.registry is None:
            self.env = attrs.evolve(self.env, registry=engine.registry)
        engine.hooks.after_commit()(self)
        return self

    def __call__(self, write: WriteSet) -> None:
        """The observer: fold the committed events in and re-check the case."""
        case = write.case
        trace = self._trace(case.id, case.process, write.events)
        events = trace.events
        rules = self._by_process.get(case.process)
        if rules is None:
            rules = self._by_process[case.process] = [r for r in self.rules
                                                      if r.applies_to(case.process)]
        complete = False
        registry = self.env.registry
        if registry is not None:
            definition = registry.get(case.process, case.definition_version)
            complete = definition.is_final(case.state)
        trace.complete = complete
        trace.as_of_us = epoch_us(case.updated_at)
        raw = case.extensions.get("sla")
        raw_before = self._sla.get(case.id)
        trace.sla = None
        before = self._verdicts.get(case.id, {})
        finished = complete and not (before and self._complete.get(case.id, False))
        new = {activity(e) for e in write.events}
        now: dict[str, Outcome] = {}
        alerts: list[Alert] = []
        for r in rules:
            old = before.get(r.id)
            if r.id not in self._relevant:
                self._relevant[r.id] = r.relevant()
            relevant = self._relevant[r.id]
            # Only an event of the rule's activities, the case's end or (for time-based
            # rules) any event can change an outcome: the others are kept as they were.
            if old is not None and not finished and relevant is not None and \
                    relevant.isdisjoint(new):
                now[r.id] = old
                continue
            if isinstance(r, SlaClock):
                trace.sla = raw
                entry = clock_entry(raw, r.clock)
                if old is not None and not finished and not old.pending and \
                        entry is not None and entry == clock_entry(raw_before, r.clock):
                    now[r.id] = old  # this clock did not move: nothing to re-judge
                    continue
            if old is not None and not finished and _stable(r):
                # Earlier activations keep their verdicts: judge the new events only.
                trace.start = len(events) - len(write.events)
                o = _extend(old, r.evaluate(trace, self.env), complete)
                trace.start = 0
            else:
                o = r.evaluate(trace, self.env)
            now[r.id] = o
            if o.verdict in _ALERTING and (old is None or old.verdict is not o.verdict):
                alerts.append(Alert(case.id, case.process, events[-1].seq, o))
        self._remember(self._complete, case.id, complete)
        self._remember(self._sla, case.id, raw)
        self._remember(self._verdicts, case.id, now)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)

    def verdicts(self, case_id: str) -> dict[str, Outcome]:
        """The outcomes of the case's rules after the last command this monitor saw."""
        return dict(self._verdicts.get(case_id, {}))

    def _trace(self, case_id: str, process: str, new: tuple[Event, ...]) -> Trace:
        """The case's trace with ``new`` appended (read from the store when this monitor has
        not seen the events before them)."""
        known = self._traces.get(case_id)
        first = new[0].seq
        if known is not None and known.seqs and known.seqs[-1] == first - 1:
            known.extend(new)
            return known
        if first == 1:
            events = list(new)
        elif self.store is not None:
            events = self.store.history(case_id)
        else:
            events = list(new)  # no store: only what it saw (documented)
        trace = Trace(case_id, process, events, complete=False, as_of_us=None)
        self._remember(self._traces, case_id, trace)
        return trace

    @staticmethod
    def _remember(cache: dict[str, _V], key: str, value: _V) -> None:
        cache.pop(key, None)
        cache[key] = value
        if len(cache) > _MAX_CASES:
            del cache[next(iter(cache))]  # least recently written first out
