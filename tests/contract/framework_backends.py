"""The framework stores the contract runs against: the asyncio store (driven through a
blocking adapter, so every contract test applies to it unchanged) and the Django store."""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import pytest

from servicewf.aio import AsyncSQLStore
from servicewf.case import Case
from servicewf.events import Event
from servicewf.storage.base import (
    LogEntry,
    OutboxEntry,
    QuarantinedTimer,
    Store,
    Timer,
    WriteSet,
)

R = TypeVar("R")


class BlockingAsyncStore(Store):
    """A :class:`Store` whose every call is a call of an :class:`AsyncSQLStore`, awaited on
    an event loop of its own (in a thread): the contract, written for blocking stores, then
    checks the asyncio store as it is."""

    def __init__(self, opener: Callable[[], Coroutine[Any, Any, AsyncSQLStore]]) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.astore = self.call(opener())

    def call(self, coro: Coroutine[Any, Any, R]) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def _apply(self, write: WriteSet) -> None:
        self.call(self.astore.append(write))

    def append_all(self, writes: Sequence[WriteSet]) -> None:
        self.call(self.astore.append_all(writes))

    def load(self, case_id: str) -> Case:
        return self.call(self.astore.load(case_id))

    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        return self.call(self.astore.history(case_id, after=after))

    def read_log(self, after: int = 0, *, limit: int | None = None) -> list[LogEntry]:
        return self.call(self.astore.read_log(after, limit=limit))

    def find(self, *, process: str | None = None, state: str | Iterable[str] | None = None,
             limit: int | None = None) -> list[Case]:
        return self.call(self.astore.find(process=process, state=state, limit=limit))

    def count(self, *, process: str | None = None,
              state: str | Iterable[str] | None = None) -> int:
        return self.call(self.astore.count(process=process, state=state))

    def timers(self, case_id: str) -> list[Timer]:
        return self.call(self.astore.timers(case_id))

    def set_timers(self, case_id: str, timers: Sequence[Timer], *, prefix: str = "") -> None:
        self.call(self.astore.set_timers(case_id, timers, prefix=prefix))

    def due_timers(self, now: _dt.datetime, *, limit: int | None = None,
                   process: str | None = None) -> list[Timer]:
        return self.call(self.astore.due_timers(now, limit=limit, process=process))

    def claim_due_timers(self, now: _dt.datetime, *, owner: str, lease: _dt.timedelta,
                         limit: int, process: str | None = None,
                         on_corrupt: Callable[[QuarantinedTimer], None] | None = None,
                         ) -> list[Timer]:
        return self.call(self.astore.claim_due_timers(
            now, owner=owner, lease=lease, limit=limit, process=process, on_corrupt=on_corrupt))

    def quarantine_timer(self, case_id: str, name: str, *, now: _dt.datetime, reason: str,
                         backoff: _dt.timedelta) -> QuarantinedTimer | None:
        return self.call(self.astore.quarantine_timer(case_id, name, now=now, reason=reason,
                                                      backoff=backoff))

    def quarantined_timers(self) -> list[QuarantinedTimer]:
        return self.call(self.astore.quarantined_timers())

    def claim_outbox(self, now: _dt.datetime, *, owner: str, lease: _dt.timedelta, limit: int,
                     recipient: str | None = None) -> list[OutboxEntry]:
        return self.call(self.astore.claim_outbox(now, owner=owner, lease=lease, limit=limit,
                                                  recipient=recipient))

    def mark_delivered(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        return self.call(self.astore.mark_delivered(message_id, now=now))

    def mark_delivered_many(self, message_ids: Sequence[str], *, now: _dt.datetime) -> None:
        self.call(self.astore.mark_delivered_many(message_ids, now=now))

    def mark_failed(self, message_id: str, *, now: _dt.datetime, error: str, max_attempts: int,
                    base_delay: _dt.timedelta, max_delay: _dt.timedelta) -> OutboxEntry:
        return self.call(self.astore.mark_failed(message_id, now=now, error=error,
                                                 max_attempts=max_attempts,
                                                 base_delay=base_delay, max_delay=max_delay))

    def requeue(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        return self.call(self.astore.requeue(message_id, now=now))

    def outbox(self, *, status: str | None = None, case_id: str | None = None,
               limit: int | None = None) -> list[OutboxEntry]:
        return self.call(self.astore.outbox(status=status, case_id=case_id, limit=limit))

    def count_outbox(self, *, status: str | None = None) -> int:
        return self.call(self.astore.count_outbox(status=status))

    def drop_tables(self) -> None:
        self.call(self.astore.drop_tables())

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.call(self.astore.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def async_opener(kind: str, request: pytest.FixtureRequest,
                 prefix: str) -> Callable[[], Coroutine[Any, Any, AsyncSQLStore]]:
    """How to open the asyncio store of ``kind`` (``async-sqlite``, ``async-postgresql``)."""
    if kind in ("async-sqlite", "async-aiosqlite"):
        path = request.getfixturevalue("tmp_path") / "async.db"
        threads = kind == "async-sqlite"  # async-aiosqlite: every transaction on aiosqlite
        return lambda: AsyncSQLStore.open(f"sqlite:///{path}", sqlite_threads=threads)
    dsn, schema = request.getfixturevalue("pg_schema")
    return lambda: AsyncSQLStore.open(dsn, schema=schema, prefix=prefix)


def make_framework_store(kind: str, request: pytest.FixtureRequest,
                         prefix: str) -> Iterator[Store]:
    """Yield a fresh store of a framework ``kind``; cleaned up afterwards."""
    if kind.startswith("async-"):
        store = BlockingAsyncStore(async_opener(kind, request, prefix))
        try:
            yield store
        finally:
            if kind == "async-postgresql":
                store.drop_tables()
            store.close()
        return
    if kind.startswith("django-"):
        from tests.frameworks.django_env import django_setup

        django_setup()
        from servicewf.contrib.django import DjangoStore

        if kind == "django-sqlite":
            store: Store = DjangoStore("default", create=True, prefix=prefix)
        else:
            schema = request.getfixturevalue("pg_schema")[1]
            store = DjangoStore("pg", create=True, prefix=prefix, schema=schema)
        try:
            yield store
        finally:
            store.drop_tables()
            _close_django_connections()
        return
    raise ValueError(f"unknown backend {kind!r}")


def _close_django_connections() -> None:
    from django.db import connections

    connections.close_all()


def another_framework_store(kind: str, store: Store) -> Store:
    """A second store on the same data (another asyncio engine; for Django, another store
    on the same database alias: each thread has its own Django connection)."""
    if kind.startswith("django-"):
        from servicewf.contrib.django import DjangoStore

        assert isinstance(store, DjangoStore)
        tables = store.tables
        return DjangoStore(store.using, prefix=tables.cases.name.removesuffix("cases"),
                           schema=tables.cases.schema)
    assert isinstance(store, BlockingAsyncStore)
    engine = store.astore.engine
    tables = store.astore.tables
    prefix = tables.cases.name.removesuffix("cases")
    url = engine.url
    threads = kind != "async-aiosqlite"
    return BlockingAsyncStore(lambda: AsyncSQLStore.open(url, schema=tables.cases.schema,
                                                         prefix=prefix, sqlite_threads=threads))
