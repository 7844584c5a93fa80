"""The sweep loop behind ``servicewf worker``: SLA clocks and recurring obligations, then
(when senders are given) a dispatch pass over the outbox after each sweep.

Several workers may run against one PostgreSQL database: each claims due timers with a lease
(``FOR UPDATE SKIP LOCKED``), so a timer is processed by one worker, and a worker that dies
mid-sweep only delays its timers by one lease. SIGTERM and SIGINT stop the loop within one
batch (the sweep checks the stop event between batches). A database error (a dropped
connection, a restarted server) does not end the worker: it is logged and the sweep is
retried after a back-off that doubles up to ``max_backoff``. Only a stop signal or a
configuration error (anything that is not a :class:`~servicewf.errors.StorageError` or a
connection error) ends it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping

from servicewf.clock import Clock, SystemClock
from servicewf.errors import StorageError
from servicewf.outbox import Dispatcher, DispatchReport, RetryPolicy, Sender
from servicewf.sla import Sweeper, SweepReport

__all__ = ["run_worker", "sweep_loop"]

# What a database outage raises: the store's StorageError (SQLStore wraps the driver's
# errors), and the connection errors a driver may raise unwrapped. CaseNotFound and
# CorruptRecord are StorageErrors too, but the sweep handles those per case.
_RECOVERABLE: tuple[type[BaseException], ...] = (StorageError, ConnectionError, TimeoutError)

log = logging.getLogger("servicewf.worker")


def sweep_loop(
    sweeper: Sweeper,
    stop: threading.Event,
    *,
    interval: float,
    once: bool = False,
    on_report: Callable[[SweepReport], None] | None = None,
    after_sweep: Callable[[], object] | None = None,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    on_error: Callable[[BaseException], None] | None = None,
) -> int:
    """Sweep until ``stop`` is set (or once); return the number of sweeps run.
    ``after_sweep`` runs after each sweep (the outbox dispatch pass).

    A sweep that fails on the database (:class:`~servicewf.errors.StorageError`, a
    connection error) is logged and retried after ``backoff`` seconds, doubled after each
    failure in a row up to ``max_backoff``; the connection pool reconnects on the next try.
    Any other error is a bug or a configuration error and ends the loop (raised)."""
    sweeps = 0
    failures = 0
    while not stop.is_set():
        try:
            report = sweeper.run(stop=stop)
            if after_sweep is not None:
                after_sweep()  # a database that fails here is retried like a failed sweep
        except _RECOVERABLE as exc:
            failures += 1
            delay = min(backoff * 2 ** min(failures - 1, 30), max_backoff)
            log.warning("sweep failed (%s: %s); retrying in %.1f s (failure %d in a row)",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                        delay, failures)
            if on_error is not None:
                on_error(exc)
            if once and failures > 1:
                raise
            stop.wait(delay)
            continue
        failures = 0
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
        log.info("worker %s: signal %s, stopping after this batch", name, signum)
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
