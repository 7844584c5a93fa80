"""What a queue knows about a case, derived from its history: the queue policy and its fold.

A :class:`QueuePolicy` says, as plain data, how cases are ranked and routed: the priority field
of each process and its order (urgent first), whether VIP customers come first within a level,
which data fields name the owner, which triggers start work (C2), which processes follow the
first-receiver rule (首問負責制), and which group serves each handler tier.

:class:`QueueProcessor` is the engine :class:`~servicewf.engine.CaseProcessor` that keeps
``case.extensions["queue"]`` up to date inside every command (after the SLA processor, whose
clocks it reads): the owner, owner role, group, tier, priority rank, the SLA due instant and
the breached flag, and the *index keys* the stores' queue indexes are built on. It is a pure
fold of the case and the command's events, so a replay gives the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from servicewf._frozen import names_tuple
from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.definition import ProcessDefinition
from servicewf.events import Event, EventKind
from servicewf.sla.processor import EXTENSION_KEY as SLA_KEY
from servicewf.sla.processor import escalated_tier
from servicewf.sla.state import PAUSED, RUNNING, ClockStates
from servicewf.storage.base import Timer

__all__ = [
    "ASSIGN",
    "ASSIGNMENT_TRIGGERS",
    "CLAIM",
    "EXTENSION_KEY",
    "HAND_OVER",
    "NO_DUE",
    "RELEASE",
    "Priority",
    "QueuePolicy",
    "QueueProcessor",
    "QueueState",
    "default_policy",
    "queue_state",
    "sort_key",
    "state_from",
]

EXTENSION_KEY = "queue"
"""Where the queue state lives in ``case.extensions``."""

ASSIGN, CLAIM, HAND_OVER, RELEASE = "assign_owner", "claim", "hand_over", "release"
ASSIGNMENT_TRIGGERS = (ASSIGN, CLAIM, HAND_OVER, RELEASE)
"""The audited assignment commands :func:`~servicewf.queues.with_assignment` adds."""

NO_DUE = 10**17 - 1
"""The due instant (epoch µs) of a case with no running SLA deadline: after every real one
(the year 5138), so such cases sort last within their priority."""

_RANK_WIDTH = 3
_US_WIDTH = 17


@attrs.frozen
class Priority:
    """How one process ranks its cases: ``field``'s value in ``order`` (most urgent first);
    an unknown or missing value ranks after every listed one. ``normalise`` maps a stored
    value to an entry of ``order`` (the built-in vocabularies accept 繁體/简体/English)."""

    field: str
    order: tuple[str, ...]
    normalise: Callable[[Any], str | None] | None = attrs.field(default=None, eq=False)

    def level(self, data: Mapping[str, Any]) -> int:
        """The 0-based level of ``data`` (``len(order)`` when unknown)."""
        value = data.get(self.field)
        if self.normalise is not None:
            try:
                value = self.normalise(value)
            except (TypeError, ValueError):
                value = None
        try:
            return self.order.index(value)
        except ValueError:
            return len(self.order)


TierRule = Callable[[Case], str | None]


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _name_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(names_tuple(value))


def _escalated_or_data(case: Case) -> str | None:
    tier = case.data.get("tier")
    return escalated_tier(case) or (tier if isinstance(tier, str) else None)


@attrs.frozen
class QueuePolicy:
    """The queue rules of a deployment, as data (see the module docstring).

    - ``priorities``: process name → :class:`Priority` (a process without one ranks every case
      at level 0);
    - ``vip_field`` / ``vip_values``: a case whose ``vip_field`` holds one of ``vip_values``
      comes before the non-VIP cases of its level (004 §3); ``vip_first=False`` turns it off;
    - ``owner_fields``: process name → data fields that name the owner when a process command
      sets them (the complaint's ``first_receiver`` at ``record``, the service request's
      ``owner`` at ``confirm``); ``"owner"`` everywhere by default;
    - ``first_receiver_owns``: processes whose owner stays until a formal hand-over (001 §7.1):
      ``release`` is refused there;
    - ``work_start``: process name → triggers that start the work and need a confirmed owner
      (C2, 001 §2.2);
    - ``tiers``: process name → function of the case giving its handler tier (the role C9
      requires), ``None`` when it has none; the default reads the tier the SLA escalation
      recorded, else the case's ``tier`` field;
    - ``tier_groups``: tier → group: a case whose tier has a group sits in that group's queue
      (an escalation moves it to the next group); otherwise its ``group`` field decides;
    - ``lead_roles``: roles that may assign and hand over cases they do not own;
    - ``default_group``: the group of a case that neither its tier nor its ``group`` field
      places (a new, unclassified case: the intake queue); ``None``: no group.
    """

    priorities: Mapping[str, Priority] = attrs.field(factory=dict, converter=_frozen_map)
    vip_field: str = "customer_tier"
    vip_values: tuple[str, ...] = ("vip", "VIP", "貴賓", "贵宾", "大客戶", "大客户", "high value")
    vip_first: bool = True
    owner_fields: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_frozen_map)
    first_receiver_owns: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    work_start: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_frozen_map)
    tiers: Mapping[str, TierRule] = attrs.field(factory=dict, converter=_frozen_map,
                                                eq=False)
    tier_groups: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    lead_roles: tuple[str, ...] = ("supervisor", "manager", "executive", "system")
    default_group: str | None = None

    def owner_fields_of(self, process: str) -> tuple[str, ...]:
        return self.owner_fields.get(process, ("owner",))

    def tier_of(self, case: Case) -> str | None:
        """The handler tier ``case`` calls for now (C9), or ``None``."""
        rule = self.tiers.get(case.process, _escalated_or_data)
        return rule(case)

    def level(self, case: Case) -> int:
        """The priority level of ``case`` (0 most urgent; VIP not counted)."""
        priority = self.priorities.get(case.process)
        return priority.level(case.data) if priority is not None else 0

    def rank(self, case: Case) -> int:
        """The priority rank of ``case`` (0 most urgent): its level, then VIP before
        non-VIP within the level when ``vip_first``."""
        level = self.level(case)
        if not self.vip_first:
            return level
        vip = case.data.get(self.vip_field) in self.vip_values
        return level * 2 + (0 if vip else 1)


def default_policy() -> QueuePolicy:
    """The policy of the built-in processes: complaint levels 緊急 → 重要 → 一般, service-request
    and after-sales priorities, incident levels; VIP first; the complaint's first receiver
    owns it (001 §7.1) and its tier follows the level and escalations (C9)."""
    from servicewf.processes.common import (
        AFTER_SALES_PRIORITY,
        COMPLAINT_LEVEL,
        INCIDENT_LEVEL,
        REQUEST_PRIORITY,
    )
    from servicewf.processes.complaint import current_tier

    def after_sales_tier(case: Case) -> str | None:
        tier = case.data.get("tier")
        return tier if isinstance(tier, str) else "agent"

    return QueuePolicy(
        priorities={
            "complaint": Priority("level", ("urgent", "important", "general"),
                                  COMPLAINT_LEVEL.optional_id),
            "service_request": Priority("priority", REQUEST_PRIORITY.ids,
                                        REQUEST_PRIORITY.optional_id),
            "after_sales": Priority("priority", AFTER_SALES_PRIORITY.ids,
                                    AFTER_SALES_PRIORITY.optional_id),
            "incident": Priority("level", INCIDENT_LEVEL.ids, INCIDENT_LEVEL.optional_id),
        },
        # The after-sales dispatch (派單) names the technician who owns the ticket.
        owner_fields={"complaint": ("owner", "first_receiver"),
                      "after_sales": ("owner", "technician")},
        first_receiver_owns={"complaint"},
        work_start={"service_request": ("start",), "complaint": ("investigate",),
                    "after_sales": ("support_remotely", "dispatch"), "incident": ("respond",)},
        tiers={"complaint": current_tier, "after_sales": after_sales_tier},
    )


@attrs.frozen
class QueueState:
    """The queue's view of one case (``case.extensions["queue"]`` as a value)."""

    owner: str | None
    owner_role: str | None
    group: str | None
    tier: str | None
    rank: int
    breached: bool
    due: int
    open: bool
    level: int = 0

    @property
    def needs_owner(self) -> bool:
        """Open and without an owner, or owned by someone whose role is not the tier the case
        now calls for (an escalation moved it up): it waits in its group's queue."""
        return self.open and (self.owner is None or (
            self.tier is not None and self.owner_role is not None
            and self.owner_role != self.tier))


def sort_key(rank: int, breached: bool, due: int, opened: int, case_id: str) -> str:
    """The urgency order as one text compared by code point: priority rank, breached before
    not breached, the earliest SLA deadline, the opening instant, the case id. Fixed-width
    numbers keep text order equal to tuple order."""
    return (f"{rank:0{_RANK_WIDTH}d}{0 if breached else 1}{due:0{_US_WIDTH}d}"
            f"{opened:0{_US_WIDTH}d}{case_id}")


def _clock_urgency(case: Case) -> tuple[bool, int]:
    stored = case.extensions.get(SLA_KEY)
    if not isinstance(stored, Mapping) or "clocks" not in stored:
        return False, NO_DUE
    states = ClockStates.from_dict(stored)
    breached = False
    due = NO_DUE
    for c in states.clocks:
        if c.status not in (RUNNING, PAUSED):
            continue
        breached = breached or c.breached
        # A paused clock waits on the customer: its deadline moves, it sets no due instant.
        if c.status == RUNNING and c.deadline is not None:
            due = min(due, c.deadline)
    return breached, due


def queue_state(case: Case) -> QueueState | None:
    """The queue state stored on ``case``, or ``None`` when no queue processor ran on it."""
    raw = case.extensions.get(EXTENSION_KEY)
    if not isinstance(raw, Mapping):
        return None
    return state_from(raw)


def state_from(raw: Mapping[str, Any]) -> QueueState:
    """A :class:`QueueState` from its plain data (``case.extensions["queue"]``)."""
    return QueueState(raw.get("owner"), raw.get("owner_role"), raw.get("group"),
                      raw.get("tier"), int(raw.get("rank", 0)), bool(raw.get("breached")),
                      int(raw.get("due", NO_DUE)), bool(raw.get("open")),
                      int(raw.get("level", 0)))


def _fold_owner(policy: QueuePolicy, process: str, owner: str | None, role: str | None,
                events: Sequence[Event]) -> tuple[str | None, str | None]:
    fields = policy.owner_fields_of(process)
    for e in events:
        if e.kind is not EventKind.TRANSITION and e.kind is not EventKind.OPENED:
            continue
        if e.trigger == RELEASE:
            owner = role = None
            continue
        if e.trigger in ASSIGNMENT_TRIGGERS:
            owner = e.data.get("owner")
            given = e.data.get("owner_role")
            role = given if isinstance(given, str) else (
                e.role if e.trigger == CLAIM else None)
            continue
        # A process command naming the owner (confirm's owner, record's first receiver):
        # the first owner field it sets wins; the owner's role is known only when the actor
        # names themself.
        for f in fields:
            value = e.data.get(f)
            if isinstance(value, str) and value:
                if value != owner:
                    owner = value
                    role = e.role if value == e.actor_id else None
                break
    return owner, role


class QueueProcessor:
    """The engine processor that keeps ``case.extensions["queue"]`` (no timers).

    Put it after the SLA processor in ``Engine(processors=[sla, ..., QueueProcessor()])`` so
    the due instant and the breached flag are those of the command being written."""

    timer_prefix = "queue:"

    def __init__(self, policy: QueuePolicy | None = None) -> None:
        self.policy = policy if policy is not None else default_policy()

    def process(self, definition: ProcessDefinition, case: Case,
                events: Sequence[Event]) -> tuple[Case, Sequence[Timer] | None]:
        return attrs.evolve(case, extensions={**case.extensions,
                                              EXTENSION_KEY: self.derive(definition, case,
                                                                         events)}), None

    def derive(self, definition: ProcessDefinition, case: Case,
               events: Sequence[Event]) -> dict[str, Any]:
        """The queue state of ``case`` after ``events`` (plain data)."""
        policy = self.policy
        before = queue_state(case)
        owner, role = (before.owner, before.owner_role) if before is not None else (None, None)
        owner, role = _fold_owner(policy, case.process, owner, role, events)
        tier = policy.tier_of(case)
        group = policy.tier_groups.get(tier) if tier is not None else None
        if group is None:
            value = case.data.get("group")
            group = value if isinstance(value, str) and value else policy.default_group
        is_open = not definition.is_final(case.state)
        rank = policy.rank(case)
        breached, due = _clock_urgency(case)
        level = policy.level(case)
        state = QueueState(owner, role, group, tier, rank, breached, due, is_open, level)
        out: dict[str, Any] = {
            "owner": owner, "owner_role": role, "group": group, "tier": tier, "rank": rank,
            "breached": breached, "due": due, "open": is_open, "level": level,
        }
        if is_open:
            # The index keys: present only while the case is open, so closed cases never
            # match an index lookup (and cost the indexes nothing but a NULL).
            out["k"] = sort_key(rank, breached, due, epoch_us(case.opened_at), case.id)
            if owner is not None:
                out["o"] = owner
            if group is not None:
                out["g"] = group
                if state.needs_owner:
                    out["u"] = group
            if tier is not None:
                out["r"] = tier
                if state.needs_owner:
                    out["ur"] = tier
        return out
