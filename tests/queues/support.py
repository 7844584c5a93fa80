"""Scenario builders for the queue tests: random complaints with SLA states on any store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum

from servicewf import Actor, FrozenClock
from servicewf.case import Case
from servicewf.queues import QueuePolicy, default_policy
from servicewf.queues.stack import QueueStack, queue_stack
from servicewf.storage import Store

START = pendulum.datetime(2026, 3, 6, 10, 0, tz="Asia/Shanghai")  # a Friday
AGENTS = ("ana", "bo")
LEVELS = (None, "一般", "重要", "緊急")
GROUPS = {"agent": "front", "supervisor": "leads", "manager": "managers"}

# One step of a scenario: (hours to advance, level index, vip, owner index or None).
Step = tuple[int, int, bool, int | None]


def stack_on(store: Store, policy: QueuePolicy | None = None) -> tuple[QueueStack,
                                                                         FrozenClock]:
    clock = FrozenClock(START)
    return queue_stack(store, clock, policy=policy), clock


def grouped_policy() -> QueuePolicy:
    """The default policy with a group per tier (an escalation moves the case on)."""
    base = default_policy()
    return QueuePolicy(priorities=base.priorities, owner_fields=base.owner_fields,
                       first_receiver_owns=base.first_receiver_owns,
                       work_start=base.work_start, tiers=base.tiers, tier_groups=GROUPS,
                       default_group="intake")


def open_complaint(s: QueueStack, *, level: str | None, vip: bool, owner: str | None,
                   case_id: str | None = None) -> Case:
    """A complaint: opened (VIP or not); recorded by ``owner`` (the first receiver) when
    given; classified at ``level`` when given."""
    engine = s.engine
    data: dict[str, Any] = {"channel": "電話", "customer_ref": "C-1", "content": "late"}
    if vip:
        data["customer_tier"] = "VIP"
    who = Actor(owner or "desk", "agent")
    case = engine.open("complaint", actor=who, data=data, case_id=case_id)
    if owner is None:
        return case
    case = engine.fire(case, "record", actor=who,
                       data={"tracker": owner, "first_receiver": owner})
    if level is not None:
        case = engine.fire(case, "classify", actor=who, data={
            "complaint_type": "服務態度", "level": level, "scope": "external"})
    return case


def build(store: Store, steps: Sequence[Step], *, sweep: bool,
          policy: QueuePolicy | None = None, tail: int = 30) -> tuple[QueueStack, FrozenClock]:
    """Run ``steps`` on ``store`` (case ids c00, c01... so every store gets the same)."""
    s, clock = stack_on(store, policy)
    for i, (hours, level, vip, owner) in enumerate(steps):
        clock.advance(hours=hours)
        open_complaint(s, level=LEVELS[level], vip=vip,
                       owner=None if owner is None else AGENTS[owner], case_id=f"c{i:02d}")
    clock.advance(hours=tail)  # with a short tail only the older cases breach
    if sweep:
        s.sweeper.run()
    return s, clock
