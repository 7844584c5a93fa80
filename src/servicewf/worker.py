"""The loop behind ``servicewf worker``: an application's scheduler (SLA clocks, recurring
obligations and whatever else is plugged in), its outbox dispatch pass, logging and metrics.

What a worker runs is a :class:`WorkerApp`: a :class:`~servicewf.scheduler.Scheduler`
(whose engine holds the registry, policies, processors, hooks and message rules) and the
outbox senders. ``servicewf worker --app module:factory`` builds it with the integrator's
factory (see :data:`AppFactory`); without ``--app`` it is the built-in stack
(:func:`builtin_app`).

Several workers may run against one PostgreSQL database: each claims due timers with a lease
(``FOR UPDATE SKIP LOCKED``), so a timer is processed by one worker, and a worker that dies
mid-sweep only delays its timers by one lease. SIGTERM and SIGINT stop the loop within one
batch (the scheduler checks the stop event between batches). A database error (a dropped
connection, a restarted server) does not end the worker: it is logged and the sweep is
retried after a back-off that doubles up to ``max_backoff``. Only a stop signal or a
configuration error (anything that is not a :class:`~servicewf.errors.StorageError` or a
connection error) ends it.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from servicewf.clock import Clock, SystemClock
from servicewf.errors import StorageError, UsageError
from servicewf.metrics import WorkerMetrics
from servicewf.outbox import Dispatcher, RetryPolicy, Sender
from servicewf.scheduler import DispatchPass, Scheduler, SweepReport
from servicewf.storage.base import Store

if TYPE_CHECKING:
    from servicewf.processes.stack import Stack

__all__ = ["AppFactory", "Sweeps", "WorkerApp", "builtin_app", "configure_logging", "load_app",
           "run_worker", "sweep_loop"]

# What a database outage raises: the store's StorageError (SQLStore wraps the driver's
# errors), and the connection errors a driver may raise unwrapped. CaseNotFound and
# CorruptRecord are StorageErrors too, but the scheduler handles those per case.
_RECOVERABLE: tuple[type[BaseException], ...] = (StorageError, ConnectionError, TimeoutError)

log = logging.getLogger("servicewf.worker")


@attrs.frozen
class WorkerApp:
    """What a worker runs.

    - ``scheduler``: a :class:`~servicewf.scheduler.Scheduler` on an engine over the store
      the worker opened (its handlers settle the timers; e.g. the ``sweeper`` of
      :func:`~servicewf.processes.stack.builtin_stack`, or one you plug your handlers into);
    - ``senders``: recipient kind (or ``"kind:topic"``, or ``"*"``) → outbox
      :class:`~servicewf.outbox.Sender`. With senders, the worker adds a dispatch pass
      (:class:`~servicewf.scheduler.DispatchPass`) to the scheduler, unless it has one;
    - ``retry``: the dispatcher's :class:`~servicewf.outbox.RetryPolicy` (its default when
      ``None``).
    """

    scheduler: Scheduler
    senders: Mapping[str, Sender] = attrs.field(factory=dict)
    retry: RetryPolicy | None = None

    @property
    def store(self) -> Store:
        """The store the scheduler's engine writes to."""
        return self.scheduler.engine.store


class AppFactory(Protocol):
    """What ``--app module:factory`` names: a callable taking the store the worker opened
    (from ``--db``), the clock, and keyword arguments ``owner`` (this worker's name in
    leases) and ``batch`` (timers per claim), returning a :class:`WorkerApp` (or the
    :class:`~servicewf.processes.stack.Stack` of ``builtin_stack``, run without senders)::

        def make_app(store, clock, *, owner, batch):
            stack = builtin_stack(store, clock, owner=owner, batch=batch,
                                  messages=my_rules(), hooks=my_hooks())
            stack.sweeper.add(MyAlerts())
            return WorkerApp(stack.sweeper, senders={"customer": my_sms})
    """

    def __call__(self, store: Store, clock: Clock, *, owner: str,
                 batch: int) -> WorkerApp | Stack: ...


def builtin_app(store: Store, clock: Clock, *, owner: str, batch: int,
                senders: Mapping[str, Sender] | None = None,
                retry: RetryPolicy | None = None) -> WorkerApp:
    """The built-in processes (:func:`~servicewf.processes.stack.builtin_stack`): SLA clocks
    and recurring obligations; with ``senders``, the sweep's commands also write the built-in
    notices (SLA warnings, breaches, escalations to staff) to the outbox."""
    from servicewf.processes.notices import builtin_messages
    from servicewf.processes.stack import builtin_stack

    stack = builtin_stack(store, clock, owner=owner, batch=batch,
                          messages=builtin_messages() if senders else ())
    return WorkerApp(stack.sweeper, dict(senders or {}), retry)


def load_app(spec: str) -> AppFactory:
    """The factory named ``module:attribute`` (the attribute may be dotted), imported.
    Raises :class:`~servicewf.errors.UsageError` saying what is wrong."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--app {spec!r}: name a factory as module:function "
                         "(e.g. myapp.servicewf:make_app)")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--app {spec!r}: cannot import {module_name!r} ({exc}); is it on "
                         "PYTHONPATH?") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UsageError(f"--app {spec!r}: {module_name!r} has no {attr!r}") from None
    if not callable(target):
        raise UsageError(f"--app {spec!r}: {attr!r} is not callable; name a factory "
                         "(store, clock, *, owner, batch) -> WorkerApp")
    factory: AppFactory = target
    return factory


def _as_app(made: object, spec: str) -> WorkerApp:
    from servicewf.processes.stack import Stack

    if isinstance(made, Stack):
        return WorkerApp(made.sweeper)
    if not isinstance(made, WorkerApp):
        raise UsageError(f"--app {spec}: the factory returned {type(made).__name__}; return a "
                         "servicewf.worker.WorkerApp (or the Stack of builtin_stack)")
    return made


def configure_logging(level: str | int = "INFO") -> None:
    """Log to stderr at ``level`` (a name such as ``"DEBUG"`` or a number): what ``servicewf
    worker --log-level`` does. The worker logs its start, each sweep's counts (``INFO`` when
    it did something, ``DEBUG`` otherwise), quarantines and database errors (``WARNING``)
    and its stop."""
    if isinstance(level, str):
        name = level.upper()
        if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise UsageError(f"--log-level {level!r}: use DEBUG, INFO, WARNING or ERROR")
        level = name
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("servicewf").setLevel(level)


class Sweeps(Protocol):
    """What :func:`sweep_loop` runs: a :class:`~servicewf.scheduler.Scheduler` (or anything
    with its ``run(stop=...)``)."""

    def run(self, *, stop: threading.Event | None = None) -> SweepReport: ...


def sweep_loop(
    sweeper: Sweeps,
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
    """Run the scheduler until ``stop`` is set (or once); return the number of sweeps run.
    ``after_sweep`` runs after each sweep (prefer a :class:`~servicewf.scheduler.Pass`).

    A sweep that fails on the database (:class:`~servicewf.errors.StorageError`, a
    connection error) is logged and retried after ``backoff`` seconds, doubled after each
    failure in a row up to ``max_backoff``; the connection pool reconnects on the next try.
    Any other error is a bug or a configuration error and ends the loop (raised). With
    ``once``, a second failure in a row is raised."""
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


def _summary(r: SweepReport) -> str:
    parts = [f"{r.timers} timers", f"{r.cases} cases", f"{r.warnings} warnings",
             f"{r.breaches} breaches", f"{r.escalations} escalations"]
    if r.retries:
        parts.append(f"{r.retries} retries")
    if r.quarantined:
        parts.append(f"{len(r.quarantined)} quarantined")
    parts += [f"{n} {what}" for what, n in sorted(r.counts.items()) if n]
    if r.stopped:
        parts.append("stopped")
    return ", ".join(parts)


_DROPPED_STATES = ("08", "57P")
"""SQLSTATE classes of a lost connection: connection exceptions, and an operator or a crash
shutting the server (or this backend) down."""
_DROPPED_TEXT = ("terminating connection", "server closed the connection",
                 "connection refused", "could not connect", "consuming input failed",
                 "the database system is starting up", "the database system is shutting down")


def _dropped(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a lost connection rather than a mistake in
    the configuration: SQLAlchemy marked it a disconnect, the driver's SQLSTATE says so, or
    (a connection that failed before the server could say anything) its message does."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "connection_invalidated", False):
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_DROPPED_STATES):
            return True
        if state is None and any(t in str(seen).lower() for t in _DROPPED_TEXT):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


def _open_store(open_store: Callable[[], Store], stop: threading.Event, *,
                backoff: float = 0.5, max_backoff: float = 30.0) -> Store | None:
    """The store, opened again after a back-off while the connection drops as it opens
    (a worker started during a database restart must not exit); ``None`` when ``stop`` is
    set meanwhile. Any other error (a wrong URL, password or schema) is a configuration
    error: raised at once."""
    failures = 0
    while True:
        try:
            return open_store()
        except StorageError as exc:
            if not _dropped(exc):
                raise
            failures += 1
            delay = min(backoff * 2 ** min(failures - 1, 30), max_backoff)
            log.warning("cannot open the database (%s); retrying in %.1f s (failure %d in a "
                        "row)", str(exc).splitlines()[0], delay, failures)
            if stop.wait(delay):
                return None


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
    app: str | AppFactory | None = None,
    metrics: WorkerMetrics | bool = False,
    metrics_port: int | None = None,
) -> int:
    """Run the scheduler of an application against ``db`` until stopped; return 0.

    ``app`` is a factory (or its ``module:factory`` name, see :data:`AppFactory`); without it
    the built-in processes run (:func:`builtin_app`). ``senders`` (recipient kind →
    :class:`~servicewf.outbox.Sender`) are added to the app's (the app's win for the same
    key); with any sender a dispatch pass delivers pending messages (every producer's, not
    only the sweep's) after each sweep.

    ``metrics`` (``True`` or a :class:`~servicewf.metrics.WorkerMetrics`) are observed after
    each sweep; ``metrics_port`` serves them in the Prometheus text format (needs the
    ``metrics`` extra). ``once`` sweeps once and returns (for cron)."""
    from servicewf.storage.sql import SQLStore

    stop = stop or threading.Event()
    name = owner or f"{socket.gethostname()}:{os.getpid()}"

    def request_stop(signum: int, _frame: object) -> None:
        log.info("worker %s: signal %s, stopping after this batch", name, signum)
        stop.set()

    # First of all: a SIGTERM while the worker starts (opens the database, builds the app)
    # is a clean stop too.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    opened = _open_store(lambda: SQLStore(db), stop)
    if opened is None:
        log.info("worker %s: stopped before the database could be opened", name)
        return 0
    store = opened
    now = clock or SystemClock()
    server: Any = None
    try:
        if app is None:
            worker_app = builtin_app(store, now, owner=name, batch=batch, senders=senders,
                                     retry=retry)
            spec = "builtin"
        else:
            factory = load_app(app) if isinstance(app, str) else app
            spec = app if isinstance(app, str) else getattr(app, "__qualname__", repr(app))
            worker_app = _as_app(factory(store, now, owner=name, batch=batch), spec)
            if senders:
                worker_app = attrs.evolve(worker_app,
                                          senders={**senders, **worker_app.senders})
        scheduler = worker_app.scheduler
        if worker_app.senders and not any(isinstance(p, DispatchPass)
                                          for p in scheduler.passes):
            scheduler.add_pass(DispatchPass(Dispatcher(
                worker_app.store, now, worker_app.senders, owner=name, batch=batch,
                retry=worker_app.retry or retry)))
        observer: WorkerMetrics | None = None
        if isinstance(metrics, WorkerMetrics):
            observer = metrics
        elif metrics or metrics_port is not None:
            observer = WorkerMetrics(worker_app.store, now, owner=name,
                                     prometheus=True if metrics_port is not None else None)
        if observer is not None and metrics_port is not None:
            server = observer.serve(metrics_port)

        started = time.monotonic()

        def report(r: SweepReport) -> None:
            nonlocal started
            if observer is not None:
                observer.observe(r, duration=time.monotonic() - started)
            level = logging.INFO if (r.timers or r.quarantined or any(r.counts.values())) \
                else logging.DEBUG
            log.log(level, "worker %s: sweep: %s", name, _summary(r))

        def failed(_exc: BaseException) -> None:
            if observer is not None:
                observer.failed()

        def before() -> None:
            nonlocal started
            started = time.monotonic()

        log.info("worker %s starting: app %s, handlers %s, passes %s, batch %d, interval "
                 "%.1f s%s%s", name, spec, [h.timer_prefix for h in scheduler.handlers],
                 [p.name for p in scheduler.passes], scheduler.batch, interval,
                 ", once" if once else "",
                 f", metrics on :{metrics_port}" if metrics_port is not None else "")
        sweeps = sweep_loop(_Timed(scheduler, before), stop, interval=interval, once=once,
                            on_report=report, on_error=failed)
        log.info("worker %s stopped after %d sweeps (%s)", name, sweeps,
                 ", ".join(f"{n} {what}" for what, n in sorted(scheduler.totals.items())
                           if n) or "nothing done")
    finally:
        if server is not None:
            server.shutdown()
        store.close()
    return 0


class _Timed:
    """A scheduler whose ``run`` first notes when the sweep began (for its duration)."""

    def __init__(self, scheduler: Scheduler, before: Callable[[], None]) -> None:
        self.scheduler = scheduler
        self.before = before

    def run(self, *, stop: threading.Event | None = None) -> SweepReport:
        self.before()
        return self.scheduler.run(stop=stop)
