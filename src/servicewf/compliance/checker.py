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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from servicewf.clock import epoch_us, from_epoch_us
from servicewf.compliance import _fast as fast
from servicewf.compliance.rules import Environment, Outcome, Rule, Verdict, pure
from servicewf.compliance.trace import Trace, activity
from servicewf.definition import Registry
from servicewf.events import Event, EventKind

_OPENED = EventKind.OPENED

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


class Report:
    """The result of a check: every outcome, per-rule summaries and log-level counts.

    ``outcomes`` (one per rule and case) are built when first read: a batch check of a large
    log computes the counts of the rules it vectorises at once, and the per-event details of
    each case only if someone asks for them.
    """

    __slots__ = ("_make", "_outcomes", "as_of", "cases", "rules")

    def __init__(self, as_of: pendulum.DateTime | None, cases: int,
                 outcomes: Sequence[Outcome] | Callable[[], list[Outcome]],
                 rules: tuple[RuleSummary, ...]) -> None:
        self.as_of = as_of
        self.cases = cases
        self.rules = rules
        if callable(outcomes):
            self._make: Callable[[], list[Outcome]] | None = outcomes
            self._outcomes: tuple[Outcome, ...] | None = None
        else:
            self._make = None
            self._outcomes = tuple(outcomes)

    def __repr__(self) -> str:
        return (f"Report(cases={self.cases}, rules={len(self.rules)}, "
                f"violated={self.violated})")

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """Every outcome, per case in the order given, per rule in the rules' order."""
        if self._outcomes is None:
            assert self._make is not None
            self._outcomes = tuple(self._make())
            self._make = None
        return self._outcomes

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
        bad = {c for r in self.rules for c in r.violating_cases}
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
        if case_id is None:
            return {r.id for r in self.rules if r.violating_cases}
        return {r.id for r in self.rules if case_id in r.violating_cases}

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
    # 1. the cases, as of the instant, with their process and completeness
    batch: list[tuple[History, Sequence[Event], bool]] = []
    for item in histories:
        h = item if type(item) is History else _as_history(item, process)
        events = h.events
        if limit is not None:
            events = [e for e in events if epoch_us(e.at) <= limit]
        if events:
            # (the common cases inline: a log of many small cases pays this per case)
            done = h.complete if h.complete is not None else (
                complete if registry is None else _complete(h, events, registry, complete))
            batch.append((h, events, done))
    applicable: dict[str | None, list[Rule]] = {}
    for h, _, _ in batch:
        if h.process not in applicable:
            applicable[h.process] = [r for r in rule_list if r.applies_to(h.process)]
    # 2. the rules the vectorised path counts over the whole log, per process
    vectorised = fast.available() and len(batch) >= _VECTOR_MIN
    counted: dict[str, list[tuple[list[int], fast.Counts]]] = {}
    if vectorised:
        for proc, rules in applicable.items():
            chosen = [r for r in rules if fast.supports(r)]
            if not chosen:
                continue
            members = [k for k, (h, _, _) in enumerate(batch) if h.process == proc]
            opened = _OPENED
            names = [e.trigger or ("open" if e.kind is opened else e.kind.value)
                     for k in members for e in batch[k][1]]
            log = fast.Log(names, [len(batch[k][1]) for k in members],
                           [batch[k][2] for k in members])
            for r in chosen:
                counted.setdefault(r.id, []).append((members, fast.evaluate(log, r)))
    # 3. every other rule, case by case (pure ones once per variant)
    cache: dict[tuple[Any, ...], Outcome] = {}
    keys: dict[int, tuple[str, ...]] = {}

    def outcome_of(k: int, r: Rule) -> Outcome:
        h, events, done = batch[k]
        numbered = pure(r) and events[0].seq == 1 and events[-1].seq == len(events)
        if not numbered:
            return r.evaluate(Trace(h.case_id, h.process, events, complete=done,
                                    as_of_us=limit), environment)
        acts = keys.get(k)
        if acts is None:
            acts = keys[k] = tuple(activity(e) for e in events)
        key = (r.id, h.process, done, acts)
        shared = cache.get(key)
        if shared is None:
            shared = cache[key] = r.evaluate(
                Trace(h.case_id, h.process, events, complete=done, as_of_us=limit),
                environment)
            return shared
        return Outcome(shared.rule, h.case_id, *shared[2:])

    eager: list[Outcome] = []
    rest = {p: [r for r in rules if r.id not in counted] for p, rules in applicable.items()}
    for k, (h, events, done) in enumerate(batch):
        others = rest[h.process]
        if not others:
            continue
        trace = Trace(h.case_id, h.process, events, complete=done, as_of_us=limit)
        for r in others:
            eager.append(outcome_of(k, r) if pure(r) else r.evaluate(trace, environment))
    summaries = _summaries(rule_list, eager, counted, batch)

    def materialise() -> list[Outcome]:
        found = {(o.case_id, o.rule): o for o in eager}
        out: list[Outcome] = []
        for k, (h, _, _) in enumerate(batch):
            for r in applicable[h.process]:
                o = found.get((h.case_id, r.id)) if r.id not in counted else None
                out.append(o if o is not None else outcome_of(k, r))
        return out

    return Report(None if limit is None else from_epoch_us(limit), len(batch),
                  materialise if counted else eager, summaries)


_VERDICTS = tuple(v.value for v in Verdict)

_VECTOR_MIN = 64
"""Logs at least this large use the vectorised path (below it, arrays cost more than they
save)."""


def _summaries(rules: Sequence[Rule], eager: list[Outcome],
               counted: Mapping[str, list[tuple[list[int], Any]]],
               batch: Sequence[tuple[History, Sequence[Event], bool]]) -> tuple[RuleSummary, ...]:
    base = {s.id: s for s in summarise(rules, eager)}
    out: list[RuleSummary] = []
    done_all: Any = None
    # Per list of members (one per process, shared by its rules): its indexes, whether each
    # case is complete and the case ids, as arrays built once.
    of_members: dict[int, tuple[Any, Any, Any]] = {}
    for r in rules:
        parts = counted.get(r.id)
        if not parts:
            out.append(base[r.id])
            continue
        import numpy as np

        if done_all is None:
            done_all = np.asarray([b[2] for b in batch], dtype=bool)
            ids = np.asarray([b[0].case_id for b in batch], dtype=object)
        totals = [0, 0, 0, 0, 0]
        verdicts = dict.fromkeys(_VERDICTS, 0)
        bad: list[str] = []
        for members, (act, ful, vio, pend, settled) in parts:
            found = of_members.get(id(members))
            if found is None:
                idx = np.asarray(members, dtype=np.int64)
                found = of_members[id(members)] = (members, done_all[idx], ids[idx])
            done, member_ids = found[1], found[2]
            totals[0] += len(members)
            totals[1] += int(act.sum())
            totals[2] += int(ful.sum())
            totals[3] += int(vio.sum())
            totals[4] += int(pend.sum())
            v, p = vio > 0, pend > 0
            sat = ~v & ~p & (done | settled)
            verdicts["violated"] += int(v.sum())
            verdicts["possibly_violated"] += int((~v & p).sum())
            verdicts["satisfied"] += int(sat.sum())
            verdicts["possibly_satisfied"] += int((~v & ~p & ~sat).sum())
            bad += member_ids[v].tolist()
        out.append(RuleSummary(r.id, r.cites, r.text_en, r.text_zh, totals[0], totals[1],
                               totals[2], totals[3], totals[4], verdicts, tuple(bad)))
    return tuple(out)


def summarise(rules: Sequence[Rule], outcomes: Iterable[Outcome]) -> tuple[RuleSummary, ...]:
    """Per-rule counts of ``outcomes``, in the order of ``rules``."""
    counts: dict[str, list[int]] = {r.id: [0, 0, 0, 0, 0] for r in rules}
    verdicts: dict[str, dict[Verdict, int]] = {r.id: dict.fromkeys(Verdict, 0) for r in rules}
    bad: dict[str, list[str]] = {r.id: [] for r in rules}
    violated = Verdict.VIOLATED
    for rule, case_id, verdict, act, ful, vio, pend, _ in outcomes:
        c = counts[rule]
        c[0] += 1
        if act:
            c[1] += len(act)
            c[2] += len(ful)
            if vio:
                c[3] += len(vio)
            if pend:
                c[4] += len(pend)
        verdicts[rule][verdict] += 1
        if verdict is violated:
            bad[rule].append(case_id)
    return tuple(RuleSummary(r.id, r.cites, r.text_en, r.text_zh, counts[r.id][0],
                             counts[r.id][1], counts[r.id][2], counts[r.id][3], counts[r.id][4],
                             {v.value: n for v, n in verdicts[r.id].items()}, tuple(bad[r.id]))
                 for r in rules)
