"""The queue order against a reference sort written here from the SLA's own ClockView."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf.case import Case
from servicewf.processes.complaint import ComplaintData
from servicewf.queues import Queues
from servicewf.queues.stack import QueueStack
from servicewf.sla import escalated_tier
from servicewf.storage import MemoryStore
from tests.queues.support import AGENTS, build

steps = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), st.booleans(),
                           st.one_of(st.none(), st.integers(0, 1))),
                 min_size=1, max_size=7)

# The guideline's order of complaint levels, urgent first (001 §7.2), written out here.
LEVEL_ORDER = {"urgent": 0, "important": 1, "general": 2}


def reference(s: QueueStack, cases: list[Case]) -> list[str]:
    """The documented order from first principles: level (VIP first within it), breached
    (a running clock whose breach the sweep recorded) first, the earliest deadline of a
    running clock, then opening instant and id."""
    now = s.engine.clock.now()

    def key(case: Case) -> tuple[Any, ...]:
        data = case.data_as(ComplaintData)
        level = LEVEL_ORDER.get(data.level or "", 3)
        vip = case.data.get("customer_tier") == "VIP"
        views = s.sla.clocks(s.engine, case, now)
        live = [v for v in views if v.status in ("running", "paused")]
        breached = any(v.breach_recorded for v in live)
        deadlines = [v.deadline.timestamp() for v in live
                     if v.status == "running" and v.deadline is not None]
        due = min(deadlines) if deadlines else math.inf
        return (2 * level + (0 if vip else 1), not breached, due, case.opened_at, case.id)

    return [c.id for c in sorted(cases, key=key)]


def check_queue(s: QueueStack, queues: Queues) -> None:
    every = s.engine.store.find(process="complaint")
    for agent in AGENTS:
        mine = [c for c in every if c.data.get("first_receiver") == agent]
        got = [i.case.id for i in queues.inbox(actor=agent, limit=100)]
        assert got == reference(s, mine)
        # Paging by key gives the same order, a page at a time.
        paged: list[str] = []
        after = None
        while True:
            page = queues.inbox(actor=agent, limit=2, after=after)
            paged += [i.case.id for i in page]
            if page.next is None:
                break
            after = page.next
        assert paged == got
    ladder = ["agent", "supervisor", "manager", "executive"]

    def tier_of(case: Case) -> str | None:
        # The level's tier (001 §7.2), raised to the tier an SLA escalation recorded.
        level = {"一般": "agent", "重要": "supervisor", "緊急": "manager"}.get(
            case.data.get("level", ""))
        raised = escalated_tier(case)
        known = [t for t in (level, raised) if t is not None]
        return max(known, key=ladder.index) if known else None

    for tier in ladder:
        in_tier = [c for c in every if tier_of(c) == tier]
        assert [i.case.id for i in queues.inbox(role=tier, limit=100)] == reference(s, in_tier)


@settings(max_examples=25, deadline=None)
@given(steps=steps, sweep=st.booleans(), tail=st.integers(0, 30))
def test_queue_order_equals_reference_sort(steps: list[Any], sweep: bool, tail: int) -> None:
    s, _ = build(MemoryStore(), steps, sweep=sweep, tail=tail)
    check_queue(s, s.queues)


@settings(max_examples=25, deadline=None)
@given(steps=steps, sweep=st.booleans())
def test_least_business_time_left_first(steps: list[Any], sweep: bool) -> None:
    """Within one rank and breach flag, the remaining business time of the due clock never
    decreases along the queue (ClockView.remaining, the SLA's own measure)."""
    s, clock = build(MemoryStore(), steps, sweep=sweep)
    now = clock.now()
    for agent in AGENTS:
        previous: tuple[int, bool, float] | None = None
        for item in s.queues.inbox(actor=agent, limit=100):
            views = [v for v in s.sla.clocks(s.engine, item.case, now)
                     if v.status == "running" and v.remaining is not None]
            left = min((v.remaining.total_seconds() for v in views if v.remaining is not None),
                       default=math.inf)
            here = (item.queue.rank, item.queue.breached, left)
            if previous is not None and previous[:2] == here[:2]:
                assert previous[2] <= here[2]
            previous = here


def test_breached_first_within_a_level() -> None:
    s, clock = build(MemoryStore(), [(0, 1, False, 0), (10, 1, False, 0)], sweep=False)
    # Both general complaints of ana; only the older one breaches its record/ack clocks.
    clock.advance(hours=0)
    s.sweeper.run()
    items = list(s.queues.inbox(actor="ana"))
    assert [i.case.id for i in items] == ["c00", "c01"]
    assert items[0].queue.due < items[1].queue.due


def test_vip_first_within_a_level_and_urgent_before_vip() -> None:
    s, _ = build(MemoryStore(), [(0, 1, False, 0), (1, 1, True, 0), (2, 3, False, 0)],
                 sweep=False)
    assert [i.case.id for i in s.queues.inbox(actor="ana")] == ["c02", "c01", "c00"]


@pytest.mark.parametrize("bad", [
    {}, {"actor": "a", "group": "g"}, {"actor": "a", "unassigned": True},
    {"actor": "a", "limit": 0}, {"actor": "a", "limit": 1001}, {"actor": "a", "limit": True},
    {"actor": "a", "after": 3},
])
def test_impossible_selections_are_refused(bad: dict[str, Any]) -> None:
    from servicewf.errors import InvalidQueueQuery

    with pytest.raises(InvalidQueueQuery):
        Queues(MemoryStore()).inbox(**bad)


@settings(max_examples=8, deadline=None)
@given(steps=steps, sweep=st.booleans())
def test_queue_order_on_sqlite_equals_reference_sort(steps: list[Any], sweep: bool) -> None:
    """The same property through the SQL store's indexed queries (SQLite in memory)."""
    from servicewf.storage.sql import SQLStore

    store = SQLStore("sqlite://")
    try:
        s, _ = build(store, steps, sweep=sweep)
        check_queue(s, s.queues)
        s.queues.close()
    finally:
        store.close()
