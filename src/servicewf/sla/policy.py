"""SLA policies: the named clocks of one process, with their goals and actions.

A :class:`Policy` is plain data plus documented extension points. Subclass it to change how a
goal is chosen, how tiers escalate, what an extension needs, or what happens on a warning or
breach::

    @attrs.frozen
    class VipPolicy(Policy):
        def select_target(self, clock, data):
            if clock.name == "resolve" and data.get("tier") == "VIP":
                return WorkingDays(1)
            return super().select_target(clock, data)
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.case import Case
from servicewf.errors import (  # ExtensionConditionsUnmet, GoalUndefined: re-exported here
    ExtensionConditionsUnmet,
    GoalUndefined,
    InvalidPolicy,
    UnknownClock,
)
from servicewf.sla.spec import (
    TARGET_TYPES,
    CaseCalendar,
    ClockSpec,
    DueField,
    ExtensionRule,
    GoalTable,
    Target,
    Until,
    target_from_dict,
)
from servicewf.sla.state import ClockState, ClockView

if TYPE_CHECKING:
    from servicewf.definition import ProcessDefinition
    from servicewf.sla.sweep import ActionContext

__all__ = [
    "ExtensionConditionsUnmet",
    "ExtensionRequest",
    "GoalUndefined",
    "Policy",
]


@attrs.frozen
class ExtensionRequest:
    """An extension asked for: by how much, by whom, why, and the customer notification."""

    clock: str
    by: Target
    actor_id: str
    role: str
    reason: str | None = None
    notice: str | Mapping[str, Any] | None = None
    customer_notified_at: _dt.datetime | None = None


def _clocks(value: Iterable[ClockSpec]) -> tuple[ClockSpec, ...]:
    return tuple(value)


def _pairs(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


@attrs.frozen
class Policy:
    """The clocks of one process (``process`` is the definition name they bind to).

    - ``clocks``: the :class:`ClockSpec` values, in reporting order;
    - ``ladder``: escalation tiers, lowest first (agent → supervisor → manager by default);
    - ``tier_from``: ``(field, {value: tier})`` giving a case's first tier from its data (e.g.
      the complaint level's handler role); without it a case starts at ``ladder[0]``;
    - ``escalate_triggers``: triggers that move a case one tier up (by hand, and by the
      sweep's automatic escalation when the process offers one);
    - ``extend_triggers``: ``{trigger: clock}``, the process's own extension transitions
      (e.g. the complaint's ``extend``, which records ``reason``, ``customer_notification``
      and ``new_deadline``). Such a transition *is* the extension of that clock: the fold
      moves the deadline (see :meth:`extension_from`), the policy's :class:`ExtensionRule`
      is enforced on it, and :meth:`SLA.extend <servicewf.sla.SLA.extend>` fires it rather
      than recording a separate ``clock_extended`` event. Triggers a definition does not
      have are ignored, so a preset also fits a trimmed definition.

    Built policies are validated (duplicate clocks, empty conditions, bad goal tables); names
    are checked against a definition when the policy is bound to one.
    """

    name: str
    process: str
    clocks: tuple[ClockSpec, ...] = attrs.field(converter=_clocks)
    ladder: tuple[str, ...] = ("agent", "supervisor", "manager")
    tier_from: tuple[str, Mapping[Any, str]] | None = None
    escalate_triggers: tuple[str, ...] = ("escalate",)
    extend_triggers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    source: str = ""
    description: str = ""
    case_calendar: CaseCalendar | None = None
    """How a case's own calendar is chosen, for clocks with ``calendar="case"``."""

    def __attrs_post_init__(self) -> None:
        problems: list[str] = []
        seen: set[str] = set()
        for c in self.clocks:
            if c.name in seen:
                problems.append(f"clock {c.name!r} is defined twice")
            seen.add(c.name)
            problems += c.problems()
        if not self.ladder:
            problems.append("the escalation ladder is empty")
        if self.tier_from is not None:
            unknown = sorted(set(self.tier_from[1].values()) - set(self.ladder))
            if unknown:
                problems.append(f"tier_from names tiers not on the ladder: {unknown}")
        triggers = [t for t, _ in self.extend_triggers]
        if len(set(triggers)) != len(triggers):
            problems.append(f"extend_triggers names a trigger twice: {triggers}")
        for trigger, clock in self.extend_triggers:
            spec = next((c for c in self.clocks if c.name == clock), None)
            if spec is None:
                problems.append(f"extend trigger {trigger!r} names unknown clock {clock!r}")
            elif spec.extension is None:
                problems.append(f"extend trigger {trigger!r} extends clock {clock!r}, which "
                                "may not be extended (give it extension=ExtensionRule(...))")
        if self.case_calendar is None:
            for c in self.clocks:
                if c.calendar == "case":
                    problems.append(f"clock {c.name!r} uses the case's calendar; give the "
                                    "policy case_calendar=CaseCalendar(field, ...)")
        if problems:
            raise InvalidPolicy(
                f"SLA policy {self.name!r} is invalid: " + "; ".join(problems)
            )

    # --- lookups and derivation ------------------------------------------------------------

    @property
    def enabled(self) -> tuple[ClockSpec, ...]:
        """The clocks that run (``enabled``)."""
        return tuple(c for c in self.clocks if c.enabled)

    def clock(self, name: str) -> ClockSpec:
        """The clock spec ``name`` (:class:`UnknownClock` otherwise)."""
        for c in self.clocks:
            if c.name == name:
                return c
        raise UnknownClock(
            f"policy {self.name!r} has no clock {name!r}; known: "
            f"{', '.join(c.name for c in self.clocks)}"
        )

    def replace_clock(self, name: str, **changes: Any) -> Policy:
        """A copy with clock ``name`` changed (e.g. ``enabled=True``, ``target=...``)."""
        self.clock(name)
        return attrs.evolve(self, clocks=[attrs.evolve(c, **changes) if c.name == name else c
                                          for c in self.clocks])

    def problems_with(self, definition: ProcessDefinition) -> list[str]:
        """Names the policy uses that ``definition`` does not have."""
        out: list[str] = []
        if definition.name != self.process:
            out.append(f"policy is for process {self.process!r}, not {definition.name!r}")
        triggers = set(definition.triggers)
        for c in self.enabled:
            states, trigs = c.names()
            for s in sorted(states):
                if not definition.has_state(s):
                    out.append(f"clock {c.name!r} names unknown state {s!r}")
            for t in sorted(trigs):
                if t not in triggers:
                    out.append(f"clock {c.name!r} names unknown trigger {t!r}")
        return out

    # --- extension points ------------------------------------------------------------------

    def target_keys(self, clock: ClockSpec) -> frozenset[str] | None:
        """Data fields whose change re-selects ``clock``'s target (empty: never; ``None``:
        any data change). Override together with :meth:`select_target`."""
        if isinstance(clock.target, GoalTable):
            return frozenset((clock.target.key,))
        if isinstance(clock.target, DueField):
            return frozenset((clock.target.field,))
        return frozenset()

    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        """The target of ``clock`` for a case with ``data`` (``None``: not known yet).

        A changed answer later in the history re-measures the deadline from the clock's
        original start, keeping pauses and extensions. Raise :class:`GoalUndefined` for a case
        that fits no goal.
        """
        target = clock.target
        if isinstance(target, DueField):
            value = data.get(target.field)
            if value is None or value == "":
                return None
            try:
                return Until.of(value)
            except (InvalidPolicy, TypeError, ValueError):
                raise GoalUndefined(
                    f"clock {clock.name!r} of policy {self.name!r} reads its deadline from "
                    f"{target.field!r}, which holds no aware instant (a "
                    f"{type(value).__name__}); give an aware ISO 8601 instant"
                ) from None
        if not isinstance(target, GoalTable):
            return target
        if target.key not in data or data[target.key] is None:
            return target.when_missing
        value = data[target.key]
        found = target.find(value)
        if found is not None:
            return found
        if target.default is not None:
            return target.default
        raise GoalUndefined(
            f"clock {clock.name!r} of policy {self.name!r}: the value of {target.key} is not "
            f"in the goal table ({', '.join(map(repr, target.lookup))}); supply one of these, "
            "or declare default= in the GoalTable"
        )

    @property
    def extend_map(self) -> Mapping[str, str]:
        """``extend_triggers`` as a mapping trigger → clock."""
        return dict(self.extend_triggers)

    def extension_from(self, trigger: str, data: Mapping[str, Any]) -> tuple[str, Target] | None:
        """The extension an ``extend_triggers`` transition with ``data`` makes:
        ``(clock, target)``, or ``None`` when ``trigger`` is not one of them.

        By default ``new_deadline`` (an aware datetime or ISO 8601 string) moves the deadline
        to that instant (:class:`~servicewf.sla.Until`); otherwise ``by`` (a target, as an
        object or as :meth:`to_dict` data) extends it by that much. Override to read other
        fields; raise :class:`~servicewf.errors.InvalidPolicy` for data that says neither.
        """
        clock = self.extend_map.get(trigger)
        if clock is None:
            return None
        new_deadline = data.get("new_deadline")
        if new_deadline is not None:
            return clock, Until.of(new_deadline)
        by = data.get("by")
        if by is not None:
            return clock, by if isinstance(by, TARGET_TYPES) else target_from_dict(by)
        raise InvalidPolicy(
            f"extend trigger {trigger!r} of policy {self.name!r} carries neither 'new_deadline' "
            "nor 'by'; supply the new deadline the customer was told"
        )

    def case_calendar_of(self, clock: ClockSpec) -> CaseCalendar | None:
        """The :class:`CaseCalendar` that chooses ``clock``'s calendar per case."""
        return self.case_calendar

    def calendar_for(self, clock: ClockSpec, data: Mapping[str, Any]) -> str:
        """The calendar name ``clock`` uses for a case with ``data`` (its own ``calendar``, or
        for ``calendar="case"`` the policy's :class:`CaseCalendar` choice). Raises
        :class:`GoalUndefined` when the case names no calendar and there is no default."""
        choice = self.case_calendar_of(clock)
        if clock.calendar != "case" or choice is None:
            return clock.calendar
        name = choice.name_for(data)
        if name is None:
            raise GoalUndefined(
                f"clock {clock.name!r} of policy {self.name!r} counts on the case's calendar, "
                f"chosen by {choice.field!r}, which names none; supply a value "
                "that names a calendar, or give the CaseCalendar a default"
            )
        return name

    def initial_tier(self, data: Mapping[str, Any]) -> str:
        """The tier a case starts at."""
        if self.tier_from is not None:
            field, table = self.tier_from
            tier = table.get(data.get(field))
            if tier is not None:
                return tier
        return self.ladder[0]

    def next_tier(self, tier: str) -> str | None:
        """The tier above ``tier`` (``None`` at the top)."""
        if tier not in self.ladder:
            return self.ladder[0]
        i = self.ladder.index(tier)
        return self.ladder[i + 1] if i + 1 < len(self.ladder) else None

    def extension_problems(
        self, clock: ClockSpec, state: ClockState, request: ExtensionRequest
    ) -> list[str]:
        """What is missing for ``request`` to be granted (empty: granted)."""
        rule: ExtensionRule | None = clock.extension
        if rule is None:
            return [f"clock {clock.name!r} may not be extended under policy {self.name!r}"]
        out: list[str] = []
        if not state.running:
            out.append(f"clock {clock.name!r} is not running (it is {state.status})")
        if rule.require_reason and not (request.reason or "").strip():
            out.append("a reason (reason=...)")
        if rule.require_notice and not request.notice and request.customer_notified_at is None:
            out.append("a recorded customer notification (notice=... or "
                       "customer_notified_at=...)")
        if rule.max_count is not None and state.extensions >= rule.max_count:
            out.append(f"at most {rule.max_count} extension(s) per cycle; "
                       f"{state.extensions} granted already")
        if rule.roles and request.role not in rule.roles:
            out.append(f"an actor with role {' or '.join(rule.roles)} (not {request.role!r})")
        return out

    def on_warning(self, ctx: ActionContext, case: Case, clock: ClockView) -> Case:
        """Run after a warning was recorded; return the (possibly updated) case."""
        return case

    def on_breach(self, ctx: ActionContext, case: Case, clock: ClockView) -> Case:
        """Run after a breach was recorded; by default escalates one tier when the clock
        says ``escalate``. Return the (possibly updated) case."""
        if self._escalates_on_breach(clock.name):
            return ctx.escalate(case, clock=clock.name, reason=f"{clock.name} breached")
        return case

    def _escalates_on_breach(self, clock: str) -> bool:
        """Whether this class's own :meth:`on_breach` does anything for ``clock`` (the sweep
        skips building a view for it when not)."""
        return self.clock(clock).escalate
