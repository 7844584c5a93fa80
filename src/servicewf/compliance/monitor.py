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
from servicewf.compliance.incremental import (
    Folder,
    _Clock,
    _clock_verdict,
)
from servicewf.compliance.rules import (
    AllOf,
    Condition,
    DataRule,
    Environment,
    HandlerTier,
    Outcome,
    Precedence,
    RoleRule,
    Rule,
    SlaClock,
    Verdict,
    present,
)
from servicewf.compliance.trace import _OPENED, Trace
from servicewf.storage.base import Store, WriteSet

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = ["Alert", "ComplianceMonitor"]

_MAX_CASES = 10_000
_PVIO = Verdict.POSSIBLY_VIOLATED
_VIO = Verdict.VIOLATED
_SAT = Verdict.SATISFIED
_PSAT = Verdict.POSSIBLY_SATISFIED
_MAPPINGS = (dict, FrozenDict, MappingProxyType)


@attrs.frozen
class Alert:
    """A rule turned possibly violated or violated on a case, after event ``seq``."""

    case_id: str
    process: str
    seq: int
    outcome: Outcome


def _moved(old: Any, new: Any, now_us: int, every: bool,
           due: int | None) -> tuple[Sequence[tuple[str, Any]], int | None] | None:
    """The clocks whose entry in the SLA record is not the very entry it was at the last
    command (the SLA processor keeps an unchanged clock's entry; ``every``: all of them),
    with their new entries, and the earliest deadline among ``new`` not passed at ``now_us``
    (as :func:`_next_due`); ``None``: the entries cannot be compared (any clock may have
    moved).

    ``due``: the earliest deadline among ``old`` not passed at the last command, itself not
    passed at ``now_us`` (the caller checks; the monitor's ``st.due``). An entry kept keeps
    its deadline, so unless a moved entry held ``due``, the earliest deadline ahead among
    the kept ones is ``due`` (``None``: they have none ahead) and only the moved entries'
    deadlines are read; otherwise every entry's is."""
    if old is None or new is None or len(old) != len(new):
        return None
    # zip without strict=: the lengths are equal (just checked), and a keyword argument
    # takes zip's slow call path at every command.
    moved: list[tuple[str, Any]] = []
    if every:
        due = None
        for a, b in zip(old, new):  # noqa: B905
            name = b.get("name")
            if name != a.get("name"):
                return None
            moved.append((name, b))
            d = b.get("deadline")
            if type(d) is int and d >= now_us and (due is None or d < due):
                due = d
        return moved, due
    ahead = due
    again = False  # a moved entry held the earliest deadline: read every entry's
    for a, b in zip(old, new):  # noqa: B905
        if a is not b:
            name = b.get("name")
            if name != a.get("name"):
                return None
            moved.append((name, b))
            if ahead is not None and a.get("deadline") == ahead:
                again = True
            d = b.get("deadline")
            if type(d) is int and d >= now_us and (due is None or d < due):
                due = d
    return moved, _next_due(new, now_us) if again else due


def _next_due(entries: Any, now_us: int) -> int | None:
    """The earliest deadline among the clock entries not passed at ``now_us``."""
    found = [d for e in entries or () if type(d := e.get("deadline")) is int and d >= now_us]
    return min(found) if found else None


def _monotone(rule: Rule) -> bool:
    """Whether ``rule`` is made only of leaves that judge each activation once, when it
    happens (data, role and tier rules, and plain precedences, as all-ofs or alone): on an
    open case its verdict is violated once a leaf found a violation, possibly satisfied
    before (incremental._Stable and _Precedence)."""
    if isinstance(rule, AllOf):
        return type(rule) is AllOf and all(_monotone(p) for p in rule.parts)
    return type(rule) in (DataRule, RoleRule, HandlerTier, Precedence)


def _leaf_rules(rule: Rule) -> list[Rule]:
    """The leaves of a :func:`_monotone` rule, in the order of its folder's parts."""
    if isinstance(rule, AllOf):
        return [leaf for p in rule.parts for leaf in _leaf_rules(p)]
    return [rule]


def _needs(rule: Rule) -> tuple[tuple[str, bool, bool], ...] | None:
    """A data rule's tests as (field, read from the case data (else the event's), must be
    present (else absent)), when every test is one of those (its required fields, its
    present/absent checks); ``None``: the rule judges itself (DataRule.judge)."""
    if type(rule) is not DataRule:
        return None
    out = [(f, rule.at == "case", True) for f in rule.require]
    for c in rule.check:
        if c.op not in ("present", "absent"):
            return None
        out.append((c.field, c.at == "case", c.op == "present"))
    return tuple(out)


# What an activity does to a leaf of a monotone rule (_Plan.ops): a data rule's tests
# (:func:`_needs`) or the leaf's own judge, a precedence's target or its source.
_DATA, _JUDGE, _TARGET, _SOURCE = range(4)
_Op = tuple[int, int, int, Rule, tuple[Condition, ...],
            "tuple[tuple[str, bool, bool], ...] | None"]
"""(kind, rule index, precedence leaf index, leaf, its conditions, a data rule's tests)."""


_Step = tuple[tuple[tuple[int, int], ...], tuple[int, ...], frozenset[str], frozenset[str],
              tuple[tuple[str, bool, bool], ...], tuple[_Op, ...], tuple[_Op, ...]]
"""An activity's ops sorted for a command of one event (_Plan.steps, :func:`_step`)."""


def _step(ops: tuple[_Op, ...]) -> _Step:
    """``ops`` (one activity's, in order) sorted for a command of one event:

    - the targets ``(rule, leaf)`` and the sources (leaf) of the precedences without
      conditions;
    - the data rules' tests merged (each test once): the fields that must be present in the
      case data, those that must be absent from the event's data, and the other tests; and
      those data rules' ops, judged one by one when a test fails;
    - the ops judged one by one, in order: the rules' own judge, and every op of a leaf with
      conditions (its target is then judged before its source is marked, as in
      :meth:`ComplianceMonitor._fold`)."""
    targets: list[tuple[int, int]] = []
    sources: list[int] = []
    tests: dict[tuple[str, bool, bool], None] = {}
    data: list[_Op] = []
    rest: list[_Op] = []
    for op in ops:
        kind, k, j, leaf, _, need = op
        when: tuple[Condition, ...] = getattr(leaf, "when", ())
        if kind == _JUDGE or when:
            rest.append(op)
        elif kind == _TARGET:
            targets.append((k, j))
        elif kind == _SOURCE:
            sources.append(j)
        else:
            assert need is not None
            data.append(op)
            tests.update(dict.fromkeys(need))
    at_case = frozenset(f for f, case, want in tests if case and want)
    at_event = frozenset(f for f, case, want in tests if not case and not want)
    other = tuple(t for t in tests if t[1] is not t[2])
    return (tuple(targets), tuple(sources), at_case, at_event, other, tuple(data),
            tuple(rest))


class _Evaluated(Folder):
    """A monotone rule in the monitor: its verdict is kept by the monitor (violated once a
    leaf found a violation), its outcome is the rule's own evaluation, built when read."""

    __slots__ = ()

    def outcome(self, trace: Trace, env: Environment) -> Outcome:
        return self.rule.evaluate(trace, env)


class _Plan:
    """The rules of one process, and which of them each activity can change."""

    __slots__ = ("always", "clock_by_name", "clocks", "commands", "generic", "monotone",
                 "monotone_set", "ops", "others", "others_all", "others_always", "rules", "seen",
                 "steps", "touch", "unknown")

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
        # One new event (a command): the rules made only of leaves that judge each
        # activation once (data, role, tier, precedence: see _monotone) are folded leaf by
        # leaf, in one pass over what the event's activity activates, worked out here once
        # per catalogue; their verdict can then only turn violated (or follow the case's
        # completeness). The other rules the activity touches take the general path.
        ops: dict[str, list[_Op]] = {}
        monotone: set[int] = set()
        seen = 0  # precedence leaves: whether each one's source happened (per case)
        for k, r in enumerate(rules):
            if k in self.clocks or not _monotone(r):
                continue
            monotone.add(k)
            for leaf in _leaf_rules(r):
                if type(leaf) is Precedence:
                    j, seen = seen, seen + 1
                    for a in dict.fromkeys((*leaf.target, *leaf.source)):
                        # the target judged before the source is marked: B at A's first
                        # position has no A before it (_precedence)
                        if a in leaf.target:
                            ops.setdefault(a, []).append((_TARGET, k, j, leaf, leaf.when, None))
                        if a in leaf.source:
                            ops.setdefault(a, []).append((_SOURCE, k, j, leaf, (), None))
                else:
                    need = _needs(leaf)
                    for a in dict.fromkeys(leaf.activity):  # type: ignore[attr-defined]
                        ops.setdefault(a, []).append((
                            _JUDGE if need is None else _DATA, k, -1, leaf,
                            getattr(leaf, "when", ()), need))
        self.seen = seen
        self.ops = {a: tuple(found) for a, found in ops.items()}
        self.steps = {a: _step(found) for a, found in self.ops.items()}
        self.others = {a: tuple(k for k in ks if k not in monotone)
                       for a, ks in self.touch.items()}
        self.others_always = tuple(k for k in self.always if k not in monotone)
        self.monotone = tuple(sorted(monotone))
        self.monotone_set = frozenset(monotone)
        self.others_all = tuple(k for k in range(len(rules))
                                if k not in monotone and k not in self.clocks)
        self.generic = tuple(k for k in range(len(rules)) if k not in monotone)
        # What one event of each activity does on an open case, in one lookup: the other
        # rules it touches, then its step (empty parts when it has none).
        none: _Step = ((), (), frozenset(), frozenset(), (), (), ())
        self.commands: dict[str, tuple[Any, ...]] = {
            a: (self.others.get(a, self.others_always), *self.steps.get(a, none))
            for a in {*self.steps, *self.others}}
        self.unknown = (self.others_always, *none)

    def uncovered(self, entries: Any) -> tuple[tuple[int, ...], bool]:
        """The clock rules whose clock has no entry among ``entries`` (they fold the history
        themselves, so any command can change them), and whether every entry is a mapping
        with a name of its own (a clock rule then reads the one entry of its name)."""
        found = [e.get("name") for e in entries or ()
                 if type(e) in _MAPPINGS or isinstance(e, Mapping)]
        names = set(found)
        unique = len(names) == len(found) == len(entries or ())
        return tuple(k for k in self.clocks if self.rules[k].clock not in names), unique  # type: ignore[attr-defined]

    def slots(self, entries: Any, folders: list[Folder], trace: Trace,
              env: Environment) -> tuple[tuple[Any, tuple[int, ...]], ...] | None:
        """Per position in ``entries`` (every entry a mapping with a name of its own), its
        name and the clock rules that read it, when each of those is judged from its entry
        directly (a bound :class:`_Clock`); ``None`` otherwise."""
        by_name = self.clock_by_name
        out = []
        for e in entries:
            name = e.get("name")
            ks = by_name.get(name, ())
            for k in ks:
                f = folders[k]
                # Bound now rather than at the rule's first verdict: the same answer (the
                # environment and the process do not change), asked once.
                if type(f) is not _Clock or not (
                        f.bound if f.bound is not None else f._bound(trace, env)):
                    return None
            out.append((name, ks))
        return tuple(out)

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

    __slots__ = ("bad", "complete", "definition_version", "due", "entries", "finals",
                 "folders", "known", "plan", "seen", "slots", "trace", "uncovered", "unique",
                 "verdicts", "version")

    def __init__(self, plan: _Plan, trace: Trace, version: int) -> None:
        self.plan = plan
        self.trace = trace
        monotone = plan.monotone_set
        self.folders: list[Folder] = [_Evaluated(r) if k in monotone else r.folder()
                                      for k, r in enumerate(plan.rules)]
        # The monotone rules' state: whether each found a violation, whether each
        # precedence leaf's source happened (plan.ops index them).
        self.bad = [False] * len(plan.rules)
        self.seen = [False] * plan.seen
        self.verdicts: list[Verdict | None] = [None] * len(plan.rules)
        self.version = version
        self.complete = False
        self.entries: Any = None  # the SLA record's clock entries at the last command
        self.uncovered: tuple[int, ...] = ()  # clock rules without an entry among them
        self.unique = False  # whether every clock entry has a name of its own
        # Per position in the clock entries, the entry's name and the clock rules judged
        # from it directly (_Plan.slots); None: the entries are judged by _clocks.
        self.slots: tuple[tuple[Any, tuple[int, ...]], ...] | None = None
        self.finals: frozenset[str] | None = None  # the final states of the case's definition
        self.definition_version = 0  # ... of this version
        self.due: int | None = None  # the earliest of the entries' deadlines still ahead
        # Fields whose latest value in the case data was found present, given by no event
        # since (an event that gives one removes it: its value is looked at again).
        self.known: set[str] = set()


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
        cid = case.id
        cases = self._cases
        st = cases.get(cid)
        if st is None or len(new) != 1 or st.version != write.expected_version or \
                new[0].seq != st.version + 1:
            self._write(write, st)  # the first write of the state, or several events
            return
        # One new event (a command) onto the state kept: the path every command takes, so
        # it is written out here (no per-command call, tuple or list it can do without).
        event = new[0]
        cases[cid] = cases.pop(cid)  # kept in order of the last write (the bound drops the
        # case written longest ago first)
        trace = st.trace
        # Trace.append written out (what it does for one event, the trace's events a list
        # since _load): the call and its attribute reads cost as much as the appends.
        events = trace.events
        i = len(events)  # the new event's position
        events.append(event)  # type: ignore[attr-defined]
        act = event.trigger or ("open" if event.kind is _OPENED else event.kind.value)
        trace.acts.append(act)
        trace.seqs.append(event.seq)
        given = event.data
        fields = trace._fields
        if fields is not None:
            for f, v in given.items():
                slot = fields.get(f)
                if slot is None:
                    fields[f] = ([i], [v])
                else:
                    slot[0].append(i)
                    slot[1].append(v)
        known = st.known
        if known:
            known.difference_update(given)
        st.version = case.version
        finals = st.finals
        if finals is None or st.definition_version != case.definition_version:
            finals = self._finals_of(st, case)
        complete = finals is not None and case.state in finals
        before_us = trace.as_of_us
        trace.complete = complete
        now_us = epoch_us(case.updated_at)
        trace.as_of_us = now_us
        raw: Any = case.extensions.get("sla")
        trace.sla = raw
        plan = st.plan
        verdicts = st.verdicts
        turned: list[int] = []  # the rules whose verdict turned possibly violated / violated
        # The monotone rules the activity concerns (the plan's step, see _step): the
        # precedences without conditions by their leaves' state alone, the data rules'
        # merged tests once each (every test passing: no data rule found a violation; one
        # failing: their ops are judged one by one), the other ops one by one.
        touched: Sequence[int]
        touched, targets, sources, at_case, at_event, tests, data, rest = \
            plan.commands.get(act, plan.unknown)
        if targets:
            seen, bad = st.seen, st.bad
            for k, j in targets:  # judged before the sources are marked, as in _fold
                if not seen[j] and not bad[k]:
                    bad[k] = True
                    if verdicts[k] is not _VIO:
                        verdicts[k] = _VIO
                        turned.append(k)
        if sources:
            seen = st.seen
            for j in sources:
                seen[j] = True
        if data:
            # The fields to be present in the case data: those known present (their latest
            # value, given by no event since it was found present) need no look.
            failed = not at_case <= known and self._missing(st, trace, at_case)
            if not failed and at_event and not at_event.isdisjoint(given):
                failed = any(present(given.get(f)) for f in at_event)
            if not failed and tests:
                failed = self._fails(trace, given, tests)
            if failed:
                self._fold(st, data, trace, i, True, turned)
        if rest:
            self._fold(st, rest, trace, i, True, turned)
        flipped = complete is not st.complete
        if flipped:
            st.complete = complete
            # A monotone rule not violated is satisfied on a complete case, possibly
            # satisfied on an open one (incremental._Stable, _Precedence, _conjunction).
            settled = _SAT if complete else _PSAT
            for k in plan.monotone:
                if verdicts[k] is not _VIO:
                    verdicts[k] = settled
        # On a complete case any event can change the other rules (one may judge at the
        # last event); on an open one, those the activity is relevant to.
        if complete or flipped:
            touched = plan.others_all
        if plan.clocks:
            entries = raw.get("clocks") if type(raw) in _MAPPINGS else None
            slots = st.slots
            due = st.due
            # (slots are only kept after a command: before_us is then an instant)
            if slots is None or (
                    now_us < before_us  # type: ignore[operator]
            ) or (due is not None and due < now_us) or entries is None or \
                    len(entries) != len(slots):
                touched = self._clocks(st, entries, before_us, now_us, complete, flipped,
                                       False, touched, turned)
            elif flipped or st.entries != entries:  # compared in C, kept entries at once
                # The clocks' entries in the same places, no deadline passed since the last
                # command: the entries the SLA processor kept (the very same objects) leave
                # their rules' verdicts as they were, unless the case completed or reopened
                # (every entry is judged again then); a rule whose entry is judged is judged
                # from the entry (_clock_verdict, as _Clock.verdict gives it). A moved
                # entry's deadline, if ahead, may become the earliest one ahead; a moved entry
                # that held that one leaves it in place, earlier than need be: when it
                # passes, every entry is judged (the path above) and the earliest deadline
                # read again. When every entry is judged, the earliest is read anew.
                old = st.entries
                st.entries = entries
                if flipped:
                    due = None
                for a, b, (name, ks) in zip(old, entries, slots):  # noqa: B905 (equal lengths)
                    if a is b:
                        if not flipped:
                            continue
                    elif b.get("name") != name:  # another clock in this place: read them all
                        st.entries, st.slots = old, None
                        touched = self._clocks(st, entries, before_us, now_us, complete,
                                               flipped, False, touched, turned)
                        break
                    d = b.get("deadline")
                    if type(d) is int and d >= now_us and (due is None or d < due):
                        due = d
                    if ks:
                        v = _clock_verdict(b, now_us, complete)
                        for k in ks:
                            if v is not verdicts[k]:
                                verdicts[k] = v
                                if v is _PVIO or v is _VIO:
                                    turned.append(k)
                else:
                    st.due = due
                    if st.uncovered:  # clock rules without an entry fold the history
                        touched = (*touched, *st.uncovered)
            else:
                st.entries = entries
                if st.uncovered:
                    touched = (*touched, *st.uncovered)
        if touched or turned:  # most commands: no rule left to step, none turned
            self._judge(case, st, trace, i, touched, turned)

    @staticmethod
    def _fails(trace: Trace, given: Any, tests: tuple[tuple[str, bool, bool], ...]) -> bool:
        """Whether one of the merged data ``tests`` (field, in the case data (else the
        event's, ``given``), must be present (else absent)) fails as of the last event."""
        fields = trace.fields()
        for field, case_data, want in tests:
            if case_data:
                found = fields.get(field)
                v = found[1][-1] if found is not None else None
            else:
                v = given.get(field)
            if present(v) is not want:
                return True
        return False

    def _judge(self, case: Any, st: _CaseState, trace: Trace, start: int,
               touched: Sequence[int], turned: list[int]) -> None:
        """Step the folders of the ``touched`` rules over the events from ``start`` on; then
        alert on the rules ``turned`` possibly violated or violated (these among them too)."""
        folders, verdicts, env = st.folders, st.verdicts, self.env
        for k in touched:
            v = folders[k].step(trace, start, env)
            if v is not verdicts[k]:
                verdicts[k] = v
                if v is _PVIO or v is _VIO:
                    turned.append(k)
        if turned and self.on_alert is not None:
            self._alert(case, st, turned)

    def _write(self, write: WriteSet, st: _CaseState | None) -> None:
        """:meth:`__call__` for a write that is not one event onto the state kept: the first
        write of the state (its history read again) or several events."""
        case = write.case
        new = write.events
        if st is not None and new and st.version == write.expected_version and \
                new[0].seq == st.version + 1:
            trace = st.trace
            start = len(trace.acts)
            trace.extend(new)
            st.known.clear()
            self._cases.pop(case.id)  # kept in order of the last write
            self._cases[case.id] = st
        else:
            st = self._load(case, write, st)
            trace = st.trace
            start = 0
        st.version = case.version
        finals = st.finals
        if finals is None or st.definition_version != case.definition_version:
            finals = self._finals_of(st, case)
        complete = finals is not None and case.state in finals
        before_us = trace.as_of_us
        trace.complete = complete
        now_us = epoch_us(case.updated_at)
        trace.as_of_us = now_us
        raw: Any = case.extensions.get("sla")
        trace.sla = raw
        plan = st.plan
        flipped = complete != st.complete
        everything = start == 0 or complete or flipped
        st.complete = complete
        verdicts = st.verdicts
        turned: list[int] = []  # the rules whose verdict turned possibly violated / violated
        acts = trace.acts
        last = len(acts) - 1
        for i in range(start, len(acts)):
            ops = plan.ops.get(acts[i])
            if ops is not None:
                self._fold(st, ops, trace, i, i == last, None)
        settled = _SAT if complete else _PSAT
        bad = st.bad
        for k in plan.monotone:
            v = _VIO if bad[k] else settled
            if v is not verdicts[k]:
                verdicts[k] = v
                if v is _VIO:
                    turned.append(k)
        touched: Sequence[int]
        if everything:
            touched = plan.generic
        else:
            touched = [k for k in plan.touched(acts, start) if k not in plan.monotone_set]
        if plan.clocks:
            entries = raw.get("clocks") if type(raw) in _MAPPINGS else None
            touched = self._clocks(st, entries, before_us, now_us, complete, flipped,
                                   everything, touched, turned)
        self._judge(case, st, trace, start, touched, turned)

    def _finals_of(self, st: _CaseState, case: Any) -> frozenset[str] | None:
        """The final states of the case's definition (``None``: no registry (yet): never
        complete), kept in the case's state."""
        key = (case.process, case.definition_version)
        finals = self._finals.get(key)
        if finals is None:
            self._complete(key, case.state)
            finals = self._finals.get(key)
        st.finals, st.definition_version = finals, case.definition_version
        return finals

    def _clocks(self, st: _CaseState, entries: Any, before_us: int | None, now_us: int,
                complete: bool, flipped: bool, with_clocks: bool, touched: Sequence[int],
                turned: list[int]) -> Sequence[int]:
        """Judge the clock rules (the plan has some) after a write: the rules to step as
        well (``touched`` and those of the clock rules that must fold again). ``with_clocks``:
        ``touched`` holds every clock rule already.

        A clock rule reads its clock's entry in the SLA record: the same entry, no deadline
        passed since the last command and the same completeness leave its verdict as it
        was. A rule whose clock has no entry folds the history itself."""
        plan = st.plan
        due = st.due  # the earliest deadline not passed at the last command
        old = st.entries
        st.entries = entries
        # A clock rule's verdict depends on its entry, whether a deadline passed and whether
        # the case is complete: a case that completes (or reopens) judges every entry again,
        # otherwise the entries that moved.
        if with_clocks or before_us is None or now_us < before_us or (
                due is not None and due < now_us):
            found = None
        elif not flipped and old is not None and old == entries:
            # The same entries (the processor kept them): no clock moved, no deadline
            # changed. Compared in C; an entry kept is found equal at once. The clock rules
            # without an entry fold the history: any command can change them.
            return (*touched, *st.uncovered) if st.uncovered else touched
        else:
            found = _moved(old, entries, now_us, flipped, due)
        if found is None:
            if not with_clocks:
                touched = (*touched, *plan.clocks)
            st.uncovered, st.unique = plan.uncovered(entries)
            st.due = _next_due(entries, now_us)
            st.slots = plan.slots(entries, st.folders, st.trace, self.env) \
                if st.unique and entries is not None else None
            return touched
        moved, st.due = found
        extra = st.uncovered
        by_name = plan.clock_by_name
        folders, verdicts = st.folders, st.verdicts
        for name, entry in moved:
            for k in by_name.get(name, ()):
                f = folders[k]
                if st.unique and isinstance(f, _Clock) and f.bound is True:
                    # The rule's verdict from its clock's new entry, as _Clock.verdict
                    # gives it (its one entry, a bound clock).
                    v = _clock_verdict(entry, now_us, complete)
                    if v is not verdicts[k]:
                        verdicts[k] = v
                        if v is _PVIO or v is _VIO:
                            turned.append(k)
                else:
                    extra += (k,)
        return (*touched, *extra) if extra else touched

    def _alert(self, case: Any, st: _CaseState, turned: list[int]) -> None:
        """Tell ``on_alert`` about the rules ``turned``: their outcomes are built only for
        someone to read."""
        on_alert = self.on_alert
        assert on_alert is not None
        trace, folders, env = st.trace, st.folders, self.env
        if len(turned) > 1:  # in rule order (clock rules after the others), as judged
            clocks = st.plan.clocks
            turned = sorted(k for k in turned if k not in clocks) + [
                k for k in turned if k in clocks]
        alerts = [Alert(case.id, case.process, trace.seqs[-1],
                        folders[k].outcome(trace, env)) for k in turned]
        for a in alerts:
            on_alert(a)

    @staticmethod
    def _missing(st: _CaseState, trace: Trace, names: frozenset[str]) -> bool:
        """Whether one of the fields ``names`` is not present in the case data as of the
        trace's last event; those present are remembered as known (st.known)."""
        fields = trace.fields()
        known = st.known
        missing = False
        for field in names - known:
            found = fields.get(field)
            if found is not None and present(found[1][-1]):
                known.add(field)
            else:
                missing = True
        return missing

    def _fold(self, st: _CaseState, ops: tuple[_Op, ...], trace: Trace, i: int, last: bool,
              turned: list[int] | None) -> None:
        """Judge event ``i`` for the monotone rules its activity concerns (``ops``, from the
        plan): a violation marks its rule violated (and, with ``turned``, turns its verdict
        so at once: the caller sets the other verdicts when the case's completeness
        changed). ``last``: ``i`` is the trace's last event."""
        seen, bad, env = st.seen, st.bad, self.env
        for kind, k, j, leaf, when, need in ops:
            if kind == _SOURCE:
                seen[j] = True
                continue
            if when and not all(c.holds(trace, i) for c in when):
                continue  # not an activation
            if kind == _TARGET:
                if seen[j]:
                    continue  # its source came before it
            elif kind == _DATA and last:
                # The data rule's tests as DataRule.judge makes them (as of the last event,
                # a field of the case data has its latest value); a failure is confirmed by
                # the rule itself.
                assert need is not None
                for field, at_case, want in need:
                    if at_case:
                        fields = trace.fields()
                        found = fields.get(field)
                        v = found[1][-1] if found is not None else None
                    else:
                        v = trace.events[i].data.get(field)
                    if (v is not None and (bool(v.strip()) if type(v) is str
                                           else present(v))) is not want:
                        break
                else:
                    continue
                if leaf.judge(trace, i, env) is None:  # type: ignore[attr-defined]
                    continue
            elif leaf.judge(trace, i, env) is None:  # type: ignore[attr-defined]
                continue
            if not bad[k]:
                bad[k] = True
                if turned is not None and st.verdicts[k] is not _VIO:
                    st.verdicts[k] = _VIO
                    turned.append(k)

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
