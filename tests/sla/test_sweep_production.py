"""The sweep in production: a worker killed between a breach and its escalation, timers that
cannot be processed (quarantine), stopping under a backlog."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from servicewf import EventKind, FrozenClock, MemoryStore
from servicewf.sla import Sweeper
from servicewf.sla.sweep import ActionContext, breach_timer_name
from servicewf.storage import Timer
from servicewf.storage.base import replace_timers
from servicewf.storage.sql import SQLStore

from .sweep_setup import AGENT, LATE, T0, job_engine


class Killed(BaseException):
    """Stands for the worker process dying (not an Exception: nothing may catch it)."""


def _escalations(engine, cid):  # type: ignore[no-untyped-def]
    return [e for e in engine.history(cid) if e.kind is EventKind.ESCALATED]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield MemoryStore()
        return
    s = SQLStore.sqlite(tmp_path / "s.db")
    yield s
    s.close()


def test_a_worker_killed_after_the_breach_escalates_on_the_next_sweep_exactly_once(
        store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(3)]
    clock.set(LATE)
    real = ActionContext.escalate

    def dies(self, case, **kw):  # type: ignore[no-untyped-def]
        raise Killed  # after the breach's commit, before the escalation's

    monkeypatch.setattr(ActionContext, "escalate", dies)
    with pytest.raises(Killed):
        # One case at a time (a batch commits the breach and its escalation together: see
        # the next test).
        Sweeper(engine, sla, owner="victim", settle_in_batches=False).run()
    victim = ids[0]
    assert [e.kind for e in engine.history(victim)][-1] is EventKind.CLOCK_BREACHED
    assert _escalations(engine, victim) == []
    # The breach left its pending action, due one lease later (like the victim's claims).
    pending = [t for t in store.timers(victim) if t.name == breach_timer_name("resolve", 1)]
    assert [t.due for t in pending] == [LATE + dt.timedelta(minutes=5)]
    monkeypatch.setattr(ActionContext, "escalate", real)
    report = Sweeper(engine, sla, owner="next").run()
    assert (report.breaches, report.escalations) == (0, 0)
    clock.set(clock.now() + dt.timedelta(minutes=5))
    report = Sweeper(engine, sla, owner="next").run()
    assert (report.breaches, report.escalations) == (2, 3)
    for cid in ids:
        assert len(_escalations(engine, cid)) == 1, cid
        assert [e.kind for e in engine.history(cid)].count(EventKind.CLOCK_BREACHED) == 1
        assert not [t for t in store.timers(cid) if t.name.startswith("sla-breach:")]
    clock.set(clock.now() + dt.timedelta(hours=1))
    again = Sweeper(engine, sla, owner="later").run()
    assert (again.breaches, again.escalations) == (0, 0)


def test_a_worker_killed_in_a_batch_leaves_nothing_and_the_next_settles_it_once(
        store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(4)]
    clock.set(LATE)
    real = ActionContext.escalate
    calls: list[str] = []

    def dies_at_the_third(self, case, **kw):  # type: ignore[no-untyped-def]
        calls.append(case.id)
        if len(calls) == 3:
            raise Killed  # mid-batch: two cases settled in memory, nothing written yet
        return real(self, case, **kw)

    monkeypatch.setattr(ActionContext, "escalate", dies_at_the_third)
    with pytest.raises(Killed):
        Sweeper(engine, sla, owner="victim").run()
    assert len(calls) == 3
    for cid in ids:  # the batch is written whole or not at all: here not at all
        assert [e.kind for e in engine.history(cid)] == [EventKind.OPENED], cid
        assert [t.name for t in store.timers(cid)] == ["sla:resolve"]
    monkeypatch.setattr(ActionContext, "escalate", real)
    assert Sweeper(engine, sla, owner="next").run().timers == 0  # still leased
    clock.set(clock.now() + dt.timedelta(minutes=5))
    report = Sweeper(engine, sla, owner="next").run()
    assert (report.timers, report.cases, report.breaches, report.escalations) == (4, 4, 4, 4)
    for cid in ids:
        kinds = [e.kind for e in engine.history(cid)]
        assert kinds == [EventKind.OPENED, EventKind.CLOCK_BREACHED, EventKind.ESCALATED], cid
        assert not [t for t in store.timers(cid) if t.name.startswith("sla-breach:")]


def test_an_escalation_already_recorded_only_drops_the_pending_timer(store) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    cid = engine.open("job", actor=AGENT).id
    clock.set(LATE)
    assert Sweeper(engine, sla).run().escalations == 1
    # A pending timer that survived (e.g. written back by an old worker): no second one.
    name = breach_timer_name("resolve", 1)
    replace_timers(store, cid, name, [Timer(cid, name, LATE, "job",
                                            {"clock": "resolve", "cycle": 1})])
    report = Sweeper(engine, sla).run()
    assert report.escalations == 0
    assert len(_escalations(engine, cid)) == 1
    assert [t.name for t in store.timers(cid) if t.name.startswith("sla-breach:")] == []


def test_what_cannot_be_processed_is_quarantined_and_the_rest_is_swept(store) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(6)]
    # Earlier than every SLA timer: a full batch of timers no handler owns, then a case
    # whose handler fails.
    for cid in ids[:2]:
        replace_timers(store, cid, "foreign:", [Timer(cid, "foreign:x", T0, "job")])
    clock.set(LATE)
    sweeper = Sweeper(engine, sla, owner="w", batch=2)
    report = sweeper.run()
    assert sorted((q.case_id, q.name, q.attempts) for q in report.quarantined) == \
        [(ids[0], "foreign:x", 1), (ids[1], "foreign:x", 1)]
    assert "no handler" in report.quarantined[0].reason
    assert report.breaches == 6 and report.escalations == 6
    assert [(q.case_id, q.name) for q in store.quarantined_timers()] == \
        sorted((cid, "foreign:x") for cid in ids[:2])
    # Retried after the back-off (the lease), then quarantined for twice as long.
    clock.set(clock.now() + sweeper.lease)
    report = sweeper.run()
    assert sorted(q.attempts for q in report.quarantined) == [2, 2]
    assert report.quarantined[0].until == clock.now() + 2 * sweeper.lease


def test_a_failing_handler_quarantines_its_timers_instead_of_killing_the_worker(store) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(3)]

    class Broken:
        timer_prefix = "broken:"

        def settle(self, ctx, case):  # type: ignore[no-untyped-def]
            raise RuntimeError("a bug")

    replace_timers(store, ids[1], "broken:", [Timer(ids[1], "broken:x", T0, "job")])
    clock.set(LATE)
    report = Sweeper(engine, sla, handlers=[Broken()]).run()
    assert [(q.case_id, q.name, q.reason) for q in report.quarantined] == \
        [(ids[1], "broken:x", "RuntimeError: a bug")]
    assert report.escalations == 3


def test_stop_ends_the_sweep_after_the_current_batch_whatever_the_backlog() -> None:
    clock = FrozenClock(T0)
    engine, _ = job_engine(MemoryStore(), clock)
    stop = threading.Event()
    settled: list[str] = []

    class Count:
        timer_prefix = "t:"

        def settle(self, ctx, case):  # type: ignore[no-untyped-def]
            settled.append(case.id)
            stop.set()  # SIGTERM arrives during the first batch
            replace_timers(ctx.engine.store, case.id, "t:", ())
            return False

    for i in range(3000):
        cid = engine.open("job", actor=AGENT, case_id=f"j{i:04d}").id
        replace_timers(engine.store, cid, "t:", [Timer(cid, "t:x", T0, "job")])
    sweeper = Sweeper(engine, None, handlers=[Count()], batch=100)
    report = sweeper.run(stop=stop)
    assert report.stopped and report.timers == 100 and len(settled) == 100
    # The rest is still due for the next worker.
    assert len(engine.store.due_timers(T0)) == 2900


def test_a_pending_breach_action_naming_no_clock_is_quarantined_not_retried_for_ever(
        store) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i}").id for i in range(2)]
    bad = "sla-breach:gone:1:"
    replace_timers(store, ids[0], bad, [Timer(ids[0], bad, T0, "job", {"clock": "gone"})])
    clock.set(LATE)
    report = Sweeper(engine, sla).run()  # a CorruptRecord about one case: not a DB outage
    assert [(q.case_id, q.name) for q in report.quarantined] == [(ids[0], bad)]
    assert "CorruptRecord" in report.quarantined[0].reason
    assert report.escalations == 2


def test_sweep_loop_retries_database_errors_with_back_off_and_stops_on_other_errors(
        ) -> None:
    from servicewf.errors import StorageError
    from servicewf.worker import sweep_loop

    stop = threading.Event()
    calls: list[str] = []

    class Flaky:
        def run(self, stop=None):  # type: ignore[no-untyped-def]
            calls.append("run")
            if len(calls) <= 3:
                raise StorageError("server closed the connection unexpectedly")
            stop.set()
            from servicewf.sla import SweepReport
            return SweepReport()

    errors: list[BaseException] = []
    t = time_now()
    assert sweep_loop(Flaky(), stop, interval=0, backoff=0.01, max_backoff=0.02,  # type: ignore[arg-type]
                      on_error=errors.append) == 1
    assert len(errors) == 3 and time_now() - t >= 0.01 + 0.02 + 0.02

    class Broken:
        def run(self, stop=None):  # type: ignore[no-untyped-def]
            raise ValueError("bad configuration")

    with pytest.raises(ValueError, match="bad configuration"):
        sweep_loop(Broken(), threading.Event(), interval=0)  # type: ignore[arg-type]


def time_now() -> float:
    import time

    return time.monotonic()
