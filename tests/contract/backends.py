"""The store backends the contract runs against, and small value builders."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pendulum
import pytest

from servicewf.case import Case
from servicewf.events import Event, EventKind
from servicewf.storage import MemoryStore, Store, Timer
from servicewf.storage.sql import SQLStore

T0 = pendulum.datetime(2026, 3, 1, 9, 0, 0, 123456, tz="UTC")

_prefixes = itertools.count()

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    # servicewf.aio and servicewf.contrib.django (see framework_backends.py)
    pytest.param("async-sqlite", id="async-sqlite"),
    pytest.param("async-postgresql", id="async-postgresql", marks=pytest.mark.postgres),
    pytest.param("async-aiosqlite", id="async-aiosqlite"),
    pytest.param("django-sqlite", id="django-sqlite"),
    pytest.param("django-postgresql", id="django-postgresql", marks=pytest.mark.postgres),
]
SQL_BACKENDS = [p for p in BACKENDS if p.id in ("sqlite", "postgresql")]
"""The SQLStore backends (tests that reach into its tables)."""


def make_store(kind: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """Yield a fresh, empty store of ``kind``; cleaned up afterwards."""
    if kind == "memory":
        yield MemoryStore()
        return
    if kind not in ("sqlite", "postgresql"):
        from .framework_backends import make_framework_store

        yield from make_framework_store(kind, request, f"t{next(_prefixes)}_")
        return
    if kind == "sqlite":
        tmp = request.getfixturevalue("tmp_path")
        store = SQLStore.sqlite(tmp / "store.db")
        try:
            yield store
        finally:
            store.close()
        return
    engine = request.getfixturevalue("pg_engine")
    schema = request.getfixturevalue("pg_schema")[1]
    # A prefix per test: a test that fails half-way leaves nothing behind for the next one.
    store = SQLStore(engine, schema=schema, prefix=f"t{next(_prefixes)}_")
    try:
        yield store
    finally:
        store.drop_tables()
        store.close()


def case(
    cid: str = "c1", *, state: str = "new", version: int = 1, process: str = "ticket",
    at: pendulum.DateTime = T0, data: Mapping[str, Any] | None = None,
    extensions: Mapping[str, Any] | None = None, opened_at: pendulum.DateTime | None = None,
) -> Case:
    return Case(cid, process, 1, state, version, opened_at or T0, at, data or {},
                extensions or {})


def opened(cid: str = "c1", *, at: pendulum.DateTime = T0, state: str = "new",
           data: Mapping[str, Any] | None = None) -> Event:
    return Event(cid, 1, at, EventKind.OPENED, "u1", "agent", None, None, state, data or {})


def moved(cid: str, seq: int, source: str, dest: str, *, at: pendulum.DateTime = T0,
          data: Mapping[str, Any] | None = None, comment: str | None = None) -> Event:
    return Event(cid, seq, at, EventKind.TRANSITION, "u1", "agent", f"to_{dest}", source, dest,
                 data or {}, comment)


def timer(cid: str, name: str, due: pendulum.DateTime, *, process: str = "ticket",
          payload: Mapping[str, Any] | None = None) -> Timer:
    return Timer(cid, name, due, process, payload or {})


def open_case(store: Store, cid: str, *, state: str = "new", process: str = "ticket",
              timers: tuple[Timer, ...] = ()) -> Case:
    c = case(cid, state=state, process=process)
    store.create(c, [opened(cid, state=state)], timers)
    return c


def another_store(kind: str, store: Store) -> Store:
    """A second store on the same data as ``store`` (another connection pool on SQLite and
    PostgreSQL; the same object for the in-memory store, which lives in one process)."""
    if kind == "memory":
        return store
    if kind not in ("sqlite", "postgresql"):
        from .framework_backends import another_framework_store

        return another_framework_store(kind, store)
    assert isinstance(store, SQLStore)
    if kind == "sqlite":
        return SQLStore.sqlite(store.engine.url.database)
    prefix = store.tables.cases.name.removesuffix("cases")
    return SQLStore(store.engine, schema=store.tables.cases.schema, prefix=prefix)


def append_note(store: Store, current: Case, *, count: int = 1) -> Case:
    """Append ``count`` events to ``current`` in one write; return the new snapshot."""
    events = [moved(current.id, current.version + i, current.state, current.state)
              for i in range(1, count + 1)]
    after = case(current.id, state=current.state, version=current.version + count,
                 process=current.process)
    store.append(after, events, expected_version=current.version)
    return after
