"""The top-level scheduler: handlers plug in by prefix, passes run after each round, what no
handler owns is quarantined, and the SLA on a plain Scheduler behaves as the Sweeper."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, Engine, EventKind, FrozenClock, MemoryStore
from servicewf.outbox import Dispatcher
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.notices import builtin_messages
from servicewf.scheduler import DispatchPass, Scheduler, SweepContext, SweepReport
from servicewf.sla import Sweeper, sla_handlers
from servicewf.sla.sweep import ActionContext
from servicewf.storage import Timer
from servicewf.storage.base import replace_timers

from ..sla.sweep_setup import AGENT, LATE, T0, job_engine


class Marker:
    """Settles its timers by recording one note per case and dropping its timers."""

    def __init__(self, prefix: str) -> None:
        self.timer_prefix = prefix
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def settle(self, ctx: SweepContext, case):  # type: ignore[no-untyped-def]
        due = tuple(sorted(t.name for t in ctx.engine.store.timers(case.id)
                           if t.name.startswith(self.timer_prefix) and t.due <= ctx.now))
        self.seen.append((case.id, due))
        replace_timers(ctx.engine.store, case.id, self.timer_prefix, ())
        ctx.report.count(f"{self.timer_prefix}settled", len(due))
        return False


def _opened(n: int):  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(MemoryStore(), clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i:03d}").id for i in range(n)]
    return clock, engine, sla, ids


def test_a_handler_plugs_in_in_one_line_and_settles_only_its_prefix() -> None:
    _clock, engine, _, ids = _opened(3)
    for cid in ids:
        replace_timers(engine.store, cid, "alert:", [Timer(cid, "alert:a", T0, "job")])
    alerts = Marker("alert:")
    # No SLA handler plugged in: the SLA's own timers are not this scheduler's to settle.
    report = Scheduler(engine).add(alerts).run()
    assert sorted(alerts.seen) == [(cid, ("alert:a",)) for cid in ids]
    assert report.counts == {"alert:settled": 3}
    assert report.timers == 3 and report.cases == 3 and report.quarantined == []


def test_timers_no_handler_owns_are_quarantined_not_settled() -> None:
    clock, engine, _, ids = _opened(2)
    clock.set(LATE)
    replace_timers(engine.store, ids[0], "alert:", [Timer(ids[0], "alert:a", T0, "job")])
    report = Scheduler(engine, [Marker("alert:")]).run()
    # The two SLA timers (sla:resolve) have no handler here.
    assert sorted((q.case_id, q.name) for q in report.quarantined) == \
        [(cid, "sla:resolve") for cid in ids]
    assert all("no handler" in q.reason for q in report.quarantined)
    assert sorted((q.case_id, q.name) for q in engine.store.quarantined_timers()) == \
        [(cid, "sla:resolve") for cid in ids]
    assert not [e for cid in ids for e in engine.history(cid)
                if e.kind is EventKind.CLOCK_BREACHED]


def test_overlapping_or_empty_prefixes_are_refused() -> None:
    _, engine, sla, _ = _opened(0)
    scheduler = Scheduler(engine).add(*sla_handlers(sla))
    with pytest.raises(ValueError, match="distinct"):
        scheduler.add(Marker("sla:x"))  # sla: owns it already
    with pytest.raises(ValueError, match="distinct"):
        scheduler.add(Marker("s"))  # would own sla: and sla-breach:
    with pytest.raises(ValueError, match="non-empty"):
        Scheduler(engine, [Marker("")])
    assert [h.timer_prefix for h in scheduler.handlers] == ["sla:", "sla-breach:"]
    with pytest.raises(ValueError, match="batch"):
        Scheduler(engine, batch=0)


def test_the_sla_on_a_plain_scheduler_escalates_as_the_sweeper_does() -> None:
    def outcome(make):  # type: ignore[no-untyped-def]
        clock, engine, sla, ids = _opened(5)
        clock.set(LATE)
        report = make(engine, sla).run()
        kinds = {cid: Counter(e.kind for e in engine.history(cid)) for cid in ids}
        return ((report.timers, report.breaches, report.escalations),
                {cid: (k[EventKind.CLOCK_BREACHED], k[EventKind.ESCALATED])
                 for cid, k in kinds.items()},
                [t for cid in ids for t in engine.store.timers(cid)])

    plain = outcome(lambda e, s: Scheduler(e).add(*sla_handlers(s)))
    sweeper = outcome(lambda e, s: Sweeper(e, s))
    assert plain == sweeper
    assert plain[0] == (5, 5, 5)
    assert set(plain[1].values()) == {(1, 1)}


def test_the_sla_handlers_see_an_action_context_over_the_schedulers() -> None:
    clock, engine, sla, _ = _opened(1)
    clock.set(LATE)
    seen: list[object] = []
    real = ActionContext.escalate

    def spy(self, case, **kw):  # type: ignore[no-untyped-def]
        seen.append((type(self), self.sla is sla, self.lease))
        return real(self, case, **kw)

    ActionContext.escalate = spy  # type: ignore[method-assign]
    try:
        Scheduler(engine, lease=dt.timedelta(minutes=7)).add(*sla_handlers(sla)).run()
    finally:
        ActionContext.escalate = real  # type: ignore[method-assign]
    assert seen == [(ActionContext, True, dt.timedelta(minutes=7))]


class CountingPass:
    name = "count"

    def __init__(self) -> None:
        self.runs: list[dt.datetime] = []

    def run(self, ctx: SweepContext) -> dict[str, int]:
        self.runs.append(ctx.now)
        return {"passes": 1}


def test_passes_run_after_each_round_and_not_when_stopping() -> None:
    _clock, engine, _sla, _ = _opened(0)
    job = CountingPass()
    scheduler = Scheduler(engine, passes=[job])  # no handler: claims nothing
    assert scheduler.run().counts == {"passes": 1}
    assert scheduler.run().counts == {"passes": 1}
    stop = threading.Event()
    stop.set()
    assert scheduler.run(stop=stop).counts == {}
    assert job.runs == [T0, T0]
    assert scheduler.totals["passes"] == 2 and scheduler.totals["rounds"] == 3


def test_the_outbox_relay_is_a_pass() -> None:
    clock = FrozenClock(T0)
    store = MemoryStore()
    engine = Engine(store, clock, builtin_registry(), messages=builtin_messages())
    agent, manager = Actor("a1", "agent"), Actor("m1", "manager")
    incident = open_case(engine, "incident", actor=agent, data={"description": "fibre cut"})
    incident = engine.fire(incident, "classify", actor=manager,
                           data={"category": "自然災害", "level": "較大"})
    incident = engine.fire(incident, "respond", actor=agent, data={"response_lead": "NOC"})
    engine.fire(incident, "update_customers", actor=agent, data={"progress_update": "ok"})
    sent: list[str] = []

    class Sink:
        def send(self, message):  # type: ignore[no-untyped-def]
            sent.append(message.topic)

    scheduler = Scheduler(engine).add_pass(DispatchPass(Dispatcher(store, clock, {"*": Sink()})))
    report = scheduler.run()
    assert sent == ["incident.progress"]
    assert report.counts == {"outbox_delivered": 1, "outbox_retried": 0, "outbox_dead": 0}
    assert scheduler.run().counts["outbox_delivered"] == 0


def test_totals_add_up_the_rounds() -> None:
    clock, engine, sla, _ids = _opened(4)
    clock.set(LATE)
    sweeper = Sweeper(engine, sla, batch=3)
    first = sweeper.run(limit=3)
    second = sweeper.run()
    assert first.breaches + second.breaches == 4
    assert sweeper.totals["breaches"] == 4 and sweeper.totals["escalations"] == 4
    assert sweeper.totals["timers"] == first.timers + second.timers
    assert isinstance(first, SweepReport)


# --- the invariant: whatever the batch and the mix of timers ------------------------------

PREFIXES = ("a:", "b:", "zz:")  # zz: has no handler


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timers=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(PREFIXES),
                                 st.integers(-3, 3)), max_size=30, unique_by=lambda x: x[:2]),
       batch=st.integers(1, 7))
def test_every_due_timer_is_settled_once_or_quarantined_and_nothing_else(timers, batch) -> None:
    clock = FrozenClock(T0)
    engine, _ = job_engine(MemoryStore(), clock)
    for cid in {f"c{c}" for c, _, _ in timers}:
        engine.open("job", actor=AGENT, case_id=cid)
        engine.store.set_timers(cid, [], prefix="sla:")  # only the generated timers
    for c, prefix, minutes in timers:
        cid = f"c{c}"
        engine.store.set_timers(cid, [Timer(cid, f"{prefix}t", T0 + dt.timedelta(minutes=minutes),
                                            "job")], prefix=prefix)
    a, b = Marker("a:"), Marker("b:")
    report = Scheduler(engine, [a, b], batch=batch).run()
    # The oracle: due means due <= now; a: and b: are settled once per case, zz: set aside.
    due = {(f"c{c}", p) for c, p, m in timers if m <= 0}
    assert sorted(cid for cid, _ in a.seen) == sorted(cid for cid, p in due if p == "a:")
    assert sorted(cid for cid, _ in b.seen) == sorted(cid for cid, p in due if p == "b:")
    assert sorted((q.case_id, q.name) for q in report.quarantined) == \
        sorted((cid, "zz:t") for cid, p in due if p == "zz:")
    left = {(t.case_id, t.name[:t.name.index(":") + 1])
            for cid in {f"c{c}" for c, _, _ in timers} for t in engine.store.timers(cid)}
    assert left == {(f"c{c}", p) for c, p, m in timers if m > 0 or p == "zz:"}
    assert report.timers == len([1 for _, p in due if p != "zz:"])


def test_defaults_and_a_sweep_ahead_of_the_engine_clock() -> None:
    from servicewf.errors import TimeOutOfOrder

    _, engine, _, _ = _opened(0)
    scheduler = Scheduler(engine)
    # The documented defaults: a 5-minute lease (the back-off follows it), 10 tries.
    assert (scheduler.lease, scheduler.backoff) == (dt.timedelta(minutes=5),) * 2
    assert (scheduler.max_retries, scheduler.batch, scheduler.settle_in_batches) == \
        (10, 1000, True)
    assert scheduler.owner.startswith("scheduler-")
    with pytest.raises(TimeOutOfOrder, match="ahead of the engine clock"):
        scheduler.run(T0 + dt.timedelta(seconds=1))


class Killed(BaseException):
    """Stands for the worker process dying."""


@pytest.mark.parametrize(("cases", "breaches_left"), [(1, 1), (2, 0), (3, 0)])
def test_one_case_is_settled_alone_and_two_or_more_in_a_batch(cases, breaches_left) -> None:  # type: ignore[no-untyped-def]
    # Killed at the last escalation: one case settled alone has its breach written already
    # (two writes); a batch has written nothing yet (one write, at the end).
    clock, engine, sla, ids = _opened(cases)
    clock.set(LATE)
    real = ActionContext.escalate
    calls: list[str] = []

    def dies_at_the_last(self, case, **kw):  # type: ignore[no-untyped-def]
        calls.append(case.id)
        if len(calls) == cases:
            raise Killed
        return real(self, case, **kw)

    ActionContext.escalate = dies_at_the_last  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            Scheduler(engine).add(*sla_handlers(sla)).run()
    finally:
        ActionContext.escalate = real  # type: ignore[method-assign]
    breached = sum(1 for cid in ids for e in engine.history(cid)
                   if e.kind is EventKind.CLOCK_BREACHED)
    assert breached == breaches_left


def test_a_case_moved_meanwhile_is_retried_and_counted_once(caplog) -> None:  # type: ignore[no-untyped-def]
    clock, engine, _sla, ids = _opened(2)
    other, _ = job_engine(engine.store, clock)
    moved: list[str] = []

    class Racer:
        timer_prefix = "race:"

        def settle(self, ctx, case):  # type: ignore[no-untyped-def]
            if case.id == ids[0] and not moved:
                moved.append(case.id)  # another worker writes first: this write is stale
                other.record(other.get(case.id), EventKind.NOTE, actor=AGENT, data={})
            write = ctx.engine.plan_record(case, EventKind.NOTE, actor=ctx.actor,
                                           data={"by": "racer"})
            ctx.commit(attrs.evolve(write, timers={**write.timers, "race:": ()}))
            return True

    for cid in ids:
        replace_timers(engine.store, cid, "race:", [Timer(cid, "race:x", T0, "job")])
    report = Scheduler(engine, [Racer()], settle_in_batches=False).run()
    assert (report.retries, report.cases) == (1, 2)
    assert [e.data.get("by") for e in engine.history(ids[0])].count("racer") == 1


def test_quarantines_are_logged_and_a_batch_handler_reads_the_store_through_it(
        caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    clock, engine, _, ids = _opened(3)
    seen: list[int] = []
    calls: list[str] = []

    class Counter_:
        timer_prefix = "count:"

        def settle(self, ctx, case):  # type: ignore[no-untyped-def]
            calls.append(case.id)
            seen.append(ctx.engine.store.count(process="job"))  # any store query works
            write = ctx.engine.plan_record(case, EventKind.NOTE, actor=ctx.actor, data={})
            ctx.commit(attrs.evolve(write, timers={**write.timers, "count:": ()}))
            return True

    for cid in ids:
        replace_timers(engine.store, cid, "count:", [Timer(cid, "count:x", T0, "job")])
    clock.set(LATE)
    caplog.set_level(logging.WARNING, logger="servicewf.sweep")
    report = Scheduler(engine, [Counter_()]).run()
    # Settled in the batch, each case once (a failed query would settle it again alone).
    assert seen == [3, 3, 3] and calls == ids and report.cases == 3
    # The SLA timers have no handler here: quarantined, each with a warning naming it.
    assert caplog.text.count("quarantined timer 'sla:resolve'") == 3
