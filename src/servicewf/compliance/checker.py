"""The checker: rules over histories, as of an instant, in batch.

:func:`check` takes histories (servicewf :class:`~servicewf.events.Event` sequences from any
store, or built by hand or imported) and rules, and returns a :class:`Report`: per rule × case an
:class:`~servicewf.compliance.rules.Outcome`, per rule a :class:`RuleSummary` (activations,
fulfilments, violations, pending, the violating cases, the compliance degree) and per log the
counts. Each history is indexed once (:class:`~servicewf.compliance.trace.Trace`) and every rule
that applies to its process reads that index: one pass per case over all rules.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from servicewf.clock import epoch_us, from_epoch_us
from servicewf.compliance.rules import Environment, Outcome, Rule, Verdict
from servicewf.compliance.trace import Trace
from servicewf.definition import Registry
from servicewf.events import Event

__all__ = ["History", "Report", "RuleSummary", "check", "check_one"]


@attrs.frozen
class History:
    """One case's history with what the checker cannot read from the events: the process it
    belongs to and, optionally, whether it is complete (``None``: a case whose last state is
    final in the registry's definition is complete; without a registry, complete)."""

    case_id: str
    process: str | None
    events: Sequence[Event]
    complete: bool | None = None


@attrs.frozen
class RuleSummary:
    """One rule over a log: its counts and the cases that violate it."""

    id: str
    cites: str
    text_en: str
    text_zh: str
    cases: int
    activations: int
    fulfilments: int
    violations: int
    pending: int
    verdicts: Mapping[str, int]
    violating_cases: tuple[str, ...]

    @property
    def degree(self) -> float:
        """Compliance degree: fulfilled activations over decided ones (1.0 with none)."""
        decided = self.fulfilments + self.violations
        return self.fulfilments / decided if decided else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the ``servicewf check --format json`` row)."""
        return {"id": self.id, "cites": self.cites, "text_en": self.text_en,
                "text_zh": self.text_zh, "cases": self.cases,
                "activations": self.activations, "fulfilments": self.fulfilments,
                "violations": self.violations, "pending": self.pending,
                "verdicts": dict(self.verdicts), "degree": round(self.degree, 6),
                "violating_cases": list(self.violating_cases)}


@attrs.frozen
class Report:
    """The result of a check: every outcome, per-rule summaries and log-level counts."""

    as_of: pendulum.DateTime | None
    cases: int
    outcomes: tuple[Outcome, ...]
    rules: tuple[RuleSummary, ...]

    @property
    def violated(self) -> bool:
        """True when some rule is violated on some case."""
        return any(r.violations for r in self.rules)

    @property
    def violations(self) -> tuple[Outcome, ...]:
        """The violated outcomes."""
        return tuple(o for o in self.outcomes if o.verdict is Verdict.VIOLATED)

    @property
    def fitness(self) -> float:
        """Share of cases that violate no rule (1.0 for an empty log)."""
        if not self.cases:
            return 1.0
        bad = {o.case_id for o in self.outcomes if o.verdict is Verdict.VIOLATED}
        return 1 - len(bad) / self.cases

    @property
    def degree(self) -> float:
        """Compliance degree of the log: fulfilled activations over decided ones."""
        ful = sum(r.fulfilments for r in self.rules)
        decided = ful + sum(r.violations for r in self.rules)
        return ful / decided if decided else 1.0

    def rule(self, rule_id: str) -> RuleSummary:
        """The summary of ``rule_id`` (``KeyError`` when it was not checked)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def outcome(self, rule_id: str, case_id: str) -> Outcome | None:
        """The outcome of one rule on one case (``None``: the rule does not apply to it)."""
        for o in self.outcomes:
            if o.rule == rule_id and o.case_id == case_id:
                return o
        return None

    def of_case(self, case_id: str) -> tuple[Outcome, ...]:
        """Every outcome of one case."""
        return tuple(o for o in self.outcomes if o.case_id == case_id)

    def violated_rules(self, case_id: str | None = None) -> set[str]:
        """The ids of the rules violated (on ``case_id`` only, when given)."""
        return {o.rule for o in self.outcomes if o.verdict is Verdict.VIOLATED
                and (case_id is None or o.case_id == case_id)}

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"cases", "as_of", "fitness", "degree", "rules": [...]}``."""
        return {"cases": self.cases,
                "as_of": None if self.as_of is None else self.as_of.isoformat(),
                "fitness": round(self.fitness, 6), "degree": round(self.degree, 6),
                "rules": [r.to_dict() for r in self.rules]}


def _as_history(item: History | Sequence[Event], process: str | None) -> History:
    if isinstance(item, History):
        return item
    events = list(item)
    case_id = events[0].case_id if events else ""
    return History(case_id, process, events)


def _complete(h: History, events: Sequence[Event], registry: Registry | None,
              default: bool) -> bool:
    if h.complete is not None:
        return h.complete
    if registry is not None and h.process is not None and events:
        try:
            definition = registry.get(h.process)
        except Exception:  # an unknown process: nothing says it is finished
            return default
        last = events[-1].dest
        return definition.has_state(last) and definition.is_final(last)
    return default


def check_one(trace: Trace, rules: Sequence[Rule], env: Environment) -> list[Outcome]:
    """The outcomes of ``rules`` (those that apply to the trace's process) on one trace."""
    return [r.evaluate(trace, env) for r in rules if r.applies_to(trace.process)]


def check(
    histories: Iterable[History | Sequence[Event]],
    rules: Iterable[Rule],
    *,
    as_of: _dt.datetime | None = None,
    process: str | None = None,
    registry: Registry | None = None,
    env: Environment | None = None,
    complete: bool = True,
) -> Report:
    """Check ``rules`` over ``histories`` as of ``as_of`` (``None``: each history's end).

    - ``histories``: :class:`History` values, or plain event sequences (of ``process``);
    - events after ``as_of`` are ignored, so a log can be judged as it stood at any instant;
    - ``registry``: definitions, to tell complete cases (in a final state) from open ones,
      and for :class:`~servicewf.compliance.rules.SlaClock` rules (with ``env.sla``);
    - ``complete``: whether a history the registry cannot judge is complete (default: yes,
      as in process mining, where a log holds finished traces).
    """
    rule_list = list(rules)
    seen: set[str] = set()
    for r in rule_list:
        if r.id in seen:
            from servicewf.errors import InvalidRule

            raise InvalidRule(f"two rules have the id {r.id!r}; ids name rules in reports")
        seen.add(r.id)
    environment = env if env is not None else Environment(registry=registry)
    if registry is None:
        registry = environment.registry
    elif environment.registry is None:
        environment = attrs.evolve(environment, registry=registry)
    limit = None if as_of is None else epoch_us(as_of)
    outcomes: list[Outcome] = []
    cases = 0
    by_process: dict[str | None, list[Rule]] = {}
    for item in histories:
        h = _as_history(item, process)
        events = h.events
        if limit is not None:
            events = [e for e in events if epoch_us(e.at) <= limit]
            if not events:
                continue
        cases += 1
        applicable = by_process.get(h.process)
        if applicable is None:
            applicable = by_process[h.process] = [r for r in rule_list
                                                  if r.applies_to(h.process)]
        trace = Trace(h.case_id, h.process, events,
                      complete=_complete(h, events, registry, complete), as_of_us=limit)
        for r in applicable:
            outcomes.append(r.evaluate(trace, environment))
    return Report(None if limit is None else from_epoch_us(limit), cases, tuple(outcomes),
                  summarise(rule_list, outcomes))


def summarise(rules: Sequence[Rule], outcomes: Iterable[Outcome]) -> tuple[RuleSummary, ...]:
    """Per-rule counts of ``outcomes``, in the order of ``rules``."""
    counts: dict[str, list[int]] = {r.id: [0, 0, 0, 0, 0] for r in rules}
    verdicts: dict[str, dict[str, int]] = {r.id: {v.value: 0 for v in Verdict} for r in rules}
    bad: dict[str, list[str]] = {r.id: [] for r in rules}
    for o in outcomes:
        c = counts[o.rule]
        c[0] += 1
        c[1] += len(o.activations)
        c[2] += len(o.fulfilments)
        c[3] += len(o.violations)
        c[4] += len(o.pending)
        verdicts[o.rule][o.verdict.value] += 1
        if o.verdict is Verdict.VIOLATED:
            bad[o.rule].append(o.case_id)
    return tuple(RuleSummary(r.id, r.cites, r.text_en, r.text_zh, counts[r.id][0],
                             counts[r.id][1], counts[r.id][2], counts[r.id][3], counts[r.id][4],
                             verdicts[r.id], tuple(bad[r.id]))
                 for r in rules)
