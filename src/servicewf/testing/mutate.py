"""Mutations of a compliant history that break one chosen rule, with the events that must be
reported: the oracle of the checker's tests (and of users' own rule tests).

Every mutation keeps the history's length, sequence numbers and data flow: an event that
must "not have happened" becomes a ``note`` carrying the same data (so no other rule loses the
data it reads), a field made invalid is given a marker value only the mutation writes, and the
expected sequence numbers are found by a scan written independently of the checker.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import attrs

from servicewf.compliance.rules import (
    AllOf,
    Condition,
    DataRule,
    HandlerTier,
    Overdue,
    Precedence,
    Response,
    Retention,
    Rule,
)
from servicewf.events import Event, EventKind

__all__ = ["BAD_VALUES", "BLANK", "Mutation", "break_rule", "mutable"]

BLANK = "   "
"""The blank value a mutation writes into a required field."""

BAD_VALUES: dict[tuple[str, str], Any] = {
    ("is", "satisfaction"): "no-such-satisfaction-level",
    ("is_not", "dissatisfied"): "不滿意",
    ("is", "instant"): "not an instant",
    ("is", "present"): BLANK,
    ("absent", ""): "mutation-owner",
}
"""The value a mutation writes to make a condition fail, by (op, predicate)."""


@attrs.frozen
class Mutation:
    """A history changed to break rule ``rule``, and the sequence numbers the checker must
    report as its violations."""

    events: tuple[Event, ...]
    rule: str
    seqs: tuple[int, ...]


def _name(e: Event) -> str:
    if e.trigger:
        return e.trigger
    return "open" if e.kind is EventKind.OPENED else e.kind.value


def _as_note(e: Event) -> Event:
    return attrs.evolve(e, kind=EventKind.NOTE, trigger=None, dest=e.source or e.dest)


def _with(e: Event, **data: Any) -> Event:
    return attrs.evolve(e, data={**e.data, **data})


def mutable(rule: Rule) -> bool:
    """Whether :func:`break_rule` knows how to break rules of this template."""
    if isinstance(rule, AllOf):
        return any(mutable(p) for p in rule.parts)
    return isinstance(rule, (Precedence, Response, DataRule, HandlerTier, Retention,
                             Overdue))


def break_rule(events: Sequence[Event], rule: Rule) -> Mutation | None:
    """``events`` changed so that ``rule`` is violated, or ``None`` when the history gives the
    mutation nothing to work on (the rule is never activated)."""
    evs = tuple(events)
    if isinstance(rule, AllOf):
        for part in rule.parts:
            found = break_rule(evs, part)
            if found is not None:
                return attrs.evolve(found, rule=rule.id)
        return None
    if isinstance(rule, Precedence):
        return _precedence(evs, rule)
    if isinstance(rule, Response):
        return _response(evs, rule)
    if isinstance(rule, DataRule):
        return _data(evs, rule)
    if isinstance(rule, HandlerTier):
        hits = [i for i, e in enumerate(evs) if _name(e) in rule.activity]
        if not hits:
            return None
        i = hits[0]
        out = list(evs)
        out[i] = attrs.evolve(evs[i], role="mutation-role")
        return Mutation(tuple(out), rule.id, (evs[i].seq,))
    if isinstance(rule, Overdue):
        return _overdue(evs, rule)
    if isinstance(rule, Retention):
        hits = [i for i, e in enumerate(evs) if _name(e) in rule.activity]
        if not hits:
            return None
        i = hits[0]
        short = (evs[i].at.date() + _dt.timedelta(days=365)).isoformat()
        out = list(evs)
        out[i] = _with(evs[i], **{rule.field: short})
        return Mutation(tuple(out), rule.id, (evs[i].seq,))
    return None


def _precedence(evs: tuple[Event, ...], rule: Precedence) -> Mutation | None:
    targets = [i for i, e in enumerate(evs) if _name(e) in rule.target]
    if not targets:
        return None
    first = targets[0]
    out = [(_as_note(e) if i < first and _name(e) in rule.source else e)
           for i, e in enumerate(evs)]
    seen = False
    bad = []
    for e in out:
        name = _name(e)
        if name in rule.source:
            seen = True
        if name in rule.target and not seen:
            bad.append(e.seq)
    return Mutation(tuple(out), rule.id, tuple(bad))


def _response(evs: tuple[Event, ...], rule: Response) -> Mutation | None:
    sources = [i for i, e in enumerate(evs) if _name(e) in rule.source]
    if not sources:
        return None
    last = sources[-1]
    out = [(_as_note(e) if i > last and _name(e) in rule.target else e)
           for i, e in enumerate(evs)]
    bad = []
    answered = False
    for e in reversed(out):
        name = _name(e)
        if name in rule.source and not answered:
            bad.append(e.seq)
        if name in rule.target:
            answered = True
    return Mutation(tuple(out), rule.id, tuple(sorted(bad)))


def _bad_value(c: Condition) -> Any:
    key = (c.op, "" if c.op in ("present", "absent") else str(c.value))
    if key not in BAD_VALUES:
        raise ValueError(f"no bad value for the condition {c.describe()}")
    return BAD_VALUES[key]


def _data(evs: tuple[Event, ...], rule: DataRule) -> Mutation | None:
    if rule.when:
        return None
    hits = [i for i, e in enumerate(evs) if _name(e) in rule.activity]
    if not hits:
        return None
    i = hits[0]
    if rule.require:
        field, at, marker = rule.require[0], rule.at, BLANK
    else:
        c = rule.check[0]
        field, at, marker = c.field, c.at, _bad_value(c)
    out = list(evs)
    out[i] = _with(evs[i], **{field: marker})
    # The oracle: which activations now see the marker (the case data folds event by event,
    # later values win; an event-scoped rule sees only its own event's data).
    bad: list[int] = []
    current: dict[str, Any] = {}
    for e in out:
        current.update(e.data)
        if _name(e) not in rule.activity:
            continue
        seen = current.get(field) if at == "case" else e.data.get(field)
        if seen is marker or (isinstance(seen, str) and seen == marker):
            bad.append(e.seq)
    return Mutation(tuple(out), rule.id, tuple(bad))


def _overdue(evs: tuple[Event, ...], rule: Overdue) -> Mutation | None:
    """The first step (``rule.activity``) after the opening event made late and without what
    it needs: the event just before it moves the deadline to a second before the step (a
    marker instant only the mutation writes) and the step's first required field is blank."""
    from servicewf.processes.common import parse_instant

    hits = [i for i, e in enumerate(evs) if i and _name(e) in rule.activity]
    if not hits:
        return None
    i = hits[0]
    out = list(evs)
    out[i - 1] = _with(evs[i - 1], **{rule.deadline: (
        evs[i].at - _dt.timedelta(seconds=1)).isoformat()})
    out[i] = _with(evs[i], **{rule.require[0]: BLANK})
    # The oracle: a step is late when the deadline in the case data just before it (later
    # values win) is an instant earlier than the step; late and lacking a required field
    # (none, or blank text, in the step's own data) it is reported.
    bad: list[int] = []
    current: dict[str, Any] = {}
    for e in out:
        due = parse_instant(current.get(rule.deadline))
        if _name(e) in rule.activity and due is not None and e.at > due:
            given = [e.data.get(f) for f in rule.require]
            if any(v is None or (isinstance(v, str) and not v.strip()) for v in given):
                bad.append(e.seq)
        current.update(e.data)
    return Mutation(tuple(out), rule.id, tuple(bad))
