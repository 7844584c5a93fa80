"""Complaints that breach, on PostgreSQL, for the fault tests: seeding in SQL, the workers'
app (the built-in stack with a short lease and a webhook), a webhook receiver that counts
deliveries. Importable by spawned worker processes (everything from plain arguments)."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

from servicewf.clock import Clock, as_utc

LEASE = dt.timedelta(seconds=2)
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Shanghai
LATE = START + dt.timedelta(days=30)
"""After every seeded complaint's resolution deadline (a few working days)."""


class RunningClock:
    """Real time shifted to start at ``start`` when the wall clock read ``wall0``: shared by
    processes, so leases lapse as real time passes."""

    def __init__(self, start: dt.datetime, wall0: float) -> None:
        self.start = start
        self.wall0 = wall0

    def now(self):  # type: ignore[no-untyped-def]
        return as_utc(self.start + dt.timedelta(seconds=time.time() - self.wall0))


def seed(dsn: str, schema: str, n: int) -> list[str]:
    """``n`` acknowledged complaints of level 一般 (resolution: 3 working days), copied in SQL
    from one the engine walked there (only the case id differs between them)."""
    from servicewf.processes.stack import builtin_stack
    from servicewf.storage.sql import SQLStore, normalize_url
    from tests.processes.support import Harness
    from tests.processes.test_complaint import to_acknowledged

    store = SQLStore(dsn, schema=schema)
    h = Harness()
    h.engine = builtin_stack(store, h.clock).engine
    template = to_acknowledged(h)
    store.close()
    q = f'"{schema}"'
    new_id = "'c' || lpad(g::text, 6, '0')"
    admin = sa.create_engine(normalize_url(dsn))
    with admin.begin() as conn:
        p = {"n": n, "t": template.id}
        conn.execute(sa.text(
            f"INSERT INTO {q}.cases SELECT {new_id}, process, definition_version, state, version,"
            f" opened_at, updated_at, data, extensions, schema_version FROM {q}.cases c,"
            f" generate_series(1, :n) g WHERE c.id = :t"), p)
        conn.execute(sa.text(
            f"INSERT INTO {q}.events (case_id, seq, at, kind, actor_id, role, trigger, source,"
            f" dest, data, comment) SELECT {new_id}, seq, at, kind, actor_id, role, trigger,"
            f" source, dest, data, comment FROM {q}.events e, generate_series(1, :n) g"
            f" WHERE e.case_id = :t ORDER BY g, seq"), p)
        conn.execute(sa.text(
            f"INSERT INTO {q}.timers SELECT {new_id}, name, due, process, payload, NULL, NULL"
            f" FROM {q}.timers t, generate_series(1, :n) g WHERE t.case_id = :t"), p)
        for table, key in (("timers", "case_id"), ("events", "case_id"), ("cases", "id")):
            conn.execute(sa.text(f"DELETE FROM {q}.{table} WHERE {key} = :t"), p)
    admin.dispose()
    return [f"c{i:06d}" for i in range(1, n + 1)]


def make_app(store: Any, clock: Clock, *, owner: str, batch: int, url: str) -> Any:
    """The built-in stack with a short lease (a killed worker's claims lapse in seconds)
    and the outbox delivered to ``url``, leased as briefly."""
    from servicewf.outbox import Dispatcher, RetryPolicy, WebhookSender
    from servicewf.processes.notices import builtin_messages
    from servicewf.processes.stack import builtin_stack
    from servicewf.scheduler import DispatchPass
    from servicewf.sla import Sweeper
    from servicewf.worker import WorkerApp

    stack = builtin_stack(store, clock, owner=owner, batch=batch, messages=builtin_messages())
    sweeper = Sweeper(stack.engine, stack.sla, owner=owner, batch=batch, lease=LEASE,
                      handlers=[stack.obligations])
    retry = RetryPolicy(max_attempts=1000, base_delay=dt.timedelta(milliseconds=200),
                        max_delay=dt.timedelta(seconds=1))
    dispatcher = Dispatcher(store, clock, {"*": WebhookSender(url, timeout=5)}, owner=owner,
                            lease=LEASE, batch=batch, retry=retry)
    return WorkerApp(sweeper.add_pass(DispatchPass(dispatcher)))


def worker_main(db: str, url: str, owner: str, wall0: float, batch: int,
                ready: Any = None) -> None:
    """A worker process: ``run_worker`` until SIGTERM, as ``servicewf worker --app`` runs.

    ``ready`` (a multiprocessing event) is set once a SIGTERM is a clean stop: a signal that
    arrives while a spawned interpreter is still importing this module is the interpreter's
    default (killed), as for any Python program, and not what the tests are about."""
    import functools
    import logging
    import signal
    import threading

    from servicewf.worker import run_worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    if ready is not None:
        ready.set()
    logging.basicConfig(level=logging.WARNING)
    clock = RunningClock(LATE, wall0)
    raise SystemExit(run_worker(db, interval=0.05, owner=owner, batch=batch, clock=clock,
                                stop=stop, app=functools.partial(make_app, url=url)))


class Receiver:
    """A webhook on 127.0.0.1 that accepts every POST and counts its Idempotency-Key."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        lock = threading.Lock()
        keys = self.keys

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    keys[self.headers["Idempotency-Key"]] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
