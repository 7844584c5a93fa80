"""The sweep loop behind ``servicewf worker``: SLA clocks and recurring obligations.

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
from collections.abc import Callable

from servicewf.clock import Clock, SystemClock
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
) -> int:
    """Sweep until ``stop`` is set (or once); return the number of sweeps run."""
    sweeps = 0
    while not stop.is_set():
        report = sweeper.run()
        sweeps += 1
        if on_report is not None:
            on_report(report)
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
) -> int:
    """Run the sweep for the built-in processes against ``db`` until stopped: the SLA
    clocks and the recurring obligations (reminders, met and missed periods)."""
    from servicewf.processes.stack import builtin_stack
    from servicewf.storage.sql import SQLStore

    stop = stop or threading.Event()
    name = owner or f"{socket.gethostname()}:{os.getpid()}"
    store = SQLStore(db)
    sweeper = builtin_stack(store, clock or SystemClock(), owner=name, batch=batch).sweeper

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
        sweep_loop(sweeper, stop, interval=interval, once=once, on_report=report)
    finally:
        store.close()
    return 0
