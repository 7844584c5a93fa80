"""Routing: who gets a case that waits for an owner.

A :class:`Router` picks an agent for a case from a directory of :class:`Agent` values and
assigns it through the engine's audited commands (``assign_owner`` for an unowned case,
``hand_over`` with a reason when an escalation left it with an owner of the wrong tier), so
the rules hold for routing exactly as for people: the chosen agent's role is checked against
the case's tier (C9) by the engine, not by the router.

Which agents may take a case (:meth:`Router.eligible`): present, below their capacity, in the
case's group (when it has one), of the role the case's tier calls for, and holding every
skill the case needs (004's qualified technician: :attr:`Router.skills_field` lists them in
the case data). Which of them gets it (:meth:`Router.choose`): the least loaded (fewest open
cases owned; ties by id) by default, :class:`RoundRobin` in turn. Subclass and override either
to change the policy. :meth:`Router.route_queue` routes a group's or a role's unassigned
queue in urgency order, so VIP and urgent cases get the free agents first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from servicewf._frozen import names_tuple
from servicewf.case import SYSTEM, Actor, Case
from servicewf.engine import Engine
from servicewf.errors import NoEligibleAgent, StaleVersion
from servicewf.queues.policy import ASSIGN, HAND_OVER, QueueState, queue_state
from servicewf.queues.query import Queues

__all__ = ["DEFAULT_SKILL_FIELDS", "Agent", "LeastLoaded", "RoundRobin", "Router"]

DEFAULT_SKILL_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "after_sales": ("problem_type", "product"),
})
"""The after-sales ticket needs a technician qualified for its problem type and product
(004 §1–§2, "a qualified technician")."""


def _name_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(names_tuple(value))


@attrs.frozen
class Agent:
    """A person who can own cases: ``id`` (their actor id), ``role`` (their tier), the
    ``groups`` they serve, their ``skills``, whether they are ``present`` and how many open
    cases they hold at most (``capacity``; ``None``: no limit)."""

    id: str
    role: str
    groups: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    present: bool = True
    capacity: int | None = None


class Router:
    """Least-loaded routing within a group (see the module docstring)."""

    def __init__(self, engine: Engine, queues: Queues, agents: Iterable[Agent], *,
                 actor: Actor = SYSTEM,
                 skill_fields: Mapping[str, Sequence[str]] | None = None) -> None:
        self.engine = engine
        self.queues = queues
        self.agents: list[Agent] = list(agents)
        self.actor = actor
        self.skill_fields: Mapping[str, Sequence[str]] = (
            DEFAULT_SKILL_FIELDS if skill_fields is None else skill_fields)
        """Process → the case data fields naming the skills a case needs (each a text or a
        list of texts): an agent must hold every one."""

    def required_skills(self, case: Case) -> frozenset[str]:
        """The skills ``case`` needs."""
        out: set[str] = set()
        for field in self.skill_fields.get(case.process, ()):
            value = case.data.get(field)
            if isinstance(value, str) and value:
                out.add(value)
            elif isinstance(value, (list, tuple)):
                out.update(v for v in value if isinstance(v, str))
        return frozenset(out)

    def load(self, agent: Agent) -> int:
        """Open cases ``agent`` owns now."""
        return self.queues.count(actor=agent.id)

    def eligible(self, case: Case, queue: QueueState) -> list[Agent]:
        """The agents that may own ``case`` now (present, in its group, of its tier, skilled,
        below capacity)."""
        needed = self.required_skills(case)
        out = []
        for agent in self.agents:
            if not agent.present or agent.id == queue.owner:
                continue
            if queue.group is not None and queue.group not in agent.groups:
                continue
            if queue.tier is not None and agent.role != queue.tier:
                continue
            if not needed <= agent.skills:
                continue
            if agent.capacity is not None and self.load(agent) >= agent.capacity:
                continue
            out.append(agent)
        return out

    def choose(self, case: Case, candidates: Sequence[Agent]) -> Agent:
        """The candidate who gets ``case``: the least loaded, ties by id."""
        return min(candidates, key=lambda a: (self.load(a), a.id))

    def route(self, case: Case | str) -> Case:
        """Give ``case`` an owner if it waits for one (else return it unchanged); raises
        :class:`~servicewf.errors.NoEligibleAgent` when nobody may take it."""
        current = self.engine.get(case) if isinstance(case, str) else case
        queue = queue_state(current)
        if queue is None or not queue.needs_owner:
            return current
        candidates = self.eligible(current, queue)
        if not candidates:
            raise NoEligibleAgent(
                f"no present agent of role {queue.tier or 'any'} in group "
                f"{queue.group or 'any'} with the skills case {current.id!r} needs (and "
                "room for it); add or free one, or assign it by hand")
        agent = self.choose(current, candidates)
        data: dict[str, Any] = {"owner": agent.id, "owner_role": agent.role}
        if queue.owner is None:
            return self.engine.fire(current, ASSIGN, actor=self.actor, data=data,
                                    comment="routed")
        data["reason"] = (f"routing: the case now calls for tier {queue.tier}"
                          if queue.tier else "routing")
        return self.engine.fire(current, HAND_OVER, actor=self.actor, data=data,
                                comment="routed")

    def route_queue(self, *, group: str | None = None, role: str | None = None,
                    limit: int = 100) -> list[Case]:
        """Route up to ``limit`` cases of a group's or a role's unassigned queue, most urgent
        (and VIP) first; cases nobody may take stay in the queue. Returns the routed cases."""
        page = self.queues.inbox(group=group, role=role, unassigned=True, limit=limit)
        routed = []
        # Each case is routed by one engine command, atomic on its own: a failure half-way
        # leaves the cases routed so far routed and the rest waiting. A case someone claimed
        # since the page was read is refused by its version (StaleVersion) and skipped.
        for item in page:
            try:
                routed.append(self.route(item.case))
            except (NoEligibleAgent, StaleVersion):
                continue
        return routed


class LeastLoaded(Router):
    """The default policy, by name."""


class RoundRobin(Router):
    """Eligible agents in turn (by id), one turn per group (or role) queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last: dict[str | None, str] = {}

    def choose(self, case: Case, candidates: Sequence[Agent]) -> Agent:
        queue = queue_state(case)
        turn = queue.group or queue.tier if queue is not None else None
        ordered = sorted(candidates, key=lambda a: a.id)
        last = self._last.get(turn)
        pick = next((a for a in ordered if last is None or a.id > last), ordered[0])
        self._last[turn] = pick.id
        return pick



