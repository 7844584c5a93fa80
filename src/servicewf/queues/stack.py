"""The built-in processes with assignment and queues, wired in one place.

:func:`queue_stack` is :func:`~servicewf.processes.stack.builtin_stack` with every built-in
definition given the assignment commands (:func:`~servicewf.queues.with_assignment`) and the
:class:`~servicewf.queues.QueueProcessor` after the SLA processor; the CLI's ``queue`` command
and the docs use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from servicewf.clock import Clock
from servicewf.engine import Engine, MessageRule
from servicewf.hooks import Hooks
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.processes.schedule import Obligations
from servicewf.queues.assignment import with_assignment_registry
from servicewf.queues.policy import QueuePolicy, QueueProcessor, default_policy
from servicewf.queues.query import Queues
from servicewf.sla import SLA, Sweeper
from servicewf.storage.base import Store

__all__ = ["QueueStack", "queue_stack"]


@attrs.frozen
class QueueStack:
    """An engine with SLA clocks, obligations and queue state, its sweeper and its queues."""

    engine: Engine
    sla: SLA
    sweeper: Sweeper
    queues: Queues
    policy: QueuePolicy


def queue_stack(store: Store, clock: Clock, *, policy: QueuePolicy | None = None,
                hooks: Hooks | None = None, messages: Sequence[MessageRule] = (),
                install: bool = True) -> QueueStack:
    """The built-in processes on ``store`` and ``clock`` with assignment and queues
    (``install`` creates the SQL queue indexes, idempotently)."""
    policy = policy if policy is not None else default_policy()
    registry = with_assignment_registry(builtin_registry(), policy)
    sla = default_sla(registry=registry)
    obligations = Obligations()
    engine = Engine(store, clock, registry, processors=[sla, obligations,
                                                        QueueProcessor(policy)],
                    hooks=hooks, messages=messages)
    sweeper = Sweeper(engine, sla, handlers=[obligations])
    queues = Queues(store)
    if install:
        queues.install()
    return QueueStack(engine, sla, sweeper, queues, policy)
