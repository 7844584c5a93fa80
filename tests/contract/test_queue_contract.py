"""Queue queries give the same pages on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from servicewf.storage import Store
from tests.contract.backends import BACKENDS, make_store
from tests.queues.support import AGENTS, build, grouped_policy

# A fixed scenario: levels, VIPs, owners and gaps chosen so that every part of the order
# (rank, breach, due, age) decides somewhere.
STEPS: list[tuple[int, int, bool, int | None]] = [
    (0, 1, False, 0), (1, 3, False, 0), (2, 1, True, 0), (0, 2, False, 1), (30, 1, False, 0),
    (0, 0, False, 1), (5, 3, True, 1), (1, 2, False, 0), (0, 0, False, None),
    (48, 1, False, 1), (2, 2, True, 0),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def pages(store: Store) -> dict[str, Any]:
    s, clock = build(store, STEPS, sweep=True, policy=grouped_policy())
    q = s.queues
    out: dict[str, Any] = {}
    for agent in AGENTS:
        out[f"actor:{agent}"] = [(i.case.id, i.key) for i in q.inbox(actor=agent)]
        out[f"count:{agent}"] = q.count(actor=agent)
        out[f"page2:{agent}"] = [i.case.id for i in q.inbox(
            actor=agent, limit=2, after=q.inbox(actor=agent, limit=2).next)]
        out[f"filtered:{agent}"] = [i.case.id for i in q.inbox(
            actor=agent, process="complaint", state=["classified"])]
        out[f"level:{agent}"] = [i.case.id for i in q.inbox(actor=agent, level=2)]
    for tier in ("agent", "supervisor", "manager"):
        out[f"role:{tier}"] = [i.case.id for i in q.inbox(role=tier)]
        out[f"unassigned:{tier}"] = [i.case.id for i in q.inbox(role=tier, unassigned=True)]
    for group in ("front", "leads", "managers"):
        out[f"group:{group}"] = [i.case.id for i in q.inbox(group=group)]
        out[f"waiting:{group}"] = [i.case.id for i in q.inbox(group=group, unassigned=True)]
        out[f"gcount:{group}"] = q.count(group=group, unassigned=True)
        out[f"load:{group}"] = q.workload(group=group, now=clock.now(),
                                          within=dt.timedelta(days=2))
    out["workload"] = q.workload(now=clock.now())
    return out


def test_same_pages_on_every_store(store: Store) -> None:
    from servicewf.storage import MemoryStore

    got = pages(store)
    assert got == pages(MemoryStore())
    assert got["actor:ana"] and got["role:supervisor"] and got["unassigned:supervisor"]
    assert got["level:ana"] and len(got["level:ana"]) < len(got["actor:ana"])
    assert any(load.breached for load in got["workload"])
    assert got["group:front"] and got["waiting:leads"] and got["gcount:leads"] > 0
    assert any(load.due_soon for load in got["load:front"])


def test_indexes_are_used_for_an_inbox(store: Store) -> None:
    from servicewf.queues import Queues

    q = Queues(store)
    q.install()
    q.install()  # idempotent
    ddl = q.index_sql()
    assert (ddl == []) == (not hasattr(store, "tables"))
    if not ddl:
        return
    sql = q._sql
    import sqlalchemy as sa

    expr = sql.expr("o")
    plan_sql = (f"EXPLAIN {'' if sql.pg else 'QUERY PLAN '}SELECT id FROM {sql.name} "
                f"WHERE {expr} = 'ana' ORDER BY {sql.expr('k')} LIMIT 50")
    with sql.engine.connect() as conn:
        if sql.pg:
            conn.exec_driver_sql("SET enable_seqscan = off")
        plan = " ".join(str(r) for r in conn.execute(sa.text(plan_sql)).all())
    assert "cases_queue_o" in plan, plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan


def test_queries_leave_the_stores_transactions_atomic(store: Store) -> None:
    """A regression: the page reads' autocommit connection once went back to a shared pool,
    and a store's next transaction on it was not atomic. After queries, a write that fails
    half-way left a partial write (tests/storage/test_sql.py's fault tests, run after
    these). Every pooled connection stays in transaction mode."""
    import gc

    from servicewf.queues import Queues

    for _ in range(3):  # used, closed, and lost without closing
        q = Queues(store)
        q.inbox(actor="ana")
        q.close()
        q = Queues(store)
        q.inbox(actor="ana")
        del q
        gc.collect()
    engine = getattr(store, "engine", None)
    if engine is None:
        return
    if getattr(engine.pool, "borrowed_connections", False):
        # Django's own connection: autocommit is Django's mode between its atomic blocks,
        # and the store runs every call inside one. The queries must leave it open (they
        # once detached and closed it: "the connection is closed" for Django and the store).
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        return
    held = [engine.connect() for _ in range(3)]  # more than the queries ever took
    try:
        for conn in held:
            driver = conn.connection.driver_connection
            assert getattr(driver, "autocommit", False) is False
    finally:
        for conn in held:
            conn.close()
