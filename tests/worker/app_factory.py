"""An integrator's application for ``servicewf worker --app tests.worker.app_factory:...``:
its own process and SLA, a timer handler of its own, hooks and an outbox sender."""

from __future__ import annotations

from typing import Any

from servicewf import Engine, Hooks, OutboxMessage
from servicewf.clock import Clock
from servicewf.scheduler import SweepContext
from servicewf.storage import Store
from servicewf.storage.base import replace_timers
from servicewf.worker import WorkerApp

from ..sla.sweep_setup import job_definition, job_sla

SENT: list[str] = []
"""What the app's sender accepted (message ids)."""
SETTLED: list[str] = []
"""Cases the app's own handler settled."""
SEEN: list[str] = []
"""Event kinds the app's after-commit observer saw."""


class Sink:
    def send(self, message: OutboxMessage) -> None:
        SENT.append(message.id)


class Reminders:
    timer_prefix = "remind:"

    def settle(self, ctx: SweepContext, case: Any) -> bool:
        SETTLED.append(case.id)
        replace_timers(ctx.engine.store, case.id, self.timer_prefix, ())
        return False


def breach_notice(definition: Any, case: Any, events: Any) -> list[OutboxMessage]:
    return [OutboxMessage.for_event(e, "job.breached", "staff", {"case": case.id})
            for e in events if e.kind.value == "clock_breached"]


def make_app(store: Store, clock: Clock, *, owner: str, batch: int) -> WorkerApp:
    sla = job_sla()
    hooks = Hooks()
    hooks.after_commit()(lambda write: SEEN.extend(e.kind.value for e in write.events))
    engine = Engine(store, clock, [job_definition()], processors=[sla], hooks=hooks,
                    messages=[breach_notice])
    from servicewf.sla import Sweeper

    scheduler = Sweeper(engine, sla, owner=owner, batch=batch).add(Reminders())
    return WorkerApp(scheduler, senders={"staff": Sink()})


def make_stack(store: Store, clock: Clock, *, owner: str, batch: int) -> Any:
    from servicewf.processes.stack import builtin_stack

    return builtin_stack(store, clock, owner=owner, batch=batch)


def make_nothing(store: Store, clock: Clock, *, owner: str, batch: int) -> Any:
    return {"scheduler": None}


NOT_CALLABLE = 3
