"""The sweep loop behind ``servicewf worker``: SLA clocks and recurring obligations, then
(when senders are given) a dispatch pass over the outbox after each sweep.

Several workers may run against one PostgreSQL database: each claims due timers with a lease
(``FOR UPDATE SKIP LOCKED``), so a timer is processed by one worker, and a worker that dies
mid-sweep only delays its timers by one lease. SIGTERM and SIGINT stop the loop after the
current sweep.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping

from servicewf.clock import Clock, SystemClock
from servicewf.outbox import Dispatcher, DispatchReport, RetryPolicy, Sender
from servicewf.sla import Sweeper, SweepReport

__all__ = ["run_worker", "sweep_loop"]

log = logging.getLogger("servicewf.worker")


def sweep_loop(
    sweeper: Sweeper,
    stop: threading.Event,
    *,
    interval: float,
    once: bool = False,
    on_report: Callable[[SweepReport], None] | None = None,
    after_sweep: Callable[[], object] | None = None,
) -> int:
    """Sweep until ``stop`` is set (or once); return the number of sweeps run.
    ``after_sweep`` runs after each sweep (the outbox dispatch pass)."""
    sweeps = 0
    while not stop.is_set():
        report = sweeper.run()
        sweeps += 1
        if on_report is not None:
            on_report(report)
        if after_sweep is not None:
            after_sweep()
        if once:
            break
        stop.wait(interval)
    return sweeps


def run_worker(
    db: str,
    *,
    interval: float = 5.0,
    owner: str | None = None,
    batch: int = 200,
    once: bool = False,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    senders: Mapping[str, Sender] | None = None,
    retry: RetryPolicy | None = None,
) -> int:
    """Run the sweep for the built-in processes against ``db`` until stopped: the SLA
    clocks and the recurring obligations (reminders, met and missed periods).

    With ``senders`` (recipient kind → :class:`~servicewf.outbox.Sender`), the sweep's
    commands also write the built-in notices (SLA warnings, breaches, escalations to staff)
    to the outbox, and a :class:`~servicewf.outbox.Dispatcher` delivers pending messages
    (every producer's, not only the sweep's) after each sweep."""
    from servicewf.processes.notices import builtin_messages
    from servicewf.processes.stack import builtin_stack
    from servicewf.storage.sql import SQLStore

    stop = stop or threading.Event()
    name = owner or f"{socket.gethostname()}:{os.getpid()}"
    store = SQLStore(db)
    now = clock or SystemClock()
    sweeper = builtin_stack(store, now, owner=name, batch=batch,
                            messages=builtin_messages() if senders else ()).sweeper
    dispatch: Callable[[], object] | None = None
    if senders:
        dispatcher = Dispatcher(store, now, senders, owner=name, batch=batch, retry=retry)

        def dispatch() -> DispatchReport:
            r = dispatcher.run()
            if r.claimed:
                log.info("worker %s: outbox %d delivered, %d retried, %d dead", name,
                         len(r.delivered), len(r.retried), len(r.dead))
            return r

    def request_stop(signum: int, _frame: object) -> None:
        log.info("worker %s: signal %s, stopping after this sweep", name, signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def report(r: SweepReport) -> None:
        if r.timers:
            log.info("worker %s: %d timers, %d warnings, %d breaches, %d escalations%s",
                     name, r.timers, r.warnings, r.breaches, r.escalations,
                     "".join(f", {n} {what}" for what, n in sorted(r.counts.items())))

    try:
        sweep_loop(sweeper, stop, interval=interval, once=once, on_report=report,
                   after_sweep=dispatch)
    finally:
        store.close()
    return 0
