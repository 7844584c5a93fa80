"""Shared fixtures.

PostgreSQL: tests marked ``postgres`` use the server named by ``SERVICEWF_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and skip when nothing answers there. With
``SERVICEWF_REQUIRE_PG=1`` (CI) such a skip is turned into a failure.

Slow tests (marked ``slow``: long property runs) are skipped unless ``SERVICEWF_SLOW=1`` or the
``-m`` expression names them (``pytest -m slow``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# --- the testing kit's plugin ---------------------------------------------------------------
# Installed servicewf registers it through the pytest11 entry point; a source checkout whose
# installed metadata predates the entry point loads it here (never both: pytest refuses a
# plugin registered twice).


def _kit_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "servicewf.testing.plugin"
               for ep in entry_points(group="pytest11"))


pytest_plugins = () if _kit_installed() else ("servicewf.testing.plugin",)

# --- PostgreSQL ---------------------------------------------------------------------------

PG_DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def pg_dsn() -> str:
    """The PostgreSQL DSN the tests use."""
    return os.environ.get("SERVICEWF_PG_DSN", PG_DEFAULT_DSN)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """``(dsn, schema)``: a fresh PostgreSQL schema for this test session, dropped at the end,
    so parallel runs on one server never see each other's tables."""
    dsn = pg_dsn()
    try:
        import psycopg

        conn = psycopg.connect(dsn, connect_timeout=3, autocommit=True)
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {dsn}; set SERVICEWF_PG_DSN ({exc})")
    schema = f"swf_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield dsn, schema
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@pytest.fixture(scope="session")
def pg_engine(pg_schema: tuple[str, str]) -> Iterator[object]:
    """A SQLAlchemy engine on the test PostgreSQL server (psycopg 3)."""
    import sqlalchemy as sa

    from servicewf.storage.sql import normalize_url

    engine = sa.create_engine(normalize_url(pg_schema[0]))
    yield engine
    engine.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("SERVICEWF_REQUIRE_PG") == "1"
            and item.get_closest_marker("postgres") is not None
            # A long run (marked slow) is left out by choice, not for want of a server.
            and item.get_closest_marker("slow") is None
            and not hasattr(report, "wasxfail")):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"SERVICEWF_REQUIRE_PG=1 but the PostgreSQL test was skipped: {reason}"


# --- slow tests ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SERVICEWF_SLOW") == "1" or "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow; run with SERVICEWF_SLOW=1 or -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
