"""What a worker measures, for an operator: sweep lag, due backlog, quarantined timers,
warnings, breaches, escalations, outbox pending and dead letters.

:class:`WorkerMetrics` keeps the numbers as plain values (:attr:`WorkerMetrics.values`,
always) and, when the optional dependency ``prometheus_client`` is installed (the
``metrics`` extra: ``pip install 'servicewf[metrics]'``), exposes them in the Prometheus
text format (:meth:`WorkerMetrics.text`, :meth:`WorkerMetrics.serve`). The library uses
``prometheus_client`` rather than writing the exposition format itself: the format's escaping
and content negotiation are its job, and its HTTP server is the one operators know.

Instants come from the injected clock (the lag is ``clock.now() - earliest due``); only the
duration of a sweep is measured on the monotonic clock of the process.
"""

from __future__ import annotations

import importlib.util
import typing
from collections.abc import Mapping

from servicewf.clock import Clock, as_utc, epoch_us
from servicewf.errors import UsageError
from servicewf.scheduler import SweepReport
from servicewf.storage.base import DEAD, PENDING, Store

__all__ = ["COUNTERS", "GAUGES", "WorkerMetrics", "prometheus_available"]

GAUGES: Mapping[str, str] = {
    "sweep_lag_seconds": "How late the earliest due timer is (now - its due instant; 0 when "
                         "nothing is due), quarantined timers left out",
    "due_timers": "Timers due now (the backlog), quarantined timers left out",
    "quarantined_timers": "Timers set aside because they could not be processed",
    "outbox_pending": "Outbox messages waiting for delivery",
    "outbox_dead": "Outbox messages given up (dead letters)",
    "sweep_duration_seconds": "How long the last sweep took",
}
"""The gauges (name without the ``servicewf_`` prefix → help text)."""

COUNTERS: Mapping[str, str] = {
    "sweeps": "Sweeps run",
    "sweep_errors": "Sweeps that failed on the database (retried)",
    "timers_settled": "Due timers settled",
    "warnings": "SLA warnings recorded",
    "breaches": "SLA breaches recorded",
    "escalations": "Escalations made",
    "timers_quarantined": "Timers quarantined (each failed attempt counts)",
    "outbox_delivered": "Outbox messages delivered",
    "outbox_failed": "Outbox delivery attempts that failed (retried or dead)",
}
"""The counters (name without ``servicewf_`` and ``_total`` → help text)."""


def prometheus_available() -> bool:
    """True when ``prometheus_client`` is installed (the ``metrics`` extra)."""
    return importlib.util.find_spec("prometheus_client") is not None


class WorkerMetrics:
    """The numbers of one worker. :meth:`observe` after each sweep (with its report) reads
    the backlog, the quarantine and the outbox from ``store``; :meth:`failed` counts a sweep
    that failed on the database. ``values`` holds the latest of each gauge and the running
    total of each counter, by the names of :data:`GAUGES` and :data:`COUNTERS`.

    With ``prometheus=True`` (the default when ``prometheus_client`` is installed) the same
    numbers live in a registry of their own (:attr:`registry`), labelled with the worker's
    ``owner``."""

    def __init__(self, store: Store, clock: Clock, *, owner: str = "worker",
                 prometheus: bool | None = None) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.values: dict[str, float] = {**dict.fromkeys(GAUGES, 0.0),
                                         **dict.fromkeys(COUNTERS, 0.0)}
        if prometheus is None:
            prometheus = prometheus_available()
        elif prometheus and not prometheus_available():
            raise UsageError("metrics in the Prometheus format need prometheus_client: "
                             "pip install 'servicewf[metrics]'")
        self.registry: typing.Any = None
        self._gauges: dict[str, typing.Any] = {}
        self._counters: dict[str, typing.Any] = {}
        if prometheus:
            import prometheus_client as prom

            self.registry = prom.CollectorRegistry(auto_describe=True)
            for name, text in GAUGES.items():
                self._gauges[name] = prom.Gauge(f"servicewf_{name}", text, ["owner"],
                                                registry=self.registry).labels(owner)
            for name, text in COUNTERS.items():
                self._counters[name] = prom.Counter(f"servicewf_{name}", text, ["owner"],
                                                    registry=self.registry).labels(owner)

    def _set(self, name: str, value: float) -> None:
        self.values[name] = value
        if name in self._gauges:
            self._gauges[name].set(value)

    def _inc(self, name: str, n: float) -> None:
        if n <= 0:
            return
        self.values[name] += n
        if name in self._counters:
            self._counters[name].inc(n)

    def observe(self, report: SweepReport, *, duration: float = 0.0) -> None:
        """Count what ``report`` did and read the gauges from the store."""
        counts = report.counts
        self._inc("sweeps", 1)
        self._inc("timers_settled", report.timers)
        self._inc("warnings", report.warnings)
        self._inc("breaches", report.breaches)
        self._inc("escalations", report.escalations)
        self._inc("timers_quarantined", len(report.quarantined))
        self._inc("outbox_delivered", counts.get("outbox_delivered", 0))
        self._inc("outbox_failed", counts.get("outbox_retried", 0) + counts.get("outbox_dead", 0))
        self._set("sweep_duration_seconds", duration)
        self.refresh()

    def refresh(self) -> None:
        """Read the gauges that live in the store (backlog, lag, quarantine, outbox)."""
        now = as_utc(self.clock.now())
        due, earliest = self.store.due_backlog(now)
        self._set("due_timers", due)
        self._set("sweep_lag_seconds",
                  0.0 if earliest is None
                  else max(epoch_us(now) - epoch_us(earliest), 0) / 1_000_000)
        try:
            quarantined = len(self.store.quarantined_timers())
        except NotImplementedError:  # a store of its own without quarantine
            quarantined = 0
        self._set("quarantined_timers", quarantined)
        self._set("outbox_pending", self.store.count_outbox(status=PENDING))
        self._set("outbox_dead", self.store.count_outbox(status=DEAD))

    def failed(self) -> None:
        """Count a sweep that failed on the database."""
        self._inc("sweep_errors", 1)

    def text(self) -> str:
        """The metrics in the Prometheus text exposition format (needs ``prometheus_client``)."""
        if self.registry is None:
            raise UsageError("metrics in the Prometheus format need prometheus_client: "
                             "pip install 'servicewf[metrics]'")
        import prometheus_client as prom

        return bytes(prom.generate_latest(self.registry)).decode()

    def serve(self, port: int, addr: str = "0.0.0.0") -> typing.Any:
        """Serve :meth:`text` over HTTP on ``addr:port`` (``/metrics``) in a daemon thread;
        returns the server (``shutdown()`` it to stop)."""
        if self.registry is None:
            raise UsageError("--metrics-port needs prometheus_client: "
                             "pip install 'servicewf[metrics]'")
        import prometheus_client as prom

        server, _thread = prom.start_http_server(port, addr=addr, registry=self.registry)
        return server
