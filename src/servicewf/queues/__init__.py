"""Work queues and assignment above the engine: who works on what next.

- :mod:`~servicewf.queues.policy`: :class:`QueuePolicy` (priorities, VIP, tiers and groups as
  data) and :class:`QueueProcessor`, which keeps ``case.extensions["queue"]``;
- :mod:`~servicewf.queues.assignment`: :func:`with_assignment` adds the audited commands
  ``assign_owner``, ``claim``, ``hand_over`` (with a reason) and ``release`` with the
  guidelines' rules (首問負責制, C9, C2);
- :mod:`~servicewf.queues.query`: :class:`Queues` — inboxes most urgent first, group and role
  queues, workload, on every store;
- :mod:`~servicewf.queues.routing`: routing policies (round-robin, least-loaded, skills, VIP
  first) that assign through the same commands.

The core never imports this package.
"""

from servicewf.queues.assignment import current_owner, with_assignment, with_assignment_registry
from servicewf.queues.policy import (
    ASSIGN,
    ASSIGNMENT_TRIGGERS,
    CLAIM,
    HAND_OVER,
    RELEASE,
    Priority,
    QueuePolicy,
    QueueProcessor,
    QueueState,
    default_policy,
    queue_state,
    sort_key,
)
from servicewf.queues.query import OwnerLoad, QueueItem, QueuePage, Queues

__all__ = [
    "ASSIGN",
    "ASSIGNMENT_TRIGGERS",
    "CLAIM",
    "HAND_OVER",
    "RELEASE",
    "OwnerLoad",
    "Priority",
    "QueueItem",
    "QueuePage",
    "QueuePolicy",
    "QueueProcessor",
    "QueueState",
    "Queues",
    "current_owner",
    "default_policy",
    "queue_state",
    "sort_key",
    "with_assignment",
    "with_assignment_registry",
]
