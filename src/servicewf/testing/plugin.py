"""The pytest plugin of the testing kit (entry point ``pytest11``: ``servicewf``).

Fixtures:

- ``swf_clock``: a :class:`~servicewf.clock.FrozenClock` at Monday 2 March 2026, 09:00 in
  Shanghai (a working day); move it with ``swf_clock.advance(...)``;
- ``swf_engine``: an :class:`~servicewf.engine.Engine` with the built-in processes, their
  default SLA clocks and the recurring obligations (:func:`~servicewf.processes.stack.
  builtin_stack`) on ``swf_store``;
- ``swf_stack``: the whole stack (engine, SLA, obligations, sweeper);
- ``swf_store``: a fresh store, a memory store by default.

``@pytest.mark.swf_backends("memory", "sqlite", "postgresql")`` runs a test once per store;
``--swf-backend sqlite`` (repeatable) runs every test that uses ``swf_store`` on the stores
named. PostgreSQL is the server of ``SERVICEWF_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``), in a schema made for the session and dropped at
its end; the test is skipped when nothing answers.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest

from servicewf.clock import FrozenClock
from servicewf.engine import Engine
from servicewf.processes.stack import Stack, builtin_stack
from servicewf.storage.base import Store
from servicewf.storage.memory import MemoryStore

__all__ = ["START"]

START = pendulum.datetime(2026, 3, 2, 9, 0, tz="Asia/Shanghai")
"""Where ``swf_clock`` starts: a Monday, 09:00 in Shanghai."""

BACKENDS = ("memory", "sqlite", "postgresql")
_prefix = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("servicewf")
    group.addoption("--swf-backend", action="append", default=None, choices=BACKENDS,
                    help="run the tests using swf_store/swf_engine on this store (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "swf_backends(*names): run the test on each store named "
                   "(memory, sqlite, postgresql)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "swf_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("swf_backends")
    chosen: tuple[str, ...] | list[str] | None = marker.args if marker else None
    if chosen is None:
        chosen = metafunc.config.getoption("--swf-backend") or None
    if chosen is None:
        return
    bad = [b for b in chosen if b not in BACKENDS]
    if bad:
        raise pytest.UsageError(f"swf_backends: unknown store(s) {bad}; use {BACKENDS}")
    metafunc.parametrize("swf_backend", list(chosen), indirect=True, ids=list(chosen))


@pytest.fixture
def swf_backend(request: pytest.FixtureRequest) -> str:
    """The store kind of this test run: ``memory`` unless parametrized."""
    return str(getattr(request, "param", "memory"))


@pytest.fixture(scope="session")
def swf_pg_schema() -> Iterator[tuple[str, str]]:
    """``(dsn, schema)``: a PostgreSQL schema for this session, dropped at its end."""
    dsn = os.environ.get("SERVICEWF_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        conn = psycopg.connect(dsn, connect_timeout=3, autocommit=True)
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {dsn}; set SERVICEWF_PG_DSN ({exc})")
    schema = f"swf_kit_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield dsn, schema
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def swf_store(swf_backend: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh, empty store of the kind ``swf_backend`` names; closed afterwards."""
    if swf_backend == "memory":
        yield MemoryStore()
        return
    from servicewf.storage.sql import SQLStore

    if swf_backend == "sqlite":
        tmp = request.getfixturevalue("tmp_path")
        store = SQLStore.sqlite(tmp / "swf.db")
        try:
            yield store
        finally:
            store.close()
        return
    dsn, schema = request.getfixturevalue("swf_pg_schema")
    store = SQLStore(dsn, schema=schema, prefix=f"k{next(_prefix)}_")
    try:
        yield store
    finally:
        store.drop_tables()
        store.close()


@pytest.fixture
def swf_clock() -> FrozenClock:
    """A frozen clock at :data:`START`."""
    return FrozenClock(START)


@pytest.fixture
def swf_stack(swf_store: Store, swf_clock: FrozenClock) -> Stack:
    """The built-in processes, SLA clocks and obligations on ``swf_store`` and ``swf_clock``."""
    return builtin_stack(swf_store, swf_clock, owner="swf-test")


@pytest.fixture
def swf_engine(swf_stack: Stack) -> Engine:
    """The engine of ``swf_stack``."""
    return swf_stack.engine


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any,
                              right: Any) -> list[str] | None:
    """``report == []``-style comparisons of compliance outcomes print one line each."""
    from servicewf.compliance import Outcome

    if op == "==" and isinstance(left, (list, tuple)) and left and all(
            isinstance(o, Outcome) for o in left):
        return ["compliance outcomes differ:"] + [
            f"  {o.rule} {o.case_id}: {o.verdict.value} #{list(o.violations)} {o.reason}"
            for o in left]
    return None
