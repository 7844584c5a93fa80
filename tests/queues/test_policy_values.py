"""The queue policy's values, each against the rule it implements (written out here)."""

from __future__ import annotations

import pendulum

from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.queues import QueuePolicy, default_policy, queue_state, sort_key
from servicewf.queues.policy import NO_DUE
from servicewf.storage import MemoryStore
from tests.queues.support import START, build, open_complaint, stack_on


def case(process: str, data: dict[str, object], extensions: dict[str, object] | None = None
         ) -> Case:
    return Case("c", process, 1, "s", 1, START, START, data, extensions or {})


def test_the_key_is_fixed_width_text_in_tuple_order() -> None:
    assert sort_key(3, True, 5, 7, "x") == ("003" + "0" + "0" * 16 + "5" + "0" * 16 + "7"
                                            + "x")
    assert sort_key(3, False, 5, 7, "x")[3] == "1"
    last = epoch_us(pendulum.datetime(2999, 12, 31, tz="UTC"))
    # "No deadline" sorts after the last instant a calendar computes, in the same width.
    assert last < NO_DUE
    assert len(sort_key(0, False, NO_DUE, last, "a")) == len(sort_key(0, False, last, 0, "a"))


def test_ranks_level_then_vip() -> None:
    policy = default_policy()
    general = {"level": "一般"}
    assert policy.level(case("complaint", general)) == 2
    assert policy.rank(case("complaint", general)) == 5
    assert policy.rank(case("complaint", {**general, "customer_tier": "VIP"})) == 4
    assert policy.rank(case("complaint", {"level": "緊急", "customer_tier": "大客戶"})) == 0
    assert policy.rank(case("complaint", {})) == 7  # unknown level: after every listed one
    # A process without a priority is all one level.
    assert policy.level(case("consultation", {})) == 0
    assert policy.rank(case("consultation", {})) == 1
    flat = QueuePolicy(priorities=policy.priorities, vip_first=False)
    assert flat.rank(case("complaint", {**general, "customer_tier": "VIP"})) == 2


def test_tiers_by_process() -> None:
    policy = default_policy()
    assert policy.tier_of(case("after_sales", {})) == "agent"
    assert policy.tier_of(case("after_sales", {"tier": "rnd"})) == "rnd"
    assert policy.tier_of(case("service_request", {})) is None
    assert policy.tier_of(case("service_request", {"tier": "supervisor"})) == "supervisor"
    assert policy.tier_of(case("service_request", {}, {"sla": {"tier": "manager"}})) == "manager"


def test_a_case_without_clocks_is_not_breached_and_sorts_last_in_its_rank() -> None:
    s, _ = stack_on(MemoryStore())
    from servicewf import Actor

    consult = s.engine.open("consultation", actor=Actor("ana", "agent"), data={
        "channel": "電話", "customer_ref": "C-1", "question": "hours?"})
    q = queue_state(consult)
    assert (q.breached, q.due, q.rank) == (False, NO_DUE, 1)


def test_breached_cases_come_first_within_a_rank() -> None:
    """Two general complaints: the older one's acknowledge clock (24 h) breaches and the
    sweep records it; its later deadline of the resolve clock does not matter."""
    s, _ = build(MemoryStore(), [(0, 1, False, 0), (20, 1, False, 0)], sweep=True, tail=6)
    items = list(s.queues.inbox(actor="ana"))
    assert [(i.id, i.queue.breached) for i in items] == [("c00", True), ("c01", False)]
    assert items[0].key[3] == "0" and items[1].key[3] == "1"
    one = open_complaint(s, level="一般", vip=False, owner="bo")
    assert queue_state(one).breached is False
