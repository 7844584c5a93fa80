"""Several policies on one process: a customer SLA beside operational level agreements.

:func:`combine` merges the policies of one process into one :class:`CombinedPolicy` whose
clocks are all of theirs (each keeps its own conditions, targets and calendars). The first
policy is the *primary*: its escalation ladder and tiers are the case's. Every extension
point (goal selection, extension rules, warning and breach actions, the case calendar) is
answered by the policy that owns the clock, so a policy behaves the same alone or combined.
Clock names must differ across the policies of a process (``ola_l1_resolve`` beside
``resolve``): a case's clocks are one set, stored together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from servicewf.case import Case
from servicewf.errors import InvalidPolicy
from servicewf.sla.policy import ExtensionRequest, Policy
from servicewf.sla.spec import CaseCalendar, ClockSpec, Target
from servicewf.sla.state import ClockState, ClockView

if TYPE_CHECKING:
    from servicewf.sla.sweep import ActionContext

__all__ = ["CombinedPolicy", "combine"]


@attrs.frozen
class CombinedPolicy(Policy):
    """The policies of one process as one (see :func:`combine`); ``parts`` in order, the
    primary first."""

    parts: tuple[Policy, ...] = ()
    _owner: Mapping[str, Policy] = attrs.field(init=False, eq=False, repr=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        object.__setattr__(self, "_owner", {c.name: p for p in self.parts for c in p.clocks})

    def owner(self, clock: str) -> Policy:
        """The policy that defines ``clock``."""
        return self._owner.get(clock, self)

    def _part(self, clock: ClockSpec) -> Policy | None:
        found = self._owner.get(clock.name)
        return found if found is not None and found is not self else None

    def target_keys(self, clock: ClockSpec) -> frozenset[str] | None:
        part = self._part(clock)
        return super().target_keys(clock) if part is None else part.target_keys(clock)

    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        part = self._part(clock)
        return super().select_target(clock, data) if part is None else part.select_target(
            clock, data)

    def calendar_for(self, clock: ClockSpec, data: Mapping[str, Any]) -> str:
        part = self._part(clock)
        return super().calendar_for(clock, data) if part is None else part.calendar_for(
            clock, data)

    def case_calendar_of(self, clock: ClockSpec) -> CaseCalendar | None:
        part = self._part(clock)
        return self.case_calendar if part is None else part.case_calendar_of(clock)

    def extension_from(self, trigger: str, data: Mapping[str, Any]) -> tuple[str, Target] | None:
        for part in self.parts:
            if trigger in part.extend_map:
                return part.extension_from(trigger, data)
        return None

    def extension_problems(self, clock: ClockSpec, state: ClockState,
                           request: ExtensionRequest) -> list[str]:
        part = self._part(clock)
        return (super().extension_problems(clock, state, request) if part is None
                else part.extension_problems(clock, state, request))

    def on_warning(self, ctx: ActionContext, case: Case, clock: ClockView) -> Case:
        part = self._owner.get(clock.name)
        return part.on_warning(ctx, case, clock) if part is not None else case

    def on_breach(self, ctx: ActionContext, case: Case, clock: ClockView) -> Case:
        part = self._owner.get(clock.name)
        return part.on_breach(ctx, case, clock) if part is not None else case


def combine(policies: Sequence[Policy]) -> Policy:
    """One policy for the given policies of one process (the only one when there is one).

    Raises :class:`~servicewf.errors.InvalidPolicy` when they are for different processes,
    define a clock name twice, or claim the same extension trigger.
    """
    if not policies:
        raise InvalidPolicy("combine() needs at least one policy")
    if len(policies) == 1:
        return policies[0]
    primary = policies[0]
    problems: list[str] = []
    seen: dict[str, str] = {}
    triggers: dict[str, str] = {}
    for p in policies:
        if p.process != primary.process:
            problems.append(f"policy {p.name!r} is for process {p.process!r}, not "
                            f"{primary.process!r}")
        for c in p.clocks:
            if c.name in seen:
                problems.append(f"clock {c.name!r} is defined by policies {seen[c.name]!r} and "
                                f"{p.name!r}; name the clocks of each policy apart")
            seen[c.name] = p.name
        for t, _ in p.extend_triggers:
            if t in triggers:
                problems.append(f"extension trigger {t!r} is claimed by policies "
                                f"{triggers[t]!r} and {p.name!r}")
            triggers[t] = p.name
    if problems:
        raise InvalidPolicy("the policies of process "
                            f"{primary.process!r} cannot be combined: " + "; ".join(problems))
    case_calendar = next((p.case_calendar for p in policies if p.case_calendar is not None),
                         None)
    return CombinedPolicy(
        "+".join(p.name for p in policies), primary.process,
        [c for p in policies for c in p.clocks], ladder=primary.ladder,
        tier_from=primary.tier_from, escalate_triggers=primary.escalate_triggers,
        extend_triggers=[pair for p in policies for pair in p.extend_triggers],
        source=primary.source, description=primary.description,
        case_calendar=case_calendar, parts=tuple(policies),
    )
