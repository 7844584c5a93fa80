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

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
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

# The submodules load on first use (PEP 562), so `servicewf --help` and the other commands do
# not pay for the queue machinery; type checkers see the imports above.
_HOME = {
    **dict.fromkeys(("current_owner", "with_assignment", "with_assignment_registry"),
                    "servicewf.queues.assignment"),
    **dict.fromkeys(("OwnerLoad", "QueueItem", "QueuePage", "Queues"), "servicewf.queues.query"),
}


def __getattr__(name: str) -> _typing.Any:
    if name not in __all__:
        raise AttributeError(f"module 'servicewf.queues' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOME.get(name, "servicewf.queues.policy")), name)
    globals()[name] = value
    return value
