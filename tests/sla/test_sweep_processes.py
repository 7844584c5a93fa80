"""Workers as processes: SIGKILLed at random on PostgreSQL, every breach still escalates
exactly once; a dropped connection does not end the worker loop; several processes claiming
through user-supplied SQLite engines never claim a timer twice."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from servicewf import EventKind, FrozenClock
from servicewf.sla import Sweeper
from servicewf.storage import Timer
from servicewf.storage.base import replace_timers
from servicewf.storage.sql import SQLStore
from servicewf.worker import sweep_loop

from . import sweep_setup
from .sweep_setup import AGENT, LATE, T0, job_engine


@pytest.fixture
def shared(pg_engine, pg_schema, request):  # type: ignore[no-untyped-def]
    dsn, schema = pg_schema
    prefix = f"sw_{request.node.name[5:15]}_"
    store = SQLStore(pg_engine, schema=schema, prefix=prefix)
    yield dsn, schema, prefix, store
    store.drop_tables()


def _kinds(store, cid):  # type: ignore[no-untyped-def]
    return Counter(e.kind for e in store.history(cid))


def _killed_workers_run(shared, cases: int, budget: float) -> None:  # type: ignore[no-untyped-def]
    dsn, schema, prefix, store = shared
    engine, _ = job_engine(store, FrozenClock(T0))
    ids = [f"k{i:04d}" for i in range(cases)]
    for cid in ids:
        engine.open("job", actor=AGENT, case_id=cid)
    ctx = multiprocessing.get_context("spawn")
    wall0 = time.time()
    rng = random.Random(20261129)
    n = 0

    def start():  # type: ignore[no-untyped-def]
        nonlocal n
        n += 1
        p = ctx.Process(target=sweep_setup.pg_sweep_worker,
                        args=(dsn, schema, prefix, f"w{n}", wall0), daemon=True)
        p.start()
        return p

    workers = [start() for _ in range(3)]
    kills = 0
    deadline = time.monotonic() + budget

    def done() -> bool:
        with store.engine.connect() as conn:
            ev = store.tables.events
            escalated = conn.execute(sa.select(sa.func.count()).select_from(ev).where(
                ev.c.kind == EventKind.ESCALATED.value)).scalar()
        return bool(escalated == cases)

    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.2))
            if done():
                break
            victim = rng.randrange(len(workers))
            os.kill(workers[victim].pid, signal.SIGKILL)  # type: ignore[arg-type]
            workers[victim].join(10)
            kills += 1
            workers[victim] = start()
        # Let the survivors finish what the killed ones left (leases of 2 s lapse).
        while time.monotonic() < deadline + 20 and not done():
            time.sleep(0.3)
    finally:
        for p in workers:
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
            p.join(10)
    print(f"{kills} workers killed")
    assert kills >= 2
    for cid in ids:
        kinds = _kinds(store, cid)
        assert (kinds[EventKind.CLOCK_BREACHED], kinds[EventKind.ESCALATED]) == (1, 1), cid
    assert not [t for cid in ids for t in store.timers(cid) if t.name.startswith("sla-breach:")]


@pytest.mark.postgres
def test_workers_sigkilled_at_random_escalate_every_breach_exactly_once(shared) -> None:  # type: ignore[no-untyped-def]
    _killed_workers_run(shared, cases=300, budget=8)


@pytest.mark.slow  # not marked postgres: SERVICEWF_REQUIRE_PG would fail its skip
def test_workers_sigkilled_at_random_escalate_every_breach_exactly_once_many(shared) -> None:  # type: ignore[no-untyped-def]
    _killed_workers_run(shared, cases=600, budget=40)


@pytest.mark.postgres
def test_a_terminated_database_connection_does_not_end_the_worker_loop(shared) -> None:  # type: ignore[no-untyped-def]
    dsn, schema, prefix, setup = shared
    opener, _ = job_engine(setup, FrozenClock(T0))
    opener.open("job", actor=AGENT, case_id="first")
    app = f"swf-kill-{os.getpid()}"
    store = SQLStore(dsn, schema=schema, prefix=prefix,
                     engine_options={"connect_args": {"application_name": app}})
    engine, sla = job_engine(store, FrozenClock(LATE))
    stop = threading.Event()
    errors: list[BaseException] = []
    sweeps: list[int] = []
    loop = threading.Thread(target=sweep_loop, args=(Sweeper(engine, sla), stop), kwargs={
        "interval": 0.05, "backoff": 0.05, "max_backoff": 0.2, "on_error": errors.append,
        "on_report": lambda r: sweeps.append(r.escalations)}, daemon=True)
    loop.start()
    try:
        def wait_for(cid: str) -> bool:
            end = time.monotonic() + 15
            while time.monotonic() < end:
                if _kinds(setup, cid)[EventKind.ESCALATED]:
                    return True
                time.sleep(0.05)
            return False

        assert wait_for("first")
        with setup.engine.connect() as conn:
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :app"), {"app": app}).scalar()
        assert killed >= 1
        opener.open("job", actor=AGENT, case_id="second")
        assert wait_for("second"), "the worker loop did not survive the dropped connection"
        assert loop.is_alive()
        assert errors, "the terminated connection was never noticed"
    finally:
        stop.set()
        loop.join(10)
        store.close()
    assert not loop.is_alive()


def test_processes_on_user_supplied_sqlite_engines_never_claim_a_timer_twice(tmp_path) -> None:
    path = tmp_path / "user.db"
    store = SQLStore(sa.create_engine(f"sqlite:///{path}"))
    engine, _ = job_engine(store, FrozenClock(T0))
    n = 600
    for i in range(n):
        cid = engine.open("job", actor=AGENT, case_id=f"s{i:04d}").id
        replace_timers(store, cid, "t:", [Timer(cid, "t:x", T0, "job")])
    store.close()
    ctx = multiprocessing.get_context("spawn")
    workers = 4
    with ctx.Manager() as manager, ctx.Pool(workers) as pool:
        barrier = manager.Barrier(workers)
        results = pool.starmap(sweep_setup.sqlite_claimer,
                               [(str(path), f"w{w}", LATE, barrier) for w in range(workers)],
                               chunksize=1)
    claimed = Counter(k for r in results for k in r)
    twice = {k: c for k, c in claimed.items() if c > 1}
    print("claims per process:", [len(r) for r in results])
    assert not twice, f"{len(twice)} timers claimed more than once"
    assert len(claimed) == 2 * n  # every timer (the SLA's and t:) claimed once
