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
from typing import TYPE_CHECKING, TypeVar

import attrs

from servicewf.clock import epoch_us
from servicewf.compliance.rules import Environment, Outcome, Rule, Verdict
from servicewf.compliance.trace import Trace
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
        self._histories: dict[str, list[Event]] = {}
        self._verdicts: dict[str, dict[str, Outcome]] = {}
        self._by_process: dict[str, list[Rule]] = {}

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
        events = self._history(case.id, write.events)
        rules = self._by_process.get(case.process)
        if rules is None:
            rules = self._by_process[case.process] = [r for r in self.rules
                                                      if r.applies_to(case.process)]
        complete = False
        registry = self.env.registry
        if registry is not None:
            definition = registry.get(case.process, case.definition_version)
            complete = definition.is_final(case.state)
        trace = Trace(case.id, case.process, events, complete=complete,
                      as_of_us=epoch_us(case.updated_at))
        before = self._verdicts.get(case.id, {})
        now: dict[str, Outcome] = {}
        alerts: list[Alert] = []
        for r in rules:
            o = r.evaluate(trace, self.env)
            now[r.id] = o
            old = before.get(r.id)
            if o.verdict in _ALERTING and (old is None or old.verdict is not o.verdict):
                alerts.append(Alert(case.id, case.process, events[-1].seq, o))
        self._remember(self._verdicts, case.id, now)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)

    def verdicts(self, case_id: str) -> dict[str, Outcome]:
        """The outcomes of the case's rules after the last command this monitor saw."""
        return dict(self._verdicts.get(case_id, {}))

    def _history(self, case_id: str, new: tuple[Event, ...]) -> list[Event]:
        known = self._histories.get(case_id)
        first = new[0].seq
        if known is not None and known and known[-1].seq == first - 1:
            known.extend(new)
            return known
        if first == 1:
            events = list(new)
        elif self.store is not None:
            events = self.store.history(case_id)
        else:
            events = list(new)  # no store: only what it saw (documented)
        self._remember(self._histories, case_id, events)
        return events

    @staticmethod
    def _remember(cache: dict[str, _V], key: str, value: _V) -> None:
        cache.pop(key, None)
        cache[key] = value
        if len(cache) > _MAX_CASES:
            del cache[next(iter(cache))]  # least recently written first out
