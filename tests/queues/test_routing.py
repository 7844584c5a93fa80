"""Routing never assigns to an absent, unqualified, full or wrong-tier agent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Actor, FrozenClock
from servicewf.errors import NoEligibleAgent
from servicewf.queues import current_owner, queue_state
from servicewf.queues.routing import Agent, RoundRobin, Router
from servicewf.queues.stack import queue_stack
from servicewf.storage import MemoryStore
from tests.queues.support import GROUPS, START, grouped_policy, open_complaint

policy = grouped_policy


agents = st.lists(st.builds(
    Agent,
    id=st.sampled_from(["a1", "a2", "a3", "a4", "a5", "a6"]),
    role=st.sampled_from(["agent", "supervisor", "manager"]),
    groups=st.sets(st.sampled_from(["front", "leads", "managers", "intake"])),
    skills=st.sets(st.sampled_from(["hardware", "software", "X100", "Z9"])),
    present=st.booleans(),
    capacity=st.one_of(st.none(), st.integers(0, 2)),
), max_size=6, unique_by=lambda a: a.id)

kinds = st.lists(st.tuples(st.sampled_from(["unowned", "general", "important", "urgent",
                                            "after_sales"]),
                           st.sampled_from(["hardware", "software"]),
                           st.sampled_from(["X100", "Z9"])), min_size=1, max_size=5)

LEVEL = {"general": "一般", "important": "重要", "urgent": "緊急"}


def qualified(agent: Agent, case: Any, loads: dict[str, int]) -> bool:
    """The rule, written out: present, right tier and group, every skill, room left."""
    q = queue_state(case)
    tier = q.tier
    group = GROUPS[tier] if tier else "intake"  # unclassified: the intake queue
    needs: set[str] = set()
    if case.process == "after_sales":
        needs = {case.data["problem_type"], case.data["product"]}
    return (agent.present and (tier is None or agent.role == tier)
            and (group is None or group in agent.groups) and needs <= agent.skills
            and (agent.capacity is None or loads.get(agent.id, 0) < agent.capacity)
            and agent.id != q.owner)


@settings(max_examples=40, deadline=None)
@given(directory=agents, cases=kinds, round_robin=st.booleans())
def test_routing_assigns_only_to_qualified_present_agents(
        directory: list[Agent], cases: list[Any], round_robin: bool) -> None:
    s = queue_stack(MemoryStore(), FrozenClock(START), policy=policy())
    router = (RoundRobin if round_robin else Router)(s.engine, s.queues, directory)
    by_id = {a.id: a for a in directory}
    for kind, problem, product in cases:
        if kind == "after_sales":
            case = s.engine.open("after_sales", actor=Actor("desk", "agent"), data={
                "channel": "電話", "customer_ref": "C-1", "description": "broken",
                "product": product})
            case = s.engine.fire(case, "classify", actor=Actor("desk", "agent"),
                                 data={"problem_type": problem})
        else:
            case = open_complaint(s, level=LEVEL.get(kind), vip=False,
                                  owner=None if kind == "unowned" else "desk")
        loads = {a.id: s.queues.count(actor=a.id) for a in directory}
        fits = [a for a in directory if qualified(a, case, loads)]
        before = len(s.engine.history(case.id))
        if not queue_state(case).needs_owner:
            assert router.route(case) == case
            continue
        if not fits:
            with pytest.raises(NoEligibleAgent):
                router.route(case)
            assert len(s.engine.history(case.id)) == before
            continue
        routed = router.route(case)
        owner = current_owner(routed)
        assert owner in {a.id for a in fits}
        assert queue_state(routed).owner_role == by_id[owner].role
        assert not queue_state(routed).needs_owner
        if not round_robin:
            assert loads[owner] == min(loads[a.id] for a in fits)
        last = s.engine.history(case.id)[-1]
        assert last.trigger in ("assign_owner", "hand_over") and last.actor_id == "servicewf"


def test_escalation_moves_the_case_to_the_next_group_and_routing_follows() -> None:
    s = queue_stack(MemoryStore(), FrozenClock(START), policy=policy())
    case = open_complaint(s, level="一般", vip=False, owner="ana")
    assert queue_state(case).group == "front" and not queue_state(case).needs_owner
    case = s.engine.fire(case, "confirm_classification", actor=Actor("zhao", "supervisor"),
                         data={"supervisor": "zhao"})
    case = s.engine.fire(case, "escalate", actor=Actor("zhao", "supervisor"),
                         data={"tier": "supervisor", "reason": "slow"})
    q = queue_state(case)
    assert (q.tier, q.group, q.owner, q.needs_owner) == ("supervisor", "leads", "ana", True)
    assert [i.case.id for i in s.queues.inbox(group="leads", unassigned=True)] == [case.id]
    router = Router(s.engine, s.queues, [Agent("zhao", "supervisor", {"leads"}),
                                         Agent("li", "supervisor", {"leads"}, present=False)])
    routed = router.route_queue(group="leads")
    assert [current_owner(c) for c in routed] == ["zhao"]
    assert s.queues.inbox(group="leads", unassigned=True).items == ()
    assert s.engine.history(case.id)[-1].data["reason"].startswith("routing")


def test_round_robin_takes_turns() -> None:
    s = queue_stack(MemoryStore(), FrozenClock(START), policy=policy())
    team = [Agent("a", "agent", {"intake"}), Agent("b", "agent", {"intake"})]
    router = RoundRobin(s.engine, s.queues, team)
    owners = []
    for _ in range(4):
        case = open_complaint(s, level=None, vip=False, owner=None)
        owners.append(current_owner(router.route(case)))
    assert owners == ["a", "b", "a", "b"]



def test_route_queue_skips_a_case_claimed_meanwhile() -> None:
    """A case someone claims between the page read and its routing is refused by its
    version and skipped; the rest of the queue is still routed."""
    s = queue_stack(MemoryStore(), FrozenClock(START), policy=policy())
    for cid in ("first", "second"):
        open_complaint(s, level=None, vip=False, owner=None, case_id=cid)

    class Racing(Router):
        def eligible(self, case: Any, queue: Any) -> list[Agent]:
            if case.id == "first":  # someone else claims it right now
                s.engine.fire("first", "claim", actor=Actor("bo", "agent"),
                              data={"owner": "bo"})
            return super().eligible(case, queue)

    router = Racing(s.engine, s.queues, [Agent("a", "agent", {"intake"})])
    routed = router.route_queue(group="intake")
    assert [c.id for c in routed] == ["second"]
    assert current_owner(s.engine.get("first")) == "bo"
    assert current_owner(s.engine.get("second")) == "a"
