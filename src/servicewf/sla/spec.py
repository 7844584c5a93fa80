"""The declarative parts of an SLA policy: conditions, targets, goal tables, clocks.

Everything here is a frozen ``attrs`` value holding plain data (state and trigger names,
durations), so presets are data and a policy can be validated before it meets a definition.
Instants inside the SLA package are ``int`` microseconds since the Unix epoch (UTC); durations
are ``int`` microseconds of the clock's *measure* (business time on a calendar, or absolute
time for 24×7 clock hours).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

import attrs

from servicewf._frozen import names_tuple
from servicewf.clock import epoch_us, from_epoch_us
from servicewf.errors import InvalidPolicy

__all__ = [
    "GOAL_CHANGES",
    "MISSING",
    "TARGET_TYPES",
    "WORKING_DAY_CONVENTIONS",
    "BusinessHours",
    "CaseCalendar",
    "ClockHours",
    "ClockSpec",
    "DueField",
    "ExtensionRule",
    "FieldCondition",
    "GoalTable",
    "Measure",
    "On",
    "Target",
    "Until",
    "Warn",
    "WorkingDays",
    "target_from_dict",
]

US = 1_000_000


_ANY: Any = attrs.make_class("_Any", (), frozen=True)()  # "no value given" (None is a value)


def _values(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return () if value is None else tuple(value)


@attrs.frozen
class FieldCondition:
    """A condition on a case-data field, matched by an event whose data *writes* ``field``
    (the opening event writes the intake data).

    Every part given must hold: ``equals`` (the new value equals it), ``in_`` (the new value
    is one of these), ``changed`` (the new value differs from the value before the event; a
    field written for the first time has changed). With no part, any write matches.
    ``FieldCondition("priority", in_=("P1", "P2"), changed=True)``: priority raised to P1/P2.
    """

    field: str
    equals: Any = _ANY
    in_: tuple[Any, ...] = attrs.field(default=(), converter=_values)
    changed: bool = False

    def matches(self, new: Any, old: Any) -> bool:
        """True for a write of ``new`` over ``old`` (``old`` is :data:`MISSING` when unset)."""
        if self.equals is not _ANY and new != self.equals:
            return False
        if self.in_ and new not in self.in_:
            return False
        return not self.changed or old is MISSING or new != old

    def to_dict(self) -> dict[str, Any]:
        """Plain data (only the parts given)."""
        out: dict[str, Any] = {"field": self.field}
        if self.equals is not _ANY:
            out["equals"] = self.equals
        if self.in_:
            out["in"] = list(self.in_)
        if self.changed:
            out["changed"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldCondition:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["field"]), data.get("equals", _ANY),
                   tuple(data.get("in", ())), bool(data.get("changed", False)))


MISSING: Any = attrs.make_class("_Missing", (), frozen=True)()
"""The "value before" of a field the case did not have."""


def _conditions(value: Iterable[FieldCondition] | FieldCondition | None
                ) -> tuple[FieldCondition, ...]:
    if value is None:
        return ()
    if isinstance(value, FieldCondition):
        return (value,)
    return tuple(value)


@attrs.frozen
class On:
    """A condition on one history event; it matches when *any* of its parts does.

    - ``enter``: the event moves the case into one of these states (the opening event enters
      the initial state);
    - ``leave``: the event moves the case out of one of these states;
    - ``trigger``: the event was fired with one of these triggers (internal transitions too);
    - ``data``: :class:`FieldCondition` values on the case data the event writes (a priority
      raised, a tier changed).
    """

    enter: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    leave: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    trigger: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    data: tuple[FieldCondition, ...] = attrs.field(default=(), converter=_conditions)

    def __bool__(self) -> bool:
        return bool(self.enter or self.leave or self.trigger or self.data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (only the non-empty parts)."""
        out: dict[str, Any] = {}
        for key in ("enter", "leave", "trigger"):
            names = getattr(self, key)
            if names:
                out[key] = list(names)
        if self.data:
            out["data"] = [c.to_dict() for c in self.data]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> On:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data.get("enter", ())), tuple(data.get("leave", ())),
                   tuple(data.get("trigger", ())),
                   tuple(FieldCondition.from_dict(c) for c in data.get("data", ())))


# --- measures and targets ------------------------------------------------------------------


class Measure(Protocol):
    """How a clock counts time: on a business calendar, or absolute (24×7) time.

    All arguments and results are ``int`` microseconds (instants since the epoch, UTC).
    """

    absolute: bool

    def add(self, t: int, d: int) -> int:
        """``t`` plus ``d`` of counted time (negative goes backward)."""
        ...

    def working(self, a: int, b: int) -> int:
        """Counted time between ``a`` and ``b`` (negative when ``b < a``)."""
        ...

    def add_working_days(self, t: int, n: int, cutoff: _dt.time | None,
                         convention: str = "end_of_day") -> int:
        """``n`` working days from ``t`` under ``convention`` (see
        ``BusinessCalendar.add_working_days``; by default the end of the ``n``-th working
        day after ``t``'s day)."""
        ...

    def next_opening(self, t: int) -> int:
        """``t`` when counting, else the next instant that counts."""
        ...


@attrs.frozen
class ClockHours:
    """Elapsed time, 24×7, whatever the calendar: ``ClockHours(24)``, ``ClockHours(days=30)``."""

    hours: float = 0
    minutes: float = 0
    days: float = 0
    micros: int = attrs.field(init=False, eq=False, repr=False, default=0)
    """The duration in microseconds (computed)."""

    absolute = True

    def __attrs_post_init__(self) -> None:
        total = round(((self.days * 24 + self.hours) * 60 + self.minutes) * 60 * US)
        if total <= 0:
            raise InvalidPolicy(f"ClockHours must be positive, got {self!r}")
        object.__setattr__(self, "micros", total)

    def apply(self, m: Measure, start: int) -> int:
        """The deadline measured from ``start``."""
        return start + self.micros

    def extend(self, m: Measure, deadline: int) -> int:
        """``deadline`` moved later by this duration."""
        return deadline + self.micros

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "clock_hours", "hours": self.hours, "minutes": self.minutes,
                "days": self.days}

    def __str__(self) -> str:
        if self.days and not self.hours and not self.minutes:
            return f"{self.days:g} d"
        total = self.days * 24 + self.hours + self.minutes / 60
        return f"{total * 60:g} min" if total < 1 else f"{total:g} h"


@attrs.frozen
class BusinessHours:
    """Working time on the clock's calendar: ``BusinessHours(8)``, ``BusinessHours(minutes=30)``.

    A clock started outside working time starts counting at the next opening; a deadline at a
    closing time stays there.
    """

    hours: float = 0
    minutes: float = 0
    micros: int = attrs.field(init=False, eq=False, repr=False, default=0)
    """The duration in microseconds of working time (computed)."""

    absolute = False

    def __attrs_post_init__(self) -> None:
        total = round((self.hours * 60 + self.minutes) * 60 * US)
        if total <= 0:
            raise InvalidPolicy(f"BusinessHours must be positive, got {self!r}")
        object.__setattr__(self, "micros", total)

    def apply(self, m: Measure, start: int) -> int:
        return m.add(start, self.micros)

    def extend(self, m: Measure, deadline: int) -> int:
        return m.add(deadline, self.micros)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "business_hours", "hours": self.hours, "minutes": self.minutes}

    def __str__(self) -> str:
        total = self.hours + self.minutes / 60
        return f"{total * 60:g} BMin" if total < 1 else f"{total:g} BH"


WORKING_DAY_CONVENTIONS = ("end_of_day", "same_time", "start_day_inclusive", "date")
"""The working-day conventions (``BusinessCalendar.add_working_days``)."""


@attrs.frozen
class WorkingDays:
    """``n`` working days: by default the end of the ``n``-th working day after the day of
    receipt (``n = 0``: the end of the receipt day).

    The receipt day does not count. With ``cutoff`` (a local time), a receipt on a working day
    before the cut-off counts that day as day 1 (the alternative convention). ``convention``
    names another counting: ``"same_time"`` (Zammad/biz), ``"start_day_inclusive"`` (Odoo),
    ``"date"`` (workalendar); see ``docs/calendar.md``, "Working days".
    """

    n: int
    cutoff: _dt.time | None = None
    convention: str = "end_of_day"

    absolute = False

    def __attrs_post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise InvalidPolicy(f"WorkingDays needs a whole number of at least 0, "
                                f"got {self.n!r}")
        if self.convention not in WORKING_DAY_CONVENTIONS:
            raise InvalidPolicy(f"WorkingDays: unknown convention {self.convention!r}; use one "
                                f"of {', '.join(WORKING_DAY_CONVENTIONS)}")
        if self.cutoff is not None and self.convention != "end_of_day":
            raise InvalidPolicy("WorkingDays: cutoff is for the 'end_of_day' convention only")

    def apply(self, m: Measure, start: int) -> int:
        if self.convention == "end_of_day":
            return m.add_working_days(start, self.n, self.cutoff)
        return m.add_working_days(start, self.n, None, self.convention)

    def extend(self, m: Measure, deadline: int) -> int:
        if self.convention == "end_of_day":
            return m.add_working_days(deadline, self.n, None)
        return m.add_working_days(deadline, self.n, None, self.convention)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "working_days", "n": self.n}
        if self.cutoff is not None:
            out["cutoff"] = self.cutoff.isoformat()
        if self.convention != "end_of_day":
            out["convention"] = self.convention
        return out

    def __str__(self) -> str:
        return f"{self.n} WD"


@attrs.frozen
class Until:
    """A fixed instant (``at``, epoch microseconds UTC): the deadline a customer was told.

    As a target, the deadline is ``at`` whenever the clock starts. As an extension (the
    ``new_deadline`` of a process's extend trigger) it moves the deadline to ``at`` and never
    earlier: if the deadline is already later (a re-classification, a pause), it stays.
    Build one from a datetime with :meth:`of`.
    """

    at: int

    absolute = True  # an instant is the same on every calendar; pauses shift it in clock time

    def __attrs_post_init__(self) -> None:
        if isinstance(self.at, bool) or not isinstance(self.at, int):
            raise InvalidPolicy(f"Until needs epoch microseconds (use Until.of(datetime)), "
                                f"got {self.at!r}")

    @classmethod
    def of(cls, instant: _dt.datetime | str) -> Until:
        """The :class:`Until` of an aware datetime or an ISO 8601 string with an offset."""
        value = _dt.datetime.fromisoformat(instant) if isinstance(instant, str) else instant
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidPolicy(f"Until needs an aware instant (with a time zone), got {instant!r}")
        return cls(epoch_us(value))

    def apply(self, m: Measure, start: int) -> int:
        return self.at

    def extend(self, m: Measure, deadline: int) -> int:
        return max(deadline, self.at)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "until", "at": self.at}

    def __str__(self) -> str:
        return f"until {from_epoch_us(self.at).isoformat()}"


Target = ClockHours | BusinessHours | WorkingDays | Until
"""A goal: clock hours (24×7), business hours, working days, or a fixed instant."""


def target_from_dict(data: Mapping[str, Any]) -> Target:
    """Rebuild a target from :meth:`to_dict` output (raises ``InvalidPolicy`` when unknown)."""
    kind = data.get("kind")
    if kind == "clock_hours":
        return ClockHours(data.get("hours", 0), data.get("minutes", 0), data.get("days", 0))
    if kind == "business_hours":
        return BusinessHours(data.get("hours", 0), data.get("minutes", 0))
    if kind == "working_days":
        cutoff = data.get("cutoff")
        return WorkingDays(int(data["n"]),
                           _dt.time.fromisoformat(cutoff) if cutoff is not None else None,
                           str(data.get("convention", "end_of_day")))
    if kind == "until":
        return Until(int(data["at"]))
    raise InvalidPolicy(
        f"unknown target kind {kind!r}; use 'clock_hours', 'business_hours', 'working_days' "
        "or 'until'"
    )


TARGET_TYPES = (ClockHours, BusinessHours, WorkingDays, Until)
"""The target classes (for ``isinstance``): every member of :data:`Target`."""


@attrs.frozen
class DueField:
    """A goal the case itself states: the instant in data field ``field`` (an aware datetime
    or ISO 8601 string), e.g. the due time promised to the customer at confirmation
    (000 §2.2). No deadline while the field is empty; a later change moves the deadline (with
    the pauses and extensions so far replayed). Pauses shift it in clock time."""

    field: str

    absolute = True

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "due_field", "field": self.field}

    def __str__(self) -> str:
        return f"the instant in {self.field!r}"


# --- goal tables ---------------------------------------------------------------------------


def _rows(value: Mapping[Any, Target] | Iterable[tuple[Any, Target]]) -> tuple[tuple[Any, Target],
                                                                             ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((k, t) for k, t in items)


def _alias_map(value: Mapping[Any, Any] | None) -> dict[Any, Any]:
    return dict(value or {})


@attrs.frozen
class GoalTable:
    """Targets chosen by one field of the case data, validated when built.

    ``goals`` is ordered rows ``value -> target`` (a mapping or pairs; a row key may be a
    tuple of values sharing a target). ``domain`` declares every value the field may take:
    every domain value needs exactly one row, and no row may name a value outside it.
    ``when_missing`` is the target while the field is not set yet (``None``: no deadline until
    it is, then the target applies from the clock's original start). ``default`` is the target
    of a value outside the domain (``None``: such a case is refused with ``GoalUndefined``).
    ``aliases`` maps other spellings to domain values (strings are also matched ignoring case
    and surrounding blanks), e.g. ``{"urgent": "緊急"}``.

    >>> GoalTable("level", {"緊急": WorkingDays(2), "一般": WorkingDays(3),
    ...                     "重要": WorkingDays(5)}, domain=("一般", "重要", "緊急"))
    """

    key: str
    goals: tuple[tuple[Any, Target], ...] = attrs.field(converter=_rows)
    domain: tuple[Any, ...] | None = None
    when_missing: Target | None = None
    default: Target | None = None
    aliases: Mapping[Any, Any] = attrs.field(factory=dict, converter=_alias_map)
    _lookup: Mapping[Any, Target] = attrs.field(init=False, eq=False, repr=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        problems: list[str] = []
        lookup: dict[Any, Target] = {}
        for row, target in self.goals:
            if not isinstance(target, TARGET_TYPES):
                problems.append(f"row {row!r}: {target!r} is not a target")
                continue
            for value in (row if isinstance(row, tuple) else (row,)):
                if value in lookup:
                    problems.append(f"value {value!r} matches more than one row (overlap)")
                lookup[value] = target
        if self.domain is not None:
            if len(set(self.domain)) != len(self.domain):
                problems.append(f"domain {self.domain!r} lists a value twice")
            missing = [v for v in self.domain if v not in lookup]
            extra = [v for v in lookup if v not in self.domain]
            if missing:
                problems.append(f"no goal for domain value(s) {', '.join(map(repr, missing))}")
            if extra:
                problems.append(f"goal(s) for {', '.join(map(repr, extra))} outside the domain")
        if not lookup:
            problems.append("the table has no rows")
        for alias, value in self.aliases.items():
            if value not in lookup:
                problems.append(f"alias {alias!r} points to {value!r}, which has no row")
            elif alias in lookup and lookup[alias] != lookup[value]:
                problems.append(f"alias {alias!r} is also a row with another target")
        measures = {t.absolute for t in [*lookup.values(), self.when_missing, self.default]
                    if t is not None}
        if len(measures) > 1:
            problems.append("mixes clock hours with business time; a clock counts one way")
        if problems:
            raise InvalidPolicy(
                f"goal table on {self.key!r} is invalid: " + "; ".join(problems)
                + "; give every domain value exactly one row"
            )
        object.__setattr__(self, "_lookup", lookup)

    @property
    def lookup(self) -> Mapping[Any, Target]:
        """Value → target, one entry per value."""
        return self._lookup

    def find(self, value: Any) -> Target | None:
        """The row target of ``value`` (after aliases), or ``None`` when none matches."""
        lookup = self._lookup
        try:
            found = lookup.get(value)
            if found is None:
                alias = self.aliases.get(value)
                if alias is None and isinstance(value, str):
                    key = value.strip()
                    alias = self.aliases.get(key, key if key in lookup else None)
                    if alias is None:
                        folded = key.casefold()
                        alias = next((v for a, v in self.aliases.items()
                                      if isinstance(a, str) and a.casefold() == folded), None)
                found = None if alias is None else lookup.get(alias)
        except TypeError:  # an unhashable value cannot be in the table
            return None
        return found

    @property
    def absolute(self) -> bool:
        """True when the table's targets are clock hours."""
        return next(iter(self.lookup.values())).absolute

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "goals": [[list(r) if isinstance(r, tuple) else r, t.to_dict()]
                      for r, t in self.goals],
            "domain": None if self.domain is None else list(self.domain),
            "when_missing": None if self.when_missing is None else self.when_missing.to_dict(),
            "default": None if self.default is None else self.default.to_dict(),
            "aliases": dict(self.aliases),
        }


# --- warnings, extensions, clocks ----------------------------------------------------------


def _choices(value: Mapping[Any, str] | None) -> dict[Any, str]:
    return dict(value or {})


@attrs.frozen
class CaseCalendar:
    """How a case's own calendar is chosen (clocks with ``calendar="case"`` use it): from data
    field ``field``, through ``choices`` (value → calendar name) or, without choices, the value
    *is* the calendar name; ``default`` serves a case whose value names no calendar (``None``:
    such a case is refused with ``GoalUndefined``). Names refer to the SLA's calendar registry
    and are checked when the policy is bound. A cycle keeps the calendar it started with.
    """

    field: str
    choices: Mapping[Any, str] = attrs.field(factory=dict, converter=_choices)
    default: str | None = None

    def name_for(self, data: Mapping[str, Any]) -> str | None:
        """The calendar name of a case with ``data`` (``None``: none applies)."""
        value = data.get(self.field)
        try:
            if self.choices:
                return self.choices.get(value, self.default)
        except TypeError:  # an unhashable value is no choice
            return self.default
        return value if isinstance(value, str) and value else self.default

    def names(self) -> set[str]:
        """Every calendar name this choice may give."""
        out = set(self.choices.values())
        if self.default is not None:
            out.add(self.default)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field}
        if self.choices:
            out["choices"] = [[k, v] for k, v in self.choices.items()]
        if self.default is not None:
            out["default"] = self.default
        return out


@attrs.frozen
class Warn:
    """When to warn before a deadline: at ``fraction`` of the goal and/or ``lead`` before it
    (the earlier of the two when both are given), at most once per clock cycle.

    ``lead`` is counted in the clock's measure (business time for business clocks). With
    ``business_hours_only``, a warning falling outside working time of the clock's calendar is
    deferred to the next opening (no alerts at midnight).
    """

    fraction: float | None = 0.75
    lead: _dt.timedelta | None = None
    business_hours_only: bool = False

    def __attrs_post_init__(self) -> None:
        if self.fraction is None and self.lead is None:
            raise InvalidPolicy("Warn needs a fraction or a lead time (or use warn=None)")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise InvalidPolicy(f"Warn.fraction must be between 0 and 1, got {self.fraction}")
        if self.lead is not None and self.lead <= _dt.timedelta(0):
            raise InvalidPolicy(f"Warn.lead must be positive, got {self.lead}")


@attrs.frozen
class ExtensionRule:
    """What an extension of a clock needs: a reason, a recorded customer notification
    (``notice`` or ``customer_notified_at``), at most ``max_count`` extensions per cycle, and
    an actor role among ``roles`` (any role when empty)."""

    require_reason: bool = True
    require_notice: bool = True
    max_count: int | None = None
    roles: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)


Early = Literal["violation", "ignore"]

GOAL_CHANGES = ("retroactive", "switch_from_now", "keep")
"""What a running clock does when its goal changes (a new priority, a new tier):
``retroactive`` re-judges it, measuring the new goal from the cycle's original start with the
pauses and extensions so far replayed (ServiceNow's repair; the default); ``switch_from_now``
measures the new goal from the instant of the change; ``keep`` keeps the goal the cycle
started with (a goal not known at the start is still taken when it becomes known)."""


@attrs.frozen
class ClockSpec:
    """One named clock of a policy.

    - ``start`` / ``stop``: the events that start and stop (meet) it. When a stopped clock's
      ``start`` matches again, a new cycle begins (its number is recorded). An event that
      matches both stops the running cycle and begins the next one at once: a recurring
      obligation such as "a progress update at least every 4 h while responding".
    - ``pause_in``: states in which it does not count; ``pause`` / ``resume``: events that
      hold and release it (both ways may be combined).
    - ``cancel``: events that end it without a verdict (an invalid complaint, a cancellation).
    - ``reopen``: events that make a stopped cycle run again (the time it was stopped counts
      as paused), e.g. a complaint reopened because the customer is not satisfied.
    - ``target``: a :data:`Target`, a :class:`GoalTable` or a :class:`DueField`; ``calendar``
      names the calendar (from the mapping given to the SLA) used for business time, working
      days and alert hours.
    - ``earliest``: a window's lower bound from the start; stopping before it is a violation of
      kind ``too_early`` (``early="violation"``) or does not count (``early="ignore"``).
    - ``warn``: the warning; ``escalate``: escalate one tier when it breaches;
      ``extension``: whether and how it may be extended (``None``: it may not).
    - ``target=None``: a *measure-only* clock: no deadline, no warning, no breach; its cycles
      record elapsed and paused time (outcome ``no_goal``).
    - ``goal_change``: one of :data:`GOAL_CHANGES` (``"retroactive"`` by default).
    - ``calendar="case"``: the case's own calendar, chosen by the policy's ``case_calendar``
      when the cycle starts.
    """

    name: str
    start: On
    stop: On
    target: Target | GoalTable | DueField | None
    calendar: str = "24x7"
    pause_in: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)
    pause: On | None = None
    resume: On | None = None
    cancel: On | None = None
    reopen: On | None = None
    earliest: Target | None = None
    early: Early = "violation"
    warn: Warn | None = Warn()
    escalate: bool = False
    extension: ExtensionRule | None = None
    enabled: bool = True
    source: str = ""
    description: str = ""
    goal_change: str = "retroactive"

    @property
    def absolute(self) -> bool:
        """True when the clock counts clock hours (24×7) rather than business time."""
        return self.target is not None and self.target.absolute

    def problems(self) -> list[str]:
        """Every problem of this spec alone (names are checked against a definition later)."""
        out: list[str] = []
        if not self.name or not self.name.replace("_", "").isalnum():
            out.append(f"clock name {self.name!r} must be a non-empty identifier")
        if not self.start:
            out.append(f"clock {self.name!r} has no start condition")
        if not self.stop:
            out.append(f"clock {self.name!r} has no stop condition")
        if self.target is not None and not isinstance(
                self.target, (*TARGET_TYPES, GoalTable, DueField)):
            out.append(f"clock {self.name!r}: target {self.target!r} is not a target or table")
        if self.goal_change not in GOAL_CHANGES:
            out.append(f"clock {self.name!r}: goal_change must be one of "
                       f"{', '.join(GOAL_CHANGES)}")
        if (self.pause is None) != (self.resume is None):
            out.append(f"clock {self.name!r}: give both pause= and resume=, or neither")
        if self.early not in ("violation", "ignore"):
            out.append(f"clock {self.name!r}: early must be 'violation' or 'ignore'")
        if self.earliest is not None and not isinstance(self.earliest, TARGET_TYPES):
            out.append(f"clock {self.name!r}: earliest {self.earliest!r} is not a target")
        return out

    def fields(self) -> set[str]:
        """The data fields the clock's conditions read."""
        out: set[str] = set()
        for cond in (self.start, self.stop, self.pause, self.resume, self.cancel, self.reopen):
            if cond is not None:
                out.update(c.field for c in cond.data)
        return out

    def names(self) -> tuple[set[str], set[str]]:
        """(state names, trigger names) the spec refers to."""
        states: set[str] = set(self.pause_in)
        triggers: set[str] = set()
        for cond in (self.start, self.stop, self.pause, self.resume, self.cancel, self.reopen):
            if cond is not None:
                states.update(cond.enter)
                states.update(cond.leave)
                triggers.update(cond.trigger)
        return states, triggers
