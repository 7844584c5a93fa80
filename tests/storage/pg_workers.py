"""Worker process bodies for the PostgreSQL concurrency tests (importable by spawned children).

Each function opens its own store on the shared database: nothing is inherited from the
parent but plain arguments.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import sqlalchemy as sa

from servicewf import Actor, Engine, EventKind, FrozenClock
from servicewf.errors import StaleVersion
from servicewf.storage.sql import SQLStore

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(seconds=30)


def _definition() -> Any:
    from tests.helpers import ticket_definition

    return ticket_definition()


def fire_commands(dsn: str, schema: str, prefix: str, worker: int, case_ids: list[str],
                  operations: int, barrier: Any) -> tuple[int, int]:
    """Fire ``operations`` accepted commands at random cases; return (accepted, conflicts).

    Every command reads the case, then fires against that read: a concurrent writer in between
    makes it stale, and it is retried on a fresh read.
    """
    rng = random.Random(worker)
    store = SQLStore(dsn, schema=schema, prefix=prefix)
    engine = Engine(store, FrozenClock(T0), [_definition()])
    actor = Actor(f"w{worker}", "agent")
    accepted = conflicts = 0
    engine.get(case_ids[0])  # connect before the start line
    barrier.wait(60)  # start together, so the processes really contend
    try:
        for i in range(operations):
            cid = rng.choice(case_ids)
            while True:
                current = engine.get(cid)
                try:
                    engine.fire(current, "note", actor=actor, data={"n": i, "w": worker})
                except StaleVersion:
                    conflicts += 1
                    continue
                accepted += 1
                break
    finally:
        store.close()
    return accepted, conflicts


def _process_timer(store: SQLStore, processed: sa.Table, case_id: str, name: str,
                   worker: str) -> None:
    """Process one claimed timer: record it, note it on the case, drop the timer — in one
    transaction, so a crash leaves either all of it or none of it."""
    clock = FrozenClock(T0)
    with store.engine.begin() as conn:
        conn.execute(processed.insert().values(case_id=case_id, name=name, worker=worker))
        view = store.bind(conn)
        Engine(view, clock, [_definition()]).record(case_id, EventKind.OBLIGATION_DUE,
                                                    data={"timer": name})
        view.set_timers(case_id, [])


def processed_table(schema: str, prefix: str) -> sa.Table:
    return sa.Table(f"{prefix}processed", sa.MetaData(schema=schema),
                    sa.Column("case_id", sa.String(200)), sa.Column("name", sa.String(200)),
                    sa.Column("worker", sa.String(50)))


def crashing_sweeper(dsn: str, schema: str, prefix: str, halfway: Any, done_first: int) -> None:
    """Claim every due timer, process ``done_first`` of them, start on the next one, tell the
    parent, then hang inside that transaction until killed."""
    store = SQLStore(dsn, schema=schema, prefix=prefix)
    processed = processed_table(schema, prefix)
    claimed = store.claim_due_timers(T0, owner="victim", lease=LEASE, limit=1000)
    for t in claimed[:done_first]:
        _process_timer(store, processed, t.case_id, t.name, "victim")
    nxt = claimed[done_first]
    with store.engine.begin() as conn:
        conn.execute(processed.insert().values(case_id=nxt.case_id, name=nxt.name,
                                               worker="victim"))
        halfway.set()
        time.sleep(120)  # killed here, mid-transaction


def surviving_sweeper(dsn: str, schema: str, prefix: str, worker: str) -> tuple[int, int]:
    """Sweep until nothing is due: (timers seen while the lease held, timers processed)."""
    store = SQLStore(dsn, schema=schema, prefix=prefix)
    processed = processed_table(schema, prefix)
    early = len(store.claim_due_timers(T0 + dt.timedelta(seconds=1), owner=worker,
                                       lease=LEASE, limit=1000))
    after = T0 + LEASE + dt.timedelta(seconds=1)
    count = 0
    while True:
        batch = store.claim_due_timers(after, owner=worker, lease=LEASE, limit=2)
        if not batch:
            break
        for t in batch:
            _process_timer(store, processed, t.case_id, t.name, worker)
            count += 1
    store.close()
    return early, count
