"""Framework integrations benchmark: each against what a user would otherwise write, same run.

    python benchmarks/frameworks.py [--quick]

* ``aio_vs_to_thread``: 50 concurrent tasks firing on 10 cases through ``AsyncEngine`` on the
  asyncio SQLite store (aiosqlite) vs the same tasks calling the blocking ``Engine`` on
  ``SQLStore`` through ``asyncio.to_thread`` (what every user had to find out), retrying its
  ``StaleVersion`` refusals. Commands per second; target ratio >= 0.2: the asyncio store
  loads the case inside the command's transaction and runs SQLAlchemy Core on a bound view
  (the baseline's SQLStore keeps a compiled fast path and trusts its cached case). Its
  SQLite transactions run whole in one worker thread each: through aiosqlite (a thread
  round trip per cursor operation) the ratio was 0.06-0.15.
* ``aio_pg_vs_to_thread``: the same on PostgreSQL, psycopg's async mode against the
  blocking psycopg in threads. Target >= 0.5.
* ``django_store_vs_sqlstore``: ``Engine.fire`` on ``DjangoStore`` (Django's SQLite
  connection, each write in ``transaction.atomic()``) vs on ``SQLStore.sqlite`` (its own
  connection and compiled fast path) on the same kind of file. Target ratio >= 0.2.
* ``json_vs_by_hand``: ``servicewf.json.dumps(case)`` (cattrs) vs a hand-written
  ``json.dumps`` of the same fields (``dict(case.data)``, ``isoformat()``). Target >= 0.2.

``--quick`` (or ``SERVICEWF_BENCH_QUICK=1``): small sizes; a missed target is printed but not
fatal. Exits non-zero on a missed target otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

import pendulum

from servicewf import Actor, Case, DefinitionBuilder, Engine, FrozenClock, StaleVersion
from servicewf.storage.sql import SQLStore

T0 = pendulum.datetime(2026, 3, 1, 9, 0, tz="UTC")
AGENT = Actor("bench", "agent")
CASES = 10


def definition():  # type: ignore[no-untyped-def]
    return (DefinitionBuilder("bench", 1).add_state("open", initial=True)
            .add_state("closed", final=True).add_transition("note", "open", "=")
            .add_transition("close", "open", "closed").build())


async def _gather(fire, n: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    await asyncio.gather(*(fire(f"c{i % CASES}", i) for i in range(n)))
    return n / (time.perf_counter() - t0)


def ours_aio(url: str, n: int, schema: str | None = None) -> float:
    from servicewf.aio import AsyncEngine, AsyncSQLStore

    async def main() -> float:
        store = await AsyncSQLStore.open(url, schema=schema, prefix="aio_")
        engine = AsyncEngine(store, FrozenClock(T0), [definition()])
        for i in range(CASES):
            await engine.open("bench", actor=AGENT, case_id=f"c{i}")

        async def fire(cid: str, i: int) -> None:
            await engine.fire(cid, "note", actor=AGENT, data={"n": i})
        rate = await _gather(fire, n)
        await store.close()
        return rate
    return asyncio.run(main())


def baseline_to_thread(url: str, n: int, schema: str | None = None) -> float:
    async def main() -> float:
        store = SQLStore(url, schema=schema, prefix="thread_")
        engine = Engine(store, FrozenClock(T0), [definition()])
        for i in range(CASES):
            engine.open("bench", actor=AGENT, case_id=f"c{i}")

        async def fire(cid: str, i: int) -> None:
            while True:
                try:
                    await asyncio.to_thread(engine.fire, cid, "note", actor=AGENT,
                                            data={"n": i})
                    return
                except StaleVersion:
                    continue
        rate = await _gather(fire, n)
        store.close()
        return rate
    return asyncio.run(main())


def bench_pg(dsn: str, n: int) -> bool:
    """``aio_pg_vs_to_thread``: the same on PostgreSQL (psycopg's async mode against the
    blocking psycopg in threads), in a schema of its own."""
    try:
        import psycopg

        admin = psycopg.connect(dsn, connect_timeout=3, autocommit=True)
    except Exception as exc:
        required = os.environ.get("SERVICEWF_REQUIRE_PG") == "1"
        print(f"BENCH aio_pg_vs_to_thread SKIP PostgreSQL not reachable ({type(exc).__name__})")
        return not required
    schema = f"bench_aio_{os.getpid()}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        ours = ours_aio(dsn, n, schema)
        base = baseline_to_thread(dsn, n, schema)
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
    return line("aio_pg_vs_to_thread", ours / base, 0.5, ours=ours, peer=base)


def _sequential(engine: Engine, n: int) -> float:
    cases = [engine.open("bench", actor=AGENT, case_id=f"c{i}") for i in range(CASES)]
    t0 = time.perf_counter()
    for i in range(n):
        k = i % CASES
        cases[k] = engine.fire(cases[k], "note", actor=AGENT, data={"n": i})
    return n / (time.perf_counter() - t0)


def ours_django(directory: str, n: int) -> float:
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": os.path.join(directory, "django.db"),
                               "OPTIONS": {"transaction_mode": "IMMEDIATE",
                                           "init_command": "PRAGMA journal_mode=WAL; "
                                                           "PRAGMA synchronous=NORMAL;"}}},
        INSTALLED_APPS=["servicewf.contrib.django"], USE_TZ=True)
    django.setup()
    from servicewf.contrib.django import DjangoStore

    store = DjangoStore(create=True)
    return _sequential(Engine(store, FrozenClock(T0), [definition()]), n)


def baseline_sqlstore(directory: str, n: int) -> float:
    store = SQLStore.sqlite(os.path.join(directory, "own.db"))
    try:
        return _sequential(Engine(store, FrozenClock(T0), [definition()]), n)
    finally:
        store.close()


def json_rates(n: int) -> tuple[float, float]:
    from servicewf.json import dumps

    case = Case("T-1", "ticket", 1, "open", 7, T0, T0,
                {"customer": "张三", "contacts": [{"phone": "138", "kind": "mobile"}],
                 "amount": 12.5, "tags": ["vip", "late"]}, {"sla": {"v": 1, "clocks": []}})

    def by_hand(c: Case) -> str:
        return json.dumps({"id": c.id, "process": c.process,
                           "definition_version": c.definition_version, "state": c.state,
                           "version": c.version, "opened_at": c.opened_at.isoformat(),
                           "updated_at": c.updated_at.isoformat(), "data": dict(c.data),
                           "extensions": dict(c.extensions)}, ensure_ascii=False)

    def rate(fn) -> float:  # type: ignore[no-untyped-def]
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                fn(case)
            best = max(best, n / (time.perf_counter() - t0))
        return best
    return rate(dumps), rate(by_hand)


def line(name: str, ratio: float, target: float, **extra: float) -> bool:
    ok = ratio >= target
    more = "".join(f" {k}={v:.0f}/s" for k, v in extra.items())
    print(f"BENCH {name} ratio={ratio:.2f} target={target}{more} {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SERVICEWF_BENCH_QUICK") == "1")
    parser.add_argument("--dsn", default=os.environ.get(
        "SERVICEWF_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args(argv)
    n = 300 if args.quick else 3000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = ours_aio(f"sqlite:///{tmp}/aio.db", n)
        base = baseline_to_thread(f"sqlite:///{tmp}/thread.db", n)
        results.append(line("aio_vs_to_thread", ours / base, 0.2, ours=ours, peer=base))
        results.append(bench_pg(args.dsn, n))
        ours = ours_django(tmp, n)
        base = baseline_sqlstore(tmp, n)
        results.append(line("django_store_vs_sqlstore", ours / base, 0.2, ours=ours,
                            peer=base))
    ours, base = json_rates(2_000 if args.quick else 20_000)
    results.append(line("json_vs_by_hand", ours / base, 0.2, ours=ours, peer=base))
    return 0 if all(results) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
