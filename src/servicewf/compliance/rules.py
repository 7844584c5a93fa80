"""Compliance rules as values: Declare/LTLf templates over case histories, role, data, timing,
window and retention rules, each with an id, a guideline citation and zh/en text.

A rule evaluates one :class:`~servicewf.compliance.trace.Trace` (a case history) to an
:class:`Outcome`: its *activations* (the events the rule applies to), which of them it
*fulfils*, *violates* or leaves *pending*, with the events' sequence numbers, a one-line
reason, and one of four verdicts (RV-LTL): satisfied, violated, possibly satisfied (an open
case that complies so far but could still fail) and possibly violated (an open case that does
not comply yet but still can, e.g. a response not given so far or a deadline not passed yet).

Semantics follow Declare (van der Aalst, Pesic, Schonenberg 2009; Ly et al. 2015), on the
activities of a history (:func:`~servicewf.compliance.trace.activity`): the trigger of a
transition, ``"open"`` for the opening, the kind of other events. A trace with no activation
satisfies a rule vacuously. A pending activation of a complete case is a violation.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import attrs

from servicewf._frozen import names_tuple
from servicewf.clock import _years_after, epoch_us, from_epoch_us, local_date_us
from servicewf.compliance.trace import Trace
from servicewf.errors import InvalidRule
from servicewf.processes.common import (
    COMPLAINT_LEVEL,
    SATISFACTION,
    Vocabulary,
    is_dissatisfied,
    parse_instant,
)
from servicewf.sla import BREACHED, CANCELLED, MET, NO_GOAL, TOO_EARLY, ClockState, recompute

if TYPE_CHECKING:
    from servicewf.calendar import BusinessCalendar
    from servicewf.compliance.incremental import Folder
    from servicewf.definition import Registry
    from servicewf.sla import SLA

__all__ = [
    "PREDICATES",
    "Absence",
    "Activities",
    "AllOf",
    "AlternatePrecedence",
    "AlternateResponse",
    "ChainPrecedence",
    "ChainResponse",
    "ChainSuccession",
    "Coexistence",
    "Condition",
    "DataRule",
    "Duration",
    "Environment",
    "Existence",
    "HandlerTier",
    "Init",
    "NotCoexistence",
    "NotSuccession",
    "Outcome",
    "Overdue",
    "Precedence",
    "RespondedExistence",
    "Response",
    "Retention",
    "RoleRule",
    "Rule",
    "SlaClock",
    "Succession",
    "Verdict",
    "Window",
    "Within",
    "pure",
    "register_predicate",
]

Activities = tuple[str, ...]
"""One activity name or several (any of them matches)."""

_US = 1_000_000
_HOUR = 3600 * _US
_DAY = 24 * _HOUR


class Verdict(str, enum.Enum):
    """The four RV-LTL values of a rule on a case at an instant."""

    SATISFIED = "satisfied"
    VIOLATED = "violated"
    POSSIBLY_SATISFIED = "possibly_satisfied"
    POSSIBLY_VIOLATED = "possibly_violated"


class Outcome(NamedTuple):
    """What one rule says about one case: the verdict, the activations and which of them were
    fulfilled, violated or are pending (sequence numbers of the events), and a one-line reason
    (never a field value: reports may be read by people who may not see customer data).

    A named tuple: a log of many cases has one per rule and case, so it is built cheaply."""

    rule: str
    case_id: str
    verdict: Verdict
    activations: tuple[int, ...] = ()
    fulfilments: tuple[int, ...] = ()
    violations: tuple[int, ...] = ()
    pending: tuple[int, ...] = ()
    reason: str = ""

    @property
    def violated(self) -> bool:
        """True when the verdict is :attr:`Verdict.VIOLATED`."""
        return self.verdict is Verdict.VIOLATED


def _activities(value: Any) -> Activities:
    names = names_tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise InvalidRule(f"an activity is a non-empty name or a list of them, not {value!r}")
    return names


def _fields(value: Any) -> tuple[str, ...]:
    return names_tuple(value)


# --- data conditions --------------------------------------------------------------------------

PREDICATES: dict[str, Callable[[Any], bool]] = {}
"""Named value tests a :class:`Condition` may use with ``op="is"`` (plain data names them; no
code is evaluated from data). Built in: ``present``, ``instant``, ``dissatisfied``,
``satisfaction`` (a known satisfaction value); add more with :func:`register_predicate`."""


def register_predicate(name: str, test: Callable[[Any], bool]) -> None:
    """Make ``test`` available to conditions as ``{"op": "is", "value": name}``."""
    if not isinstance(name, str) or not name:
        raise InvalidRule("a predicate needs a non-empty name")
    PREDICATES[name] = test


def present(value: Any) -> bool:
    """A value counts as given: not ``None``, not blank text, not an empty collection."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    try:
        return len(value) > 0
    except TypeError:  # a number, a date...: given
        return True


_OPS = ("present", "absent", "equals", "not_equals", "in", "not_in", "is", "is_not")


@attrs.frozen
class Condition:
    """A test of one data field as of an event: the case data just after it (``at="case"``,
    the default) or only the data the event supplied (``at="event"``).

    ``op``: ``present`` / ``absent`` (given and not blank, or not), ``equals`` /
    ``not_equals`` ``value``, ``in`` / ``not_in`` a list ``value``, ``is`` / ``is_not`` a named
    predicate ``value`` (:data:`PREDICATES`).
    """

    field: str
    op: str = "present"
    value: Any = None
    at: str = "case"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field:
            raise InvalidRule("a condition names a field")
        if self.op not in _OPS:
            raise InvalidRule(f"condition op {self.op!r} is not one of {', '.join(_OPS)}")
        if self.at not in ("case", "event"):
            raise InvalidRule(f"condition at={self.at!r}: use 'case' or 'event'")
        if self.op in ("is", "is_not") and self.value not in PREDICATES:
            raise InvalidRule(f"condition on {self.field!r}: unknown predicate {self.value!r}; "
                              f"known: {', '.join(sorted(PREDICATES))} (register_predicate)")
        if self.op in ("in", "not_in") and not isinstance(self.value, (list, tuple)):
            raise InvalidRule(f"condition on {self.field!r}: {self.op} needs a list value")

    def holds(self, trace: Trace, i: int) -> bool:
        """Whether the condition holds at event ``i`` of ``trace``."""
        if self.at == "case":
            v = trace.value_at(self.field, i)
        else:
            v = trace.events[i].data.get(self.field)
        op = self.op
        if op == "present":
            return present(v)
        if op == "absent":
            return not present(v)
        if op == "equals":
            return bool(v == self.value)
        if op == "not_equals":
            return bool(v != self.value)
        if op == "in":
            return v in self.value
        if op == "not_in":
            return v not in self.value
        test = PREDICATES[self.value]
        return test(v) if op == "is" else not test(v)

    def describe(self) -> str:
        """Short English text (names the field, never a case's value)."""
        if self.op in ("present", "absent"):
            return f"{self.field} {self.op}"
        if self.op in ("is", "is_not"):
            return f"{self.field} {'is' if self.op == 'is' else 'is not'} {self.value}"
        return f"{self.field} {self.op.replace('_', ' ')} {self.value!r}"


def _conditions(value: Any) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if isinstance(value, Condition):
        return (value,)
    out: list[Condition] = []
    for c in value:
        out.append(c if isinstance(c, Condition) else Condition(**c))
    return tuple(out)


def _instant(value: Any) -> bool:
    return parse_instant(value) is not None


_MAX_WORDS = 4096
_UNKNOWN: Any = object()
_SATISFACTION_WORDS: dict[str, str | None] = {}
_LEVEL_WORDS: dict[str, str | None] = {}


def _word(words: dict[str, str | None], vocabulary: Vocabulary, value: str) -> str | None:
    """``vocabulary.normalise(value)`` for a text ``value``, kept in ``words``: normalising
    builds a key from the text on every call, and the data and tier rules ask for the same
    few spellings at every event. A built-in vocabulary is a frozen value, so the answer for
    a spelling never changes; ``words`` is emptied when full (it only saves time)."""
    found = words.get(value, _UNKNOWN)
    if found is _UNKNOWN:
        if len(words) >= _MAX_WORDS:
            words.clear()
        found = words[value] = vocabulary.normalise(value)
    return found  # type: ignore[no-any-return]


def _dissatisfied(value: Any) -> bool:
    if type(value) is str:
        return _word(_SATISFACTION_WORDS, SATISFACTION, value) == "dissatisfied"
    return is_dissatisfied(value)


def _satisfaction(value: Any) -> bool:
    if type(value) is str:
        return _word(_SATISFACTION_WORDS, SATISFACTION, value) is not None
    return value is not None and SATISFACTION.normalise(value) is not None


register_predicate("present", present)
register_predicate("instant", _instant)
register_predicate("dissatisfied", _dissatisfied)
register_predicate("satisfaction", _satisfaction)


# --- the environment rules may need ------------------------------------------------------------


@attrs.frozen
class Environment:
    """What timing rules need besides the history: named calendars (``"24x7"`` is always
    there; the built-in catalogue also uses ``"office"``, the China office calendar) and the SLA
    whose clocks :class:`SlaClock` rules read, with the registry of definitions it binds to."""

    calendars: Mapping[str, BusinessCalendar] = attrs.field(factory=dict)
    sla: SLA | None = None
    registry: Registry | None = None

    def calendar(self, name: str) -> BusinessCalendar:
        """The calendar ``name`` (``InvalidRule`` naming the known ones when missing)."""
        found = self.calendars.get(name)
        if found is not None:
            return found
        from servicewf.calendar import TWENTY_FOUR_SEVEN, china_office

        if name == "24x7":
            return TWENTY_FOUR_SEVEN
        if name == "office":
            return china_office()
        raise InvalidRule(f"no calendar named {name!r}; known: 24x7, office, "
                          f"{', '.join(self.calendars) or '(none given)'}")


# --- the rule base ----------------------------------------------------------------------------


def default_reason(activations: int, violations: int, pending: int) -> str:
    """The reason of an outcome no rule worded: its counts."""
    if not activations:
        return "not activated"
    if violations:
        return f"{violations} of {activations} activations violated"
    if pending:
        return f"{pending} of {activations} activations pending"
    return f"{activations} activations, all fulfilled"


def _judge(rule: Rule, trace: Trace, act: Sequence[int], ful: Sequence[int],
           vio: Sequence[int], pend: Sequence[int], why: str, *,
           settled: bool = False, keep_pending: bool = False) -> Outcome:
    """The outcome from positions: pending activations of a complete case are violations
    (unless ``keep_pending``: a deadline still ahead decides, not the case's end)."""
    if pend and trace.complete and not keep_pending:
        vio = sorted((*vio, *pend))
        pend = ()
    if vio:
        verdict = Verdict.VIOLATED
    elif pend:
        verdict = Verdict.POSSIBLY_VIOLATED
    elif trace.complete or settled:
        verdict = Verdict.SATISFIED
    else:
        verdict = Verdict.POSSIBLY_SATISFIED
    if not why:
        why = default_reason(len(act), len(vio), len(pend))
    seqs = trace.seqs
    return _new(Outcome, (rule.id, trace.case_id, verdict,
                          tuple([seqs[i] for i in act]) if act else (),
                          tuple([seqs[i] for i in ful]) if ful else (),
                          tuple([seqs[i] for i in vio]) if vio else (),
                          tuple([seqs[i] for i in pend]) if pend else (), why))


_new = tuple.__new__


@attrs.frozen(kw_only=True)
class Rule:
    """The common part of every rule: ``id`` (e.g. ``"C8"``), ``cites`` (the guideline clause,
    ``"001 §7.3"``), ``text_en`` / ``text_zh`` (the rule in words) and ``processes`` (the
    process names it applies to; empty: every case)."""

    template: ClassVar[str] = ""
    stable: ClassVar[bool] = False
    """True when an activation's verdict never changes once its event happened (it reads only
    that event and the ones before it): the incremental checker judges new activations only
    (``Trace.start``) and keeps the rest."""
    activity_only: ClassVar[bool] = False
    """True when the outcome depends only on the sequence of activities (and whether the case
    is complete): the checker then evaluates it once per variant of a log."""
    id: str
    cites: str = ""
    text_en: str = ""
    text_zh: str = ""
    processes: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InvalidRule("a rule needs a non-empty id")

    def relevant(self) -> frozenset[str] | None:
        """The activities whose events can change this rule's outcome on a growing history
        (besides the case becoming complete); ``None``: any event, or time passing. The
        incremental checker re-evaluates a rule only after such an event."""
        return None

    def folder(self) -> Folder:
        """A fresh incremental form of this rule for one case (see
        :mod:`~servicewf.compliance.incremental`): running state folded one event at a time,
        whose outcome equals :meth:`evaluate` on the same history."""
        from servicewf.compliance.incremental import folder_for

        return folder_for(self)

    def applies_to(self, process: str | None) -> bool:
        """Whether the rule applies to a case of ``process`` (``None``: unknown, it does)."""
        return not self.processes or process is None or process in self.processes

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        """The rule's outcome on one case."""
        raise NotImplementedError

    def text(self, lang: str = "en") -> str:
        """The rule in words (``"zh"`` or ``"en"``)."""
        return (self.text_zh or self.text_en) if lang.startswith("zh") else self.text_en


def _when(trace: Trace, positions: list[int], when: tuple[Condition, ...]) -> list[int]:
    if not when:
        return positions
    return [i for i in positions if all(c.holds(trace, i) for c in when)]


@functools.lru_cache(maxsize=4096)
def _fs(names: Activities) -> frozenset[str]:
    return frozenset(names)


def _positions_from(trace: Trace, names: Activities, start: int) -> list[int]:
    """The positions of ``names`` from ``start`` on: the trace's index for the whole trace,
    a scan of the few events after ``start`` otherwise (the incremental checker's case)."""
    if not start:
        return trace.positions(_fs(names))
    acts = trace.acts
    return [i for i in range(start, len(acts)) if acts[i] in names]


Scan = tuple[list[int], list[int], list[int], str]
"""What a rule that judges each activation once (:attr:`Rule.stable`) found from a position
on: activations, fulfilments, violations (positions) and the reason of the first violation."""


def _scan(rule: Any, trace: Trace, act: list[int], env: Environment) -> Scan:
    """``act`` judged one by one by ``rule.judge`` (a rule that judges each activation once)."""
    ful: list[int] = []
    vio: list[int] = []
    why = ""
    for i in act:
        problem = rule.judge(trace, i, env)
        if problem is None:
            ful.append(i)
        else:
            vio.append(i)
            why = why or problem
    return act, ful, vio, why


# --- Declare templates: unary -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Existence(Rule):
    """``activity`` happens at least ``at_least`` times (◇A) and, with ``at_most``, no more
    than that (``at_least=1, at_most=1``: exactly once). One activation per case, at its first
    event; too many occurrences violate it at the first one too many, too few (in a complete
    case) at the last event."""

    template: ClassVar[str] = "existence"
    activity_only: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)
    at_least: int = 1
    at_most: int | None = None
    when: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.at_least < 0 or (self.at_most is not None and self.at_most < self.at_least):
            raise InvalidRule(f"rule {self.id}: needs 0 ≤ at_least ≤ at_most")

    def relevant(self) -> frozenset[str] | None:
        return _fs(self.activity)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        found = _when(trace, trace.positions(_fs(self.activity)), self.when)
        if not trace.events:
            return _judge(self, trace, [], [], [], [], "empty history")
        name = "/".join(self.activity)
        if self.at_most is not None and len(found) > self.at_most:
            return _judge(self, trace, [0], [], [found[self.at_most]], [],
                          f"{name} at #{trace.seqs[found[self.at_most]]}: more than "
                          f"{self.at_most} times")
        if len(found) >= self.at_least:
            return _judge(self, trace, [0], [0], [], [], f"{name} happened {len(found)} times",
                          settled=self.at_most is None)
        last = len(trace) - 1
        why = f"{name} happened {len(found)} times, at least {self.at_least} needed"
        if trace.complete:
            return _judge(self, trace, [0], [], [last], [], why)
        return _judge(self, trace, [0], [], [], [0], why + " (so far)")


@attrs.frozen(kw_only=True)
class Absence(Rule):
    """``activity`` happens at most ``at_most`` times (0: never, ¬◇A). Every occurrence is an
    activation; those beyond ``at_most`` are violations."""

    template: ClassVar[str] = "absence"
    activity_only: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)
    at_most: int = 0
    when: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)

    def relevant(self) -> frozenset[str] | None:
        return _fs(self.activity)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        found = _when(trace, trace.positions(_fs(self.activity)), self.when)
        ok, bad = found[: self.at_most], found[self.at_most:]
        why = ""
        if bad:
            why = (f"{'/'.join(self.activity)} at #{trace.seqs[bad[0]]}: more than "
                   f"{self.at_most} times")
        return _judge(self, trace, found, ok, bad, [], why)


@attrs.frozen(kw_only=True)
class Init(Rule):
    """The history starts with ``activity``. Activated by the first event."""

    template: ClassVar[str] = "init"
    activity_only: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)

    def relevant(self) -> frozenset[str] | None:
        return frozenset()  # only the first event decides

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        if not trace.events:
            return _judge(self, trace, [], [], [], [], "empty history")
        if trace.acts[0] in self.activity:
            return _judge(self, trace, [0], [0], [], [], "", settled=True)
        return _judge(self, trace, [0], [], [0], [], f"starts with {trace.acts[0]}, not "
                      f"{'/'.join(self.activity)}")


# --- Declare templates: binary ----------------------------------------------------------------

Parts = tuple[list[int], list[int], list[int], list[int], str]
"""(activations, fulfilments, violations, pending, reason) as positions."""


def _response(trace: Trace, src: Activities, tgt: Activities,
              when: tuple[Condition, ...]) -> Parts:
    act = _when(trace, trace.positions(_fs(src)), when)
    if not act:
        return act, [], [], [], ""
    bs = trace.positions(_fs(tgt))
    last_b = bs[-1] if bs else -1
    if act[-1] < last_b:
        return act, act, [], [], ""
    ful = [i for i in act if i < last_b]
    pend = [i for i in act if i >= last_b]
    return act, ful, [], pend, (f"{'/'.join(src)} at #{trace.seqs[pend[0]]} not followed by "
                                f"{'/'.join(tgt)}")


def _precedence(trace: Trace, src: Activities, tgt: Activities,
                when: tuple[Condition, ...]) -> Parts:
    act = _when(trace, trace.positions(_fs(tgt)), when)
    if not act:
        return act, [], [], [], ""
    a_s = trace.positions(_fs(src))
    first_a = a_s[0] if a_s else len(trace)
    if act[0] > first_a:
        return act, act, [], [], ""
    ful = [j for j in act if j > first_a]
    vio = [j for j in act if j <= first_a]
    return act, ful, vio, [], (f"{'/'.join(tgt)} at #{trace.seqs[vio[0]]} without "
                               f"{'/'.join(src)} before it")


def _chain_response(trace: Trace, src: Activities, tgt: Activities,
                    when: tuple[Condition, ...]) -> Parts:
    act = _when(trace, trace.positions(_fs(src)), when)
    if not act:
        return act, [], [], [], ""
    acts, n = trace.acts, len(trace)
    ful = [i for i in act if i + 1 < n and acts[i + 1] in tgt]
    vio = [i for i in act if i + 1 < n and acts[i + 1] not in tgt]
    pend = [i for i in act if i + 1 >= n]
    why = ""
    if vio:
        why = (f"{'/'.join(src)} at #{trace.seqs[vio[0]]} not immediately followed by "
               f"{'/'.join(tgt)}")
    elif pend:
        why = f"{'/'.join(src)} at #{trace.seqs[pend[0]]} is the last event"
    return act, ful, vio, pend, why


def _chain_precedence(trace: Trace, src: Activities, tgt: Activities,
                      when: tuple[Condition, ...]) -> Parts:
    act = _when(trace, trace.positions(_fs(tgt)), when)
    if not act:
        return act, [], [], [], ""
    acts = trace.acts
    ful = [j for j in act if j > 0 and acts[j - 1] in src]
    vio = [j for j in act if not (j > 0 and acts[j - 1] in src)]
    why = (f"{'/'.join(tgt)} at #{trace.seqs[vio[0]]} not immediately after {'/'.join(src)}"
           if vio else "")
    return act, ful, vio, [], why


def _responded(trace: Trace, src: Activities, tgt: Activities,
               when: tuple[Condition, ...]) -> Parts:
    act = _when(trace, trace.positions(_fs(src)), when)
    if not act or trace.has(_fs(tgt)):
        return act, act, [], [], ""
    return act, [], [], act, f"{'/'.join(src)} at #{trace.seqs[act[0]]} but no {'/'.join(tgt)}"


def _alt_response(trace: Trace, src: Activities, tgt: Activities,
                  when: tuple[Condition, ...]) -> Parts:
    all_a = trace.positions(_fs(src))
    act = _when(trace, all_a, when)
    if not act:
        return act, [], [], [], ""
    bs = trace.positions(_fs(tgt))
    ful: list[int] = []
    vio: list[int] = []
    pend: list[int] = []
    for i in act:
        k = bisect.bisect_right(all_a, i)
        nxt = all_a[k] if k < len(all_a) else None
        j = bisect.bisect_right(bs, i)
        b = bs[j] if j < len(bs) else None
        if b is not None and (nxt is None or b < nxt):
            ful.append(i)
        elif nxt is not None:
            vio.append(i)
        else:
            pend.append(i)
    bad = vio or pend
    why = (f"{'/'.join(src)} at #{trace.seqs[bad[0]]} not followed by {'/'.join(tgt)} before "
           f"the next {'/'.join(src)}") if bad else ""
    return act, ful, vio, pend, why


def _alt_precedence(trace: Trace, src: Activities, tgt: Activities,
                    when: tuple[Condition, ...]) -> Parts:
    all_b = trace.positions(_fs(tgt))
    act = _when(trace, all_b, when)
    if not act:
        return act, [], [], [], ""
    a_s = trace.positions(_fs(src))
    ful: list[int] = []
    vio: list[int] = []
    for j in act:
        k = bisect.bisect_left(all_b, j)
        prev_b = all_b[k - 1] if k > 0 else -1
        m = bisect.bisect_right(a_s, prev_b)
        if m < len(a_s) and a_s[m] < j:
            ful.append(j)
        else:
            vio.append(j)
    why = (f"{'/'.join(tgt)} at #{trace.seqs[vio[0]]} without {'/'.join(src)} since the "
           f"previous {'/'.join(tgt)}") if vio else ""
    return act, ful, vio, [], why


def _merge(*parts: Parts) -> Parts:
    if len(parts) == 1:
        return parts[0]

    def union(k: int) -> list[int]:
        found: set[int] = set()
        for p in parts:
            found.update(p[k])  # type: ignore[arg-type]
        return sorted(found)

    why = next((p[4] for p in parts if p[2]), "") or next((p[4] for p in parts if p[3]), "")
    return union(0), union(1), union(2), union(3), why


@attrs.frozen(kw_only=True)
class _Binary(Rule):
    """``source`` (A) and ``target`` (B); ``when``: conditions an activation must meet to
    count (MP-Declare's activation condition)."""

    activity_only: ClassVar[bool] = True
    source: Activities = attrs.field(converter=_activities)
    target: Activities = attrs.field(converter=_activities)
    when: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)

    def parts(self, trace: Trace) -> Parts:
        """The activations and what became of them, as positions."""
        raise NotImplementedError

    def relevant(self) -> frozenset[str] | None:
        return _fs((*self.source, *self.target))

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        act, ful, vio, pend, why = self.parts(trace)
        return _judge(self, trace, act, ful, vio, pend, why,
                      settled=self.settles(trace, act, vio, pend))

    def settles(self, trace: Trace, act: list[int], vio: list[int], pend: list[int]) -> bool:
        """Whether a satisfied open case stays satisfied whatever comes next."""
        return False


@attrs.frozen(kw_only=True)
class Response(_Binary):
    """Every A is followed (later) by a B: □(A → ◇B). Activated by A."""

    template: ClassVar[str] = "response"

    def parts(self, trace: Trace) -> Parts:
        return _response(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class AlternateResponse(_Binary):
    """Every A is followed by a B before the next A: □(A → ○(¬A U B)). Activated by A."""

    template: ClassVar[str] = "alternate_response"

    def parts(self, trace: Trace) -> Parts:
        return _alt_response(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class Precedence(_Binary):
    """A B happens only after an A: (¬B U A) ∨ □¬B. Activated by B (``target``)."""

    template: ClassVar[str] = "precedence"

    def parts(self, trace: Trace) -> Parts:
        return _precedence(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class AlternatePrecedence(_Binary):
    """Every B has an A before it and after the previous B. Activated by B."""

    template: ClassVar[str] = "alternate_precedence"

    def parts(self, trace: Trace) -> Parts:
        return _alt_precedence(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class Succession(_Binary):
    """Response and precedence together: every A is followed by a B, and a B only after an A.
    Activated by A and by B."""

    template: ClassVar[str] = "succession"

    def parts(self, trace: Trace) -> Parts:
        return _merge(_response(trace, self.source, self.target, self.when),
                      _precedence(trace, self.source, self.target, self.when))


@attrs.frozen(kw_only=True)
class ChainResponse(_Binary):
    """Every A is immediately followed by a B: □(A → ○B). Activated by A."""

    template: ClassVar[str] = "chain_response"

    def relevant(self) -> frozenset[str] | None:
        # Any event after a last A decides it (the next event is a B or not).
        return None

    def parts(self, trace: Trace) -> Parts:
        return _chain_response(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class ChainPrecedence(_Binary):
    """Every B immediately follows an A: □(○B → A). Activated by B."""

    template: ClassVar[str] = "chain_precedence"

    def parts(self, trace: Trace) -> Parts:
        return _chain_precedence(trace, self.source, self.target, self.when)


@attrs.frozen(kw_only=True)
class ChainSuccession(_Binary):
    """Chain response and chain precedence: A and B always adjacent, in that order."""

    template: ClassVar[str] = "chain_succession"

    def relevant(self) -> frozenset[str] | None:
        # Any event after a last A decides it (the next event is a B or not).
        return None

    def parts(self, trace: Trace) -> Parts:
        return _merge(_chain_response(trace, self.source, self.target, self.when),
                      _chain_precedence(trace, self.source, self.target, self.when))


@attrs.frozen(kw_only=True)
class RespondedExistence(_Binary):
    """If A happens, B happens too (before or after): ◇A → ◇B. Activated by A."""

    template: ClassVar[str] = "responded_existence"

    def parts(self, trace: Trace) -> Parts:
        return _responded(trace, self.source, self.target, self.when)

    def settles(self, trace: Trace, act: list[int], vio: list[int], pend: list[int]) -> bool:
        return bool(act) and not pend  # B happened: nothing can undo it


@attrs.frozen(kw_only=True)
class Coexistence(_Binary):
    """A and B both happen or neither does. Activated by A and by B."""

    template: ClassVar[str] = "coexistence"

    def parts(self, trace: Trace) -> Parts:
        return _merge(_responded(trace, self.source, self.target, self.when),
                      _responded(trace, self.target, self.source, self.when))

    def settles(self, trace: Trace, act: list[int], vio: list[int], pend: list[int]) -> bool:
        return bool(act) and not pend


@attrs.frozen(kw_only=True)
class NotCoexistence(_Binary):
    """A and B never both happen: ¬(◇A ∧ ◇B). Activated by A and by B; when both happen,
    every occurrence after the first of either violates it."""

    template: ClassVar[str] = "not_coexistence"

    def parts(self, trace: Trace) -> Parts:
        a_s = _when(trace, trace.positions(_fs(self.source)), self.when)
        b_s = trace.positions(_fs(self.target))
        if not a_s or not b_s:
            act = a_s or b_s
            return act, act, [], [], ""
        act = sorted({*a_s, *b_s})
        first = min(a_s[0], b_s[0])
        vio = [i for i in act if i > first]
        if not vio:  # one event that is both A and B (the two sets overlap): no pair
            return act, act, [], [], ""
        ful = [i for i in act if i <= first]
        return act, ful, vio, [], (f"{'/'.join(self.source)} and {'/'.join(self.target)} both "
                                   f"happen (#{trace.seqs[vio[0]]})")


@attrs.frozen(kw_only=True)
class NotSuccession(_Binary):
    """No B after an A: □(A → ¬◇B). Activated by A; violated at the A a later B follows."""

    template: ClassVar[str] = "not_succession"

    def parts(self, trace: Trace) -> Parts:
        act = _when(trace, trace.positions(_fs(self.source)), self.when)
        if not act:
            return act, [], [], [], ""
        bs = trace.positions(_fs(self.target))
        last_b = bs[-1] if bs else -1
        ful = [i for i in act if i >= last_b]
        vio = [i for i in act if i < last_b]
        why = (f"{'/'.join(self.target)} at #{trace.seqs[last_b]} after "
               f"{'/'.join(self.source)}") if vio else ""
        return act, ful, vio, [], why


def _combine(rule: Rule, trace: Trace, *parts: Outcome) -> Outcome:
    """One outcome from the outcomes of a conjunction's parts (activations added up)."""
    idx = {s: i for i, s in enumerate(trace.seqs)}

    def pos(k: int) -> list[int]:
        found: set[int] = set()
        for p in parts:
            found.update(idx[s] for s in p[k])  # type: ignore[index]
        return sorted(found)

    vio, pend = pos(5), pos(6)
    reason = next((p.reason for p in parts if p.violations), "") or next(
        (p.reason for p in parts if p.pending), "")
    settled = all(p.verdict is Verdict.SATISFIED for p in parts)
    return _judge(rule, trace, pos(3), pos(4), vio, pend, reason, settled=settled)


def pure(rule: Rule) -> bool:
    """Whether ``rule``'s outcome depends only on the activities of a history and whether it
    is complete (no data condition, role, time or retention): the checker evaluates such
    rules once per variant (distinct activity sequence) of a log."""
    found = _PURE.get(id(rule))
    if found is not None and found[0] is rule:
        return found[1]
    answer = _pure(rule)
    _PURE[id(rule)] = (rule, answer)
    return answer


_PURE: dict[int, tuple[Rule, bool]] = {}


def _pure(rule: Rule) -> bool:
    if isinstance(rule, AllOf):
        return all(pure(p) for p in rule.parts)
    return rule.activity_only and not getattr(rule, "when", ())


# --- role and data rules ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RoleRule(Rule):
    """Who may (or must) perform ``activity``: the event's role is one of ``roles``."""

    template: ClassVar[str] = "role"
    stable: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)
    roles: tuple[str, ...] = attrs.field(converter=_activities)
    when: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)

    def relevant(self) -> frozenset[str] | None:
        return _fs(self.activity)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        act, ful, vio, why = self.scan(trace, trace.start, env)
        return _judge(self, trace, act, ful, vio, [], why)

    def scan(self, trace: Trace, start: int, env: Environment) -> Scan:
        """The activations from position ``start`` on, judged (see :data:`Scan`)."""
        return _scan(self, trace, _when(trace, _positions_from(trace, self.activity, start),
                                        self.when), env)

    def judge(self, trace: Trace, i: int, env: Environment) -> str | None:
        """The activation at ``i``: ``None`` when fulfilled, else the reason."""
        role = trace.events[i].role
        if role in self.roles:
            return None
        return (f"{trace.acts[i]} at #{trace.seqs[i]} by role {role}, not "
                f"{'/'.join(self.roles)}")


NORMALISERS: dict[str, Callable[[Any], str | None]] = {}
"""Named value normalisers a :class:`HandlerTier` may use (``complaint_level`` built in)."""


def _complaint_level(value: Any) -> str | None:
    if type(value) is str:
        return _word(_LEVEL_WORDS, COMPLAINT_LEVEL, value)
    return COMPLAINT_LEVEL.normalise(value)


NORMALISERS["complaint_level"] = _complaint_level


@attrs.frozen(kw_only=True)
class HandlerTier(Rule):
    """The role performing ``activity`` is the case's handler tier (C9): the tier of its level
    (``level_tiers``: normalised level → tier) raised by every ``tier`` an event recorded
    since (escalations), the highest in ``tiers`` order."""

    template: ClassVar[str] = "handler_tier"
    stable: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)
    tiers: tuple[str, ...] = attrs.field(converter=_activities)
    level_tiers: Mapping[str, str] = attrs.field(factory=dict)
    level_field: str = "level"
    tier_field: str = "tier"
    normalise: str | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.normalise is not None and self.normalise not in NORMALISERS:
            raise InvalidRule(f"rule {self.id}: unknown normaliser {self.normalise!r}")
        bad = sorted(t for t in self.level_tiers.values() if t not in self.tiers)
        if bad:
            raise InvalidRule(f"rule {self.id}: level_tiers names tiers {bad} not in tiers")

    def tier_at(self, trace: Trace, i: int) -> str | None:
        """The handler tier of the case just before event ``i``."""
        # The highest in tiers order of the level's tier and the tiers recorded (the first
        # of equal ones), as max(known, key=tiers.index) without a key call per value.
        tiers = self.tiers
        found: str | None = None
        rank = -1
        level = trace.value_at(self.level_field, i)
        if level is not None:
            if self.normalise is not None:
                level = NORMALISERS[self.normalise](level)
            tier = self.level_tiers.get(level) if isinstance(level, str) else None
            if tier is not None:
                found, rank = tier, tiers.index(tier)
        for t in trace.values_until(self.tier_field, i - 1):
            if t in tiers:
                r = tiers.index(t)
                if r > rank:
                    found, rank = t, r
        return found

    def relevant(self) -> frozenset[str] | None:
        return _fs(self.activity)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        act, ful, vio, why = self.scan(trace, trace.start, env)
        return _judge(self, trace, act, ful, vio, [], why)

    def scan(self, trace: Trace, start: int, env: Environment) -> Scan:
        """The activations from position ``start`` on, judged (see :data:`Scan`)."""
        return _scan(self, trace, _positions_from(trace, self.activity, start), env)

    def judge(self, trace: Trace, i: int, env: Environment) -> str | None:
        """The activation at ``i``: ``None`` when fulfilled, else the reason."""
        tier = self.tier_at(trace, i)
        if tier is not None and trace.events[i].role == tier:
            return None
        return (f"{trace.acts[i]} at #{trace.seqs[i]} by role {trace.events[i].role}, the "
                f"case's tier is {tier or 'unknown'}")


@attrs.frozen(kw_only=True)
class DataRule(Rule):
    """At every ``activity`` (meeting ``when``), the fields ``require`` are given (in the case
    data as of that event, or in the event's own data with ``at="event"``) and every
    condition in ``check`` holds."""

    template: ClassVar[str] = "data"
    stable: ClassVar[bool] = True
    activity: Activities = attrs.field(converter=_activities)
    require: tuple[str, ...] = attrs.field(default=(), converter=_fields)
    check: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)
    when: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)
    at: str = "case"

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if not self.require and not self.check:
            raise InvalidRule(f"rule {self.id}: a data rule requires fields or checks")
        if self.at not in ("case", "event"):
            raise InvalidRule(f"rule {self.id}: at={self.at!r}: use 'case' or 'event'")

    def _problem(self, trace: Trace, i: int) -> str | None:
        for f in self.require:
            v = (trace.value_at(f, i) if self.at == "case" else trace.events[i].data.get(f))
            if not present(v):
                return f"{f} missing"
        for c in self.check:
            if not c.holds(trace, i):
                return f"not {c.describe()}"
        return None

    def relevant(self) -> frozenset[str] | None:
        return _fs(self.activity)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        act, ful, vio, why = self.scan(trace, trace.start, env)
        return _judge(self, trace, act, ful, vio, [], why)

    def scan(self, trace: Trace, start: int, env: Environment) -> Scan:
        """The activations from position ``start`` on, judged (see :data:`Scan`)."""
        return _scan(self, trace, _when(trace, _positions_from(trace, self.activity, start),
                                        self.when), env)

    def judge(self, trace: Trace, i: int, env: Environment) -> str | None:
        """The activation at ``i``: ``None`` when fulfilled, else the reason."""
        problem = self._problem(trace, i)
        return None if problem is None else f"{trace.acts[i]} at #{trace.seqs[i]}: {problem}"


# --- timing -----------------------------------------------------------------------------------

_UNITS = ("minutes", "hours", "days", "business_hours", "working_days")


@attrs.frozen
class Duration:
    """A time limit: ``minutes``, ``hours`` or ``days`` of elapsed time, ``business_hours``
    of the calendar's working time, or ``working_days`` (the end of the n-th working day after
    the start's day, as the SLA clocks count them)."""

    amount: int | float
    unit: str = "hours"

    def __attrs_post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise InvalidRule(f"duration unit {self.unit!r} is not one of {', '.join(_UNITS)}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, (int, float)) or \
                self.amount < 0:
            raise InvalidRule(f"duration amount {self.amount!r} must be a number ≥ 0")
        if self.unit == "working_days" and (not isinstance(self.amount, int)
                                            or self.amount < 1):
            raise InvalidRule("working_days is a whole number ≥ 1")

    @property
    def business(self) -> bool:
        """True when it counts the calendar's working time."""
        return self.unit in ("business_hours", "working_days")

    def span_us(self) -> int:
        """The length in µs (minutes, hours, days, business hours)."""
        per = {"minutes": 60 * _US, "hours": _HOUR, "days": _DAY, "business_hours": _HOUR}
        return int(self.amount * per[self.unit])

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit.replace('_', ' ')}"


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, Mapping):
        return Duration(**value)
    raise InvalidRule(f"a duration is Duration(amount, unit) or {{'amount', 'unit'}}, "
                      f"not {value!r}")


@attrs.frozen(kw_only=True)
class Within(Rule):
    """Every ``start`` is followed by a ``stop`` within ``limit``, measured on the calendar
    named ``calendar`` (business time for business units), not counting the time between a
    ``pause`` and the next ``resume``. Activated by ``start``; pending while the deadline has
    not passed; violated by a late stop or, without a stop, once the deadline passed."""

    template: ClassVar[str] = "within"
    start: Activities = attrs.field(converter=_activities)
    stop: Activities = attrs.field(converter=_activities)
    limit: Duration = attrs.field(converter=_duration)
    calendar: str = "24x7"
    pause: tuple[str, ...] = attrs.field(default=(), converter=_fields)
    resume: tuple[str, ...] = attrs.field(default=(), converter=_fields)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if bool(self.pause) != bool(self.resume):
            raise InvalidRule(f"rule {self.id}: give both pause and resume, or neither")

    def _deadline(self, trace: Trace, env: Environment, i: int, upto: int) -> int:
        """The deadline of the activation at ``i``, shifted by the pauses before ``upto``."""
        cal = env.calendar(self.calendar)
        t0 = trace.time_us(i)
        if self.limit.unit == "working_days":
            base = epoch_us(cal.add_working_days(from_epoch_us(t0), int(self.limit.amount)))
        elif self.limit.business:
            base = cal.add_us(t0, self.limit.span_us())
        else:
            base = t0 + self.limit.span_us()
        paused = self._paused(trace, env, i, upto)
        if not paused:
            return base
        return cal.add_us(base, paused) if self.limit.business else base + paused

    def _paused(self, trace: Trace, env: Environment, i: int, upto: int) -> int:
        if not self.pause:
            return 0
        measure = env.calendar(self.calendar).working_us if self.limit.business else None
        total = 0
        since: int | None = None
        pause, resume = self.pause, self.resume
        for k in range(i + 1, upto):
            a = trace.acts[k]
            if since is None and a in pause:
                since = trace.time_us(k)
            elif since is not None and a in resume:
                t = trace.time_us(k)
                total += measure(since, t) if measure else t - since
                since = None
        if since is not None:
            t = trace.end_us() if upto >= len(trace) else trace.time_us(upto)
            total += measure(since, t) if measure else max(0, t - since)
        return total

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        starts = trace.positions(_fs(self.start))
        stops = trace.positions(_fs(self.stop))
        ful: list[int] = []
        vio: list[int] = []
        pend: list[int] = []
        why = ""
        end = trace.end_us()
        for i in starts:
            k = bisect.bisect_right(stops, i)
            if k < len(stops):
                j = stops[k]
                if trace.time_us(j) <= self._deadline(trace, env, i, j):
                    ful.append(i)
                else:
                    vio.append(i)
                    why = why or (f"{trace.acts[j]} at #{trace.seqs[j]} later than "
                                  f"{self.limit} after #{trace.seqs[i]}")
            else:
                deadline = self._deadline(trace, env, i, len(trace))
                if end > deadline:
                    vio.append(i)
                    why = why or (f"no {'/'.join(self.stop)} within {self.limit} of "
                                  f"#{trace.seqs[i]}")
                elif trace.complete:
                    vio.append(i)
                    why = why or f"#{trace.seqs[i]} never followed by {'/'.join(self.stop)}"
                else:
                    pend.append(i)
                    why = why or (f"{'/'.join(self.stop)} due by "
                                  f"{from_epoch_us(deadline).isoformat()}")
        return _judge(self, trace, starts, ful, vio, pend, why)


@attrs.frozen(kw_only=True)
class Window(Rule):
    """After every ``start``, a ``stop`` falls in a window: from the start of day
    ``earliest`` to the end of day ``latest`` after the start's day, in the calendar's zone
    (the second follow-up between day 15 and day 30 after delivery, 000 §4.1). A stop before
    the window does not count."""

    template: ClassVar[str] = "window"
    start: Activities = attrs.field(converter=_activities)
    stop: Activities = attrs.field(converter=_activities)
    earliest: int = 0
    latest: int = 0
    calendar: str = "24x7"

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.latest < self.earliest or self.earliest < 0:
            raise InvalidRule(f"rule {self.id}: the window needs 0 ≤ earliest ≤ latest")

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        cal = env.calendar(self.calendar)
        stops = trace.positions(_fs(self.stop))
        starts = trace.positions(_fs(self.start))
        ful: list[int] = []
        vio: list[int] = []
        pend: list[int] = []
        why = ""
        for i in starts:
            lo_dt, hi_dt = cal.window(from_epoch_us(trace.time_us(i)), self.earliest,
                                      self.latest)
            lo, hi = epoch_us(lo_dt), epoch_us(hi_dt)
            inside = [j for j in stops if j > i and lo <= trace.time_us(j) <= hi]
            if inside:
                ful.append(i)
            elif trace.end_us() > hi or trace.complete:
                vio.append(i)
                why = why or (f"no {'/'.join(self.stop)} between day {self.earliest} and day "
                              f"{self.latest} after #{trace.seqs[i]}")
            else:
                pend.append(i)
                why = why or f"{'/'.join(self.stop)} due between day {self.earliest} and " \
                              f"day {self.latest}"
        return _judge(self, trace, starts, ful, vio, pend, why)


@attrs.frozen(kw_only=True)
class SlaClock(Rule):
    """An SLA clock of the case's policy (``clock``), met or breached, computed by the SLA's
    own fold on its calendar (:func:`servicewf.sla.recompute`) as of the instant checked:
    every cycle is an activation (at the event that started it), met → fulfilment,
    breached or stopped too early → violation, running → pending until its deadline passes."""

    template: ClassVar[str] = "sla_clock"
    clock: str

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        if env.sla is None or env.registry is None or trace.process is None or not trace.events:
            return _judge(self, trace, [], [], [], [], "no SLA given to check clocks")
        definition = env.registry.get(trace.process)
        bound = env.sla.bind(definition)
        if bound is None:
            return _judge(self, trace, [], [], [], [], "the process has no SLA policy")
        state = None
        entry = clock_entry(trace.sla, self.clock)
        if entry is not None:  # the SLA processor's own fold of this very history
            state = ClockState.from_dict(entry)
        else:
            states = recompute(bound, None, trace.events,
                               None if trace.as_of_us is None else from_epoch_us(trace.as_of_us))
            try:
                state = states[self.clock]
            except LookupError:
                return _judge(self, trace, [], [], [], [],
                              f"no clock {self.clock} in the policy")
        times = trace.times()

        def at(us: int) -> int:
            """The event at instant ``us`` (the first of equal ones)."""
            return bisect.bisect_left(times, us) if us <= times[-1] else len(times) - 1

        act: list[int] = []
        ful: list[int] = []
        vio: list[int] = []
        pend: list[int] = []
        why = ""
        for cyc in state.past:
            if cyc.outcome in (CANCELLED, NO_GOAL) and not cyc.breached:
                continue  # never ran to a deadline (a breach before the cancel still counts)
            i = at(cyc.started)
            act.append(i)
            if cyc.outcome == MET and not cyc.breached:
                ful.append(i)
            elif cyc.outcome in (BREACHED, TOO_EARLY) or cyc.breached:
                vio.append(i)
                outcome = "breached" if cyc.breached else cyc.outcome
                then = f", then {cyc.outcome}" if cyc.outcome not in (BREACHED, MET) else ""
                why = why or f"clock {self.clock} {outcome}{then} (cycle from #{trace.seqs[i]})"
            else:
                ful.append(i)
        if state.running and state.started is not None and state.deadline is not None:
            i = at(state.started)
            act.append(i)
            if state.breached or trace.end_us() > state.deadline:
                vio.append(i)
                why = why or f"clock {self.clock} past its deadline (from #{trace.seqs[i]})"
            else:
                pend.append(i)
                why = why or (f"clock {self.clock} due by "
                              f"{from_epoch_us(state.deadline).isoformat()}")
        elif state.status == "stopped" and state.started is not None and (
                state.breached or state.outcome not in (None, CANCELLED, NO_GOAL)):
            i = at(state.started)
            act.append(i)
            if state.outcome == MET and not state.breached:
                ful.append(i)
            else:
                vio.append(i)
                why = why or f"clock {self.clock} {state.outcome} (from #{trace.seqs[i]})"
        # A clock still running on a complete case never stopped: the SLA fold, not the
        # checker, decides whether that is a breach (its deadline), so it is not counted as
        # one here unless the deadline passed.
        return _judge(self, trace, sorted(act), sorted(ful), sorted(vio), sorted(pend), why,
                      keep_pending=True)


def clock_entry(stored: Any, clock: str) -> Mapping[str, Any] | None:
    """The plain-data state of ``clock`` in an SLA record as stored with a case
    (``case.extensions["sla"]``), or ``None``."""
    if not isinstance(stored, Mapping):
        return None
    for entry in stored.get("clocks") or ():
        if isinstance(entry, Mapping) and entry.get("name") == clock:
            return entry
    return None


# --- overdue -----------------------------------------------------------------------------


def _due_us(value: Any) -> int | None:
    when = parse_instant(value)
    return None if when is None else epoch_us(when)


@attrs.frozen(kw_only=True)
class Overdue(Rule):
    """An overdue item has what a late step needs (C13's second half: an improvement action
    re-planned after its deadline has a cause analysis, 001 §4.3).

    The deadline is the field ``deadline`` of the case data as it stood just before an event
    (an instant; a step that sets a new deadline is judged against the one it replaces).
    Every ``activity`` that happens after that deadline is an activation: fulfilled when the
    event supplies every field of ``require``, violated otherwise; one on time is not an
    activation. An open case waiting for ``activity`` (the last of the ``awaiting`` and
    ``activity`` events is an ``awaiting`` one) whose deadline has passed as of the instant
    checked has a pending activation at that event: the step to come must bring ``require``
    (possibly violated; violated if the case is complete without it)."""

    template: ClassVar[str] = "overdue"
    activity: Activities = attrs.field(converter=_activities)
    require: tuple[str, ...] = attrs.field(converter=_activities)
    deadline: str = "deadline"
    awaiting: tuple[str, ...] = attrs.field(default=(), converter=_fields)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if not isinstance(self.deadline, str) or not self.deadline:
            raise InvalidRule(f"rule {self.id}: deadline names a field")

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        act: list[int] = []
        ful: list[int] = []
        vio: list[int] = []
        pend: list[int] = []
        why = ""
        events = trace.events
        for i in trace.positions(_fs(self.activity)):
            due = _due_us(trace.value_at(self.deadline, i - 1)) if i else None
            if due is None or trace.time_us(i) <= due:
                continue  # on time (or no deadline yet): nothing to explain
            act.append(i)
            missing = next((f for f in self.require if not present(events[i].data.get(f))),
                           None)
            if missing is None:
                ful.append(i)
            else:
                vio.append(i)
                why = why or (f"{trace.acts[i]} at #{trace.seqs[i]} after the "
                              f"{self.deadline}: {missing} missing")
        if self.awaiting and trace.events:
            waits = trace.positions(_fs(self.awaiting))
            steps = trace.positions(_fs(self.activity))
            if waits and (not steps or waits[-1] > steps[-1]):
                w = waits[-1]
                due = _due_us(trace.value_at(self.deadline, w))
                if due is not None and trace.end_us() > due:
                    act.append(w)
                    pend.append(w)
                    if not vio:
                        why = (f"past the {self.deadline} since #{trace.seqs[w]}: the next "
                               f"{'/'.join(self.activity)} needs {', '.join(self.require)}")
        return _judge(self, trace, sorted(act), ful, vio, pend, why)


# --- retention --------------------------------------------------------------------------------


def _date_of(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    when = parse_instant(value)
    if when is not None:
        return when.date()
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


@attrs.frozen(kw_only=True)
class Retention(Rule):
    """Archived records are kept at least ``years`` (001 §4.4): at every ``activity``
    (archive) the field ``field``, when given (``required``: it must be), is a date at least
    ``years`` after the archive's date, in the calendar's zone; and no ``purge`` event comes
    earlier than that."""

    template: ClassVar[str] = "retention"
    activity: Activities = attrs.field(default=("archive",), converter=_activities)
    field: str = "retain_until"
    years: int = 3
    required: bool = False
    purge: tuple[str, ...] = attrs.field(default=("purge", "purged"), converter=_fields)
    calendar: str = "office"

    def relevant(self) -> frozenset[str] | None:
        return _fs((*self.activity, *self.purge))

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        tz = env.calendar(self.calendar).tz
        act = trace.positions(_fs(self.activity))
        purges = trace.positions(frozenset(self.purge)) if self.purge else []
        ful: list[int] = []
        vio: list[int] = []
        why = ""
        for i in act:
            day = local_date_us(trace.time_us(i), tz)
            minimum = _years_after(day, self.years)
            value = trace.value_at(self.field, i)
            until = _date_of(value) if value is not None else None
            late_purge = [j for j in purges if j > i and
                          local_date_us(trace.time_us(j), tz) < minimum]
            kept = (value is None and not self.required) or (until is not None
                                                             and until >= minimum)
            if kept and not late_purge:
                ful.append(i)
            else:
                vio.append(i)
                why = why or (f"{trace.acts[i]} at #{trace.seqs[i]}: " + (
                    f"purged at #{trace.seqs[late_purge[0]]}" if late_purge else
                    f"{self.field} keeps it less than {self.years} years"))
        return _judge(self, trace, act, ful, vio, [], why)


def _parts(value: Any) -> tuple[Rule, ...]:
    parts = tuple(value)
    if not parts or not all(isinstance(p, Rule) for p in parts):
        raise InvalidRule("all_of needs a non-empty list of rules")
    return parts


@attrs.frozen(kw_only=True)
class AllOf(Rule):
    """Several rules that together make one guideline rule (C8: feedback before closing
    *and* a satisfaction evaluation at closing). The parts' activations, fulfilments,
    violations and pending events add up; the parts' own ids do not appear in reports."""

    template: ClassVar[str] = "all_of"
    parts: tuple[Rule, ...] = attrs.field(converter=_parts)

    @property
    def prefix_stable(self) -> bool:
        """Whether every part is :attr:`Rule.stable`."""
        return all(p.stable or (isinstance(p, AllOf) and p.prefix_stable) for p in self.parts)

    def relevant(self) -> frozenset[str] | None:
        found: set[str] = set()
        for p in self.parts:
            r = p.relevant()
            if r is None:
                return None
            found |= r
        return frozenset(found)

    def evaluate(self, trace: Trace, env: Environment) -> Outcome:
        return _combine(self, trace, *(p.evaluate(trace, env) for p in self.parts))


TEMPLATES: dict[str, type[Rule]] = {
    cls.template: cls for cls in (
        Existence, Absence, Init, Response, AlternateResponse, Precedence, Succession,
        ChainResponse, ChainPrecedence, ChainSuccession, RespondedExistence, Coexistence,
        NotCoexistence, NotSuccession, RoleRule, HandlerTier, DataRule, Within, Window,
        SlaClock, Retention, AllOf, AlternatePrecedence, Overdue)
}
"""Every template by its name in plain data."""
