"""Queue benchmark: the first page of an inbox among many open cases, against hand-written SQL.

    python benchmarks/queues.py [--quick] [--dsn postgresql://...]

* ``sqlite_inbox`` / ``pg_inbox``: ``Queues.inbox(actor=..., limit=50)`` — 50 cases of one
  owner among 1,000,000 open cases (20,000 owners) — against the same query written by hand
  (the same expression index, raw ``sqlite3`` / ``psycopg``, rows decoded from JSON).
  Targets: median <= 20 ms and ratio <= 1.5.

The rows are written in bulk (not through the engine: a million commands would take the run's
whole budget); each carries the queue state the QueueProcessor writes, its keys computed by
the same :func:`~servicewf.queues.sort_key`. PostgreSQL prints ``BENCH pg_inbox SKIP`` when no
server answers (a failure with ``SERVICEWF_REQUIRE_PG=1``). ``--quick`` (or
``SERVICEWF_BENCH_QUICK=1``): 20,000 cases, and a missed target is printed but not fatal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator

from servicewf.clock import epoch_us
from servicewf.queues import Queues, sort_key
from servicewf.storage.sql import SQLStore

PAGE = 50
PER_OWNER = 50
T0_US = epoch_us(__import__("pendulum").datetime(2026, 3, 1, 9, 0, tz="UTC"))
DATA = json.dumps({"channel": "phone", "customer_ref": "C-1", "content": "late delivery",
                   "tracker": "x", "level": "一般"}, ensure_ascii=False)


def rows(total: int) -> Iterator[tuple[str, int, str]]:
    """(case id, opened µs, extensions JSON) of ``total`` open complaints."""
    rnd = random.Random(7)
    owners = max(1, total // PER_OWNER)
    for i in range(total):
        cid = f"case-{i:07d}"
        opened = T0_US + i * 1_000_000
        rank = rnd.randrange(8)
        breached = rnd.random() < 0.1
        due = opened + rnd.randrange(1, 5 * 86_400) * 1_000_000
        owner = f"owner-{i % owners:05d}"  # PER_OWNER cases each
        queue = {"owner": owner, "owner_role": "agent", "group": "front", "tier": "agent",
                 "rank": rank, "breached": breached, "due": due, "open": True,
                 "k": sort_key(rank, breached, due, opened, cid), "o": owner, "g": "front",
                 "r": "agent"}
        yield cid, opened, json.dumps({"queue": queue})


def timed(fn: Callable[[], int], repeats: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        n = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), n


def report(name: str, ours: tuple[float, int], raw: tuple[float, int], total: int) -> bool:
    (o, n_ours), (r, n_raw) = ours, raw
    assert n_ours == n_raw, (n_ours, n_raw)
    ratio = o / r
    ok = ratio <= 1.5 and o <= 20
    print(f"{name}: first page ({n_ours} rows) of one owner among {total:,} open cases: "
          f"Queues.inbox median {o:.2f} ms, hand-written SQL {r:.2f} ms")
    print(f"BENCH {name} ratio={ratio:.2f} target=1.5 median_ms={o:.2f} max_ms=20 "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


def bench_sqlite(total: int, repeats: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "queues.db")
        SQLStore.sqlite(path).close()
        t0 = time.perf_counter()
        raw = sqlite3.connect(path)
        with raw:
            raw.executemany(
                "INSERT INTO cases (id, process, definition_version, state, version, opened_at,"
                " updated_at, data, extensions, schema_version) VALUES "
                "(?, 'complaint', 1, 'classified', 3, ?, ?, ?, ?, 1)",
                ((cid, opened, opened, DATA, ext) for cid, opened, ext in rows(total)))
        store = SQLStore.sqlite(path)
        queues = Queues(store)
        queues.install()
        raw.execute("ANALYZE")
        print(f"sqlite: loaded {total:,} cases and built the queue indexes in "
              f"{time.perf_counter() - t0:.1f}s")
        owner = "owner-00042"
        sql = ("SELECT id, process, definition_version, state, version, opened_at, updated_at,"
               " data, extensions, schema_version FROM cases WHERE "
               "json_extract(extensions, '$.queue.o') = ? "
               "ORDER BY json_extract(extensions, '$.queue.k') LIMIT ?")

        def ours() -> int:
            return len(queues.inbox(actor=owner, limit=PAGE))

        def by_hand() -> int:
            got = [(r[0], json.loads(r[7]), json.loads(r[8]))
                   for r in raw.execute(sql, (owner, PAGE))]
            return len(got)

        assert [i.case.id for i in queues.inbox(actor=owner, limit=PAGE)] == [
            r[0] for r in raw.execute(sql, (owner, PAGE))]
        ours(), by_hand()  # warm
        ok = report("sqlite_inbox", timed(ours, repeats), timed(by_hand, repeats), total)
        raw.close()
        store.close()
        return ok


def bench_pg(dsn: str, total: int, repeats: int) -> bool:
    import psycopg

    schema = f"swf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        store = SQLStore(dsn, schema=schema)
        t0 = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            with conn.cursor() as cur, cur.copy(
                    "COPY cases (id, process, definition_version, state, version, opened_at, "
                    "updated_at, data, extensions, schema_version) FROM STDIN") as copy:
                buf = io.StringIO()
                data = DATA.replace("\\", "\\\\")
                for i, (cid, opened, ext) in enumerate(rows(total)):
                    at = dt.datetime.fromtimestamp(opened / 1e6, dt.timezone.utc).isoformat()
                    buf.write(f"{cid}\tcomplaint\t1\tclassified\t3\t{at}\t{at}\t{data}\t"
                              f"{ext}\t1\n")
                    if i % 50_000 == 49_999:
                        copy.write(buf.getvalue())
                        buf = io.StringIO()
                copy.write(buf.getvalue())
            conn.commit()
        queues = Queues(store)
        queues.install()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ANALYZE "{schema}".cases')
        print(f"postgresql: loaded {total:,} cases and built the queue indexes in "
              f"{time.perf_counter() - t0:.1f}s")
        owner = "owner-00042"
        raw = psycopg.connect(dsn, autocommit=True)
        raw.execute(f'SET search_path TO "{schema}"')
        sql = ("SELECT id, process, definition_version, state, version, opened_at, updated_at,"
               " data, extensions, schema_version FROM cases WHERE "
               "(extensions -> 'queue' ->> 'o') = %s "
               "ORDER BY (extensions -> 'queue' ->> 'k') COLLATE \"C\" LIMIT %s")

        def ours() -> int:
            return len(queues.inbox(actor=owner, limit=PAGE))

        def by_hand() -> int:
            return len(raw.execute(sql, (owner, PAGE)).fetchall())

        assert [i.case.id for i in queues.inbox(actor=owner, limit=PAGE)] == [
            r[0] for r in raw.execute(sql, (owner, PAGE)).fetchall()]
        ours(), by_hand()
        plan = [r[0] for r in raw.execute("EXPLAIN (ANALYZE) " + sql, (owner, PAGE))]
        print("postgresql plan: " + plan[1].strip() + "; " + plan[-1].strip())
        ok = report("pg_inbox", timed(ours, repeats), timed(by_hand, repeats), total)
        raw.close()
        store.close()
        return ok
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pg_available(dsn: str) -> str | None:
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1",
                        help="smaller sizes (seconds), targets not fatal")
    parser.add_argument("--dsn", default=os.environ.get(
        "SERVICEWF_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--total", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("sqlite", "pg"), default=None,
                        help="run one of the two comparisons")
    args = parser.parse_args()
    quick = args.quick
    total = args.total or (20_000 if quick else 1_000_000)
    repeats = 15 if quick else 41
    ok = bench_sqlite(total, repeats) if args.only != "pg" else True
    if args.only == "sqlite":
        return 0 if ok or quick else 1
    problem = pg_available(args.dsn)
    if problem is not None:
        required = os.environ.get("SERVICEWF_REQUIRE_PG") == "1"
        print(f"PostgreSQL not reachable at {args.dsn} ({problem}); set SERVICEWF_PG_DSN"
              + ("; SERVICEWF_REQUIRE_PG=1: this is a failure" if required else ""))
        print("BENCH pg_inbox SKIP PostgreSQL not reachable")
        if required:
            return 1
    else:
        ok = bench_pg(args.dsn, total, repeats) and ok
    return 0 if ok or quick else 1


if __name__ == "__main__":
    sys.exit(main())
