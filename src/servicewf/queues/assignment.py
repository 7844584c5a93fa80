"""Assignment as part of the case: audited engine commands and the guideline rules.

:func:`with_assignment` derives a definition that has four more triggers, each an ordinary
transition that stays in its state, so every change of owner passes the engine's role, guard
and required-data checks and leaves a ``transition`` event in the audit log:

- ``assign_owner`` (a lead role or the system's routing): name the owner of a case that has
  none; ``owner_role`` says the owner's role, checked against the tier (C9);
- ``claim``: take an unowned case yourself (``owner`` is your id; your role must match);
- ``hand_over``: the formal hand-over (正式移交), with a ``reason``, by the owner or a lead;
  the only way an owned case changes owner — the first receiver owns it until then
  (首問負責制, 001 §7.1–7.2);
- ``release``: give the case back to its group's queue, with a ``reason``; refused for
  processes where the first receiver owns the case.

The triggers that start the work (:attr:`QueuePolicy.work_start`) get a guard: no work starts
without a confirmed owner (C2, 001 §2.2). A definition that already has a ``hand_over`` (the
complaint) keeps its sources and guards; its transition gains these rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from servicewf.case import Case
from servicewf.context import CommandContext
from servicewf.definition import (
    ANY_STATE,
    STAY,
    DefinitionBuilder,
    Guard,
    Labels,
    ProcessDefinition,
    Registry,
)
from servicewf.queues.policy import (
    ASSIGN,
    CLAIM,
    HAND_OVER,
    RELEASE,
    QueuePolicy,
    default_policy,
    queue_state,
)

__all__ = ["current_owner", "with_assignment", "with_assignment_registry"]

_FIRST_RECEIVER = "首問負責制 (001 §7.1–7.2)"
_C9 = "C9 (000 §5.1, 001 §7.2)"
_C2 = "C2 (001 §2.2)"


def current_owner(case: Case, policy: QueuePolicy | None = None) -> str | None:
    """Who owns ``case`` now: the queue state's owner, or, on a case no queue processor has
    seen, the first owner field its data holds."""
    state = queue_state(case)
    if state is not None:
        return state.owner
    fields = (policy or default_policy()).owner_fields_of(case.process)
    for f in fields:
        value = case.data.get(f)
        if isinstance(value, str) and value:
            return value
    return None


def _guards(policy: QueuePolicy) -> tuple[Guard, ...]:
    def owner_of(ctx: CommandContext) -> str | None:
        return current_owner(ctx.case, policy)

    def unowned(ctx: CommandContext) -> bool:
        return owner_of(ctx) is None

    def owned(ctx: CommandContext) -> bool:
        return owner_of(ctx) is not None

    def claims_self(ctx: CommandContext) -> bool:
        role = ctx.data.get("owner_role")
        return ctx.data.get("owner") == ctx.actor.id and role in (None, ctx.actor.role)

    def role_matches_tier(ctx: CommandContext) -> bool:
        tier = policy.tier_of(ctx.case)
        if tier is None:
            return True
        role = ctx.data.get("owner_role")
        if role is None and ctx.trigger == CLAIM:
            role = ctx.actor.role
        return role == tier

    def by_owner_or_lead(ctx: CommandContext) -> bool:
        return ctx.actor.id == owner_of(ctx) or ctx.actor.role in policy.lead_roles

    def new_owner(ctx: CommandContext) -> bool:
        return ctx.data.get("owner") != owner_of(ctx)

    def release_allowed(ctx: CommandContext) -> bool:
        return ctx.case.process not in policy.first_receiver_owns

    def owner_confirmed(ctx: CommandContext) -> bool:
        if owner_of(ctx) is not None:
            return True
        return any(isinstance(ctx.data.get(f), str) and ctx.data.get(f)
                   for f in policy.owner_fields_of(ctx.case.process))

    return (
        Guard("queue_unowned", unowned, rule=_FIRST_RECEIVER,
              explain="the case has an owner already: the first receiver owns it until a "
                      "formal hand_over (with a reason) names another"),
        Guard("queue_owned", owned, rule=_FIRST_RECEIVER,
              explain="the case has no owner yet: assign_owner or claim it first"),
        Guard("queue_claims_self", claims_self, rule=_C2,
              explain="a claim names yourself as owner (owner = your actor id, owner_role "
                      "your role); to give the case to someone else, use assign_owner"),
        Guard("queue_role_matches_tier", role_matches_tier, rule=_C9,
              explain="the owner's role (owner_role) must be the tier the case calls for "
                      "(the level's tier, raised by each escalation); route it to someone "
                      "in that role"),
        Guard("queue_by_owner_or_lead", by_owner_or_lead, rule=_FIRST_RECEIVER,
              explain="only the owner or a lead (supervisor, manager) hands a case over or "
                      "releases it"),
        Guard("queue_new_owner", new_owner, rule=_FIRST_RECEIVER,
              explain="a hand-over names a different owner"),
        Guard("queue_release_allowed", release_allowed, rule=_FIRST_RECEIVER,
              explain="in this process the first receiver owns the case until a formal "
                      "hand-over to a named person: use hand_over instead of release"),
        Guard("queue_owner_confirmed", owner_confirmed, rule=_C2,
              explain="no work starts without a confirmed owner: assign_owner or claim the "
                      "case first"),
    )


def _labels(en: str, hant: str, hans: str) -> Labels:
    return Labels(en=en, zh_hant=hant, zh_hans=hans)


def with_assignment(definition: ProcessDefinition,
                    policy: QueuePolicy | None = None) -> ProcessDefinition:
    """``definition`` (same name and version) with the assignment triggers and rules."""
    policy = policy if policy is not None else default_policy()
    b = DefinitionBuilder.from_definition(definition, version=definition.version)
    b.add_guard(*_guards(policy))
    existing = [t for t in b.transitions if t.trigger == HAND_OVER]
    sources: Any = ANY_STATE
    keep: tuple[str, ...] = ()
    if existing:
        sources = tuple(dict.fromkeys(s for t in existing for s in t.sources))
        keep = tuple(dict.fromkeys(c for t in existing for c in t.conditions))
        b.remove_transition(HAND_OVER)
    for trigger in (ASSIGN, CLAIM, RELEASE):
        if any(t.trigger == trigger for t in b.transitions):
            raise ValueError(f"{definition.name} already has a trigger {trigger!r}; the "
                             "assignment commands need that name")
    # Every built-in guards all its transitions with its reserved-fields rule: keep it.
    common = tuple(c for c in keep if c == "reserved_fields")
    t = b.add_transition
    t(ASSIGN, ANY_STATE, STAY, labels=_labels("Assign owner", "指派負責人", "指派负责人"),
      required=("owner",), writes=("owner_role", "reason"),
      roles=policy.lead_roles,
      conditions=(*common, "queue_unowned", "queue_role_matches_tier"),
      description="name the owner of an unowned case (routing or a lead)")
    t(CLAIM, ANY_STATE, STAY, labels=_labels("Claim", "認領", "认领"),
      required=("owner",), writes=("owner_role",),
      conditions=(*common, "queue_unowned", "queue_claims_self", "queue_role_matches_tier"),
      description="take an unowned case from the queue")
    t(HAND_OVER, sources, STAY, labels=_labels("Hand over", "正式移交", "正式移交"),
      required=("owner", "reason"), writes=("owner_role",),
      conditions=(*keep, "queue_owned", "queue_by_owner_or_lead", "queue_new_owner",
                  "queue_role_matches_tier"),
      description="formal hand-over with a reason; the first receiver owns the case until "
                  "then (001 §7.1)")
    t(RELEASE, ANY_STATE, STAY, labels=_labels("Release", "退回隊列", "退回队列"),
      required=("reason",),
      conditions=(*common, "queue_owned", "queue_by_owner_or_lead", "queue_release_allowed"),
      description="give the case back to its group's queue")
    for trigger in policy.work_start.get(definition.name, ()):
        for tr in [tr for tr in b.transitions if tr.trigger == trigger]:
            b.transitions[b.transitions.index(tr)] = attrs.evolve(
                tr, conditions=(*tr.conditions, "queue_owner_confirmed"))
    return b.build()


def with_assignment_registry(definitions: Registry | Iterable[ProcessDefinition],
                             policy: QueuePolicy | None = None) -> Registry:
    """A registry of every definition in ``definitions`` with :func:`with_assignment`."""
    return Registry(with_assignment(d, policy) for d in definitions)
