"""Storage benchmark: SQLStore against hand-written SQL doing the same writes, same run.

    python benchmarks/storage.py [--quick] [--dsn postgresql://...]

* ``sqlite_commit``: committed transitions per second through ``Engine.fire`` on a SQLite WAL
  file vs raw ``sqlite3`` doing one snapshot UPDATE + one event INSERT per commit (same
  pragmas). Targets: ratio >= 0.79 (issue #20's floor; the aim is 0.9) and >= 5000
  transitions/s.
* ``pg_4proc``: 4 processes firing through the engine on PostgreSQL vs 4 processes of raw
  psycopg doing the same writes, except the shared log lock (its event positions come from
  the identity sequence with no guard): the ratio includes what ordering the log costs a
  writer. Target ratio >= 0.5.
* ``pg_due_timers``: ``due_timers(now, limit=1000)`` with 1,000,000 timers of which 1,000 are
  due: median <= 20 ms and <= 2x the same query by hand in psycopg.
* ``memory_due_timers``: ``MemoryStore.due_timers(now, limit=1000)`` and
  ``claim_due_timers(..., limit=100)`` with 1,000 due timers among 20,000 and among 200,000:
  the due-time index makes the cost depend on the due timers, not on all of them, so ten times
  more timers may cost at most 2x (a scan of every timer costs about 10x).

PostgreSQL parts print ``BENCH <name> SKIP <reason>`` when no server answers at ``--dsn``
(default ``$SERVICEWF_PG_DSN`` or ``postgresql://postgres@127.0.0.1:5432/test``); with
``SERVICEWF_REQUIRE_PG=1`` (CI) that is a failure. Exits non-zero when a target is missed.
``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): smaller sizes, and a missed target is printed but
not fatal (CI smoke run: only a crash or a required PostgreSQL that does not answer fails).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

import pendulum

from servicewf import Actor, DefinitionBuilder, Engine, FrozenClock, ProcessDefinition
from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.events import Event, EventKind
from servicewf.storage import MemoryStore, Timer
from servicewf.storage.sql import SQLStore

T0 = pendulum.datetime(2026, 3, 1, 9, 0, tz="UTC")
AGENT = Actor("bench", "agent")
CASES = 100


def definition() -> ProcessDefinition:
    return (
        DefinitionBuilder("bench", 1)
        .add_state("open", initial=True)
        .add_state("closed", final=True)
        .add_transition("note", "open", "=")
        .add_transition("close", "open", "closed")
        .build()
    )


# --- (a) SQLite ---------------------------------------------------------------------------


def ours_sqlite(path: str, n: int) -> float:
    store = SQLStore.sqlite(path)
    clock = FrozenClock(T0)
    engine = Engine(store, clock, [definition()])
    cases = [engine.open("bench", actor=AGENT, case_id=f"c{i}", data={"客户": "张三"})
             for i in range(CASES)]
    t0 = time.perf_counter()
    for i in range(n):
        k = i % CASES
        cases[k] = engine.fire(cases[k], "note", actor=AGENT, data={"n": i})
    elapsed = time.perf_counter() - t0
    assert store.load("c0").version == cases[0].version
    store.close()
    return n / elapsed


def raw_sqlite(path: str, n: int) -> float:
    setup = SQLStore.sqlite(path)  # same tables and indexes
    setup.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    now = epoch_us(T0)
    versions = [1] * CASES
    for i in range(CASES):
        db.execute("INSERT INTO cases VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (f"c{i}", "bench", 1, "open", 1, now, now, json.dumps({"客户": "张三"}), "{}",
                    1))
    update = ("UPDATE cases SET state=?, version=?, updated_at=?, data=?, extensions=? "
              "WHERE id=? AND version=?")
    # The log position as the store writes it (a NOT NULL column): max + 1 under the lock.
    insert = ("INSERT INTO events (case_id, seq, at, kind, actor_id, role, \"trigger\", source, "
              "dest, data, comment, position) VALUES (?,?,?,?,?,?,?,?,?,?,?, "
              "coalesce((SELECT max(position) FROM events), 0) + 1)")
    t0 = time.perf_counter()
    for i in range(n):
        k = i % CASES
        cid, v = f"c{k}", versions[k]
        at = epoch_us(T0)
        data = json.dumps({"n": i}, ensure_ascii=False)
        db.execute("BEGIN IMMEDIATE")
        cur = db.execute(update, ("open", v + 1, at, json.dumps({"客户": "张三", "n": i},
                                                                ensure_ascii=False), "{}",
                                  cid, v))
        if cur.rowcount != 1:
            raise RuntimeError("lost update")
        db.execute(insert, (cid, v + 1, at, "transition", "bench", "agent", "note", "open",
                            "open", data, None))
        db.execute("COMMIT")
        versions[k] = v + 1
    elapsed = time.perf_counter() - t0
    db.close()
    return n / elapsed


def bench_sqlite(n: int, rounds: int) -> bool:
    ours_rates, raw_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):  # alternate, keep the best of each (the machine is shared)
            ours_rates.append(ours_sqlite(os.path.join(tmp, f"ours{r}.db"), n))
            raw_rates.append(raw_sqlite(os.path.join(tmp, f"raw{r}.db"), n))
    ours, raw = max(ours_rates), max(raw_rates)
    ratio = ours / raw
    print(f"sqlite: Engine.fire + SQLStore {ours:,.0f} transitions/s; raw sqlite3 {raw:,.0f} "
          f"commits/s ({n} commits, best of {rounds})")
    ok_ratio, ok_rate = ratio >= 0.79, ours >= 5000
    print(f"BENCH sqlite_commit ratio={ratio:.2f} target=0.79 rate={ours:.0f}/s min_rate=5000/s "
          f"{'PASS' if ok_ratio and ok_rate else 'FAIL'}")
    return ok_ratio and ok_rate


# --- (b) PostgreSQL, 4 processes ----------------------------------------------------------


def pg_worker(kind: str, dsn: str, schema: str, worker: int, n: int, barrier: Any) -> float:
    ids = [f"w{worker}-c{i}" for i in range(CASES // 4)]
    if kind == "ours":
        store = SQLStore(dsn, schema=schema)
        engine = Engine(store, FrozenClock(T0), [definition()])
        cases = [engine.open("bench", actor=AGENT, case_id=cid, data={"客户": "张三"})
                 for cid in ids]
        barrier.wait(60)
        t0 = time.perf_counter()
        for i in range(n):
            k = i % len(ids)
            cases[k] = engine.fire(cases[k], "note", actor=AGENT, data={"n": i})
        elapsed = time.perf_counter() - t0
        store.close()
        return elapsed
    import psycopg
    from psycopg.types.json import Json

    conn = psycopg.connect(dsn)
    conn.execute(f'SET search_path TO "{schema}"')
    now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
    with conn.transaction():
        for cid in ids:
            conn.execute("INSERT INTO cases VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                         (cid, "bench", 1, "open", 1, now, now, Json({"客户": "张三"}),
                          Json({}), 1))
    conn.commit()
    versions = [1] * len(ids)
    barrier.wait(60)
    t0 = time.perf_counter()
    for i in range(n):
        k = i % len(ids)
        v = versions[k]
        with conn.transaction():
            cur = conn.execute(
                "UPDATE cases SET state=%s, version=%s, updated_at=%s, data=%s, extensions=%s "
                "WHERE id=%s AND version=%s",
                ("open", v + 1, now, Json({"客户": "张三", "n": i}), Json({}), ids[k], v))
            if cur.rowcount != 1:
                raise RuntimeError("lost update")
            conn.execute(
                'INSERT INTO events (case_id, seq, at, kind, actor_id, role, "trigger", source,'
                " dest, data, comment) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (ids[k], v + 1, now, "transition", "bench", "agent", "note", "open", "open",
                 Json({"n": i}), None))
        versions[k] = v + 1
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def _fresh_schema(dsn: str) -> str:
    import psycopg

    schema = f"swf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pg_rate(kind: str, dsn: str, n: int) -> float:
    schema = _fresh_schema(dsn)
    try:
        SQLStore(dsn, schema=schema).close()
        ctx = multiprocessing.get_context("spawn")
        with ctx.Manager() as manager, ctx.Pool(4) as pool:
            barrier = manager.Barrier(4)
            elapsed = pool.starmap(pg_worker, [(kind, dsn, schema, w, n, barrier)
                                               for w in range(4)], chunksize=1)
        return 4 * n / max(elapsed)
    finally:
        _drop_schema(dsn, schema)


def bench_pg_4proc(dsn: str, n: int, rounds: int = 2) -> bool:
    ours = max(pg_rate("ours", dsn, n) for _ in range(rounds))
    raw = max(pg_rate("raw", dsn, n) for _ in range(rounds))
    ratio = ours / raw
    print(f"postgresql, 4 processes: Engine.fire + SQLStore {ours:,.0f} transitions/s; raw "
          f"psycopg {raw:,.0f} commits/s")
    print(f"BENCH pg_4proc ratio={ratio:.2f} target=0.5 {'PASS' if ratio >= 0.5 else 'FAIL'}")
    return ratio >= 0.5


# --- (c) PostgreSQL due timers ------------------------------------------------------------


def bench_pg_due(dsn: str, total: int, due: int, repeats: int) -> bool:
    import psycopg

    schema = _fresh_schema(dsn)
    try:
        store = SQLStore(dsn, schema=schema)
        now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
        t0 = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            with conn.cursor() as cur, cur.copy(
                    "COPY timers (case_id, name, due, process, payload) FROM STDIN") as copy:
                buf = io.StringIO()
                for i in range(total):
                    # `due` timers in the past, the rest spread over the next year.
                    offset = -(i + 1) if i < due else 60 + (i * 31) % (365 * 86400)
                    at = (now + dt.timedelta(seconds=offset)).isoformat()
                    buf.write(f"case-{i:07d}\tsla:resolve\t{at}\tcomplaint\t"
                              f'{{"level":{i % 3}}}\n')
                    if i % 50_000 == 49_999:
                        copy.write(buf.getvalue())
                        buf = io.StringIO()
                copy.write(buf.getvalue())
            conn.execute("ANALYZE timers")
            conn.commit()
        print(f"loaded {total:,} timers ({due:,} due) in {time.perf_counter() - t0:.1f}s")

        def ours() -> int:
            return len(store.due_timers(now, limit=1000))

        raw_conn = psycopg.connect(dsn)
        raw_conn.execute(f'SET search_path TO "{schema}"')
        raw_conn.commit()

        def raw() -> int:
            rows = raw_conn.execute(
                "SELECT case_id, name, due, process, payload FROM timers WHERE due <= %s "
                "ORDER BY due, case_id, name LIMIT 1000", (now,)).fetchall()
            raw_conn.commit()
            return len(rows)

        assert ours() == raw() == min(due, 1000)
        ours_ms, raw_ms = [], []
        for _ in range(repeats):
            for fn, times in ((ours, ours_ms), (raw, raw_ms)):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1000)
        raw_conn.close()
        store.close()
    finally:
        _drop_schema(dsn, schema)
    o, r = statistics.median(ours_ms), statistics.median(raw_ms)
    ratio = o / r
    ok = ratio <= 2 and o <= 20
    print(f"due_timers(limit=1000) of {total:,}: SQLStore median {o:.2f} ms, raw psycopg "
          f"{r:.2f} ms")
    print(f"BENCH pg_due_timers ratio={ratio:.2f} target=2 median_ms={o:.2f} max_ms=20 "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


# --- (d) in-memory due timers -------------------------------------------------------------


def _memory_store(total: int, due: int) -> MemoryStore:
    """``total`` cases with one timer each; ``due`` of them are due at T0."""
    store = MemoryStore()
    for i in range(total):
        cid = f"case-{i:07d}"
        at = T0.subtract(seconds=i + 1) if i < due else T0.add(seconds=60 + (i * 31) % 86400)
        case = Case(cid, "complaint", 1, "open", 1, T0, T0)
        event = Event(cid, 1, T0, EventKind.OPENED, "bench", "agent", None, None, "open")
        store.create(case, [event], [Timer(cid, "sla:resolve", at, "complaint")])
    return store


def _memory_due_ms(total: int, due: int, repeats: int) -> tuple[float, float]:
    """Median ms of due_timers(limit=1000) and of claim_due_timers(limit=100)."""
    store = _memory_store(total, due)
    lease = dt.timedelta(minutes=5)
    assert len(store.due_timers(T0, limit=1000)) == min(due, 1000)
    due_ms, claim_ms = [], []
    for r in range(repeats):
        t = time.perf_counter()
        store.due_timers(T0, limit=1000)
        due_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        # A new owner each time: it skips the timers the earlier owners hold.
        got = store.claim_due_timers(T0, owner=f"w{r}", lease=lease, limit=100)
        claim_ms.append((time.perf_counter() - t) * 1000)
        assert len(got) == max(0, min(100, due - r * 100))
    return statistics.median(due_ms), statistics.median(claim_ms)


def bench_memory_due(small: int, large: int, due: int, repeats: int) -> bool:
    due_s, claim_s = _memory_due_ms(small, due, repeats)
    due_l, claim_l = _memory_due_ms(large, due, repeats)
    ratio = max(due_l / due_s, claim_l / claim_s)
    ok = ratio <= 2
    print(f"MemoryStore, {due:,} due: due_timers(limit=1000) {due_s:.2f} ms of {small:,} timers, "
          f"{due_l:.2f} ms of {large:,}; claim_due_timers(limit=100) {claim_s:.3f} ms, "
          f"{claim_l:.3f} ms")
    print(f"BENCH memory_due_timers ratio={ratio:.2f} target=2 {'PASS' if ok else 'FAIL'}")
    return ok


def pg_available(dsn: str) -> str | None:
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="smaller sizes (seconds), targets not fatal")
    parser.add_argument("--dsn", default=os.environ.get(
        "SERVICEWF_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    quick = args.quick
    problem = pg_available(args.dsn)
    if problem is not None:
        required = os.environ.get("SERVICEWF_REQUIRE_PG") == "1"
        print(f"PostgreSQL not reachable at {args.dsn} ({problem}); set SERVICEWF_PG_DSN"
              + ("; SERVICEWF_REQUIRE_PG=1: this is a failure" if required else ""))
        for name in ("pg_4proc", "pg_due_timers"):
            print(f"BENCH {name} SKIP PostgreSQL not reachable")
        if required:  # a comparison that must run cannot: fail now
            return 1
    ok = bench_sqlite(1000 if quick else 10000, 3 if quick else 5)
    if quick:
        ok = bench_memory_due(2_000, 20_000, 200, 5) and ok
    else:
        ok = bench_memory_due(20_000, 200_000, 1000, 9) and ok
    if problem is None:
        ok = bench_pg_4proc(args.dsn, 50 if quick else 1500, 1 if quick else 2) and ok
        ok = bench_pg_due(args.dsn, 20_000 if quick else 1_000_000, 1000,
                          9 if quick else 31) and ok
    return 0 if ok or quick else 1


if __name__ == "__main__":
    sys.exit(main())
