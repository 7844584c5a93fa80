"""Several processes on one PostgreSQL database: no lost or duplicated event, and timers of a
crashed sweeper processed exactly once after its lease expires."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
import sqlalchemy as sa

from servicewf import Actor, Engine, FrozenClock
from servicewf.storage import Timer
from servicewf.storage.sql import SQLStore
from tests.helpers import ticket_definition

from . import pg_workers

pytestmark = pytest.mark.postgres

CASES = 20
WORKERS = 4
OPERATIONS = 60


@pytest.fixture
def shared(pg_engine, pg_schema, request):
    dsn, schema = pg_schema
    prefix = f"cc_{request.node.name[5:15]}_"
    store = SQLStore(pg_engine, schema=schema, prefix=prefix)
    yield dsn, schema, prefix, store
    store.drop_tables()


def test_four_processes_firing_at_shared_cases_lose_and_duplicate_nothing(shared):
    dsn, schema, prefix, store = shared
    engine = Engine(store, FrozenClock(pg_workers.T0), [ticket_definition()])
    agent = Actor("setup", "agent")
    ids = [f"case-{i:02d}" for i in range(CASES)]
    for cid in ids:
        engine.open("ticket", actor=agent, case_id=cid)
        engine.fire(cid, "register", actor=agent, data={"request_type": "x"})
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(WORKERS) as pool:
        barrier = manager.Barrier(WORKERS)
        results = pool.starmap(pg_workers.fire_commands,
                               [(dsn, schema, prefix, w, ids, OPERATIONS, barrier)
                                for w in range(WORKERS)], chunksize=1)
    print("accepted, conflicts per worker:", results)
    accepted = sum(a for a, _ in results)
    assert accepted == WORKERS * OPERATIONS
    total_events = 0
    for cid in ids:
        history = store.history(cid)
        assert [e.seq for e in history] == list(range(1, len(history) + 1)), cid
        assert store.load(cid).version == len(history)
        total_events += len(history)
    assert total_events - 2 * CASES == accepted
    # With 240 commands on 20 cases from 4 processes some reads must have gone stale.
    assert sum(c for _, c in results) > 0


def test_timers_of_a_killed_sweeper_are_processed_once_after_its_lease(shared):
    dsn, schema, prefix, store = shared
    processed = pg_workers.processed_table(schema, prefix)
    processed.metadata.create_all(store.engine)
    engine = Engine(store, FrozenClock(pg_workers.T0), [ticket_definition()])
    agent = Actor("setup", "agent")
    n = 12
    for i in range(n):
        case = engine.open("ticket", actor=agent, case_id=f"t{i:02d}")
        store.set_timers(case.id, [Timer(case.id, "sla", pg_workers.T0, "ticket")])
    ctx = multiprocessing.get_context("spawn")
    halfway = ctx.Event()
    victim = ctx.Process(target=pg_workers.crashing_sweeper,
                         args=(dsn, schema, prefix, halfway, 3))
    victim.start()
    try:
        assert halfway.wait(60), "the sweeper never got half-way"
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
    assert victim.exitcode == -signal.SIGKILL
    with ctx.Pool(3) as pool:
        results = pool.starmap(pg_workers.surviving_sweeper,
                               [(dsn, schema, prefix, f"s{i}") for i in range(3)], chunksize=1)
    assert [early for early, _ in results] == [0, 0, 0]  # the lease held them back
    assert sum(count for _, count in results) == n - 3
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(processed.c.case_id, processed.c.name,
                                      processed.c.worker)).all()
    per_timer: dict[str, int] = {}
    for cid, _name, _worker in rows:
        per_timer[cid] = per_timer.get(cid, 0) + 1
    assert per_timer == {f"t{i:02d}": 1 for i in range(n)}
    assert sum(1 for r in rows if r.worker == "victim") == 3
    assert store.due_timers(pg_workers.T0.replace(year=2030)) == []
    for i in range(n):
        history = store.history(f"t{i:02d}")
        assert [e.kind.value for e in history] == ["opened", "obligation_due"]
