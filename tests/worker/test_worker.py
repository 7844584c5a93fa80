"""servicewf worker as an operator runs it: --app factories, --log-level, --once for cron,
metrics (plain values and the Prometheus text format), logging of start, sweeps and stop."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
import urllib.request
from collections import Counter

import pytest

from servicewf import EventKind, FrozenClock, MemoryStore
from servicewf.cli import main
from servicewf.errors import UsageError
from servicewf.metrics import COUNTERS, GAUGES, WorkerMetrics
from servicewf.sla import Sweeper
from servicewf.storage import Timer
from servicewf.storage.base import replace_timers
from servicewf.storage.sql import SQLStore
from servicewf.worker import WorkerApp, load_app, run_worker

from ..sla.sweep_setup import AGENT, LATE, T0, job_engine
from . import app_factory


def _jobs(db: str, n: int, *, reminders: int = 0) -> list[str]:
    store = SQLStore(db)
    engine, _ = job_engine(store, FrozenClock(T0))
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i:03d}").id for i in range(n)]
    for cid in ids[:reminders]:
        replace_timers(store, cid, "remind:", [Timer(cid, "remind:x", T0, "job")])
    store.close()
    return ids


def _kinds(db: str, ids: list[str]) -> dict[str, Counter[EventKind]]:
    store = SQLStore(db)
    try:
        return {cid: Counter(e.kind for e in store.history(cid)) for cid in ids}
    finally:
        store.close()


@pytest.fixture
def db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'w.db'}"


@pytest.fixture(autouse=True)
def _reset_app() -> None:
    for seen in (app_factory.SENT, app_factory.SETTLED, app_factory.SEEN):
        seen.clear()


def test_the_app_factory_brings_its_processes_handlers_hooks_and_senders(db, caplog) -> None:  # type: ignore[no-untyped-def]
    ids = _jobs(db, 3, reminders=2)
    caplog.set_level(logging.INFO, logger="servicewf")
    assert run_worker(db, once=True, clock=FrozenClock(LATE), owner="w1",
                      app="tests.worker.app_factory:make_app") == 0
    kinds = _kinds(db, ids)
    assert {cid: (k[EventKind.CLOCK_BREACHED], k[EventKind.ESCALATED])
            for cid, k in kinds.items()} == dict.fromkeys(ids, (1, 1))
    assert sorted(app_factory.SETTLED) == ids[:2]           # its own handler ran
    assert app_factory.SEEN.count("clock_breached") == 3    # its observer saw the commits
    assert sorted(app_factory.SENT) == sorted(              # its sender got its messages
        f"{cid}/2/job.breached/staff" for cid in ids)
    text = caplog.text
    assert "worker w1 starting: app tests.worker.app_factory:make_app" in text
    assert "'sla:', 'sla-breach:', 'remind:'" in text and "passes ['outbox']" in text
    assert "5 timers" in text and "3 breaches, 3 escalations" in text
    assert "3 outbox_delivered" in text
    assert "worker w1 stopped after 1 sweeps" in text


def test_a_stack_from_builtin_stack_is_accepted_as_an_app(db) -> None:  # type: ignore[no-untyped-def]
    assert run_worker(db, once=True, app="tests.worker.app_factory:make_stack") == 0


@pytest.mark.parametrize(("spec", "says"), [
    ("no_colon", "module:function"),
    ("tests.worker.nope:make", "cannot import 'tests.worker.nope'"),
    ("tests.worker.app_factory:missing", "has no 'missing'"),
    ("tests.worker.app_factory:NOT_CALLABLE", "is not callable"),
    ("tests.worker.app_factory:make_nothing", "returned dict"),
])
def test_a_bad_app_is_one_line_exit_2(spec, says, db, capsys) -> None:  # type: ignore[no-untyped-def]
    _jobs(db, 1)
    assert main(["worker", "--db", db, "--once", "--app", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("servicewf: --app") and says in err and err.count("\n") == 1


def test_load_app_resolves_dotted_attributes() -> None:
    assert load_app("tests.worker.app_factory:make_app") is app_factory.make_app
    assert load_app("tests.worker.app_factory:Sink.send") is app_factory.Sink.send
    with pytest.raises(UsageError, match="module:function"):
        load_app(":make_app")


def test_once_sweeps_the_backlog_and_exits_for_cron(db) -> None:  # type: ignore[no-untyped-def]
    ids = _jobs(db, 4)
    assert run_worker(db, once=True, clock=FrozenClock(LATE), batch=3,
                      app="tests.worker.app_factory:make_app") == 0
    assert all(k[EventKind.ESCALATED] == 1 for k in _kinds(db, ids).values())
    # Nothing due any more: a second cron run does nothing.
    assert run_worker(db, once=True, clock=FrozenClock(LATE),
                      app="tests.worker.app_factory:make_app") == 0
    assert all(k[EventKind.ESCALATED] == 1 for k in _kinds(db, ids).values())


def test_an_app_that_does_not_know_a_process_quarantines_its_timers(db, caplog) -> None:  # type: ignore[no-untyped-def]
    ids = _jobs(db, 2)
    caplog.set_level(logging.WARNING, logger="servicewf")
    # The built-in app (real clock, long after T0) has no "job" process.
    assert main(["worker", "--db", db, "--once", "--log-level", "debug"]) == 0
    store = SQLStore(db)
    try:
        assert [(q.case_id, q.name) for q in store.quarantined_timers()] == \
            [(cid, "sla:resolve") for cid in ids]
    finally:
        store.close()
    assert caplog.text.count("quarantined timer 'sla:resolve'") == 2
    assert "process job v1 is not registered" in caplog.text


def test_a_bad_log_level_is_refused(db, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["worker", "--db", db, "--log-level", "LOUD"])
    assert exit_.value.code == 2


# --- metrics --------------------------------------------------------------------------------

def test_metrics_count_the_sweeps_and_read_backlog_lag_and_quarantine() -> None:
    clock = FrozenClock(T0)
    store = MemoryStore()
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(5)]
    replace_timers(store, ids[0], "zz:", [Timer(ids[0], "zz:x", T0, "job")])  # no handler
    clock.set(LATE)
    metrics = WorkerMetrics(store, clock, owner="w1")
    metrics.refresh()
    # Before the sweep: 6 due timers, the earliest (zz:x, at T0) two hours late.
    assert metrics.values["due_timers"] == 6
    assert metrics.values["sweep_lag_seconds"] == 2 * 3600
    sweeper = Sweeper(engine, sla, batch=2)
    metrics.observe(sweeper.run(limit=3), duration=0.25)
    # zz:x is quarantined (not counted against the limit): three breaches
    assert (metrics.values["breaches"], metrics.values["escalations"]) == (3, 3)
    assert metrics.values["sweep_duration_seconds"] == 0.25
    metrics.observe(sweeper.run())
    v = metrics.values
    assert (v["sweeps"], v["timers_settled"], v["breaches"], v["escalations"]) == (2, 5, 5, 5)
    assert (v["quarantined_timers"], v["timers_quarantined"]) == (1, 1)
    # The quarantined timer is not backlog; nothing else is due.
    assert (v["due_timers"], v["sweep_lag_seconds"]) == (0, 0)
    assert (v["outbox_pending"], v["outbox_dead"]) == (0, 0)
    metrics.failed()
    assert metrics.values["sweep_errors"] == 1
    text = metrics.text()
    assert 'servicewf_breaches_total{owner="w1"} 5.0' in text
    assert 'servicewf_quarantined_timers{owner="w1"} 1.0' in text
    for name in GAUGES:
        assert f"# TYPE servicewf_{name} gauge" in text
    for name in COUNTERS:
        assert f"# TYPE servicewf_{name}_total counter" in text


def test_the_sweep_lag_follows_the_earliest_due_timer() -> None:
    clock = FrozenClock(T0)
    store = MemoryStore()
    engine, _ = job_engine(store, clock)
    engine.open("job", actor=AGENT, case_id="a")  # sla:resolve due just after T0 + 1 h
    [timer] = store.timers("a")
    metrics = WorkerMetrics(store, clock, prometheus=False)
    for minutes in (30, 60, 61, 97):
        now = T0 + dt.timedelta(minutes=minutes)
        clock.set(now)
        metrics.refresh()
        late = now >= timer.due
        assert metrics.values["due_timers"] == int(late)
        assert metrics.values["sweep_lag_seconds"] == (
            (now - timer.due).total_seconds() if late else 0)
    assert metrics.values["sweep_lag_seconds"] == 37 * 60 - 1e-6
    with pytest.raises(UsageError, match="servicewf\\[metrics\\]"):
        metrics.text()


def test_without_prometheus_client_the_port_is_refused_with_what_to_install(
        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import servicewf.metrics as m

    monkeypatch.setattr(m, "prometheus_available", lambda: False)
    store = MemoryStore()
    with pytest.raises(UsageError, match="pip install 'servicewf\\[metrics\\]'"):
        WorkerMetrics(store, FrozenClock(T0), prometheus=True)
    plain = WorkerMetrics(store, FrozenClock(T0))  # plain values still work
    assert plain.registry is None
    with pytest.raises(UsageError, match="--metrics-port"):
        plain.serve(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_worker_serves_prometheus_metrics_while_it_runs(db) -> None:  # type: ignore[no-untyped-def]
    _jobs(db, 3)
    port = _free_port()
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run_worker(
        db, interval=0.05, clock=FrozenClock(LATE), stop=stop, metrics_port=port,
        app="tests.worker.app_factory:make_app")), daemon=True)
    worker.start()
    try:
        body = ""
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                body = ""
            if "servicewf_escalations_total" in body and \
                    'servicewf_escalations_total{owner=' in body and " 3.0" in body:
                break
            time.sleep(0.1)
        assert "servicewf_escalations_total" in body
        line = next(x for x in body.splitlines()
                    if x.startswith("servicewf_escalations_total{"))
        assert line.endswith(" 3.0")
    finally:
        stop.set()
        worker.join(15)
    assert result == [0]
    with pytest.raises(OSError):  # the server stops with the worker
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_worker_app_exposes_its_store() -> None:
    engine, sla = job_engine(MemoryStore(), FrozenClock(T0))
    app = WorkerApp(Sweeper(engine, sla))
    assert app.store is engine.store and app.senders == {} and app.retry is None


# --- opening the database while it drops connections ----------------------------------------

def _storage_error_from(driver_error: Exception) -> Exception:
    import sqlalchemy as sa

    from servicewf.errors import StorageError

    try:
        try:
            raise sa.exc.OperationalError("SELECT 1", {}, driver_error)
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError("the database refused the operation") from exc
    except StorageError as wrapped:
        return wrapped


def test_a_worker_started_while_connections_drop_opens_the_store_when_it_can(caplog) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    from servicewf.worker import _open_store

    drops = [psycopg.errors.AdminShutdown("terminating connection due to administrator "
                                          "command"),
             psycopg.OperationalError("consuming input failed: server closed the connection "
                                      "unexpectedly")]
    store = MemoryStore()
    calls: list[int] = []

    def opener() -> MemoryStore:
        calls.append(1)
        if len(calls) <= len(drops):
            raise _storage_error_from(drops[len(calls) - 1])
        return store

    caplog.set_level(logging.WARNING, logger="servicewf")
    assert _open_store(opener, threading.Event(), backoff=0.001) is store
    assert len(calls) == 3 and caplog.text.count("cannot open the database") == 2
    # Stopped during the back-off: no store, no exception.
    stop = threading.Event()
    stop.set()
    calls.clear()
    assert _open_store(opener, stop, backoff=0.001) is None


def test_a_configuration_error_when_opening_is_raised_at_once() -> None:
    import psycopg

    from servicewf.errors import StorageError
    from servicewf.worker import _open_store

    calls: list[int] = []

    def opener() -> MemoryStore:
        calls.append(1)
        raise _storage_error_from(psycopg.errors.InvalidSchemaName('schema "crm" does not '
                                                                   "exist"))

    with pytest.raises(StorageError):
        _open_store(opener, threading.Event(), backoff=0.001)
    assert calls == [1]
