"""Workers under faults on PostgreSQL (issue #11's checks), as ``servicewf worker`` processes:

- complaints breach while 3 workers are SIGKILLed at random and their database connections
  terminated (``pg_terminate_backend``): at the end every complaint breached once and
  escalated exactly once, every outbox message is recorded once and was delivered at least
  once, and the workers that were not killed never exited;
- SIGTERM under a backlog: the worker exits cleanly within a batch, the next one finishes.

The default runs are small enough for CI; the ``slow`` ones use the issue's sizes (10,000
complaints; a 20,000 backlog)."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from servicewf import SYSTEM, EventKind
from servicewf.storage.sql import SQLStore, normalize_url

from . import fault_setup

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(pg_schema) -> Iterator[tuple[str, str, str, sa.Engine]]:  # type: ignore[no-untyped-def]
    """``(dsn of the workers, schema, application name, admin engine)`` on a fresh schema:
    the workers' DSN puts the schema first on the search path and names the application,
    so their backends can be found and terminated."""
    base, _ = pg_schema
    schema = f"swf_fault_{uuid.uuid4().hex[:8]}"
    app = f"swf-fault-{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    dsn = (f"{base}{sep}application_name={app}&options="
           f"{urllib.parse.quote(f'-csearch_path={schema}')}")
    try:
        yield dsn, schema, app, admin
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _counts(admin: sa.Engine, schema: str) -> tuple[int, int]:
    with admin.connect() as conn:
        escalated = conn.execute(sa.text(
            f"SELECT count(*) FROM \"{schema}\".events WHERE kind = 'escalated' OR "
            "(trigger = 'escalate' AND actor_id = :system)"), {"system": SYSTEM.id}).scalar()
        pending = conn.execute(sa.text(
            f"SELECT count(*) FROM \"{schema}\".outbox WHERE status <> 'delivered'")).scalar()
    return int(escalated or 0), int(pending or 0)


def _check_every_complaint(admin: sa.Engine, schema: str, ids: list[str],
                           received: Counter[str]) -> None:
    store = SQLStore(admin, schema=schema, create=False)
    ev = store.tables.events
    ob = store.tables.outbox
    with admin.connect() as conn:
        breaches = Counter(r[0] for r in conn.execute(
            sa.select(ev.c.case_id).where(ev.c.kind == EventKind.CLOCK_BREACHED.value)))
        escalations = Counter(r[0] for r in conn.execute(
            sa.select(ev.c.case_id).where(sa.or_(
                ev.c.kind == EventKind.ESCALATED.value,
                sa.and_(ev.c.trigger == "escalate", ev.c.actor_id == SYSTEM.id)))))
        messages = conn.execute(sa.select(ob.c.id, ob.c.case_id, ob.c.topic, ob.c.status)).all()
        leftover = conn.execute(sa.select(sa.func.count()).select_from(store.tables.timers)
                                .where(store.tables.timers.c.name.startswith("sla-breach:"))
                                ).scalar()
    assert {cid: breaches[cid] for cid in ids} == dict.fromkeys(ids, 1)
    assert {cid: escalations[cid] for cid in ids} == dict.fromkeys(ids, 1)
    assert leftover == 0
    # Recorded exactly once: one breach and one escalation notice per complaint (ids are
    # unique by the primary key), every one delivered at least once to the webhook.
    topics = Counter((case_id, topic) for _, case_id, topic, _ in messages)
    for cid in ids:
        assert topics[(cid, "sla.breached")] == 1, cid
        assert topics[(cid, "sla.escalated")] == 1, cid
    assert {status for *_, status in messages} == {"delivered"}
    assert all(received[mid] >= 1 for mid, *_ in messages)
    assert set(received) == {mid for mid, *_ in messages}


def _faults_run(db, complaints: int, budget: float) -> None:  # type: ignore[no-untyped-def]
    dsn, schema, app, admin = db
    ids = fault_setup.seed(dsn, schema, complaints)
    receiver = fault_setup.Receiver()
    ctx = multiprocessing.get_context("spawn")
    wall0 = time.time()
    rng = random.Random(20261130)
    n = 0

    ready: dict[int | None, Any] = {}

    def start():  # type: ignore[no-untyped-def]
        nonlocal n
        n += 1
        started = ctx.Event()
        p = ctx.Process(target=fault_setup.worker_main,
                        args=(dsn, receiver.url, f"w{n}", wall0, 50, started), daemon=True)
        p.start()
        ready[p.pid] = started
        return p

    workers = [start() for _ in range(3)]
    survivors_started = {p.pid for p in workers}
    kills = terminations = 0
    deadline = time.monotonic() + budget

    def kill() -> None:
        nonlocal kills
        victim = rng.randrange(len(workers))
        os.kill(workers[victim].pid, signal.SIGKILL)  # type: ignore[arg-type]
        workers[victim].join(10)
        survivors_started.discard(workers[victim].pid)
        kills += 1
        workers[victim] = start()

    def terminate() -> None:
        nonlocal terminations
        with admin.connect() as conn:
            terminations += int(conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :app"), {"app": app}).scalar() or 0)

    try:
        # The first faults as soon as the workers are at work (mid-batch, most likely), then
        # one every 1-3 s (a worker takes a few seconds to start: killing faster than that
        # would test only the start-up) until everything is done.
        while _counts(admin, schema)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        kill()
        terminate()
        while time.monotonic() < deadline:
            escalated, pending = _counts(admin, schema)
            if escalated == complaints and pending == 0:
                break
            time.sleep(rng.uniform(1.0, 3.0))
            if escalated < complaints * 0.8:  # leave the end to the survivors
                kill() if rng.random() < 0.5 else terminate()
        escalated, pending = _counts(admin, schema)
        # The workers that were never killed are still running: a dropped connection, a
        # poison row or a killed colleague never ends a worker.
        assert all(p.is_alive() for p in workers if p.pid in survivors_started)
        assert all(p.is_alive() for p in workers), [p.exitcode for p in workers]
        print(f"{kills} workers killed, {terminations} backends terminated, "
              f"{escalated}/{complaints} escalated, {pending} messages pending")
        assert kills >= 1 and terminations >= 1, "the faults never happened: lengthen the run"
        assert (escalated, pending) == (complaints, 0), "not done within the budget"
        # A clean stop: SIGTERM, exit status 0 (once each worker's own code runs: a worker
        # restarted a moment ago may still be importing).
        for p in workers:
            assert ready[p.pid].wait(60), "a worker never started"
        for p in workers:
            os.kill(p.pid, signal.SIGTERM)  # type: ignore[arg-type]
        for p in workers:
            p.join(30)
        assert [p.exitcode for p in workers] == [0, 0, 0]
    finally:
        for p in workers:
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
            p.join(10)
        receiver.close()
    _check_every_complaint(admin, schema, ids, receiver.keys)


def test_complaints_breach_under_sigkill_and_terminated_connections(db) -> None:  # type: ignore[no-untyped-def]
    _faults_run(db, complaints=400, budget=120)


@pytest.mark.slow
def test_ten_thousand_complaints_breach_under_sigkill_and_terminated_connections(db) -> None:  # type: ignore[no-untyped-def]
    _faults_run(db, complaints=10_000, budget=1800)


def _sigterm_run(db, backlog: int, batch: int) -> None:  # type: ignore[no-untyped-def]
    dsn, schema, _app, admin = db
    ids = fault_setup.seed(dsn, schema, backlog)
    receiver = fault_setup.Receiver()
    ctx = multiprocessing.get_context("spawn")
    wall0 = time.time()
    first = ctx.Process(target=fault_setup.worker_main,
                        args=(dsn, receiver.url, "first", wall0, batch), daemon=True)
    first.start()
    try:
        end = time.monotonic() + 120
        while _counts(admin, schema)[0] < batch and time.monotonic() < end:
            time.sleep(0.1)
        assert _counts(admin, schema)[0] >= batch, "the first worker never got going"
        t = time.monotonic()
        os.kill(first.pid, signal.SIGTERM)  # type: ignore[arg-type]
        first.join(60)
        stopped_in = time.monotonic() - t
        done_by_first = _counts(admin, schema)[0]
        print(f"stopped in {stopped_in:.2f} s after {done_by_first} of {backlog}")
        assert first.exitcode == 0
        assert done_by_first < backlog, "the backlog was drained instead of stopping"
        # Within one batch: a batch here takes well under the bound (a full backlog, minutes).
        assert stopped_in < 15
        second = ctx.Process(target=fault_setup.worker_main,
                             args=(dsn, receiver.url, "second", wall0, batch), daemon=True)
        second.start()
        end = time.monotonic() + 600
        while _counts(admin, schema) != (backlog, 0) and time.monotonic() < end:
            time.sleep(0.3)
        os.kill(second.pid, signal.SIGTERM)  # type: ignore[arg-type]
        second.join(60)
        assert second.exitcode == 0
    finally:
        for p in (first,):
            if p.is_alive():
                p.kill()
        receiver.close()
    _check_every_complaint(admin, schema, ids, receiver.keys)


def test_sigterm_under_a_backlog_stops_within_a_batch_and_the_next_worker_finishes(db) -> None:  # type: ignore[no-untyped-def]
    _sigterm_run(db, backlog=1_000, batch=100)


@pytest.mark.slow
def test_sigterm_under_a_20k_backlog_stops_within_a_batch(db) -> None:  # type: ignore[no-untyped-def]
    _sigterm_run(db, backlog=20_000, batch=200)
