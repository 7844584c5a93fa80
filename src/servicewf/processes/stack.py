"""The default stack: the built-in processes wired to a store and a clock, in one place.

The demo, the worker and an integrator starting out all need the same assembly: the built-in
registry, its SLA policies (:func:`~servicewf.processes.policies.default_sla`), the recurring
obligations, an engine running both as processors, and a sweeper settling both kinds of
timers. :func:`builtin_stack` builds it, so none of them keeps a private copy that could drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from servicewf.clock import Clock
from servicewf.definition import Registry
from servicewf.engine import Engine, MessageRule
from servicewf.hooks import Hooks
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.processes.schedule import Obligations
from servicewf.sla import SLA, Sweeper
from servicewf.storage.base import Store

__all__ = ["Stack", "builtin_stack"]


@attrs.frozen
class Stack:
    """An engine with the SLA clocks and the recurring obligations, and its sweeper."""

    engine: Engine
    sla: SLA
    obligations: Obligations
    sweeper: Sweeper

    @property
    def registry(self) -> Registry:
        return self.engine.registry


def builtin_stack(
    store: Store, clock: Clock, *, owner: str | None = None, batch: int = 1000,
    hooks: Hooks | None = None, messages: Sequence[MessageRule] = (),
) -> Stack:
    """The built-in processes on ``store`` and ``clock``: SLA clocks and obligations run as
    the engine's processors, and one sweeper (named ``owner`` in its leases, claiming
    ``batch`` timers at a time) settles both kinds of timers. ``messages`` are the engine's
    outbox rules (e.g. :func:`~servicewf.processes.notices.builtin_messages`)."""
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    obligations = Obligations()
    engine = Engine(store, clock, registry, processors=[sla, obligations], hooks=hooks,
                    messages=messages)
    sweeper = Sweeper(engine, sla, owner=owner, batch=batch, handlers=[obligations])
    return Stack(engine, sla, obligations, sweeper)
